// tests/pool/pool_test.cpp: each pool(9) rule of NETBSD-ALLOCATORS.md §3 and
// §12 items 1-21 (watermarks as the documented contract), on the simulated machine.
#include <algorithm>
#include <vector>

#include "allocators/pool_cache/pool_cache.h"
#include "tests/pool/pool_harness.h"

namespace kasim::test {
namespace {

constexpr uint64_t PS = 4096;

std::vector<vaddr_t> get_n(pool* pp, unsigned n, int flags = PR_NOWAIT) {
  std::vector<vaddr_t> v;
  for (unsigned i = 0; i < n; i++) {
    vaddr_t a = pool_get(pp, flags);
    EXPECT_NE(a, 0u) << "pool_get #" << i;
    v.push_back(a);
  }
  return v;
}

// §3.3 worked example: 64-byte items aligned to 64: on-page header, item
// offset 64, 63 items, bitmap in the header.
TEST(PoolInit, WorkedExample64) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(64, 64);
    EXPECT_TRUE(pp->pr_roflags & PR_PHINPAGE);
    EXPECT_EQ(pp->pr_itemoffset, 64u);
    EXPECT_EQ(pp->pr_itemsperpage, 63u);
    EXPECT_TRUE(pp->pr_roflags & PR_USEBMAP);
    EXPECT_EQ(pp->pr_size, 64u);
    EXPECT_EQ(pp->pr_maxcolor, 0u);
    EXPECT_EQ(pp->pr_phpool, nullptr);
  });
}

// §3.3: 32-byte items, align 8: offset 56, 126 items, a free list (the
// 8 header bytes hold only 64 bits); 8 bytes of slack give maxcolor 8.
TEST(PoolInit, WorkedExample32) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(32, 8);
    EXPECT_TRUE(pp->pr_roflags & PR_PHINPAGE);
    EXPECT_EQ(pp->pr_itemoffset, 56u);
    EXPECT_EQ(pp->pr_itemsperpage, 126u);
    EXPECT_FALSE(pp->pr_roflags & PR_USEBMAP);
    EXPECT_EQ(pp->pr_maxcolor, 8u);
  });
}

// §3.3 step 1: items are at least a pool_item and rounded to the alignment;
// PR_NOTOUCH keeps the requested size.
TEST(PoolInit, SizeRoundingAndNotouch) {
  pool_clean([](Sim&) {
    pool* a = mkpool(1);
    EXPECT_EQ(a->pr_size, POOL_ITEM_SIZE);
    EXPECT_EQ(a->pr_reqsize, 1u);
    EXPECT_EQ(a->pr_align, 8u);
    pool* b = mkpool(100, 32);
    EXPECT_EQ(b->pr_size, 128u);
    pool* c = mkpool(16, 0, PR_NOTOUCH);
    EXPECT_EQ(c->pr_size, 16u);
    EXPECT_FALSE(c->pr_roflags & PR_PHINPAGE);  // NOTOUCH: off-page
    EXPECT_TRUE(c->pr_roflags & PR_USEBMAP);
    EXPECT_EQ(c->pr_itemsperpage, 256u);
    // 256 items: phpool[3] (32 << 3 bits)
    EXPECT_STREQ(c->pr_phpool->pr_wchan, "phpool-256");
    pool* d = mkpool(16, 0, PR_PSERIALIZE);
    EXPECT_TRUE(d->pr_roflags & PR_NOTOUCH);
  });
}

// §3.3 step 2: a 1024-byte item would lose an item to an on-page header, so
// the header goes off-page (phpool-64), with a bitmap; 2000-byte items fit
// twice either way, so the header is on-page.
TEST(PoolInit, OnOrOffPage) {
  pool_clean([](Sim&) {
    pool* a = mkpool(1024);
    EXPECT_FALSE(a->pr_roflags & PR_PHINPAGE);
    EXPECT_EQ(a->pr_itemsperpage, 4u);
    EXPECT_EQ(a->pr_itemoffset, 0u);
    EXPECT_TRUE(a->pr_roflags & PR_USEBMAP);
    EXPECT_STREQ(a->pr_phpool->pr_wchan, "phpool-64");
    pool* b = mkpool(2000);
    EXPECT_TRUE(b->pr_roflags & PR_PHINPAGE);
    EXPECT_EQ(b->pr_itemsperpage, 2u);
    pool* c = mkpool(1024, 0, PR_PHINPAGE);  // forced
    EXPECT_TRUE(c->pr_roflags & PR_PHINPAGE);
    EXPECT_EQ(c->pr_itemsperpage, 3u);
    pool* d = mkpool(64, 0, PR_NOALIGN);
    EXPECT_FALSE(d->pr_roflags & PR_PHINPAGE);
  });
}

