// tests/kmem/kmem_contract_test.cpp: the kmem(9) contracts that are KASSERTs
// or panics in NetBSD (§12 items 41, 43, 44) become contract findings with
// NetBSD's message; the legal interrupt use (kmem_intr_* with KM_NOSLEEP) does not.
#include "tests/kmem/kmem_harness.h"

namespace kasim::test {
namespace {

TEST(KmemContract, AllocZero) {
  kmem_contract([] { (void)kmem_alloc(0, KM_SLEEP); }, {"kmem_alloc", "size 0"});
}

TEST(KmemContract, FreeNull) {
  kmem_contract([] { kmem_free(0, 16); }, {"kmem_free", "NULL"});
}

TEST(KmemContract, FlagsNeedExactlyOneOfSleepAndNosleep) {
  kmem_contract([] { (void)kmem_alloc(16, 0); }, {"exactly one of KM_SLEEP and KM_NOSLEEP"});
  kmem_contract([] { (void)kmem_intr_alloc(16, KM_SLEEP | KM_NOSLEEP); },
                {"kmem_intr_alloc", "exactly one of KM_SLEEP and KM_NOSLEEP"});
}

// §12 item 43: a size that differs from the allocated one.
TEST(KmemContract, FreeWithTheWrongSize) {
  kmem_contract(
      [] {
        const vaddr_t p = kmem_alloc(24, KM_SLEEP);
        kmem_free(p, 20);  // same class (kmem-00032): only the footer tells
      },
      {"kmem_free(0xffff8", ", 20) != allocated size 24; overwrote?"});
  kmem_contract(
      [] {
        const vaddr_t p = kmem_alloc(100, KM_SLEEP);
        kmem_free(p, 1000);  // another class altogether
      },
      {", 1000) != allocated size 100; overwrote?"});
}

// A second free finds the footer the first one filled with 0xff bytes.
TEST(KmemContract, DoubleFree) {
  kmem_contract(
      [] {
        const vaddr_t p = kmem_alloc(48, KM_SLEEP);
        kmem_free(p, 48);
        kmem_free(p, 48);
      },
      {", 48) != allocated size 18446744073709551615; overwrote?"});
}

// §12 item 44: kmem_alloc / kmem_zalloc / kmem_free from a hard or soft
// interrupt handler.
void intr_contract(ipl_t ipl, const std::function<void()>& handler, const char* needle) {
  Sim s;
  bool booted = false;
  s.lwp("t", 0, [&] {
    kmem_boot(s);
    booted = true;
    delay_ns(100'000);
  });
  s.e->add_interrupt("irq", 0, ipl, {50'000}, 0, 1, [&] {
    if (booted) handler();
  });
  ASSERT_EQ(s.run(), Outcome::finding);
  const Finding& f = s.e->findings().front();
  EXPECT_EQ(f.kind, "contract") << f.message;
  EXPECT_NE(f.message.find(needle), std::string::npos) << f.message;
}

TEST(KmemContract, AllocFromHardInterrupt) {
  intr_contract(IPL_VM, [] { (void)kmem_alloc(16, KM_NOSLEEP); },
                "kmem_alloc from interrupt context");
}

TEST(KmemContract, ZallocFromSoftInterrupt) {
  intr_contract(IPL_SOFTNET, [] { (void)kmem_zalloc(16, KM_NOSLEEP); },
                "kmem_zalloc from interrupt context");
}

TEST(KmemContract, FreeFromHardInterrupt) {
  intr_contract(IPL_VM, [] { kmem_free(0x1000, 16); }, "kmem_free from interrupt context");
}

// kmem_intr_alloc / kmem_intr_free with KM_NOSLEEP from an IPL_VM handler
// are legal, for the cache and the page routes.
TEST(KmemContract, IntrVariantsAreLegalInInterrupts) {
  Sim s;
  bool booted = false;
  int done = 0;
  s.lwp("t", 0, [&] {
    kmem_boot(s);
    booted = true;
    delay_ns(500'000);
  });
  s.e->add_interrupt("irq", 0, IPL_VM, {50'000}, 50'000, 4, [&] {
    if (!booted) return;
    const vaddr_t a = kmem_intr_alloc(64, KM_NOSLEEP);
    const vaddr_t b = kmem_intr_zalloc(9000, KM_NOSLEEP);
    if (a) kmem_intr_free(a, 64);
    if (b) kmem_intr_free(b, 9000);
    done += a != 0 && b != 0;
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_GE(done, 4);
}

// KM_SLEEP through kmem_intr_alloc in an interrupt: the cache may sleep,
// which an interrupt must not (pool_cache's ASSERT_SLEEPABLE).
TEST(KmemContract, IntrAllocWithSleepInInterrupt) {
  intr_contract(IPL_VM, [] { (void)kmem_intr_alloc(64, KM_SLEEP); }, "interrupt");
}

}  // namespace
}  // namespace kasim::test
