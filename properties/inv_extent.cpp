// Invariants of every extent on the machine (NETBSD-ALLOCATORS.md §11
// "extent"), on each extent whose ex_lock is free (an EX_EARLY extent has no
// lock and is always checked):
//  - extent_check: regions sorted, disjoint, inside the extent, coalesced
//    unless EX_NOCOALESCE, ex_flags within {0x1, 0x2, 0x4}, and a fixed
//    extent's descriptors accounted for;
//  - the shadow of what callers were given: the same units as the region
//    list (the same ranges one for one with EX_NOCOALESCE), no given range
//    across a boundary line, each aligned unless it starts on a line.
#include "allocators/extent/extent.h"
#include "properties/invariants.h"
#include "sim/engine.h"

KASIM_INVARIANT(extent) {
  using namespace kasim;
  const extent_globals& g = engine.local<extent_globals>();
  if (!g.inited) return;
  constexpr size_t kCheapRegions = 256;
  for (const extent* ex : g.extent_list) {
    if ((ex->ex_flags & EXF_EARLY) == 0 && ex->ex_lock.owner != nullptr) continue;
    if (!full && extent_nregions(ex) > kCheapRegions) continue;
    for (std::string& p : extent_check(ex)) out.push_back({"extent", std::move(p)});
    for (std::string& p : extent_check_shadow(g, ex)) out.push_back({"extent", std::move(p)});
  }
}