// An off-page header is an item of its phpool, returned with the page.
TEST(PoolInit, OffPageHeaderComesFromPhpool) {
  pool_clean([](Sim&) {
    pool* a = mkpool(1024, 0, 0, IPL_VM, "big1k");
    pool* ph = a->pr_phpool;
    // phpool-64 also holds the headers of other pools' pages: the kva-4096
    // quantum cache the page's VA comes from, and the pool_cache group pool.
    // Its items out are one per page of every pool that uses it.
    auto headers = [ph] {
      unsigned n = 0;
      for (const pool* p : pool_globals_get().pool_head)
        if (p->pr_phpool == ph) n += p->pr_npages;
      return n;
    };
    EXPECT_EQ(ph->pr_nout, headers());
    vaddr_t v = pool_get(a, PR_NOWAIT);
    EXPECT_EQ(a->pr_npages, 1u);
    EXPECT_EQ(ph->pr_nout, headers());
    const pool_item_header* h = pool_find_page(a, v);
    ASSERT_NE(h, nullptr);
    EXPECT_NE(h->ph_hdraddr, h->ph_page);
    const vaddr_t hdr = h->ph_hdraddr;
    EXPECT_EQ(pool_globals_get().live.at(hdr).pp, ph);
    pool_sethiwat(a, 0);
    pool_put(a, v);  // released at once: maxpages 0
    EXPECT_EQ(a->pr_npages, 0u);
    EXPECT_EQ(ph->pr_nout, headers());
    EXPECT_EQ(pool_globals_get().live.count(hdr), 0u);
    EXPECT_EQ(chk(a), "");
  });
}

TEST(PoolInit, ColouringCyclesThroughTheSlack) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(32, 8);  // maxcolor 8
    std::vector<unsigned> offs;
    for (int i = 0; i < 4; i++) {
      vaddr_t v = 0;
      for (unsigned k = 0; k < pp->pr_itemsperpage; k++) v = pool_get(pp, PR_NOWAIT);
      offs.push_back(pool_find_page(pp, v)->ph_off);
    }
    EXPECT_EQ(offs, (std::vector<unsigned>{56, 64, 56, 64}));
  });
}

// §12.8: a fresh list page hands out descending addresses; a bitmap pool
// the lowest free index.
TEST(PoolGet, FreshListPageDescendsBitmapAscends) {
  pool_clean([](Sim&) {
    pool* l = mkpool(32, 8);
    std::vector<vaddr_t> a = get_n(l, 3);
    const pool_item_header* ph = pool_find_page(l, a[0]);
    EXPECT_EQ(a[0], ph->ph_page + ph->ph_off + 125 * 32);
    EXPECT_EQ(a[1], a[0] - 32);
    EXPECT_EQ(a[2], a[1] - 32);
    pool* b = mkpool(64, 64);
    std::vector<vaddr_t> c = get_n(b, 3);
    const pool_item_header* pb = pool_find_page(b, c[0]);
    EXPECT_EQ(c[0], pb->ph_page + 64);
    EXPECT_EQ(c[1], c[0] + 64);
    pool_put(b, c[0]);
    EXPECT_EQ(pool_get(b, PR_NOWAIT), c[0]);  // lowest free index again
    // list pool: LIFO
    pool_put(l, a[2]);
    pool_put(l, a[0]);
    EXPECT_EQ(pool_get(l, PR_NOWAIT), a[0]);
    EXPECT_EQ(pool_get(l, PR_NOWAIT), a[2]);
  });
}

// §12.7: a put on a full page makes it curpage: the next get returns that item.
TEST(PoolGet, PutOnFullPageMakesItCurpage) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(2000);  // 2 items per page
    std::vector<vaddr_t> a = get_n(pp, 3);  // page A full, page B partial
    const pool_item_header* pa = pool_find_page(pp, a[0]);
    EXPECT_EQ(pa->ph_list, PH_FULL);
    EXPECT_EQ(pp->pr_curpage, pool_find_page(pp, a[2]));
    pool_put(pp, a[1]);
    EXPECT_EQ(pp->pr_curpage, pa);
    EXPECT_EQ(pool_get(pp, PR_NOWAIT), a[1]);
  });
}

