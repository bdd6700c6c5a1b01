// tests/kmem/kmem_test.cpp: each kmem(9) rule of NETBSD-ALLOCATORS.md §5 and
// §12 items 41-44 — the size-class table for several coherency units and
// page sizes, routing, the KMEM_SIZE footer, the page path, KM_SLEEP under
// memory pressure with the page daemon — and the checker's reach.
#include <algorithm>
#include <vector>

#include "tests/kmem/kmem_harness.h"

namespace kasim::test {
namespace {

std::vector<size_t> sizes_of(const std::vector<kmem_class>& v) {
  std::vector<size_t> out;
  for (const kmem_class& c : v) out.push_back(c.kc_size);
  return out;
}

const kmem_class& cls(const std::vector<kmem_class>& v, size_t size) {
  for (const kmem_class& c : v)
    if (c.kc_size == size) return c;
  throw std::runtime_error("no class " + std::to_string(size));
}

// §5.2 example: CU 64, 4 KiB pages.
TEST(KmemLayout, CoherencyUnit64Page4K) {
  const kmem_layout l = kmem_compute_layout(64, 4096);
  EXPECT_EQ(sizes_of(l.small),
            (std::vector<size_t>{8, 16, 32, 64, 128, 192, 256, 320, 384, 448, 512, 768, 1024}));
  EXPECT_EQ(sizes_of(l.big), (std::vector<size_t>{2048, 4096}));
  EXPECT_EQ(l.kmem_cache_maxidx, 128u);
  EXPECT_EQ(l.kmem_cache_big_maxidx, 2u);
  // Below the coherency unit: KMEM_ALIGN and PR_NOTOUCH; from it up: CU;
  // page multiples: PAGE_SIZE.
  for (size_t sz : {8, 16, 32}) {
    EXPECT_EQ(cls(l.small, sz).kc_align, 8u) << sz;
    EXPECT_EQ(cls(l.small, sz).kc_flags, PR_NOTOUCH) << sz;
  }
  for (size_t sz : {64, 128, 192, 256, 320, 384, 448, 512, 768, 1024}) {
    EXPECT_EQ(cls(l.small, sz).kc_align, 64u) << sz;
    EXPECT_EQ(cls(l.small, sz).kc_flags, 0) << sz;
  }
  EXPECT_EQ(cls(l.big, 2048).kc_align, 64u);
  EXPECT_EQ(cls(l.big, 4096).kc_align, 4096u);
  EXPECT_STREQ(cls(l.small, 8).kc_name, "kmem-00008");
  EXPECT_STREQ(cls(l.small, 1024).kc_name, "kmem-01024");
  EXPECT_STREQ(cls(l.big, 4096).kc_name, "kmem-04096");
}

// The lookup table is cumulative: a skipped size maps to the next created one.
TEST(KmemLayout, LookupTableIsCumulative) {
  const kmem_layout l = kmem_compute_layout(64, 4096);
  auto at = [&](size_t allocsz) { return l.small[l.small_table[(allocsz - 1) >> 3]].kc_size; };
  EXPECT_EQ(at(8), 8u);
  EXPECT_EQ(at(24), 32u);   // 24 skipped
  EXPECT_EQ(at(40), 64u);   // 40, 48, 56 skipped
  EXPECT_EQ(at(72), 128u);  // 80, 96, 112 skipped
  EXPECT_EQ(at(136), 192u);  // 160 skipped
  EXPECT_EQ(at(200), 256u);  // 224 skipped
  EXPECT_EQ(at(520), 768u);
  EXPECT_EQ(l.small_table[127], static_cast<int>(l.small.size() - 1));
  EXPECT_EQ(l.big[l.big_table[0]].kc_size, 2048u);
  EXPECT_EQ(l.big[l.big_table[1]].kc_size, 4096u);
  EXPECT_EQ(l.big_table[2], -1);
}

TEST(KmemLayout, CoherencyUnit32) {
  const kmem_layout l = kmem_compute_layout(32, 4096);
  EXPECT_EQ(sizes_of(l.small), (std::vector<size_t>{8, 16, 32, 64, 96, 128, 160, 192, 224, 256,
                                                    320, 384, 448, 512, 768, 1024}));
  EXPECT_EQ(cls(l.small, 96).kc_align, 32u);
  EXPECT_EQ(cls(l.small, 16).kc_flags, PR_NOTOUCH);
  EXPECT_EQ(cls(l.small, 32).kc_flags, 0);
}

TEST(KmemLayout, CoherencyUnit128Page8K) {
  const kmem_layout l = kmem_compute_layout(128, 8192);
  EXPECT_EQ(sizes_of(l.small),
            (std::vector<size_t>{8, 16, 32, 64, 128, 256, 384, 512, 768, 1024}));
  EXPECT_EQ(cls(l.small, 64).kc_align, 8u);
  EXPECT_EQ(cls(l.small, 64).kc_flags, PR_NOTOUCH);
  EXPECT_EQ(cls(l.small, 384).kc_align, 128u);
  EXPECT_EQ(sizes_of(l.big), (std::vector<size_t>{2048, 4096, 8192}));
  EXPECT_EQ(cls(l.big, 4096).kc_align, 128u);  // not a multiple of an 8 KiB page
  EXPECT_EQ(cls(l.big, 8192).kc_align, 8192u);
  EXPECT_EQ(l.kmem_cache_big_maxidx, 4u);
}

TEST(KmemLayout, Page16KCreatesEveryBigClass) {
  const kmem_layout l = kmem_compute_layout(64, 16384);
  EXPECT_EQ(sizes_of(l.big), (std::vector<size_t>{2048, 4096, 8192, 16384}));
  EXPECT_EQ(cls(l.big, 16384).kc_align, 16384u);
  EXPECT_EQ(cls(l.big, 8192).kc_align, 64u);
  EXPECT_EQ(l.kmem_cache_big_maxidx, 8u);
}

// §12 item 42: allocsz = roundup8(size) + 8 picks the class; the page path
// takes round_page(roundup8(size)).
TEST(KmemRoute, Examples) {
  const kmem_layout l = kmem_compute_layout(64, 4096);
  struct {
    size_t req;
    const char* name;
  } cases[] = {{1, "kmem-00016"},    {8, "kmem-00016"},    {9, "kmem-00032"},
               {24, "kmem-00032"},   {25, "kmem-00064"},   {56, "kmem-00064"},
               {57, "kmem-00128"},   {1016, "kmem-01024"}, {1017, "kmem-02048"},
               {2040, "kmem-02048"}, {2041, "kmem-04096"}, {4088, "kmem-04096"},
               {4089, "kmem_va_arena"}, {4096, "kmem_va_arena"}, {100000, "kmem_va_arena"}};
  for (const auto& c : cases) EXPECT_EQ(kmem_route_name(l, c.req), c.name) << c.req;
  EXPECT_EQ(kmem_route_of(l, 4096).pagesz, 4096u);
  EXPECT_EQ(kmem_route_of(l, 4097).pagesz, 8192u);
  EXPECT_EQ(kmem_route_of(l, 24).allocsz, 32u);
  const kmem_layout l8 = kmem_compute_layout(128, 8192);
  EXPECT_EQ(kmem_route_name(l8, 5000), "kmem-08192");
  EXPECT_EQ(kmem_route_name(l8, 8184), "kmem-08192");
  EXPECT_EQ(kmem_route_name(l8, 8185), "kmem_va_arena");
  EXPECT_EQ(kmem_route_name(l8, 40), "kmem-00064");
}

TEST(Kmem, RoundupSize) {
  EXPECT_EQ(kmem_roundup_size(1), 8u);
  EXPECT_EQ(kmem_roundup_size(8), 8u);
  EXPECT_EQ(kmem_roundup_size(9), 16u);
}

// Boot builds one pool_cache per class, named as NetBSD names them, with the
// class's alignment, on pool_allocator_kmem at IPL_VM.
TEST(Kmem, BootBuildsTheCaches) {
  kmem_clean([](Sim&) {
    const kmem_globals& g = kmem_globals_get();
    ASSERT_EQ(g.caches.size(), 13u);
    ASSERT_EQ(g.big_caches.size(), 2u);
    EXPECT_STREQ(g.caches[3]->pc_pool.pr_wchan, "kmem-00064");
    EXPECT_EQ(g.caches[3]->pc_pool.pr_align, 64u);
    EXPECT_EQ(g.caches[3]->pc_pool.pr_ipl, IPL_VM);
    EXPECT_EQ(g.caches[3]->pc_pool.pr_alloc, pool_allocator_kmem_get());
    EXPECT_TRUE(g.caches[0]->pc_pool.pr_roflags & PR_NOTOUCH);
    EXPECT_EQ(g.big_caches[1]->pc_pool.pr_align, 4096u);
    EXPECT_EQ(g.kmem_cache[(32 - 1) >> 3], g.caches[2]);   // 24 + 8 -> 32
    EXPECT_EQ(g.kmem_cache[(40 - 1) >> 3], g.caches[3]);   // skipped 40 -> 64
    EXPECT_EQ(g.kmem_cache_big[1], g.big_caches[1]);
  });
}

// Each size is served by the cache its route names, aligned as its class
// requires, with its footer; every invariant holds while they are live and
// after they are freed.
TEST(Kmem, EachSizeIsServedByItsClass) {
  kmem_clean([](Sim&) {
    kmem_globals& g = kmem_globals_get();
    const size_t reqs[] = {1, 8, 9, 24, 25, 56, 57, 100, 184, 248, 312, 376, 440, 504, 760,
                           1016, 1017, 2040, 2041, 4088};
    std::vector<vaddr_t> ps;
    for (size_t req : reqs) {
      const vaddr_t p = kmem_alloc(req, KM_SLEEP);
      ASSERT_NE(p, 0u);
      ps.push_back(p);
      const kmem_live_rec& r = g.live.at(p);
      EXPECT_EQ(r.pc->pc_pool.pr_wchan, kmem_route_name(g.layout, req)) << req;
      EXPECT_EQ(pool_globals_get().live.at(p).pp, &r.pc->pc_pool) << req;
      EXPECT_EQ(g.footers.at(p + req), req);
      EXPECT_EQ(p % r.pc->pc_pool.pr_align, 0u) << req;
      if (r.span >= 64) {
        EXPECT_EQ(p % 64, 0u) << req;
      }
      if (r.span == 4096) {
        EXPECT_EQ(p % 4096, 0u) << req;
      }
    }
    EXPECT_EQ(all_problems(), "");
    for (size_t i = 0; i < ps.size(); i++) kmem_free(ps[i], reqs[i]);
    EXPECT_TRUE(g.live.empty());
    EXPECT_EQ(all_problems(), "");
  });
}

// §5.2: beyond the big classes, round_page(size) from kmem_va_arena, page
// by page backed, no footer; it goes through the arena's quantum cache.
TEST(Kmem, LargeAllocationsArePageBacked) {
  kmem_clean([](Sim&) {
    uvm_km_globals& ug = uvm_km_globals_get();
    const vaddr_t p = kmem_alloc(5000, KM_SLEEP);
    ASSERT_NE(p, 0u);
    EXPECT_EQ(p % 4096, 0u);
    ASSERT_TRUE(ug.kmem_live.count(p));
    EXPECT_EQ(ug.kmem_live.at(p).size, 8192u);
    EXPECT_EQ(ug.kmem_live.at(p).vm, ug.kmem_va_arena);
    for (vaddr_t va = p; va < p + 8192; va += 4096) EXPECT_TRUE(pmap_extract(pmap_kernel(), va, nullptr));
    EXPECT_EQ(kmem_globals_get().footers.count(p + 5000), 0u);
    EXPECT_EQ(ug.kmem_va_arena->vm_qcache[1]->qc_cache->pc_pool.pr_nout, 1u);  // kva-8192
    // Larger than qcache_max (64 KiB): a plain busy segment of the arena.
    const vaddr_t q = kmem_alloc(100000, KM_SLEEP);
    EXPECT_EQ(vmem_busy_size(ug.kmem_va_arena, q), round_page(100000));
    EXPECT_EQ(all_problems(), "");
    kmem_free(p, 5000);
    kmem_free(q, 100000);
    for (vaddr_t va = p; va < p + 8192; va += 4096) EXPECT_FALSE(pmap_extract(pmap_kernel(), va, nullptr));
    EXPECT_EQ(vmem_busy_size(ug.kmem_va_arena, q), 0u);
    EXPECT_EQ(all_problems(), "");
  });
}

TEST(Kmem, ZallocAndIntrVariantsAreRecorded) {
  kmem_clean([](Sim&) {
    kmem_globals& g = kmem_globals_get();
    const vaddr_t a = kmem_zalloc(40, KM_SLEEP);
    const vaddr_t b = kmem_intr_zalloc(40, KM_NOSLEEP);
    const vaddr_t c = kmem_intr_alloc(9000, KM_NOSLEEP);
    EXPECT_TRUE(g.live.at(a).zeroed);
    EXPECT_TRUE(g.live.at(b).zeroed && g.live.at(b).intr);
    EXPECT_FALSE(g.live.at(c).zeroed);
    kmem_free(a, 40);
    kmem_intr_free(b, 40);
    kmem_intr_free(c, 9000);
    EXPECT_EQ(g.nalloc, 3u);
    EXPECT_EQ(g.nfree, 3u);
  });
}

// The checker can fail: each kind of damage to the shadow is reported.
TEST(KmemCheck, FindsDamage) {
  kmem_clean([](Sim&) {
    kmem_globals& g = kmem_globals_get();
    const vaddr_t p = kmem_alloc(24, KM_SLEEP);
    const vaddr_t q = kmem_alloc(5000, KM_SLEEP);
    ASSERT_EQ(kmem_problems(), "");
    g.footers[p + 24] = 23;  // an overrun into the footer
    EXPECT_NE(kmem_problems().find("footer says 23"), std::string::npos) << kmem_problems();
    g.footers[p + 24] = 24;
    g.live.at(p).pc = g.caches[3];  // the wrong class
    EXPECT_NE(kmem_problems().find("routes to kmem-00032"), std::string::npos) << kmem_problems();
    g.live.at(p).pc = g.caches[2];
    g.live[p + 8] = g.live.at(p);  // an overlapping object
    g.footers[p + 8 + 24] = 24;
    EXPECT_NE(kmem_problems().find("overlaps"), std::string::npos) << kmem_problems();
    g.live.erase(p + 8);
    g.footers.erase(p + 32);
    g.live.at(q).span = 4096;  // a page path record of the wrong size
    EXPECT_NE(kmem_problems().find("spans 4096 bytes, not 8192"), std::string::npos);
    g.live.at(q).span = 8192;
    ASSERT_EQ(kmem_problems(), "");
    kmem_free(p, 24);
    kmem_free(q, 5000);
  });
}

// §12 item 41 under pressure: with memory exhausted, KM_NOSLEEP fails and
// KM_SLEEP waits (uvm_wait) until another LWP frees, then succeeds.
TEST(Kmem, KmSleepNeverReturnsNullUnderPressure) {
  Sim s(2, 512);
  std::vector<vaddr_t> hog;
  vaddr_t sleeper = 0;
  bool exhausted = false, nosleep_failed = false;
  s.lwp("hog", 0, [&] {
    kmem_boot(s);
    for (;;) {
      const vaddr_t p = kmem_alloc(16384, KM_NOSLEEP);
      if (p == 0) {
        nosleep_failed = true;  // KM_NOSLEEP: NULL when no page is left
        break;
      }
      hog.push_back(p);
    }
    exhausted = true;
    delay_ns(5'000'000);
    for (vaddr_t p : hog) kmem_free(p, 16384);
  });
  s.lwp("sleeper", 1, [&] {
    while (!exhausted) delay_ns(10'000);
    sleeper = kmem_alloc(16384, KM_SLEEP);
    kmem_free(sleeper, 16384);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_TRUE(nosleep_failed);
  EXPECT_GT(hog.size(), 0u);
  EXPECT_NE(sleeper, 0u);
  EXPECT_GT(s.e->local<uvm_km_globals>().npagewait, 0u);  // it did wait for pages
}

// The page daemon: below free_target it drains one pool per pass, round
// robin (pool_drain -> pool_reclaim, which invalidates the pool's cache
// first), and wakes the page waiters. Objects freed to kmem-00128 sit in its
// cache; a drain under pressure returns them to the pool, and once their
// pages have been idle 10 s a later drain frees those pages to a KM_SLEEP
// allocation that is waiting for memory.
TEST(Kmem, PageDaemonDrainsTheCachesForAWaiter) {
  Sim s(2, 512, {}, 1, /*pagedaemon=*/true);
  // More pages than every other pool holds idle: only kmem-00128's pages
  // (65 of them) can satisfy the waiter.
  constexpr size_t kBig = 40 * 4096;
  uint64_t freed_before = 0, freed_after = 0, invalidated = 0;
  vaddr_t big = 0;
  s.lwp("t", 1, [&] {
    kmem_boot(s);
    kmem_globals& g = kmem_globals_get();
    pool_cache_t pc = g.caches[4];  // kmem-00128
    std::vector<vaddr_t> v;
    for (int i = 0; i < 2000; i++) v.push_back(kmem_alloc(100, KM_SLEEP));
    for (vaddr_t p : v) kmem_free(p, 100);
    freed_before = pc->pc_pool.pr_npagefree;
    std::vector<vaddr_t> hog;
    for (;;) {  // every free page
      const vaddr_t p = kmem_alloc(4096, KM_NOSLEEP);
      if (p == 0) break;
      hog.push_back(p);
    }
    // Below free_target every failed page allocation kicks the daemon;
    // its round robin reaches kmem-00128 within one pass per pool.
    for (int i = 0; i < 1000 && pc->pc_ninvalidate == 0; i++) {
      const vaddr_t p = kmem_alloc(4096, KM_NOSLEEP);
      if (p != 0) hog.push_back(p);
      kpause("poll", false, 1, nullptr);
    }
    invalidated = pc->pc_ninvalidate;
    // Sleep (so that this CPU's cross-call thread can run the cache
    // transfer): the emptied pages become idle.
    kpause("idle", false, 11 * hz, nullptr);
    big = kmem_alloc(kBig, KM_SLEEP);  // waits for the page daemon
    freed_after = pc->pc_pool.pr_npagefree;
    kmem_free(big, kBig);
    for (vaddr_t p : hog) kmem_free(p, 4096);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_GT(invalidated, 0u);
  EXPECT_NE(big, 0u);
  EXPECT_GT(freed_after, freed_before);
}

}  // namespace
}  // namespace kasim::test
