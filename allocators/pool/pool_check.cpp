// allocators/pool/pool_check.cpp: pool_chk — the §11 pool invariants of one
// pool, and the shadow's live items against every pool's pages. Pure
// functions of host memory: they call no kernel function and never abort.
#include <cinttypes>
#include <cstdarg>
#include <map>
#include <cstdio>
#include <string>

#include "allocators/pool/pool.h"

namespace kasim {

namespace {

unsigned popcount_free(const pool_item_header* ph) {
  unsigned n = 0;
  for (uint32_t w : ph->ph_bitmap) n += static_cast<unsigned>(__builtin_popcount(w));
  return n;
}

}  // namespace

std::vector<std::string> pool_chk(const pool* pp) {
  std::vector<std::string> out;
  if (!pp->pr_initialized || pp->pr_lock.owner != nullptr) return out;
  const char* w = pp->pr_wchan;
  const unsigned ipp = pp->pr_itemsperpage;
  auto bad = [&](std::string s) { out.push_back(std::string("pool ") + w + ": " + s); };

  if (static_cast<uint64_t>(pp->pr_nitems) + pp->pr_nout !=
      static_cast<uint64_t>(pp->pr_npages) * ipp)
    bad(kasim_format("nitems %u + nout %u != npages %u * itemsperpage %u", pp->pr_nitems, pp->pr_nout,
            pp->pr_npages, ipp));
  if (pp->pr_npagealloc - pp->pr_npagefree != pp->pr_npages)
    bad(kasim_format("npagealloc %" PRIu64 " - npagefree %" PRIu64 " != npages %u", pp->pr_npagealloc,
            pp->pr_npagefree, pp->pr_npages));
  if (pp->pr_nget - pp->pr_nput != pp->pr_nout)
    bad(kasim_format("nget %" PRIu64 " - nput %" PRIu64 " != nout %u", pp->pr_nget, pp->pr_nput,
            pp->pr_nout));
  if (pp->pr_hiwat < pp->pr_npages)
    bad(kasim_format("hiwat %u below npages %u", pp->pr_hiwat, pp->pr_npages));
  if ((pp->pr_curpage == nullptr) != (pp->pr_nitems == 0))
    bad(kasim_format("curpage %s but nitems %u", pp->pr_curpage ? "set" : "NULL", pp->pr_nitems));

  const unsigned pagesz = pool_pagesz(pp);
  uint64_t nitems = 0;
  unsigned npages = 0, nempty = 0;
  bool curpage_found = pp->pr_curpage == nullptr;
  const struct {
    const pool_pagelist* l;
    int which;
    const char* name;
  } lists[] = {{&pp->pr_emptypages, PH_EMPTY, "empty"},
               {&pp->pr_partpages, PH_PART, "partial"},
               {&pp->pr_fullpages, PH_FULL, "full"}};
  for (const auto& L : lists) {
    size_t guard = 0;
    for (const pool_item_header* ph = L.l->lh_first; ph; ph = ph->ph_next) {
      if (++guard > pp->pr_phtree.size()) {
        bad(kasim_format("the %s page list is longer than the pool's pages (a cycle?)", L.name));
        break;
      }
      npages++;
      if (ph == pp->pr_curpage) {
        curpage_found = true;
        if (L.which == PH_FULL) bad(kasim_format("curpage 0x%" PRIx64 " is full", ph->ph_page));
      }
      auto it = pp->pr_phtree.find(ph->ph_page);
      if (it == pp->pr_phtree.end() || it->second.get() != ph)
        bad(kasim_format("page 0x%" PRIx64 " on the %s list is not in the page tree", ph->ph_page,
                L.name));
      if (ph->ph_list != L.which)
        bad(kasim_format("page 0x%" PRIx64 " on the %s list is marked for another", ph->ph_page, L.name));
      const unsigned nm = ph->ph_nmissing;
      if ((L.which == PH_EMPTY && nm != 0) || (L.which == PH_FULL && nm != ipp) ||
          (L.which == PH_PART && (nm == 0 || nm >= ipp)))
        bad(kasim_format("page 0x%" PRIx64 " on the %s list has nmissing %u (itemsperpage %u)",
                ph->ph_page, L.name, nm, ipp));
      if (L.which == PH_EMPTY) nempty++;
      if (nm > ipp) continue;
      nitems += ipp - nm;
      if (popcount_free(ph) != ipp - nm)
        bad(kasim_format("page 0x%" PRIx64 ": %u free items in its bitmap, nmissing %u", ph->ph_page,
                popcount_free(ph), nm));
      if ((pp->pr_roflags & PR_USEBMAP) == 0) {
        if (ph->ph_itemlist.size() != ipp - nm)
          bad(kasim_format("page 0x%" PRIx64 ": free list of %zu items, nmissing %u", ph->ph_page,
                  ph->ph_itemlist.size(), nm));
        for (uint32_t idx : ph->ph_itemlist)
          if (idx >= ipp || (ph->ph_bitmap[idx / 32] & (1u << (idx % 32))) == 0) {
            bad(kasim_format("page 0x%" PRIx64 ": free list holds item %u, which is not free",
                    ph->ph_page, idx));
            break;
          }
      }
      if (ph->ph_off < pp->pr_itemoffset || ph->ph_off > pp->pr_itemoffset + pp->pr_maxcolor ||
          static_cast<uint64_t>(ph->ph_off) + static_cast<uint64_t>(ipp) * pp->pr_size > pagesz)
        bad(kasim_format("page 0x%" PRIx64 ": ph_off %u outside [itemoffset %u, + maxcolor %u]",
                ph->ph_page, ph->ph_off, pp->pr_itemoffset, pp->pr_maxcolor));
      if (((ph->ph_page + ph->ph_off) & (pp->pr_align - 1)) != 0)
        bad(kasim_format("page 0x%" PRIx64 ": items not aligned to %u", ph->ph_page, pp->pr_align));
      if ((pp->pr_roflags & PR_PHINPAGE) && ph->ph_hdraddr != ph->ph_page)
        bad(kasim_format("page 0x%" PRIx64 ": on-page header elsewhere", ph->ph_page));
      if (ph->ph_poolid != pp->pr_poolid)
        bad(kasim_format("page 0x%" PRIx64 ": ph_poolid %u, pool id %u", ph->ph_page, ph->ph_poolid,
                pp->pr_poolid));
    }
  }
  if (npages != pp->pr_npages || npages != pp->pr_phtree.size())
    bad(kasim_format("npages %u, but %u pages on the lists and %zu in the page tree", pp->pr_npages,
            npages, pp->pr_phtree.size()));
  if (nitems != pp->pr_nitems)
    bad(kasim_format("nitems %u, but the pages hold %" PRIu64 " free items", pp->pr_nitems, nitems));
  if (nempty != pp->pr_nidle)
    bad(kasim_format("nidle %u, but %u pages on the empty list", pp->pr_nidle, nempty));
  if (!curpage_found) bad("curpage is not one of the pool's pages");
  // Pages never overlap each other.
  vaddr_t prev_end = 0;
  bool first = true;
  for (const auto& [va, ph] : pp->pr_phtree) {
    if (!first && va < prev_end) bad(kasim_format("page 0x%" PRIx64 " overlaps the previous page", va));
    first = false;
    prev_end = va + pagesz;
  }
  return out;
}

namespace {

// One shadow map: items overlap no other item of the map, and each is out
// of a page of its pool; counts the items of each pool.
void chk_live_map(const std::map<vaddr_t, pool_live_item>& live,
                  std::map<const pool*, uint64_t>& count, std::vector<std::string>& out) {
  vaddr_t prev_end = 0;
  const pool* prev_pp = nullptr;
  for (const auto& [v, li] : live) {
    const pool* pp = li.pp;
    count[pp]++;
    if (prev_pp != nullptr && v < prev_end)
      out.push_back(kasim_format("item 0x%" PRIx64 " of pool %s overlaps a live item of pool %s", v,
                        pp->pr_wchan, prev_pp->pr_wchan));
    if (v + li.size > prev_end || prev_pp == nullptr) {
      prev_end = v + li.size;
      prev_pp = pp;
    }
    if (pp->pr_lock.owner != nullptr) continue;
    const pool_item_header* ph = pool_find_page(pp, v);
    if (ph == nullptr) {
      out.push_back(kasim_format("live item 0x%" PRIx64 " of pool %s lies in none of its pages", v,
                        pp->pr_wchan));
      continue;
    }
    const uint64_t rel = v - ph->ph_page;
    if (rel < ph->ph_off || (rel - ph->ph_off) % pp->pr_size != 0 ||
        (rel - ph->ph_off) / pp->pr_size >= pp->pr_itemsperpage) {
      out.push_back(kasim_format("live item 0x%" PRIx64 " of pool %s is not an item start of page 0x%" PRIx64,
                        v, pp->pr_wchan, ph->ph_page));
      continue;
    }
    const uint64_t idx = (rel - ph->ph_off) / pp->pr_size;
    if (ph->ph_bitmap[idx / 32] & (1u << (idx % 32)))
      out.push_back(kasim_format("live item 0x%" PRIx64 " of pool %s is free in its page", v,
                        pp->pr_wchan));
    if ((v & (pp->pr_align - 1)) != 0)
      out.push_back(kasim_format("live item 0x%" PRIx64 " of pool %s is not aligned to %u", v,
                        pp->pr_wchan, pp->pr_align));
  }
}

}  // namespace

std::vector<std::string> pool_chk_items(const pool_globals& g) {
  std::vector<std::string> out;
  std::map<const pool*, uint64_t> count;
  chk_live_map(g.live, count, out);
  chk_live_map(g.live_recursive, count, out);
  for (const pool* pp : g.pool_head) {
    if (pp->pr_lock.owner != nullptr) continue;
    auto it = count.find(pp);
    const uint64_t n = it == count.end() ? 0 : it->second;
    if (n != pp->pr_nout)
      out.push_back(kasim_format("pool %s: nout %u, but %" PRIu64 " items live in the shadow",
                        pp->pr_wchan, pp->pr_nout, n));
  }
  return out;
}

}  // namespace kasim