// §12.9: first partial page, else first empty page, else exactly one new page.
TEST(PoolGet, PartialBeforeEmptyBeforeGrowing) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(2000);
    std::vector<vaddr_t> a = get_n(pp, 4);  // 2 full pages
    EXPECT_EQ(pp->pr_npagealloc, 2u);
    pool_put(pp, a[0]);
    pool_put(pp, a[1]);  // page of a[0..1] empty (kept: maxpages UINT_MAX)
    pool_put(pp, a[2]);  // other page partial
    EXPECT_EQ(pp->pr_nidle, 1u);
    EXPECT_EQ(pool_get(pp, PR_NOWAIT), a[2]);  // from the partial page
    vaddr_t e = pool_get(pp, PR_NOWAIT);       // from the empty page
    EXPECT_EQ(pool_find_page(pp, e), pool_find_page(pp, a[0]));
    EXPECT_EQ(pp->pr_npagealloc, 2u);
    get_n(pp, 1);
    EXPECT_EQ(pp->pr_npagealloc, 2u);
    get_n(pp, 1);  // everything full: grows by exactly one page
    EXPECT_EQ(pp->pr_npagealloc, 3u);
    EXPECT_EQ(pp->pr_npages, 3u);
    EXPECT_EQ(chk(pp), "");
  });
}

// §12.1: PR_NOWAIT at the hard limit: NULL, nfail++, nothing else changes.
TEST(PoolLimit, NowaitFailsAtTheHardLimit) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(64, 64);
    EXPECT_EQ(pool_sethardlimit(pp, 2, nullptr, 0), 0);
    get_n(pp, 2);
    const unsigned nitems = pp->pr_nitems;
    EXPECT_EQ(pool_get(pp, PR_NOWAIT), 0u);
    EXPECT_EQ(pp->pr_nfail, 1u);
    EXPECT_EQ(pp->pr_nout, 2u);
    EXPECT_EQ(pp->pr_nitems, nitems);
    // §12.2: WAITOK|LIMITFAIL fails the same way, without sleeping.
    const uint64_t t0 = kernel_now_ns();
    EXPECT_EQ(pool_get(pp, PR_WAITOK | PR_LIMITFAIL), 0u);
    EXPECT_EQ(pp->pr_nfail, 2u);
    EXPECT_EQ(pp->pr_nhardwait, 0u);
    EXPECT_LT(kernel_now_ns() - t0, 1'000'000u);
    // sethardlimit below nout: EINVAL, nothing changes
    EXPECT_EQ(pool_sethardlimit(pp, 1, nullptr, 0), kEINVAL);
    EXPECT_EQ(pp->pr_hardlimit, 2u);
  });
}

// §12.5: pool_sethardlimit sets maxpages = ceil(n/ipp).
TEST(PoolLimit, SethardlimitSetsMaxpages) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(64, 64);  // ipp 63
    pool_sethardlimit(pp, 64, nullptr, 0);
    EXPECT_EQ(pp->pr_maxpages, 2u);
    pool_sethardlimit(pp, 63, nullptr, 0);
    EXPECT_EQ(pp->pr_maxpages, 1u);
    EXPECT_EQ(pp->pr_hardlimit, 63u);
  });
}

