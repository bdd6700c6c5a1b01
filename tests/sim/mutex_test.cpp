// Tests for kmutex: adaptive contenders sleep, spin mutexes raise the SPL and
// their contenders spin, tryenter, and the contract violations that end a
// run with a "mutex" finding.
#include <gtest/gtest.h>

#include "tests/sim/sim_test_util.h"

namespace kasim {
namespace {

using namespace kasim::test;

TEST(Mutex, AdaptiveContenderSleepsAndLetsItsCpuRunOthers) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex m;
  Log log;
  uint64_t ncsw_before = 0, ncsw_after = 0;
  e.spawn_lwp("holder", 0, [&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_NONE);
    mutex_enter(&m);
    log.push_back("holder has it");
    kpause("hold", false, 1, nullptr);  // sleeps holding an adaptive mutex: allowed
    log.push_back("holder releases");
    mutex_exit(&m);
  });
  e.spawn_lwp("contender", 0, [&] {
    log.push_back("contender tries");
    ncsw_before = lwp_ncsw(curlwp());
    mutex_enter(&m);
    ncsw_after = lwp_ncsw(curlwp());
    log.push_back("contender has it");
    mutex_exit(&m);
  });
  e.spawn_lwp("bystander", 0, [&] { log.push_back("bystander ran"); });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_FALSE(m.spin);
  // The contender slept, so the bystander on the same CPU ran while the
  // holder was still away.
  EXPECT_EQ(log, (Log{"holder has it", "contender tries", "bystander ran", "holder releases",
                      "contender has it"}));
  EXPECT_EQ(ncsw_after, ncsw_before + 1);
  EXPECT_EQ(m.ncontended, 1u);
  EXPECT_EQ(m.nenter, 2u);
  EXPECT_EQ(m.owner, nullptr);
}

