// Invariants of every pool_cache on the machine (NETBSD-ALLOCATORS.md §11
// "pool_cache"), checked after every step:
//  - pool_cache_check: each CPU's groups are the dummy or real groups with
//    0 <= avail <= size; pc_fullgroups entries are full, partgroups partial,
//    the empty-group cache's entries empty; Σcc_nfull == |pc_fullgroups| and
//    Σcc_npart == |pc_partgroups|;
//  - conservation and shadow ownership (pool_cache_chk_shadow): the objects in
//    the groups are exactly the pool shadow's items marked cached, each in one
//    group slot, out of the cache's pool and constructed; with pool_chk_items
//    (inv_pool.cpp: every live item inside a page of its pool, overlapping no
//    other, and nout == the shadow's count) this is pool.nout == client-held +
//    Σ avail over every group;
//  - ctor/dtor pairing: ctors - dtors == the constructed objects still out.
// Where it is well-defined: a step may stop with groups off every list (a
// pool_pcg_get holding the dummy marker on a stack head, or pc_transit != 0
// while a slow path, a transfer or an invalidate holds groups): those steps
// skip the counting checks of that cache and keep the per-group ones. Every
// other step boundary is one where NetBSD's own accounting is exact.
#include "allocators/pool_cache/pool_cache.h"
#include "properties/invariants.h"
#include "sim/engine.h"

KASIM_INVARIANT(pool_cache) {
  using namespace kasim;
  const pool_cache_globals& cg = engine.local<pool_cache_globals>();
  if (!cg.inited) return;
  const pool_globals& g = engine.local<pool_globals>();
  constexpr size_t kCheapObjects = 4096;
  for (const pool_cache* pc : cg.caches)
    for (std::string& p : pool_cache_check(pc)) out.push_back({"pool_cache", std::move(p)});
  if (!full && g.live.size() + g.live_recursive.size() > kCheapObjects) return;
  for (std::string& p : pool_cache_chk_shadow_all(cg.caches, g))
    out.push_back({"pool_cache", std::move(p)});
}
