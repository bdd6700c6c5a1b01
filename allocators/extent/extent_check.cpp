// allocators/extent/extent_check.cpp: extent_check — the §11 extent
// invariants of one extent — and the shadow of what callers were given.
// Pure functions of host memory: they call no kernel function and never abort.
#include <cinttypes>
#include <cstdio>
#include <string>
#include <vector>

#include "allocators/extent/extent.h"

namespace kasim {

namespace {

std::string fmt_range(const char* what, u_long a, u_long b) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%s 0x%lx - 0x%lx", what, a, b);
  return buf;
}

// Ranges as a sorted list of disjoint [start, end], adjacent ones merged:
// the set of covered units.
std::vector<std::pair<u_long, u_long>> merged(const std::vector<std::pair<u_long, u_long>>& in) {
  std::vector<std::pair<u_long, u_long>> out;
  for (const auto& r : in) {
    if (!out.empty() && out.back().second != ~0UL && out.back().second + 1 == r.first)
      out.back().second = r.second;
    else
      out.push_back(r);
  }
  return out;
}

std::vector<std::pair<u_long, u_long>> region_ranges(const extent* ex) {
  std::vector<std::pair<u_long, u_long>> out;
  for (const extent_region* rp = ex->ex_regions.lh_first; rp != nullptr; rp = rp->er_next)
    out.emplace_back(rp->er_start, rp->er_end);
  return out;
}

bool pow2(u_long x) { return x != 0 && (x & (x - 1)) == 0; }

}  // namespace

size_t extent_nregions(const extent* ex) {
  size_t n = 0;
  for (const extent_region* rp = ex->ex_regions.lh_first; rp != nullptr; rp = rp->er_next) n++;
  return n;
}

size_t extent_nfreedesc(const extent* ex) {
  if ((ex->ex_flags & EXF_FIXED) == 0) return 0;
  size_t n = 0;
  for (const extent_region* rp = ex->ex_fixed->fex_freelist.lh_first; rp; rp = rp->er_next) n++;
  return n;
}

std::vector<std::string> extent_check(const extent* ex) {
  std::vector<std::string> out;
  const std::string w = std::string("extent `") + ex->ex_name + "': ";
  auto bad = [&](const std::string& m) { out.push_back(w + m); };

  if ((ex->ex_flags & ~(EXF_FIXED | EXF_NOCOALESCE | EXF_EARLY)) != 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "ex_flags 0x%x outside {0x1, 0x2, 0x4}", ex->ex_flags);
    bad(buf);
  }
  const bool coalesce = (ex->ex_flags & EXF_NOCOALESCE) == 0;
  const extent_region* prev = nullptr;
  size_t n = 0, nalloc_inuse = 0;
  for (const extent_region* rp = ex->ex_regions.lh_first; rp != nullptr; rp = rp->er_next) {
    if (++n > (1u << 26)) {
      bad("region list does not end");
      return out;
    }
    if (rp->er_end < rp->er_start) bad(fmt_range("region ends before it starts:", rp->er_start, rp->er_end));
    if (rp->er_start < ex->ex_start || rp->er_end > ex->ex_end)
      bad(fmt_range("region outside the extent:", rp->er_start, rp->er_end));
    if (prev != nullptr) {
      if (prev->er_end >= rp->er_start)
        bad(fmt_range("regions out of order or overlapping at", prev->er_end, rp->er_start));
      else if (coalesce && prev->er_end + 1 == rp->er_start)
        bad(fmt_range("adjacent regions not coalesced:", prev->er_start, rp->er_end));
    }
    if (rp->er_next != nullptr && rp->er_next->er_prevp != &rp->er_next)
      bad("region list links broken");
    if (rp->er_flags & ER_ALLOC) nalloc_inuse++;
    if ((rp->er_flags & ~ER_ALLOC) != 0) bad(fmt_range("bad er_flags on", rp->er_start, rp->er_end));
    prev = rp;
  }

  if (ex->ex_flags & EXF_FIXED) {
    const extent_fixed* fex = ex->ex_fixed;
    if (fex == nullptr) {
      bad("EXF_FIXED without extent_fixed");
      return out;
    }
    // Every static descriptor (one of the storage's slots) is on the
    // freelist or the region list exactly once; expool descriptors (ER_ALLOC)
    // come on top of the capacity.
    const vaddr_t first = fex->fex_storage + extent_ALIGN(EXTENT_FIXED_SIZE);
    const vaddr_t limit = first + fex->fex_capacity * extent_ALIGN(EXTENT_REGION_SIZE);
    size_t nfree = 0, nalloc_free = 0, nstatic = 0;
    for (const extent_region* rp = fex->fex_freelist.lh_first; rp; rp = rp->er_next) {
      if (++nfree > (1u << 26)) {
        bad("freelist does not end");
        return out;
      }
      if (rp->er_flags & ER_ALLOC) nalloc_free++;
    }
    auto is_static = [&](const extent_region* rp) {
      return rp->er_addr >= first && rp->er_addr < limit &&
             (rp->er_addr - first) % extent_ALIGN(EXTENT_REGION_SIZE) == 0;
    };
    for (const extent_region* rp = fex->fex_freelist.lh_first; rp; rp = rp->er_next) {
      if (is_static(rp)) nstatic++;
      if (is_static(rp) == ((rp->er_flags & ER_ALLOC) != 0))
        bad("descriptor origin and ER_ALLOC disagree on the freelist");
    }
    for (const extent_region* rp = ex->ex_regions.lh_first; rp; rp = rp->er_next) {
      if (is_static(rp)) nstatic++;
      if (is_static(rp) == ((rp->er_flags & ER_ALLOC) != 0))
        bad(fmt_range("descriptor origin and ER_ALLOC disagree for region", rp->er_start,
                      rp->er_end));
    }
    // Descriptors a call holds between taking one and ex_lock are on
    // neither list.
    const size_t ninflight = ex->ex_ninflight, ninflight_alloc = ex->ex_ninflight_alloc;
    if (nfree + n + ninflight !=
            fex->fex_capacity + nalloc_free + nalloc_inuse + ninflight_alloc ||
        nstatic + (ninflight - ninflight_alloc) != fex->fex_capacity) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "descriptors: %zu free + %zu in use + %zu in flight != capacity %u + %zu "
                    "from expool (%zu static seen)",
                    nfree, n, ninflight, fex->fex_capacity,
                    nalloc_free + nalloc_inuse + ninflight_alloc, nstatic);
      bad(buf);
    }
  } else if (nalloc_inuse != n) {
    bad("a non-fixed extent holds a descriptor without ER_ALLOC");
  }
  return out;
}

