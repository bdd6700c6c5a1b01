// tests/pool/pool_contract_test.cpp: each broken pool(9) contract is a
// finding with NetBSD's message (§12 items 17-19, §3.4, §3.6, §3.8).
#include "tests/pool/pool_harness.h"

namespace kasim::test {
namespace {

TEST(PoolContract, PutWithNoneOut) {
  pool_contract(
      [] {
        pool* pp = mkpool(64, 64);
        vaddr_t v = pool_get(pp, PR_NOWAIT);
        pool_put(pp, v);
        pool_put(pp, v);
      },
      {"putting with none out", "tp"});
}

TEST(PoolContract, DoublePutBitmap) {
  pool_contract(
      [] {
        pool* pp = mkpool(64, 64);
        vaddr_t v = pool_get(pp, PR_NOWAIT);
        (void)pool_get(pp, PR_NOWAIT);
        pool_put(pp, v);
        pool_put(pp, v);
      },
      {"already freed"});
}

TEST(PoolContract, DoublePutList) {
  pool_contract(
      [] {
        pool* pp = mkpool(32, 8);
        vaddr_t v = pool_get(pp, PR_NOWAIT);
        (void)pool_get(pp, PR_NOWAIT);
        pool_put(pp, v);
        pool_put(pp, v);
      },
      {"already freed"});
}

TEST(PoolContract, PutOfAnAddressOutsideThePool) {
  pool_contract(
      [] {
        pool* pp = mkpool(64, 64);
        (void)pool_get(pp, PR_NOWAIT);
        pool_put(pp, 0x1234000);
      },
      {"page header missing"});
}

TEST(PoolContract, PutInsideAnItem) {
  pool_contract(
      [] {
        pool* pp = mkpool(64, 64);
        vaddr_t v = pool_get(pp, PR_NOWAIT);
        pool_put(pp, v + 8);
      },
      {"is not an item"});
}

TEST(PoolContract, PutOfAnItemOfAnotherPool) {
  pool_contract(
      [] {
        pool* a = mkpool(64, 64, 0, IPL_VM, "a");
        pool* b = mkpool(64, 64, 0, IPL_VM, "b");
        (void)pool_get(b, PR_NOWAIT);
        pool_put(b, pool_get(a, PR_NOWAIT));
      },
      {"page header missing"});
}

TEST(PoolContract, DestroyBusyPool) {
  pool_contract(
      [] {
        pool* pp = mkpool(64, 64);
        (void)pool_get(pp, PR_NOWAIT);
        pool_destroy(pp);
      },
      {"pool busy: still out: 1"});
}

TEST(PoolContract, NeitherWaitokNorNowait) {
  pool_contract([] { (void)pool_get(mkpool(64), 0); }, {"exactly one of PR_WAITOK and PR_NOWAIT"});
}

TEST(PoolContract, BothWaitokAndNowait) {
  pool_contract([] { (void)pool_get(mkpool(64), PR_WAITOK | PR_NOWAIT); },
                {"exactly one of PR_WAITOK and PR_NOWAIT"});
}

TEST(PoolContract, AlignOffsetMustBeZero) {
  pool_contract(
      [] {
        pool* pp = kasim_pool_new();
        pool_init(pp, 64, 0, 8, 0, "x", nullptr, IPL_VM);
      },
      {"align_offset"});
}

TEST(PoolContract, ItemLargerThanAPage) {
  pool_contract([] { (void)mkpool(8192); }, {"larger than page size"});
}

// Interrupt-context rules: run the call in an IPL_VM interrupt handler.
void in_interrupt(const std::function<void(pool*)>& body, int ipl,
                  std::initializer_list<const char*> needles) {
  Sim s;
  pool* pp = nullptr;
  s.lwp("t", 0, [&] {
    pool_boot(s);
    pp = mkpool(64, 64, 0, ipl);
    delay_ns(100'000);
  });
  s.e->add_interrupt("nic", 0, IPL_VM, {50'000}, 0, 0, [&] { body(pp); });
  ASSERT_EQ(s.run(), Outcome::finding);
  const Finding& f = s.e->findings().front();
  EXPECT_EQ(f.kind, "contract") << f.message;
  for (const char* n : needles) EXPECT_NE(f.message.find(n), std::string::npos) << f.message;
}

TEST(PoolContract, WaitokFromInterrupt) {
  in_interrupt([](pool* pp) { (void)pool_get(pp, PR_WAITOK); }, IPL_VM,
               {"PR_WAITOK from interrupt context"});
}

TEST(PoolContract, IplNonePoolFromInterrupt) {
  in_interrupt([](pool* pp) { (void)pool_get(pp, PR_NOWAIT); }, IPL_NONE,
               {"is IPL_NONE, but called from interrupt context"});
}

TEST(PoolContract, IplNonePoolPutFromInterrupt) {
  in_interrupt(
      [](pool* pp) {
        // pool_put is checked too (kasim's addition): the item is a fake one,
        // the context check comes first.
        pool_put(pp, 0x1000);
      },
      IPL_NONE, {"pool_put", "is IPL_NONE, but called from interrupt context"});
}

TEST(PoolContract, ReclaimFromInterrupt) {
  in_interrupt([](pool* pp) { (void)pool_reclaim(pp); }, IPL_VM, {"pool_reclaim", "interrupt"});
}

// The allowed use: PR_NOWAIT on an IPL_VM pool from an IPL_VM handler.
TEST(PoolContract, NowaitFromInterruptIsFine) {
  Sim s;
  pool* pp = nullptr;
  vaddr_t got = 0;
  s.lwp("t", 0, [&] {
    pool_boot(s);
    pp = mkpool(64, 64);
    delay_ns(100'000);
    pool_put(pp, got);
  });
  s.e->add_interrupt("nic", 0, IPL_VM, {50'000}, 0, 0, [&] { got = pool_get(pp, PR_NOWAIT); });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_NE(got, 0u);
}

}  // namespace
}  // namespace kasim::test
