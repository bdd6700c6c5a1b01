// Invariants of kmem(9) (NETBSD-ALLOCATORS.md §11 "kmem"), over kasim's
// shadow of live kmem allocations:
//  - kmem_check: the route is a pure function of the size (the cache that
//    served an object is the one its size routes to, so free agrees); the
//    KMEM_SIZE footer equals the requested size; alignment is >= 8, >=
//    COHERENCY_UNIT for the classes from it up, PAGE_SIZE for page-multiple
//    classes and the page path; no overlap with another live kmem object or
//    any live pool item but the quantum-cache item that contains it;
//  - on full walks, every page-path allocation is mapped page by page, each
//    to its own page of uvm_km (the "kmem" finding kind).
// Shadow updates happen with no scheduling point between the allocator's
// return and the record (and the record goes before the free starts), so
// the shadow is exact wherever this runs.
#include <cinttypes>

#include "allocators/kmem/kmem.h"
#include "properties/invariants.h"
#include "sim/engine.h"

KASIM_INVARIANT(kmem) {
  using namespace kasim;
  const kmem_globals& g = engine.local<kmem_globals>();
  if (!g.inited) return;
  constexpr size_t kCheapLive = 1024;
  if (!full && g.live.size() > kCheapLive) return;
  const pool_globals& pg = engine.local<pool_globals>();
  const uvm_km_globals& ug = engine.local<uvm_km_globals>();
  for (std::string& p : kmem_check(g, pg, ug)) out.push_back({"kmem", std::move(p)});
  if (!full) return;
  PageStore& store = engine.pages();
  const uint64_t ps = store.page_size();
  for (const auto& [p, r] : g.live) {
    if (r.kind != kmem_route_kind::page) continue;
    for (uint64_t va = p; va < p + r.span; va += ps) {
      paddr_t pa = 0;
      const vm_page* pg2 = store.extract(va, &pa) ? store.phys_to_page(pa) : nullptr;
      if (pg2 == nullptr || pg2->owner != &ug.kmem_object || pg2->va != va) {
        out.push_back({"kmem", kasim_format("kmem allocation 0x%" PRIx64 " (%zu bytes, page path): "
                                            "va 0x%" PRIx64 " is not backed by its own page",
                                            p, r.req, va)});
        break;
      }
    }
  }
}