// --- the shadow --------------------------------------------------------------------

void extent_shadow_alloc(const extent* ex, u_long start, u_long size, u_long alignment,
                         u_long skew, u_long boundary, int flags) {
  extent_given gv;
  gv.end = start + (size - 1);
  gv.alignment = alignment;
  gv.skew = skew;
  gv.boundary = boundary;
  gv.bound_base = (flags & EX_BOUNDZERO) ? 0 : ex->ex_start;
  extent_globals_get().shadow[ex][start] = gv;
}

void extent_shadow_free(const extent* ex, u_long start, u_long size) {
  auto& sh = extent_globals_get().shadow[ex];
  const u_long end = start + (size - 1);
  // Remove [start, end] from every range it touches, splitting as needed; a
  // piece whose start moved no longer owes its alignment.
  auto it = sh.upper_bound(start);
  if (it != sh.begin()) --it;
  while (it != sh.end() && it->first <= end) {
    const u_long s = it->first;
    const extent_given gv = it->second;
    if (gv.end < start) {
      ++it;
      continue;
    }
    it = sh.erase(it);
    if (s < start) {
      extent_given head = gv;
      head.end = start - 1;
      sh[s] = head;
    }
    if (gv.end > end) {
      extent_given tail = gv;
      tail.alignment = EX_NOALIGN;
      tail.skew = 0;
      sh[end + 1] = tail;
      it = sh.upper_bound(end + 1);
    }
  }
}

std::vector<std::string> extent_check_shadow(const extent_globals& g, const extent* ex) {
  std::vector<std::string> out;
  const std::string w = std::string("extent `") + ex->ex_name + "': ";
  auto sit = g.shadow.find(ex);
  std::vector<std::pair<u_long, u_long>> given;
  if (sit != g.shadow.end()) {
    for (const auto& [s, gv] : sit->second) {
      given.emplace_back(s, gv.end);
      // EXTENT_ALIGN masks: the rules below hold for powers of two.
      if (pow2(gv.boundary)) {
        // The first line after s (lines at base + k*boundary) must lie beyond
        // the end: a range may begin on a line but not touch or cross the next.
        const u_long off = (s - gv.bound_base) % gv.boundary;
        const u_long next_line = s - off + gv.boundary;  // may wrap to a small value
        if (next_line > s && gv.end >= next_line)
          out.push_back(w + fmt_range("given range crosses a boundary line:", s, gv.end));
      }
      if (gv.alignment > 1 && pow2(gv.alignment) && (s - gv.skew) % gv.alignment != 0) {
        const bool on_line =
            pow2(gv.boundary) && (s - gv.bound_base) % gv.boundary == 0;
        if (!on_line)
          out.push_back(w + fmt_range("given range misaligned (and not on a boundary line):", s,
                                      gv.end));
      }
    }
  }
  std::vector<std::pair<u_long, u_long>> held = region_ranges(ex);
  const bool nocoalesce = (ex->ex_flags & EXF_NOCOALESCE) != 0;
  if (!nocoalesce) {
    given = merged(given);
    held = merged(held);
  }
  if (given == held) return out;
  size_t i = 0;
  while (i < given.size() && i < held.size() && given[i] == held[i]) i++;
  std::string m = w + (nocoalesce ? "regions differ from the allocations given"
                                  : "covered units differ from the allocations given");
  if (i < given.size()) m += "; " + fmt_range("given", given[i].first, given[i].second);
  else m += "; nothing more given";
  if (i < held.size()) m += ", " + fmt_range("region", held[i].first, held[i].second);
  else m += ", no more regions";
  out.push_back(m);
  return out;
}

}  // namespace kasim