// §12.3: PR_WAITOK at the hard limit sleeps until a put on another CPU; it
// never fails and logs no warning.
TEST(PoolLimit, WaitokSleepsUntilAPut) {
  Sim s(2);
  pool* pp = nullptr;
  vaddr_t held = 0, got = 0;
  bool ready = false;
  s.lwp("a", 0, [&] {
    pool_boot(s);
    pp = mkpool(64, 64);
    pool_sethardlimit(pp, 1, "tp: hard limit", 0);
    held = pool_get(pp, PR_NOWAIT);
    ready = true;
    delay_ns(5'000'000);
    pool_put(pp, held);
  });
  s.lwp("b", 1, [&] {
    while (!ready) delay_ns(100'000);
    got = pool_get(pp, PR_WAITOK);
    EXPECT_GE(kernel_now_ns(), 5'000'000u);
    pool_put(pp, got);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_EQ(got, held);
  EXPECT_EQ(pp->pr_nhardwait, 1u);
  EXPECT_EQ(pp->pr_nfail, 0u);
  EXPECT_EQ(pp->pr_nwarn, 0u);
  for (const auto& m : s.e->messages()) EXPECT_EQ(m.text.find("hard limit"), std::string::npos);
}

// §12.4: the warning is logged on the first failing hit, then only after
// ratecap seconds, with its simulated time in the machine's messages.
TEST(PoolLimit, WarningIsRateCapped) {
  Sim s(1);
  s.lwp("t", 0, [&] {
    pool_boot(s);
    pool* pp = mkpool(64, 64);
    pool_sethardlimit(pp, 0, "tp: hard limit reached", 2);
    EXPECT_EQ(pool_get(pp, PR_NOWAIT), 0u);  // logged
    EXPECT_EQ(pool_get(pp, PR_NOWAIT), 0u);  // within 2 s: not
    delay_ns(1'000'000'000);
    EXPECT_EQ(pool_get(pp, PR_NOWAIT), 0u);  // 1 s: not
    delay_ns(1'100'000'000);
    EXPECT_EQ(pool_get(pp, PR_NOWAIT), 0u);  // 2.1 s: logged
    EXPECT_EQ(pp->pr_nwarn, 2u);
    EXPECT_EQ(pp->pr_nfail, 4u);
    pool_sethardlimit(pp, 0, "tp: again", 100);  // resets: first hit logs
    EXPECT_EQ(pool_get(pp, PR_NOWAIT), 0u);
    EXPECT_EQ(pp->pr_nwarn, 3u);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  std::vector<std::string> texts;
  for (const auto& m : s.e->messages())
    if (m.text.find("tp:") == 0) texts.push_back(m.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"tp: hard limit reached\n", "tp: hard limit reached\n",
                                             "tp: again\n"}));
  uint64_t t1 = 0;
  int n = 0;
  for (const auto& m : s.e->messages())
    if (m.text.find("tp: hard") == 0 && n++ == 1) t1 = m.time;
  EXPECT_GE(t1, 2'100'000'000u);
}

// A drain hook runs at the hard limit; if it frees below, the get succeeds.
TEST(PoolLimit, DrainHookAtTheHardLimit) {
  pool_clean([](Sim&) {
    static pool* hp;
    static vaddr_t victim;
    static int calls;
    calls = 0;
    hp = mkpool(64, 64);
    pool_set_drain_hook(hp, [](void*, int) { calls++; if (victim) { pool_put(hp, victim); victim = 0; } }, nullptr);
    pool_sethardlimit(hp, 1, nullptr, 0);
    victim = pool_get(hp, PR_NOWAIT);
    vaddr_t v = pool_get(hp, PR_NOWAIT);
    EXPECT_EQ(calls, 1);
    EXPECT_NE(v, 0u);
    EXPECT_EQ(pool_get(hp, PR_NOWAIT), 0u);  // hook frees nothing now
    EXPECT_EQ(calls, 2);
    pool_put(hp, v);
  });
}

// §12.6 and §12.13 (documented contract): sethiwat sets maxpages =
// ceil(n/ipp), 0 for 0; a page emptied while npages > maxpages is freed at once.
TEST(PoolWatermark, HiwatReleasesEmptiedPagesAtOnce) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(2000);  // ipp 2
    pool_sethiwat(pp, 3);
    EXPECT_EQ(pp->pr_maxpages, 2u);
    pool_sethiwat(pp, 0);
    EXPECT_EQ(pp->pr_maxpages, 0u);
    pool_sethiwat(pp, 4);
    EXPECT_EQ(pp->pr_maxpages, 2u);
    std::vector<vaddr_t> a = get_n(pp, 6);  // 3 pages
    pool_put(pp, a[0]);
    pool_put(pp, a[1]);  // npages 3 > 2: freed
    EXPECT_EQ(pp->pr_npages, 2u);
    EXPECT_EQ(pp->pr_npagefree, 1u);
    EXPECT_EQ(pp->pr_nidle, 0u);
    pool_put(pp, a[2]);
    pool_put(pp, a[3]);  // npages 2, not > 2: kept, on the empty list
    EXPECT_EQ(pp->pr_npages, 2u);
    EXPECT_EQ(pp->pr_nidle, 1u);
    const pool_item_header* e = pp->pr_emptypages.lh_first;
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->ph_time, time_uptime());
    pool_sethiwat(pp, 0);  // does not free the idle page itself
    EXPECT_EQ(pp->pr_npages, 2u);
    pool_put(pp, a[4]);
    pool_put(pp, a[5]);  // emptied with npages 2 > 0: freed
    EXPECT_EQ(pp->pr_npages, 1u);
    EXPECT_EQ(chk(pp), "");
  });
}

// §12.6: minitems and minpages keep emptied pages even above maxpages.
TEST(PoolWatermark, ReleaseNeedsMinitemsAndMinpages) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(2000);  // ipp 2
    pool_sethiwat(pp, 0);
    pool_setlowat(pp, 2);  // minitems 2, minpages 1: catches up 1 page
    EXPECT_EQ(pp->pr_minitems, 2u);
    EXPECT_EQ(pp->pr_minpages, 1u);
    EXPECT_EQ(pp->pr_npages, 1u);
    EXPECT_EQ(pp->pr_nitems, 2u);
    std::vector<vaddr_t> a = get_n(pp, 2);  // catch-up after each get
    EXPECT_GE(pp->pr_nitems, 2u);
    const unsigned np = pp->pr_npages;
    pool_put(pp, a[0]);
    pool_put(pp, a[1]);  // emptied: nitems - 2 >= 2 and npages > 1 > 0 -> freed
    EXPECT_EQ(pp->pr_npages, np - 1);
    EXPECT_GE(pp->pr_nitems, 2u);
    EXPECT_GE(pp->pr_npages, pp->pr_minpages);
    EXPECT_EQ(chk(pp), "");
  });
}

