// tests/pool_cache/pool_cache_test.cpp: the pool_cache(9) rules of
// NETBSD-ALLOCATORS.md §4 and §12 items 22-27, one test per rule.
#include <set>

#include "tests/pool_cache/pool_cache_harness.h"

namespace kasim::test {
namespace {

TEST(PoolCache, InitStartsEveryCpuOnTheDummyGroup) {
  Sim s(3, 1024);
  s.lwp("t", 0, [&] {
    pool_boot(s);
    pool_cache* pc = mkcache(64);
    ASSERT_EQ(pc->pc_cpus.size(), 3u);
    for (const auto& cc : pc->pc_cpus) {
      EXPECT_EQ(cc->cc_current, dummy_group());
      EXPECT_EQ(cc->cc_previous, dummy_group());
      EXPECT_EQ(cc->cc_pcgcache, &pool_cache_globals_get().pcg_normal_cache);
    }
    // "Always empty, yet always full".
    EXPECT_EQ(dummy_group()->pcg_avail, 0u);
    EXPECT_EQ(dummy_group()->pcg_size, 0u);
    EXPECT_EQ(pc->pc_pcgsize, PCG_NOBJECTS_NORMAL);
    EXPECT_EQ(pc->pc_pool.pr_cache, pc);
    EXPECT_NE(pc->pc_ctor, nullptr);  // the nullop sentinels
    EXPECT_NE(pc->pc_dtor, nullptr);
    pool_cache* large = mkcache(64, nullptr, PR_LARGECACHE);
    EXPECT_EQ(large->pc_pcgsize, PCG_NOBJECTS_LARGE);
    EXPECT_EQ(large->pc_pcgpool, pool_cache_globals_get().pcg_large_pool);
    EXPECT_EQ(large->pc_pcgpool->pr_alloc, pool_allocator_meta_get());
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
}

TEST(PoolCache, InitChoosesTheAllocatorAndDropsPserializeWithADtor) {
  pool_clean([](Sim&) {
    pool_cache* small = mkcache(512, nullptr, 0, IPL_NONE);
    EXPECT_EQ(small->pc_pool.pr_alloc, pool_allocator_nointr_get());
    pool_cache* big = mkcache(3 * 4096, nullptr, 0, IPL_NONE);
    EXPECT_EQ(big->pc_pool.pr_alloc, pool_allocator_big_get(pool_bigidx(3 * 4096)));
    EXPECT_TRUE(big->pc_pool.pr_roflags & PR_NOALIGN);
    pool_cache* vm = mkcache(512, nullptr, 0, IPL_VM);
    EXPECT_EQ(vm->pc_pool.pr_alloc, pool_allocator_kmem_get());
    CtorCounts c;
    pool_cache* withdtor = mkcache(64, &c, PR_PSERIALIZE);
    EXPECT_FALSE(withdtor->pc_pool.pr_roflags & PR_PSERIALIZE);
    EXPECT_TRUE(withdtor->pc_roflags & PR_PSERIALIZE);
    pool_cache* nodtor = mkcache(64, nullptr, PR_PSERIALIZE);
    EXPECT_TRUE(nodtor->pc_pool.pr_roflags & PR_PSERIALIZE);
  });
}

// §12 item 24: LIFO within a group.
TEST(PoolCache, ObjectsComeBackLifo) {
  pool_clean([](Sim&) {
    pool_cache* pc = mkcache(64);
    vaddr_t a = pool_cache_get(pc, PR_WAITOK), b = pool_cache_get(pc, PR_WAITOK),
            c = pool_cache_get(pc, PR_WAITOK);
    pool_cache_put(pc, a);
    pool_cache_put(pc, b);
    pool_cache_put(pc, c);
    EXPECT_EQ(pool_cache_get(pc, PR_NOWAIT), c);
    EXPECT_EQ(pool_cache_get(pc, PR_NOWAIT), b);
    EXPECT_EQ(pool_cache_get(pc, PR_NOWAIT), a);
    EXPECT_EQ(cchk(pc), "");
    pool_cache_put(pc, a);
    pool_cache_put(pc, b);
    pool_cache_put(pc, c);
  });
}

// §12 items 24-25, and put_slow taking an empty group from the pcg pool:
// 31 puts fill current (15), then previous (15), push one full group.
TEST(PoolCache, GroupsFillSwapAndGoToTheFullList) {
  pool_clean([](Sim&) {
    pool_cache* pc = mkcache(64);
    pool* pcgpool = pool_cache_globals_get().pcg_normal_pool;
    std::vector<vaddr_t> o;
    for (int i = 0; i < 31; i++) o.push_back(pool_cache_get(pc, PR_WAITOK));
    const unsigned groups0 = pcgpool->pr_nout;
    pool_cache_cpu_t* cc = pc->pc_cpus[0].get();
    pool_cache_put(pc, o[0]);  // both dummy: a new group from the pcg pool
    EXPECT_EQ(pcgpool->pr_nout, groups0 + 1);
    EXPECT_EQ(cc->cc_previous, dummy_group());
    EXPECT_EQ(cc->cc_current->pcg_avail, 1u);
    for (int i = 1; i < 15; i++) pool_cache_put(pc, o[i]);
    EXPECT_EQ(cc->cc_current->pcg_avail, 15u);  // at most 15 per group
    pool_cache_put(pc, o[15]);  // current full, previous the dummy: a second group
    EXPECT_EQ(cc->cc_previous->pcg_avail, 15u);
    EXPECT_EQ(cc->cc_current->pcg_avail, 1u);
    for (int i = 16; i < 30; i++) pool_cache_put(pc, o[i]);
    EXPECT_EQ(pc->pc_fullgroups, nullptr);
    pool_cache_put(pc, o[30]);  // both full: current goes to pc_fullgroups
    ASSERT_NE(pc->pc_fullgroups, nullptr);
    EXPECT_EQ(pc->pc_fullgroups->pcg_avail, 15u);
    EXPECT_EQ(cc->cc_nfull, 1);
    EXPECT_EQ(pcgpool->pr_nout, groups0 + 3);
    EXPECT_EQ(cchk(pc), "");
    // Gets: current (LIFO), then swap with previous, then install the full
    // group from pc_fullgroups; each group LIFO.
    std::vector<vaddr_t> back;
    for (int i = 0; i < 31; i++) back.push_back(pool_cache_get(pc, PR_NOWAIT));
    // After the 31 puts: current {o30}, previous {o0..o14} (the first group),
    // pc_fullgroups {o15..o29} (pushed when both were full).
    std::vector<vaddr_t> want;
    want.push_back(o[30]);
    for (int i = 14; i >= 0; i--) want.push_back(o[static_cast<size_t>(i)]);
    for (int i = 29; i >= 15; i--) want.push_back(o[static_cast<size_t>(i)]);
    EXPECT_EQ(back, want);
    EXPECT_EQ(cc->cc_nfull, 0);
    EXPECT_EQ(pc->pc_fullgroups, nullptr);
    EXPECT_EQ(cc->cc_pcmisses, 31u);  // only the first 31 gets built objects
    EXPECT_EQ(cchk(pc), "");
    for (vaddr_t v : back) pool_cache_put(pc, v);
  });
}

// §12 item 22: the ctor runs only for objects fresh from pool_get; a ctor
// failure gives the object back with pool_put (no dtor) and NULL, even WAITOK.
TEST(PoolCache, CtorOnlyForFreshObjectsAndFailureReturnsNull) {
  pool_clean([](Sim&) {
    CtorCounts c;
    c.fail_every = 3;
    pool_cache* pc = mkcache(128, &c);
    vaddr_t a = pool_cache_get(pc, PR_WAITOK);
    vaddr_t b = pool_cache_get(pc, PR_WAITOK);
    EXPECT_EQ(c.ctor, 2);
    const uint64_t nput = pc->pc_pool.pr_nput;
    EXPECT_EQ(pool_cache_get(pc, PR_WAITOK), 0u);
    EXPECT_EQ(c.ctor, 3);
    EXPECT_EQ(c.dtor, 0);
    EXPECT_EQ(pc->pc_pool.pr_nput, nput + 1);
    EXPECT_EQ(pc->pc_pool.pr_nout, 2u);
    pool_cache_put(pc, a);
    pool_cache_put(pc, b);
    EXPECT_EQ(pool_cache_get(pc, PR_WAITOK), b);
    EXPECT_EQ(c.ctor, 3);  // a hit: no ctor
    pool_cache_put(pc, b);
    EXPECT_EQ(c.dtor, 0);
    EXPECT_TRUE(c.errors.empty());
    EXPECT_EQ(cchk(pc), "");
  });
}

// §12 item 23: no group to be had -> dtor and pool_put at once.
TEST(PoolCache, PutDestructsWhenNoGroupIsAvailable) {
  pool_clean([](Sim&) {
    CtorCounts c;
    pool_cache* pc = mkcache(64, &c);
    std::vector<vaddr_t> o;
    for (int i = 0; i < 31; i++) o.push_back(pool_cache_get(pc, PR_WAITOK));
    pool_cache_globals_get().pool_cache_disable = true;
    pool_cache_put(pc, o[0]);  // no empty group and none may be allocated
    EXPECT_EQ(c.dtor, 1);
    EXPECT_EQ(pc->pc_pool.pr_nout, 30u);
    EXPECT_EQ(pc->pc_cpus[0]->cc_pcmisses, 32u);
    pool_cache_globals_get().pool_cache_disable = false;
    for (size_t i = 1; i < o.size(); i++) pool_cache_put(pc, o[i]);
    EXPECT_EQ(c.dtor, 1);
    EXPECT_EQ(cchk(pc), "");
    pool_cache_destruct_object(pc, pool_cache_get(pc, PR_NOWAIT));
    EXPECT_EQ(c.dtor, 2);
    EXPECT_TRUE(c.errors.empty());
  });
}

// §12 item 26: after invalidate nothing is cached anywhere, each cached
// object had its dtor once, nout equals what clients hold; every CPU ran the
// transfer (by xcall).
TEST(PoolCache, InvalidateTransfersOnEveryCpuAndDestructsOnce) {
  Sim s(4, 2048);
  CtorCounts c;
  pool_cache* pc = nullptr;
  int done = 0;
  std::vector<vaddr_t> kept;
  for (int cpu = 0; cpu < 4; cpu++) {
    s.lwp("t" + std::to_string(cpu), cpu, [&, cpu] {
      if (cpu == 0) {
        pool_boot(s);
        pc = mkcache(96, &c);
      }
      while (pc == nullptr) delay_ns(1000);
      std::vector<vaddr_t> mine;
      for (int i = 0; i < 20 + cpu; i++) mine.push_back(pool_cache_get(pc, PR_WAITOK));
      kept.push_back(mine.back());
      mine.pop_back();
      for (vaddr_t v : mine) pool_cache_put(pc, v);
      done++;
      if (cpu != 0) return;
      while (done < 4) delay_ns(1000);
      EXPECT_EQ(pool_cache_nobjects(pc), static_cast<uint64_t>(19 + 20 + 21 + 22));
      pool_cache_invalidate(pc);
      EXPECT_EQ(pc->pc_ntransfer, 4u);
      for (const auto& cc : pc->pc_cpus) {
        EXPECT_EQ(cc->cc_current, dummy_group());
        EXPECT_EQ(cc->cc_previous, dummy_group());
      }
      EXPECT_EQ(pc->pc_fullgroups, nullptr);
      EXPECT_EQ(pc->pc_partgroups, nullptr);
      EXPECT_EQ(pool_cache_globals_get().pcg_normal_cache, nullptr);
      EXPECT_EQ(pool_cache_nobjects(pc), 0u);
      EXPECT_EQ(pc->pc_pool.pr_nout, 4u);  // what the clients hold
      EXPECT_EQ(c.dtor, c.ctor - 4);
      EXPECT_EQ(pool_cache_globals_get().pcg_normal_pool->pr_nout, 0u);
      EXPECT_EQ(cchk(pc), "");
      for (vaddr_t v : kept) pool_cache_put(pc, v);
      pool_cache_invalidate(pc);
      EXPECT_EQ(pc->pc_pool.pr_nout, 0u);
      EXPECT_EQ(c.dtor, c.ctor);
      EXPECT_TRUE(c.errors.empty());
      pool_cache_destroy(pc);
    });
  }
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
}

// §12 item 14: pool_reclaim on a pool with a cache invalidates it first, so
// the cached objects' pages can go.
TEST(PoolCache, PoolReclaimInvalidatesTheCache) {
  pool_clean([](Sim&) {
    CtorCounts c;
    pool_cache* pc = mkcache(512, &c);
    std::vector<vaddr_t> o;
    for (int i = 0; i < 40; i++) o.push_back(pool_cache_get(pc, PR_WAITOK));
    for (vaddr_t v : o) pool_cache_put(pc, v);
    EXPECT_EQ(pc->pc_pool.pr_nout, 40u);
    // The pages only now become empty, so none is idle long enough yet.
    EXPECT_EQ(pool_reclaim(&pc->pc_pool), 0);
    EXPECT_EQ(pc->pc_pool.pr_nout, 0u);
    EXPECT_EQ(c.dtor, 40);
    EXPECT_EQ(pool_cache_nobjects(pc), 0u);
    delay_ns(11'000'000'000ULL);  // longer than pool_inactive_time
    EXPECT_EQ(pool_cache_reclaim(pc), 1);
    EXPECT_EQ(pc->pc_pool.pr_npages, 0u);
  });
}

// A page back end that needs no VM: distinct page-aligned addresses (the
// pool never touches item memory). With it a fault-injection run exercises
// only the cache's and the pool's own sites.
vaddr_t fake_page_alloc(pool* pp, int) {
  static uint64_t next = 0;
  next += pp->pr_alloc->pa_pagesz;
  return 0x7000'0000'0000ULL + next;
}
void fake_page_free(pool*, vaddr_t) {}

// PR_NOWAIT may fail by fault injection, before the cache or the pool is
// touched; PR_WAITOK never fails.
TEST(PoolCache, NowaitGetFailsByFaultInjection) {
  FaultConfig f;
  f.enabled = true;
  f.site_percent = 100;
  f.fire_percent = 20;
  Sim s(1, 1024, f);
  int failed_at_once = 0, got = 0;
  static pool_allocator fake;
  fake = {fake_page_alloc, fake_page_free, 4096};
  s.lwp("t", 0, [&] {
    pool_subsystem_init();
    pool_cache* pc = pool_cache_init(64, 0, 0, 0, "tc", &fake, IPL_VM, nullptr, nullptr, nullptr);
    std::vector<vaddr_t> o;
    for (int i = 0; i < 60; i++) {
      const uint64_t nget = pc->pc_pool.pr_nget, misses = pc->pc_cpus[0]->cc_misses;
      const vaddr_t v = pool_cache_get(pc, PR_NOWAIT);
      if (v == 0 && pc->pc_pool.pr_nget == nget && pc->pc_cpus[0]->cc_misses == misses)
        failed_at_once++;
      if (v != 0) o.push_back(v);
    }
    for (int i = 0; i < 5; i++) o.push_back(pool_cache_get(pc, PR_WAITOK));
    for (vaddr_t v : o) got += v != 0;
    for (vaddr_t v : o) pool_cache_destruct_object(pc, v);
    EXPECT_EQ(pc->pc_pool.pr_nout, 0u);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_GT(failed_at_once, 0);
  EXPECT_GE(got, 5);
}

// get_paddr hands back the physical address stored with the object.
TEST(PoolCache, PaddrTravelsWithTheObject) {
  pool_clean([](Sim&) {
    pool_cache* pc = mkcache(64);
    paddr_t pa = 0;
    vaddr_t v = pool_cache_get_paddr(pc, PR_WAITOK, &pa);
    paddr_t real = 0;
    ASSERT_TRUE(pmap_extract(pmap_kernel(), v, &real));
    EXPECT_EQ(pa, real);
    pool_cache_put_paddr(pc, v, 0x1234000);
    EXPECT_EQ(pool_cache_get_paddr(pc, PR_NOWAIT, &pa), v);
    EXPECT_EQ(pa, 0x1234000u);
    pool_cache_put(pc, v);
  });
}

// The interrupt on a CPU never runs while that CPU is inside the cache's
// group exchange: the fast and slow paths run at splvm (§4.5). The handler
// checks that no group of the cache is in transit and no stack head holds
// the marker; forgetting splvm anywhere in get/put lets it in.
TEST(PoolCache, InterruptsNeverSeeTheCacheMidUpdate) {
  for (uint64_t seed = 1; seed <= 6; seed++) {
    Sim s(1, 2048, {}, seed, false, "random");
    pool_cache* pc = nullptr;
    int seen = 0;
    std::vector<std::string> errors;
    s.lwp("t", 0, [&] {
      pool_boot(s);
      pc = mkcache(64);
      std::vector<vaddr_t> o;
      for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 40; i++) o.push_back(pool_cache_get(pc, PR_WAITOK));
        for (vaddr_t v : o) pool_cache_put(pc, v);
        o.clear();
      }
    });
    s.e->add_interrupt("nic", 0, IPL_VM, {2'000}, 700, 200, [&] {
      if (pc == nullptr) return;
      seen++;
      const pcg_t* d = dummy_group();
      if (pc->pc_transit != 0 || pc->pc_fullgroups == d ||
          pool_cache_globals_get().pcg_normal_cache == d)
        errors.push_back("interrupt inside a group exchange");
      vaddr_t v = pool_cache_get(pc, PR_NOWAIT);
      if (v) pool_cache_put(pc, v);
    });
    ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
    EXPECT_GT(seen, 0);
    EXPECT_TRUE(errors.empty()) << errors.front();
  }
}

}  // namespace
}  // namespace kasim::test
