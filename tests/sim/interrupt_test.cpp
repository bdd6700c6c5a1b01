// Tests for interrupts and SPL: delivery only above the CPU's SPL, pending
// interrupts delivered when the SPL drops, nesting, interrupt context
// predicates, coalescing, curlwp() inside handlers, periodic sources.
#include <gtest/gtest.h>

#include "tests/sim/sim_test_util.h"

namespace kasim {
namespace {

using namespace kasim::test;

// Spends `n` x `ns` of simulated time as `n` busy loops: as many scheduling
// points, where a strategy may switch CPUs or deliver an interrupt.
void busy(int n, uint64_t ns = 100) {
  for (int i = 0; i < n; ++i) delay_ns(ns);
}

TEST(Interrupts, DeliveredOnlyAboveTheSpl) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  Log log;
  ipl_t spl_in_vm = -1, spl_in_soft = -1, spl_in_sched = -1;
  e.spawn_lwp("t0", 0, [&] {
    int s = splvm();
    log.push_back("raised");
    busy(50);  // 5 us at IPL_VM; every interrupt below arrives meanwhile
    log.push_back("still raised");
    splx(s);
    log.push_back("lowered");
  });
  e.add_interrupt("vm", 0, IPL_VM, {1000}, 0, 0, [&] {
    spl_in_vm = curspl();
    log.push_back("vm");
  });
  e.add_interrupt("soft", 0, IPL_SOFTNET, {1000}, 0, 0, [&] {
    spl_in_soft = curspl();
    log.push_back("soft");
  });
  e.add_interrupt("sched", 0, IPL_SCHED, {2000}, 0, 0, [&] {
    spl_in_sched = curspl();
    log.push_back("sched");
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  // IPL_SCHED gets through splvm(); IPL_VM and the softint wait for splx and
  // then go before the LWP continues, higher IPL first.
  EXPECT_EQ(log, (Log{"raised", "sched", "still raised", "vm", "soft", "lowered"}));
  EXPECT_EQ(spl_in_vm, IPL_VM);
  EXPECT_EQ(spl_in_soft, IPL_SOFTNET);
  EXPECT_EQ(spl_in_sched, IPL_SCHED);
  for (const auto& s : e.interrupts()) {
    EXPECT_EQ(s->fired, 1u) << s->name;
    EXPECT_EQ(s->delivered, 1u) << s->name;
  }
  EXPECT_EQ(e.cpus()[0].spl, IPL_NONE);
}

TEST(Interrupts, NeverDeliveredWhileMaskedWhateverTheSchedule) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Engine e(machine(2), make_strategy("random", seed), seed);
    Log log;
    e.spawn_lwp("t0", 0, [&] {
      busy(5);
      int s = splvm();
      log.push_back("raised");
      busy(50);
      log.push_back("still raised");
      splx(s);
      busy(5);
    });
    e.spawn_lwp("other", 1, [&] { busy(80); });
    e.add_interrupt("vm", 0, IPL_VM, {1500, 3000}, 0, 0, [&] { log.push_back("vm"); });
    ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
    int raised = index_of(log, "raised"), still = index_of(log, "still raised");
    ASSERT_EQ(still, raised + 1) << "seed " << seed << ": an IPL_VM handler ran under splvm()";
    EXPECT_NE(index_of(log, "vm"), -1) << "seed " << seed;  // but it did run
  }
}

TEST(Interrupts, PendingInterruptWaitsForSplx) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  uint64_t splx_at = 0, handled_at = 0;
  e.spawn_lwp("t0", 0, [&] {
    int s = splvm();
    delay_ns(10'000);  // the interrupt arrives at 2000, in the middle of this
    splx_at = kernel_now_ns();
    splx(s);
  });
  IntrSource* src =
      e.add_interrupt("nic", 0, IPL_VM, {2000}, 0, 0, [&] { handled_at = kernel_now_ns(); });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(src->arrived, 2000u);
  EXPECT_GE(handled_at, splx_at + e.machine().costs.intr_entry);
  EXPECT_EQ(src->delivered, 1u);
}

TEST(Interrupts, HigherIplNestsInsideALowerHandler) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  Log log;
  Ctx* lwp_in_sched = nullptr;
  ipl_t spl_in_sched = -1, spl_after_nested = -1;
  size_t depth_in_sched = 0;
  bool intr_p_in_sched = false;
  Ctx* t0 = e.spawn_lwp("t0", 0, [&] { busy(300); });
  e.add_interrupt("disk", 0, IPL_VM, {1000}, 0, 0, [&] {
    log.push_back("vm begin");
    busy(50);  // the clock interrupt arrives meanwhile
    spl_after_nested = curspl();
    log.push_back("vm end");
  });
  e.add_interrupt("clock", 0, IPL_SCHED, {3000}, 0, 0, [&] {
    log.push_back("sched");
    lwp_in_sched = curlwp();
    spl_in_sched = curspl();
    intr_p_in_sched = cpu_intr_p();
    depth_in_sched = Engine::current()->cpus()[0].intr_stack.size();
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(log, (Log{"vm begin", "sched", "vm end"}));
  EXPECT_EQ(depth_in_sched, 2u);
  EXPECT_EQ(spl_in_sched, IPL_SCHED);
  EXPECT_EQ(spl_after_nested, IPL_VM);  // the nested frame restored its SPL
  EXPECT_TRUE(intr_p_in_sched);
  EXPECT_EQ(lwp_in_sched, t0);  // curlwp is still the interrupted LWP two frames down
  EXPECT_EQ(t0->l_ncsw, 0u);    // taking interrupts is not a context switch
}

TEST(Interrupts, ContextPredicates) {
  Engine e(machine(2), make_strategy("timed", 1), 1);
  struct Seen {
    bool intr = false, soft = false;
    Ctx* lwp = nullptr;
  };
  Seen in_lwp{true, true}, in_hard, in_soft, on_idle;
  Ctx* t0 = e.spawn_lwp("t0", 0, [&] {
    in_lwp = {cpu_intr_p(), cpu_softintr_p(), curlwp()};
    busy(40);
  });
  e.add_interrupt("hard", 0, IPL_VM, {1000}, 0, 0,
                  [&] { in_hard = {cpu_intr_p(), cpu_softintr_p(), curlwp()}; });
  e.add_interrupt("soft", 0, IPL_SOFTNET, {2000}, 0, 0,
                  [&] { in_soft = {cpu_intr_p(), cpu_softintr_p(), curlwp()}; });
  // cpu1 runs no LWP: its interrupt borrows the idle context.
  e.add_interrupt("idle", 1, IPL_VM, {1000}, 0, 0,
                  [&] { on_idle = {cpu_intr_p(), cpu_softintr_p(), curlwp()}; });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_FALSE(in_lwp.intr);
  EXPECT_FALSE(in_lwp.soft);
  EXPECT_EQ(in_lwp.lwp, t0);
  EXPECT_TRUE(in_hard.intr);
  EXPECT_FALSE(in_hard.soft);
  EXPECT_EQ(in_hard.lwp, t0);
  EXPECT_FALSE(in_soft.intr);
  EXPECT_TRUE(in_soft.soft);
  EXPECT_EQ(in_soft.lwp, t0);
  EXPECT_TRUE(on_idle.intr);
  ASSERT_NE(on_idle.lwp, nullptr);
  EXPECT_EQ(on_idle.lwp->name, "idle/1");
}

TEST(Interrupts, SecondFiringWhilePendingCoalesces) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  int handled = 0;
  e.spawn_lwp("t0", 0, [&] {
    int s = splvm();
    busy(60);  // 1000, 2000, 3000 arrive while masked
    splx(s);
    busy(60);  // 9000 arrives while unmasked
  });
  IntrSource* src =
      e.add_interrupt("nic", 0, IPL_VM, {1000, 2000, 3000, 9000}, 0, 0, [&] { ++handled; });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(src->fired, 4u);
  EXPECT_EQ(src->coalesced, 2u);  // one pending bit: 2000 and 3000 fold into 1000
  EXPECT_EQ(src->delivered, 2u);
  EXPECT_EQ(handled, 2);
}

TEST(Interrupts, PeriodicSourceWithCountOutlivesTheLwps) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  std::vector<uint64_t> at;
  e.spawn_lwp("t0", 0, [] { delay_ns(10); });
  IntrSource* src =
      e.add_interrupt("timer", 0, IPL_SCHED, {}, 1000, 3, [&] { at.push_back(kernel_now_ns()); });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  // The idle CPU takes each firing when it arrives.
  const uint64_t entry = e.machine().costs.intr_entry;
  EXPECT_EQ(at, (std::vector<uint64_t>{1000 + entry, 2000 + entry, 3000 + entry}));
  EXPECT_EQ(src->periodic_fired, 3u);
}