// §12.10-11: setlowat catches up at once; a get below the mark grows (NOWAIT).
TEST(PoolWatermark, LowatCatchesUp) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(64, 64);  // ipp 63
    pool_setlowat(pp, 100);
    EXPECT_EQ(pp->pr_minpages, 2u);
    EXPECT_EQ(pp->pr_npages, 2u);
    EXPECT_EQ(pp->pr_nitems, 126u);
    get_n(pp, 26);  // nitems 100: no growth
    EXPECT_EQ(pp->pr_npages, 2u);
    get_n(pp, 1);  // 99 < 100: grows one page
    EXPECT_EQ(pp->pr_npages, 3u);
    EXPECT_EQ(pp->pr_nitems, 99u + 63u);
    EXPECT_FALSE(pp->pr_catchup_failed);
    pool_setlowat(pp, 0);
    EXPECT_EQ(pp->pr_minpages, 0u);
  });
}

// A catch-up that finds no memory is ignored (and the exception is recorded).
TEST(PoolWatermark, FailedCatchupIsIgnored) {
  pool_clean(
      [](Sim&) {
        pool* pp = mkpool(64, 64);
        pool_setlowat(pp, 63 * 100);  // more pages than the machine has
        EXPECT_TRUE(pp->pr_catchup_failed);
        EXPECT_LT(pp->pr_npages, 100u);
        vaddr_t v = pool_get(pp, PR_NOWAIT);
        EXPECT_NE(v, 0u);
        EXPECT_EQ(chk(pp), "");
        std::vector<props::Problem> probs = props::check_invariants(*Engine::current(), true);
        for (const auto& p : probs) ADD_FAILURE() << p.kind << ": " << p.message;
      },
      64);
}

// §12.12: prime sets minpages, raises maxpages above it, and grows.
TEST(PoolWatermark, Prime) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(64, 64);
    pool_sethiwat(pp, 63);  // maxpages 1
    pool_prime(pp, 64 + 63);
    EXPECT_EQ(pp->pr_minpages, 3u);
    EXPECT_EQ(pp->pr_maxpages, 4u);
    EXPECT_EQ(pp->pr_npages, 3u);
    EXPECT_EQ(pp->pr_hiwat, 3u);  // §12.15
    EXPECT_EQ(pp->pr_npagealloc, 3u);
  });
}

// §12.14: reclaim frees only pages idle for 10 s, never below minpages,
// and returns 1 iff it freed one.
TEST(PoolReclaim, HonoursIdleTimeAndMinpages) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(2000);  // ipp 2
    std::vector<vaddr_t> a = get_n(pp, 6);
    for (vaddr_t v : a) pool_put(pp, v);
    EXPECT_EQ(pp->pr_nidle, 3u);
    EXPECT_EQ(pool_reclaim(pp), 0);  // not idle long enough
    EXPECT_EQ(pp->pr_npages, 3u);
    delay_ns(9'000'000'000ULL);
    EXPECT_EQ(pool_reclaim(pp), 0);
    delay_ns(1'000'000'000ULL);
    pool_prime(pp, 2);  // minpages 1
    EXPECT_EQ(pool_reclaim(pp), 1);
    EXPECT_EQ(pp->pr_npages, 1u);
    EXPECT_EQ(pp->pr_npagefree, 2u);
    EXPECT_EQ(pool_reclaim(pp), 0);
    EXPECT_EQ(pp->pr_hiwat, 3u);  // §12.15: the maximum ever
    EXPECT_EQ(chk(pp), "");
  });
}

