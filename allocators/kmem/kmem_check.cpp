// allocators/kmem/kmem_check.cpp: kmem_check — the kmem invariants of
// NETBSD-ALLOCATORS.md §11 over kasim's shadow of live kmem allocations.
#include <cinttypes>

#include "allocators/kmem/kmem.h"

namespace kasim {

namespace {

const char* route_str(kmem_route_kind k) {
  switch (k) {
    case kmem_route_kind::small: return "small cache";
    case kmem_route_kind::big: return "big cache";
    case kmem_route_kind::page: break;
  }
  return "page path";
}

// Whether a live pool item overlaps [start, start+len), other than the item
// `self` of pool `self_pp` and the quantum-cache items that contain the range.
bool pool_item_overlaps(const pool_globals& pg, vaddr_t start, uint64_t len, vaddr_t self,
                        const pool* self_pp, std::string* who) {
  auto it = pg.live.lower_bound(start);
  // The item before start may extend into the range. A quantum-cache pool
  // (PR_RECURSIVE: its items are other allocators' pages) may contain it.
  if (it != pg.live.begin()) {
    auto prev = std::prev(it);
    const bool container = (prev->second.pp->pr_roflags & PR_RECURSIVE) != 0 &&
                           prev->first + prev->second.size >= start + len;
    if (prev->first + prev->second.size > start && !container) {
      *who = kasim_format("item 0x%" PRIx64 " of pool %s", prev->first, prev->second.pp->pr_wchan);
      return true;
    }
  }
  for (; it != pg.live.end() && it->first < start + len; ++it) {
    if (it->first == self && it->second.pp == self_pp) continue;
    // A quantum-cache item that contains the range (for the page path: the
    // item the allocation is).
    if ((it->second.pp->pr_roflags & PR_RECURSIVE) != 0 && it->first <= start &&
        it->first + it->second.size >= start + len)
      continue;
    *who = kasim_format("item 0x%" PRIx64 " of pool %s", it->first, it->second.pp->pr_wchan);
    return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> kmem_check(const kmem_globals& g, const pool_globals& pg,
                                    const uvm_km_globals& ug) {
  std::vector<std::string> out;
  if (!g.inited) return out;
  auto bad = [&](vaddr_t p, const kmem_live_rec& r, const std::string& what) {
    out.push_back(kasim_format("kmem allocation 0x%" PRIx64 " (%zu bytes, %s): ", p, r.req,
                               route_str(r.kind)) +
                  what);
  };
  const kmem_layout& l = g.layout;
  vaddr_t prev_end = 0;
  vaddr_t prev = 0;
  bool first = true;
  for (const auto& [p, r] : g.live) {
    if (!first && p < prev_end)
      bad(p, r, kasim_format("overlaps the live kmem allocation 0x%" PRIx64, prev));
    first = false;
    if (p + r.span > prev_end) {
      prev_end = p + r.span;
      prev = p;
    }
    // The route is a pure function of the size: free will take the same one.
    const kmem_route rt = kmem_route_of(l, r.req);
    if (rt.kind != r.kind) {
      bad(p, r, std::string("its size now routes to the ") + route_str(rt.kind));
      continue;
    }
    if ((p & (KMEM_ALIGN - 1)) != 0) bad(p, r, "not aligned to KMEM_ALIGN (8)");
    if (r.kind == kmem_route_kind::page) {
      if ((p & (l.page_size - 1)) != 0) bad(p, r, "not page-aligned");
      if (r.span != rt.pagesz) bad(p, r, kasim_format("spans %zu bytes, not %zu", r.span, rt.pagesz));
      auto k = ug.kmem_live.find(p);
      if (k == ug.kmem_live.end() || k->second.vm != ug.kmem_va_arena || k->second.size != r.span)
        bad(p, r, "is not a uvm_km_kmem_alloc range of kmem_va_arena of its size");
      std::string who;
      if (pool_item_overlaps(pg, p, r.span, 0, nullptr, &who)) bad(p, r, "overlaps the live " + who);
      continue;
    }
    const kmem_class& c = r.kind == kmem_route_kind::small
                              ? l.small[static_cast<size_t>(rt.cls)]
                              : l.big[static_cast<size_t>(rt.cls)];
    const pool_cache_t want = r.kind == kmem_route_kind::small
                                  ? g.caches[static_cast<size_t>(rt.cls)]
                                  : g.big_caches[static_cast<size_t>(rt.cls)];
    if (r.pc != want) {
      bad(p, r, std::string("was served by ") + r.pc->pc_pool.pr_wchan + ", but its size routes to " +
                    c.kc_name);
      continue;
    }
    if (rt.allocsz > c.kc_size)
      bad(p, r, kasim_format("needs %zu bytes with its footer, but %s holds %zu", rt.allocsz,
                             c.kc_name, c.kc_size));
    if ((p & (c.kc_align - 1)) != 0)
      bad(p, r, kasim_format("not aligned to %zu, as %s requires", c.kc_align, c.kc_name));
    if (c.kc_size >= l.coherency_unit && (p & (l.coherency_unit - 1)) != 0)
      bad(p, r, kasim_format("not aligned to COHERENCY_UNIT (%" PRIu64 ")", l.coherency_unit));
    auto f = g.footers.find(p + r.req);
    if (f == g.footers.end())
      bad(p, r, "has no KMEM_SIZE footer");
    else if (f->second != r.req)
      bad(p, r, kasim_format("its KMEM_SIZE footer says %" PRIu64, f->second));
    auto it = pg.live.find(p);
    if (it == pg.live.end() || it->second.pp != &r.pc->pc_pool)
      bad(p, r, std::string("is not a live item of ") + r.pc->pc_pool.pr_wchan);
    else if (it->second.cached)
      bad(p, r, std::string("sits in a cache group of ") + r.pc->pc_pool.pr_wchan);
    std::string who;
    if (pool_item_overlaps(pg, p, r.span, p, &r.pc->pc_pool, &who))
      bad(p, r, "overlaps the live " + who);
  }
  return out;
}

}  // namespace kasim
