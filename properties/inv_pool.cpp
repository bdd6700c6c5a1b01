// Invariants of every pool on the machine (NETBSD-ALLOCATORS.md §11 "pool"):
//  - pool_chk on each pool of pool_head whose pr_lock is free;
//  - "hardlimit": nout never exceeds the hard limit;
//  - "watermark": at each point where a pool's lock is free, its pages obey
//    the low/high-water rules of the documented contract (§3.6-§3.7), with
//    the exceptions NetBSD allows named in the message;
//  - shadow ownership: each live item lies at an item start inside a page of
//    its pool, is out there, and overlaps no other live item.
#include <cinttypes>
#include <cstdio>

#include "allocators/pool/pool.h"
#include "properties/invariants.h"
#include "sim/engine.h"

namespace {

std::string fmt(const char* f, unsigned long long a, unsigned long long b) {
  char buf[256];
  std::snprintf(buf, sizeof buf, f, a, b);
  return buf;
}

}  // namespace

KASIM_INVARIANT(pool) {
  using namespace kasim;
  const pool_globals& g = engine.local<pool_globals>();
  if (!g.inited) return;
  constexpr unsigned kCheapPages = 64;
  for (const pool* pp : g.pool_head) {
    if (pp->pr_lock.owner != nullptr) continue;
    const std::string w = std::string("pool ") + pp->pr_wchan + ": ";
    if (pp->pr_nout > pp->pr_hardlimit)
      out.push_back({"hardlimit", w + fmt("nout %llu exceeds the hard limit %llu", pp->pr_nout,
                                          pp->pr_hardlimit)});
    // Low-water mark: a failed catch-up (NOWAIT growth found no memory or
    // another grower) and a grow in progress are the allowed exceptions.
    const bool excused = pp->pr_catchup_failed || (pp->pr_flags & PR_GROWING) != 0;
    if (!excused && pp->pr_npages < pp->pr_minpages)
      out.push_back({"watermark", w + fmt("npages %llu below minpages %llu (no failed catch-up)",
                                          pp->pr_npages, pp->pr_minpages)});
    if (!excused && pp->pr_nitems < pp->pr_minitems)
      out.push_back({"watermark", w + fmt("nitems %llu below minitems %llu (no failed catch-up)",
                                          pp->pr_nitems, pp->pr_minitems)});
    // High-water mark: with no minitems, a page a pool_put left empty while
    // npages > max(maxpages, minpages) must have been freed at once. Pages
    // kept before the last watermark change or a later grow are excepted.
    if (pp->pr_minitems == 0 && pp->pr_npages > pp->pr_maxpages &&
        pp->pr_npages > pp->pr_minpages) {
      for (const pool_item_header* ph = pp->pr_emptypages.lh_first; ph; ph = ph->ph_next)
        if (ph->ph_kept) {
          char buf[96];
          std::snprintf(buf, sizeof buf, "empty page 0x%" PRIx64 " kept", ph->ph_page);
          out.push_back({"watermark", w + buf +
                                          fmt(" while npages %llu > maxpages %llu", pp->pr_npages,
                                              pp->pr_maxpages)});
          break;
        }
    }
    if (!full && pp->pr_npages > kCheapPages) continue;
    for (std::string& p : pool_chk(pp)) out.push_back({"pool", std::move(p)});
  }
  if (full || g.live.size() <= 1024)
    for (std::string& p : pool_chk_items(g)) out.push_back({"overlap", std::move(p)});
}