TEST(Mutex, SpinMutexRaisesTheSplWhileHeld) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex vm_lock, sched_lock;
  std::vector<ipl_t> spl;
  bool owned_inside = false, owned_after = true;
  e.spawn_lwp("t0", 0, [&] {
    mutex_init(&vm_lock, MUTEX_DEFAULT, IPL_VM);
    mutex_init(&sched_lock, MUTEX_DEFAULT, IPL_SCHED);
    spl.push_back(curspl());
    mutex_enter(&vm_lock);
    owned_inside = mutex_owned(&vm_lock);
    spl.push_back(curspl());
    mutex_enter(&sched_lock);
    spl.push_back(curspl());
    mutex_exit(&sched_lock);
    spl.push_back(curspl());  // NetBSD keeps the SPL up until the last spin mutex goes
    mutex_exit(&vm_lock);
    spl.push_back(curspl());
    owned_after = mutex_owned(&vm_lock);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_TRUE(vm_lock.spin);
  EXPECT_EQ(spl, (std::vector<ipl_t>{IPL_NONE, IPL_VM, IPL_SCHED, IPL_SCHED, IPL_NONE}));
  EXPECT_TRUE(owned_inside);
  EXPECT_FALSE(owned_after);
}

TEST(Mutex, SpinMutexKeepsAnAlreadyRaisedSpl) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex m;
  std::vector<ipl_t> spl;
  e.spawn_lwp("t0", 0, [&] {
    mutex_init(&m, MUTEX_SPIN, IPL_VM);
    int s = splsched();
    mutex_enter(&m);
    spl.push_back(curspl());  // never lowered by taking a lower-IPL lock
    mutex_exit(&m);
    spl.push_back(curspl());
    splx(s);
    spl.push_back(curspl());
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(spl, (std::vector<ipl_t>{IPL_SCHED, IPL_SCHED, IPL_NONE}));
}

TEST(Mutex, SpinContenderOnAnotherCpuGetsItAfterRelease) {
  Engine e(machine(2), make_strategy("timed", 1), 1);
  kmutex m;
  uint64_t released_at = 0, acquired_at = 0;
  ipl_t spl_while_held = -1;
  Once init([&] { mutex_init(&m, MUTEX_DEFAULT, IPL_VM); });
  e.spawn_lwp("holder", 0, [&] {
    init();
    mutex_enter(&m);
    delay_ns(5000);
    released_at = kernel_now_ns();
    mutex_exit(&m);
  });
  Ctx* spinner = e.spawn_lwp("spinner", 1, [&] {
    init();
    delay_ns(1000);  // the holder has it by now
    mutex_enter(&m);
    acquired_at = kernel_now_ns();
    spl_while_held = curspl();
    mutex_exit(&m);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(m.ncontended, 1u);
  EXPECT_GE(acquired_at, released_at);
  EXPECT_EQ(spl_while_held, IPL_VM);
  EXPECT_EQ(spinner->l_ncsw, 0u);  // spinning is not sleeping
}

TEST(Mutex, TryEnter) {
  Engine e(machine(2), make_strategy("timed", 1), 1);
  kmutex m;
  int busy_result = -1, free_result = -1;
  bool owned = false;
  ipl_t spl_after_try = -1;
  Once init([&] { mutex_init(&m, MUTEX_DEFAULT, IPL_VM); });
  e.spawn_lwp("holder", 0, [&] {
    init();
    mutex_enter(&m);
    delay_ns(5000);
    mutex_exit(&m);
  });
  e.spawn_lwp("trier", 1, [&] {
    init();
    delay_ns(1000);
    busy_result = mutex_tryenter(&m);  // held on cpu0: fails at once, no spinning
    delay_ns(10'000);
    free_result = mutex_tryenter(&m);
    owned = mutex_owned(&m);
    spl_after_try = curspl();
    if (free_result) mutex_exit(&m);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(busy_result, 0);
  EXPECT_EQ(free_result, 1);
  EXPECT_TRUE(owned);
  EXPECT_EQ(spl_after_try, IPL_VM);
  EXPECT_EQ(m.ncontended, 0u);
}

// --- contract violations -----------------------------------------------------

TEST(Mutex, ExitWithoutHoldingIsAFinding) {
  auto m = std::make_shared<kmutex>();
  Finding f = expect_finding("mutex", [m](Engine& e) {
    e.spawn_lwp("t0", 0, [m] {
      mutex_init(m.get(), MUTEX_DEFAULT, IPL_NONE);
      mutex_set_name(m.get(), "sc_lock");
      mutex_exit(m.get());
    });
  });
  EXPECT_TRUE(contains(f.message, "mutex_exit: sc_lock (adaptive, IPL_NONE) not held by lwp t0"))
      << f.message;
  EXPECT_TRUE(contains(f.message, "(not held)")) << f.message;
  EXPECT_EQ(f.context, "lwp t0 (cpu0)");
  EXPECT_EQ(f.cpu, 0);
}

TEST(Mutex, ExitOfAnotherContextsMutexIsAFinding) {
  auto m = std::make_shared<kmutex>();
  Finding f = expect_finding("mutex", [m](Engine& e) {
    e.spawn_lwp("owner", 0, [m] {
      mutex_init(m.get(), MUTEX_DEFAULT, IPL_NONE);
      mutex_enter(m.get());
      kpause("hold", false, 1, nullptr);
      mutex_exit(m.get());
    });
    e.spawn_lwp("thief", 0, [m] { mutex_exit(m.get()); });
  });
  EXPECT_TRUE(contains(f.message, "not held by lwp thief (cpu0) (held by lwp owner (cpu0))"))
      << f.message;
}

TEST(Mutex, LockingAgainstMyselfIsAFinding) {
  auto m = std::make_shared<kmutex>();
  Finding f = expect_finding("mutex", [m](Engine& e) {
    e.spawn_lwp("t0", 0, [m] {
      mutex_init(m.get(), MUTEX_DEFAULT, IPL_NONE);
      mutex_enter(m.get());
      mutex_enter(m.get());
    });
  });
  EXPECT_TRUE(contains(f.message, "locking against myself")) << f.message;
}

TEST(Mutex, LwpExitingWithAMutexHeldIsAFinding) {
  auto m = std::make_shared<kmutex>();
  Finding f = expect_finding("mutex", [m](Engine& e) {
    e.spawn_lwp("leaker", 0, [m] {
      mutex_init(m.get(), MUTEX_DEFAULT, IPL_NONE);
      mutex_set_name(m.get(), "vm_lock");
      mutex_enter(m.get());
    });
  });
  EXPECT_TRUE(contains(f.message, "lwp leaker (cpu0) exited holding vm_lock")) << f.message;
}

TEST(Mutex, InterruptTakingASpinMutexItsLwpHoldsIsAFinding) {
  // The lock's IPL is too low for the interrupt that takes it: a real CPU
  // would spin forever in the handler.
  auto m = std::make_shared<kmutex>();
  Finding f = expect_finding("mutex", [m](Engine& e) {
    e.spawn_lwp("t0", 0, [m] {
      mutex_init(m.get(), MUTEX_DEFAULT, IPL_VM);
      mutex_enter(m.get());
      for (int i = 0; i < 50; ++i) delay_ns(100);
      mutex_exit(m.get());
    });
    e.add_interrupt("clock", 0, IPL_SCHED, {1000}, 0, 0, [m] {
      mutex_enter(m.get());
      mutex_exit(m.get());
    });
  });
  EXPECT_TRUE(contains(f.message, "is held by lwp t0 (cpu0), which this context interrupted"))
      << f.message;
  EXPECT_TRUE(contains(f.context, "interrupt clock")) << f.context;
}

TEST(Mutex, SameIplInterruptWaitsInsteadOfDeadlocking) {
  // The counterpart of the finding above: with the lock at the interrupt's
  // IPL, the interrupt is held off until the LWP drops the lock.
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex m;
  Log log;
  e.spawn_lwp("t0", 0, [&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_SCHED);
    mutex_enter(&m);
    for (int i = 0; i < 50; ++i) delay_ns(100);
    log.push_back("lwp releases");
    mutex_exit(&m);
  });
  e.add_interrupt("clock", 0, IPL_SCHED, {1000}, 0, 0, [&] {
    mutex_enter(&m);
    log.push_back("handler has it");
    mutex_exit(&m);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(log, (Log{"lwp releases", "handler has it"}));
}

TEST(Mutex, AdaptiveMutexInHardInterruptIsAFinding) {
  auto m = std::make_shared<kmutex>();
  Finding f = expect_finding("mutex", [m](Engine& e) {
    e.spawn_lwp("t0", 0, [m] {
      mutex_init(m.get(), MUTEX_DEFAULT, IPL_NONE);
      for (int i = 0; i < 50; ++i) delay_ns(100);
    });
    e.add_interrupt("nic", 0, IPL_VM, {2000}, 0, 0, [m] {
      mutex_enter(m.get());
      mutex_exit(m.get());
    });
  });
  EXPECT_TRUE(contains(f.message, "taken in hard interrupt context")) << f.message;
  EXPECT_TRUE(contains(f.context, "interrupt nic")) << f.context;
}

TEST(Mutex, AdaptiveMutexInSoftInterruptIsAllowed) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex m;
  bool taken = false;
  e.spawn_lwp("t0", 0, [&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_SOFTNET);
    for (int i = 0; i < 50; ++i) delay_ns(100);
  });
  e.add_interrupt("softnet", 0, IPL_SOFTNET, {2000}, 0, 0, [&] {
    mutex_enter(&m);
    taken = mutex_owned(&m);
    mutex_exit(&m);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_FALSE(m.spin);
  EXPECT_TRUE(taken);
}

TEST(Mutex, UninitializedMutexIsAFinding) {
  auto m = std::make_shared<kmutex>();
  Finding f = expect_lwp_finding("mutex", [m] { mutex_enter(m.get()); });
  EXPECT_TRUE(contains(f.message, "mutex_enter: mutex not initialized")) << f.message;
}

}  // namespace
}  // namespace kasim
