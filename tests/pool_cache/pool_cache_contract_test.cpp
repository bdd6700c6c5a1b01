// tests/pool_cache/pool_cache_contract_test.cpp: each broken pool_cache(9)
// contract is a contract finding with its message (§4.3, §4.4, §8).
#include "tests/pool_cache/pool_cache_harness.h"

namespace kasim::test {
namespace {

TEST(PoolCacheContract, PutOfNull) {
  pool_contract([] { pool_cache_put(mkcache(64), 0); }, {"NULL object", "tc"});
}

TEST(PoolCacheContract, PhinpageCheckRejectsAForeignObject) {
  pool_contract(
      [] {
        pool_cache* pc = mkcache(64, nullptr, PR_PHINPAGE);
        pool* other = mkpool(64, 0, 0, IPL_VM, "other");
        (void)pool_cache_get(pc, PR_WAITOK);
        pool_cache_put(pc, pool_get(other, PR_WAITOK));
      },
      {"pc_phinpage_check", "not part of pool"});
}

TEST(PoolCacheContract, PutOfAnObjectNotOut) {
  pool_contract(
      [] {
        pool_cache* pc = mkcache(64);
        vaddr_t v = pool_cache_get(pc, PR_WAITOK);
        pool_cache_put(pc, v + 64);
      },
      {"is not out of this cache"});
}

TEST(PoolCacheContract, DoublePut) {
  pool_contract(
      [] {
        pool_cache* pc = mkcache(64);
        vaddr_t v = pool_cache_get(pc, PR_WAITOK);
        pool_cache_put(pc, v);
        pool_cache_put(pc, v);
      },
      {"double put"});
}

TEST(PoolCacheContract, GetWithNeitherWaitFlag) {
  pool_contract([] { (void)pool_cache_get(mkcache(64), 0); },
                {"exactly one of PR_WAITOK and PR_NOWAIT"});
}

TEST(PoolCacheContract, DestroyWithAnObjectOut) {
  pool_contract(
      [] {
        pool_cache* pc = mkcache(64);
        (void)pool_cache_get(pc, PR_WAITOK);
        pool_cache_destroy(pc);
      },
      {"pool busy: still out"});
}

// Interrupt-context contracts: the handler runs on CPU 0 while the LWP waits.
void intr_contract(std::function<void(pool_cache*, pool_cache*)> handler,
                   const char* needle) {
  Sim s(1, 1024);
  pool_cache* vm = nullptr;
  pool_cache* none = nullptr;
  s.lwp("t", 0, [&] {
    pool_boot(s);
    vm = mkcache(64, nullptr, 0, IPL_VM, "vmc");
    none = mkcache(64, nullptr, 0, IPL_NONE, "nonec");
    delay_ns(1'000'000);
  });
  s.e->add_interrupt("i", 0, IPL_VM, {500'000}, 0, 0, [&] { handler(vm, none); });
  ASSERT_EQ(s.run(), Outcome::finding);
  const Finding& f = s.e->findings().front();
  EXPECT_EQ(f.kind, "contract");
  EXPECT_NE(f.message.find(needle), std::string::npos) << f.message;
}

TEST(PoolCacheContract, WaitokFromInterrupt) {
  intr_contract([](pool_cache* vm, pool_cache*) { (void)pool_cache_get(vm, PR_WAITOK); },
                "PR_WAITOK from interrupt context");
}

TEST(PoolCacheContract, IplNoneCacheFromInterrupt) {
  intr_contract([](pool_cache*, pool_cache* none) { (void)pool_cache_get(none, PR_NOWAIT); },
                "is IPL_NONE, but called from interrupt context");
}

TEST(PoolCacheContract, InvalidateFromInterrupt) {
  intr_contract([](pool_cache* vm, pool_cache*) { pool_cache_invalidate(vm); },
                "pool_cache_invalidate: [vmc] from interrupt context");
}

TEST(PoolCacheContract, NowaitFromInterruptIsFine) {
  Sim s(1, 1024);
  pool_cache* vm = nullptr;
  int got = 0;
  s.lwp("t", 0, [&] {
    pool_boot(s);
    vm = mkcache(64);
    delay_ns(1'000'000);
  });
  s.e->add_interrupt("i", 0, IPL_VM, {500'000}, 0, 0, [&] {
    vaddr_t v = pool_cache_get(vm, PR_NOWAIT);
    got += v != 0;
    pool_cache_put(vm, v);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_EQ(got, 1);
}

}  // namespace
}  // namespace kasim::test
