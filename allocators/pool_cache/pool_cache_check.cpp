// allocators/pool_cache/pool_cache_check.cpp: the §11 pool_cache invariants.
//
// Pure functions of the cache's host state: they call no kernel function, so
// the checker may run them between any two steps. What they can and cannot
// demand at an arbitrary step:
//  - a global stack whose head is the dummy is held by a pool_pcg_get; the
//    groups under it are unreachable for that instant, so the list-based
//    checks of that cache are skipped;
//  - pc_transit != 0 means a context holds groups of this cache off every
//    list (a slow path swapping groups, a transfer, an invalidate destructing
//    objects): the counts are skipped, the per-group shape checks are not.
#include <cinttypes>
#include <set>
#include <unordered_map>

#include "allocators/pool_cache/pool_cache.h"

namespace kasim {

namespace {

// The dummy is the only group with no storage and no room (real groups come
// from a pcg pool and hold 15 or 63); telling it so keeps the checks pure.
bool is_dummy(const pcg_t* pcg) { return pcg->pcg_addr == 0 && pcg->pcg_size == 0; }

// Walks a stack; false if the dummy holds it.
bool walk(const pcg_t* head, std::vector<const pcg_t*>* out) {
  if (head != nullptr && is_dummy(head)) return false;
  for (const pcg_t* p = head; p != nullptr; p = p->pcg_next) out->push_back(p);
  return true;
}

// where: a list's name, or "current"/"previous" of CPU cpu (cpu >= 0). The
// message is only formatted for a bad group: this runs after every step.
void check_group(const pool_cache* pc, const pcg_t* pcg, const char* where, int cpu,
                 std::vector<std::string>* out) {
  if (is_dummy(pcg)) return;
  if (pcg->pcg_size != pc->pc_pcgsize || pcg->pcg_avail > pcg->pcg_size)
    out->push_back(kasim_format("pool_cache %s: %s%s%s group 0x%" PRIx64 " avail %u size %u "
                                "(group size %u)",
                                pc->pc_pool.pr_wchan,
                                cpu >= 0 ? kasim_format("cpu%d", cpu).c_str() : "",
                                cpu >= 0 ? " " : "", where, pcg->pcg_addr, pcg->pcg_avail,
                                pcg->pcg_size, pc->pc_pcgsize));
}

}  // namespace

std::vector<std::string> pool_cache_check(const pool_cache* pc) {
  std::vector<std::string> out;
  const char* name = pc->pc_pool.pr_wchan;
  for (size_t i = 0; i < pc->pc_cpus.size(); i++) {
    const pool_cache_cpu_t* cc = pc->pc_cpus[i].get();
    check_group(pc, cc->cc_current, "current", static_cast<int>(i), &out);
    check_group(pc, cc->cc_previous, "previous", static_cast<int>(i), &out);
    if (!is_dummy(cc->cc_current) && cc->cc_current == cc->cc_previous)
      out.push_back(kasim_format("pool_cache %s: cpu%zu current and previous are one group", name, i));
  }
  std::vector<const pcg_t*> full, part, empty;
  const bool full_ok = walk(pc->pc_fullgroups, &full);
  const bool part_ok = walk(pc->pc_partgroups, &part);
  const bool empty_ok = walk(*pc->pc_pcgcache, &empty);
  for (const pcg_t* p : full) {
    check_group(pc, p, "pc_fullgroups", -1, &out);
    if (p->pcg_avail != p->pcg_size)
      out.push_back(kasim_format("pool_cache %s: group 0x%" PRIx64 " on pc_fullgroups holds %u of %u",
                                 name, p->pcg_addr, p->pcg_avail, p->pcg_size));
  }
  for (const pcg_t* p : part) {
    check_group(pc, p, "pc_partgroups", -1, &out);
    if (p->pcg_avail == 0 || p->pcg_avail == p->pcg_size)
      out.push_back(kasim_format("pool_cache %s: group 0x%" PRIx64 " on pc_partgroups holds %u of %u",
                                 name, p->pcg_addr, p->pcg_avail, p->pcg_size));
  }
  for (const pcg_t* p : empty)
    if (p->pcg_avail != 0)
      out.push_back(kasim_format("pool_cache %s: group 0x%" PRIx64 " on the empty-group cache holds %u",
                                 name, p->pcg_addr, p->pcg_avail));
  // Σcc_nfull == |pc_fullgroups| and Σcc_npart == |pc_partgroups|: each CPU's
  // count moves with the groups it pushes and pops, so one CPU's may be
  // negative (it took groups another pushed); the sum over CPUs is exact
  // whenever no context holds groups in transit.
  if (pc->pc_transit == 0 && full_ok && part_ok) {
    int64_t nfull = 0, npart = 0;
    for (const auto& cc : pc->pc_cpus) {
      nfull += cc->cc_nfull;
      npart += cc->cc_npart;
    }
    if (nfull != static_cast<int64_t>(full.size()))
      out.push_back(kasim_format("pool_cache %s: sum of cc_nfull %" PRId64 " != %zu groups on "
                                 "pc_fullgroups", name, nfull, full.size()));
    if (npart != static_cast<int64_t>(part.size()))
      out.push_back(kasim_format("pool_cache %s: sum of cc_npart %" PRId64 " != %zu groups on "
                                 "pc_partgroups", name, npart, part.size()));
  }
  (void)empty_ok;
  return out;
}

uint64_t pool_cache_nobjects(const pool_cache* pc) {
  uint64_t n = 0;
  for (const auto& cc : pc->pc_cpus) n += cc->cc_current->pcg_avail + cc->cc_previous->pcg_avail;
  for (const pcg_t* h : {pc->pc_fullgroups, pc->pc_partgroups})
    if (h == nullptr || !is_dummy(h))
      for (const pcg_t* p = h; p != nullptr; p = p->pcg_next) n += p->pcg_avail;
  return n;
}

namespace {

// What the pool shadow says about one cache's pool: its out items marked
// cached (in address order) and how many of its out items are constructed.
struct shadow_tally {
  std::vector<vaddr_t> cached;
  uint64_t constructed = 0;
};

void tally_item(shadow_tally& t, vaddr_t v, const pool_live_item& item) {
  if (item.constructed) t.constructed++;
  if (item.cached) t.cached.push_back(v);
}

std::vector<std::string> chk_shadow(const pool_cache* pc, const pool_globals& g,
                                    const shadow_tally& t) {
  std::vector<std::string> out;
  const char* name = pc->pc_pool.pr_wchan;
  auto held = [](const pcg_t* h) { return h != nullptr && is_dummy(h); };
  if (pc->pc_transit != 0 || held(pc->pc_fullgroups) || held(pc->pc_partgroups))
    return out;  // groups in transit: not well-defined at this instant
  const auto& live = pool_live_map(g, &pc->pc_pool);
  std::set<vaddr_t> seen;
  auto visit = [&](const pcg_t* pcg) {
    if (is_dummy(pcg)) return;
    for (unsigned i = 0; i < pcg->pcg_avail && i < pcg->pcg_objects.size(); i++) {
      const vaddr_t v = pcg->pcg_objects[i].pcgo_va;
      if (!seen.insert(v).second) {
        out.push_back(kasim_format("pool_cache %s: 0x%" PRIx64 " is in two group slots", name, v));
        continue;
      }
      auto it = live.find(v);
      if (it == live.end() || it->second.pp != &pc->pc_pool)
        out.push_back(kasim_format("pool_cache %s: cached 0x%" PRIx64 " is not out of its pool",
                                   name, v));
      else if (!it->second.cached)
        out.push_back(kasim_format("pool_cache %s: 0x%" PRIx64 " is in a group and client-held",
                                   name, v));
      else if (!it->second.constructed)
        out.push_back(kasim_format("pool_cache %s: cached 0x%" PRIx64 " is not constructed",
                                   name, v));
    }
  };
  for (const auto& cc : pc->pc_cpus) {
    visit(cc->cc_current);
    visit(cc->cc_previous);
  }
  for (const pcg_t* h : {pc->pc_fullgroups, pc->pc_partgroups})
    for (const pcg_t* p = h; p != nullptr; p = p->pcg_next) visit(p);
  // Conservation: nout = client-held + Σ avail. The shadow holds exactly the
  // pool's out items (pool_chk_items); those marked cached must be exactly
  // the objects in the groups, and the rest are the clients'.
  for (vaddr_t v : t.cached)
    if (!seen.count(v))
      out.push_back(kasim_format("pool_cache %s: 0x%" PRIx64 " marked cached is in no group",
                                 name, v));
  if (t.cached.size() != seen.size())
    out.push_back(kasim_format("pool_cache %s: %zu objects in groups, %zu marked cached", name,
                               seen.size(), t.cached.size()));
  // ctor/dtor pairing: every constructed object is still out (in a group or
  // with a client), and every dtor undid one ctor.
  if (pc->pc_nctor < pc->pc_ndtor || pc->pc_nctor - pc->pc_ndtor != t.constructed)
    out.push_back(kasim_format("pool_cache %s: %" PRIu64 " ctors - %" PRIu64 " dtors != %" PRIu64
                               " constructed objects out", name, pc->pc_nctor, pc->pc_ndtor,
                               t.constructed));
  return out;
}

}  // namespace

std::vector<std::string> pool_cache_chk_shadow(const pool_cache* pc, const pool_globals& g) {
  shadow_tally t;
  for (const auto& [v, item] : pool_live_map(g, &pc->pc_pool))
    if (item.pp == &pc->pc_pool) tally_item(t, v, item);
  return chk_shadow(pc, g, t);
}

std::vector<std::string> pool_cache_chk_shadow_all(const std::vector<pool_cache*>& caches,
                                                   const pool_globals& g) {
  // One pass over each shadow map, tallied by pool (looked up, never iterated).
  std::unordered_map<const pool*, shadow_tally> tallies;
  for (const pool_cache* pc : caches) tallies[&pc->pc_pool];
  for (const auto* live : {&g.live, &g.live_recursive})
    for (const auto& [v, item] : *live)
      if (auto it = tallies.find(item.pp); it != tallies.end()) tally_item(it->second, v, item);
  std::vector<std::string> out;
  for (const pool_cache* pc : caches)
    for (std::string& p : chk_shadow(pc, g, tallies[&pc->pc_pool])) out.push_back(std::move(p));
  return out;
}

}  // namespace kasim