// pool_reclaim returns 0 at once when pr_lock is contended.
TEST(PoolReclaim, ContendedLockReturnsZero) {
  Sim s(2);
  pool* pp = nullptr;
  bool held = false, done = false;
  s.lwp("holder", 0, [&] {
    pool_boot(s);
    pp = mkpool(2000, 0, 0, IPL_NONE);
    vaddr_t v = pool_get(pp, PR_WAITOK);
    pool_put(pp, v);
    delay_ns(11'000'000'000ULL);
    mutex_enter(&pp->pr_lock);
    held = true;
    while (!done) delay_ns(100'000);
    mutex_exit(&pp->pr_lock);
  });
  s.lwp("reclaimer", 1, [&] {
    while (!held) delay_ns(100'000);
    EXPECT_EQ(pool_reclaim(pp), 0);
    EXPECT_EQ(pp->pr_npages, 1u);
    done = true;
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
}

// pool_drain: round-robin over pool_head, skipping pools without pages; the
// page daemon calls it as a reclaim hook.
TEST(PoolReclaim, DrainRoundRobin) {
  pool_clean([](Sim&) {
    pool* a = mkpool(2000, 0, 0, IPL_VM, "aaa");
    pool* b = mkpool(2000, 0, 0, IPL_VM, "bbb");
    pool_put(a, pool_get(a, PR_NOWAIT));
    pool_put(b, pool_get(b, PR_NOWAIT));
    delay_ns(11'000'000'000ULL);
    pool* which = nullptr;
    std::vector<std::string> seen;
    for (int i = 0; i < 4; i++) {
      bool r = pool_drain(&which);
      if (which) seen.push_back(std::string(which->pr_wchan) + (r ? "+" : "-"));
    }
    EXPECT_EQ(a->pr_npages, 0u);
    EXPECT_EQ(b->pr_npages, 0u);
    // aaa before bbb (pool_head is sorted by wchan); phpools hold no pages here.
    ASSERT_GE(seen.size(), 2u);
    EXPECT_EQ(seen[0], "aaa+");
    EXPECT_EQ(seen[1], "bbb+");
  });
}

// §12.16 after a mixed sequence; pool_destroy frees the idle pages.
TEST(PoolLife, DestroyReturnsEveryPage) {
  pool_clean([](Sim&) {
    const uint64_t free0 = uvm_free_pages();
    const vmem_t* meta = uvm_km_globals_get().kmem_meta_arena;
    const uint64_t meta0 = vmem_size(meta, VMEM_ALLOC | VMEM_FREE);
    pool* pp = mkpool(1024);
    std::vector<vaddr_t> a = get_n(pp, 9);
    EXPECT_EQ(pp->pr_nitems + pp->pr_nout, pp->pr_npages * pp->pr_itemsperpage);
    for (vaddr_t v : a) pool_put(pp, v);
    EXPECT_EQ(chk(pp), "");
    pool_destroy(pp);
    pool_reclaim(pp->pr_phpool);
    // Only metadata pages may stay (kmem_meta_arena's page-backed spans):
    // the phpool page, and the group kva-4096's cache keeps the freed VA in.
    EXPECT_EQ(free0 - uvm_free_pages(),
              (vmem_size(meta, VMEM_ALLOC | VMEM_FREE) - meta0) / page_size());
  });
}

// §12.20: PR_ZERO is recorded for the item (kasim has no memory contents).
TEST(PoolGet, ZeroIsRecorded) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(64, 64);
    vaddr_t v = pool_get(pp, PR_NOWAIT | PR_ZERO);
    EXPECT_TRUE(pool_globals_get().live.at(v).zeroed);
    EXPECT_EQ(pp->pr_nzero, 1u);
  });
}

// The big allocators: page sizes 2^13 .. 2^24.
TEST(PoolInit, BigAllocators) {
  pool_clean([](Sim&) {
    EXPECT_EQ(pool_bigidx(8192), 0);
    EXPECT_EQ(pool_bigidx(8193), 1);
    pool_allocator* pa = pool_allocator_big_get(1);
    pool* pp = mkpool(10000, 0, PR_NOALIGN, IPL_NONE, "big", pa);
    EXPECT_EQ(pa->pa_pagesz, 16384u);
    EXPECT_EQ(pp->pr_itemsperpage, 1u);
    vaddr_t v = pool_get(pp, PR_WAITOK);
    EXPECT_NE(v, 0u);
    pool_put(pp, v);
    EXPECT_EQ(chk(pp), "");
  });
}

// §12.21: two growers on two CPUs (NOWAIT or WAITOK each) never both
// allocate a page; a WAITOK grower that finds PR_GROWING waits and restarts;
// a NOWAIT one that finds a WAITOK grower fails (EWOULDBLOCK, no curpage).
// Random schedules.
TEST(PoolGrow, ConcurrentGrowersAddOnePage) {
  uint64_t waited = 0;
  for (uint64_t seed = 1; seed <= 60; seed++) {
    Sim s(2, 1024, {}, seed, false, "random");
    pool* pp = nullptr;
    bool ready = false;
    vaddr_t x = 0, y = 0;
    const int fa = seed % 2 ? PR_WAITOK : PR_NOWAIT;
    const int fb = (seed / 2) % 2 ? PR_NOWAIT : PR_WAITOK;
    s.lwp("a", 0, [&] {
      pool_boot(s);
      pp = mkpool(64, 64, 0, IPL_NONE);
      ready = true;
      x = pool_get(pp, fa);
    });
    s.lwp("b", 1, [&] {
      while (!ready) delay_ns(1000);
      y = pool_get(pp, fb);
    });
    ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
    EXPECT_EQ(pp->pr_npagealloc, 1u) << "seed " << seed;
    if (fa == PR_WAITOK) {
      EXPECT_NE(x, 0u);
    }
    if (fb == PR_WAITOK) {
      EXPECT_NE(y, 0u);
    }
    EXPECT_TRUE(x != 0 || y != 0);
    if (x != 0 && y != 0) {
      EXPECT_NE(x, y);
    }
    EXPECT_EQ(pp->pr_nget - pp->pr_nput, pp->pr_nout);
    waited += pp->pr_ngrowwait;
  }
  EXPECT_GT(waited, 0u) << "no schedule made a grower wait for another";
}

// The invariants can fail: damaged pools are reported.
TEST(PoolInvariants, DamageIsReported) {
  pool_clean([](Sim&) {
    pool* pp = mkpool(64, 64);
    vaddr_t v = pool_get(pp, PR_NOWAIT);
    EXPECT_EQ(chk(pp), "");
    pp->pr_nitems++;
    EXPECT_NE(chk(pp).find("nitems"), std::string::npos);
    pp->pr_nitems--;
    pool_globals_get().live.erase(v);
    EXPECT_NE(chk(pp).find("shadow"), std::string::npos);
    pool_globals_get().live[v + 8] = {pp, 64, false};
    EXPECT_NE(chk(pp).find("not an item start"), std::string::npos);
    pool_globals_get().live.erase(v + 8);
    pool_globals_get().live[v] = {pp, 64, false};
    // hard limit and watermark kinds
    pp->pr_hardlimit = 0;
    pp->pr_minitems = 1000;
    std::vector<props::Problem> probs = props::check_invariants(*Engine::current(), true);
    bool hl = false, wm = false;
    for (const auto& p : probs) {
      hl |= p.kind == "hardlimit";
      wm |= p.kind == "watermark";
    }
    EXPECT_TRUE(hl);
    EXPECT_TRUE(wm);
    pp->pr_hardlimit = POOL_UINT_MAX;
    pp->pr_minitems = 0;
    // a kept empty page above maxpages
    vaddr_t w = pool_get(pp, PR_NOWAIT);
    pool_put(pp, w);
    pool_put(pp, v);
    ASSERT_NE(pp->pr_emptypages.lh_first, nullptr);
    pp->pr_maxpages = 0;
    probs = props::check_invariants(*Engine::current(), true);
    wm = false;
    for (const auto& p : probs) wm |= p.kind == "watermark";
    EXPECT_TRUE(wm);
    pp->pr_maxpages = POOL_UINT_MAX;
  });
}

}  // namespace
}  // namespace kasim::test