TEST(Interrupts, UnboundedPeriodicSourceStopsWithTheLwps) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  std::vector<uint64_t> at;
  uint64_t lwp_done = 0;
  e.spawn_lwp("t0", 0, [&] {
    delay_ns(10'000);
    lwp_done = kernel_now_ns();
  });
  e.add_interrupt("hardclock", 0, IPL_SCHED, {}, 1000, 0, [&] { at.push_back(kernel_now_ns()); });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  const CostModel& c = e.machine().costs;
  // delay_ns is a busy loop (DELAY(9)): ticks are taken on time, and the time
  // spent in them counts towards the delay.
  EXPECT_EQ(lwp_done, c.context_switch + 10'000);
  ASSERT_EQ(at.size(), 10u);
  for (size_t i = 0; i < at.size(); ++i) EXPECT_EQ(at[i], 1000 * (i + 1) + c.intr_entry);
  // No tick arrives after the last LWP is gone (the 11th would be at 11000).
  EXPECT_EQ(e.interrupts()[0]->delivered, 10u);
  EXPECT_EQ(e.sim_time(), lwp_done);
}

TEST(Interrupts, HandlerReleasingAHigherSpinMutexAboveAHeldOne) {
  // The LWP holds a spin mutex, so ci_mtx_count stays above zero while the
  // handler takes and releases an IPL_HIGH one: as in NetBSD's
  // MUTEX_SPIN_SPLRESTORE the SPL stays at IPL_HIGH until the handler
  // returns, and the return restores the interrupted SPL. Not a finding.
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex lwp_lock, intr_lock;
  ipl_t spl_after_release = -1, spl_back_in_lwp = -1;
  e.spawn_lwp("t0", 0, [&] {
    mutex_init(&lwp_lock, MUTEX_DEFAULT, IPL_VM);
    mutex_init(&intr_lock, MUTEX_DEFAULT, IPL_HIGH);
    mutex_enter(&lwp_lock);
    busy(30);
    spl_back_in_lwp = curspl();
    mutex_exit(&lwp_lock);
  });
  e.add_interrupt("clock", 0, IPL_SCHED, {1000}, 0, 0, [&] {
    mutex_enter(&intr_lock);
    mutex_exit(&intr_lock);
    spl_after_release = curspl();
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(spl_after_release, IPL_HIGH);
  EXPECT_EQ(spl_back_in_lwp, IPL_VM);
  EXPECT_EQ(e.cpus()[0].spl, IPL_NONE);
}

TEST(Interrupts, SourceAddedByARunningContextFires) {
  // A boot LWP that sets up the machine's devices, as allocator boot code does.
  Engine e(machine(1), make_strategy("timed", 1), 1);
  int handled = 0;
  e.spawn_lwp("boot", 0, [&] {
    Engine::current()->add_interrupt("late", 0, IPL_VM, {5000}, 0, 0, [&] { ++handled; });
    Engine::current()->spawn_lwp("worker", 0, [] { busy(100); });
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(e.lwps().size(), 2u);
}

TEST(Interrupts, HandlerReturningAtRaisedSplIsAFinding) {
  Finding f = expect_finding("spl", [](Engine& e) {
    e.spawn_lwp("t0", 0, [] { busy(20); });
    e.add_interrupt("sloppy", 0, IPL_VM, {1000}, 0, 0, [] { splhigh(); });
  });
  EXPECT_TRUE(contains(f.message, "returned at IPL_HIGH, expected IPL_VM")) << f.message;
  EXPECT_TRUE(contains(f.context, "interrupt sloppy")) << f.context;
}

TEST(Interrupts, LwpExitingAtRaisedSplIsAFinding) {
  Finding f = expect_lwp_finding("spl", [] { splvm(); });
  EXPECT_TRUE(contains(f.message, "lwp t0 (cpu0) exited at IPL_VM")) << f.message;
}

}  // namespace
}  // namespace kasim
