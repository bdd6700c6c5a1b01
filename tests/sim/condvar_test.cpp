// Tests for kcondvar, kpause and sleeping: FIFO cv_signal, cv_broadcast,
// timeouts, signals, the "sleep" contract findings, and deadlock detection.
#include <gtest/gtest.h>

#include "tests/sim/sim_test_util.h"

namespace kasim {
namespace {

using namespace kasim::test;

// Three waiters on one CPU queue up on a condvar in spawn order; a waker
// spawned after them (so it runs once all three sleep) calls `wake`, then
// naps so the woken can run, and records who has woken after each call.
struct WakeTest {
  kmutex m;
  kcondvar cv;
  Log woken;
  std::vector<Log> after_each;
  std::vector<size_t> waiting_after_each;
};

void run_wake_test(WakeTest& t, std::vector<void (*)(kcondvar*)> wakes) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  for (const char* name : {"w1", "w2", "w3"})
    e.spawn_lwp(name, 0, [&t, name] {
      if (!t.cv.initialized) {
        mutex_init(&t.m, MUTEX_DEFAULT, IPL_NONE);
        cv_init(&t.cv, "wakeme");
      }
      mutex_enter(&t.m);
      cv_wait(&t.cv, &t.m);
      t.woken.push_back(name);
      mutex_exit(&t.m);
    });
  e.spawn_lwp("waker", 0, [&t, wakes] {
    for (auto wake : wakes) {
      mutex_enter(&t.m);
      wake(&t.cv);
      mutex_exit(&t.m);
      kpause("let them run", false, 1, nullptr);
      t.after_each.push_back(t.woken);
      t.waiting_after_each.push_back(t.cv.waitq.waiters.size());
    }
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
}

TEST(Condvar, SignalWakesExactlyOneInFifoOrder) {
  WakeTest t;
  run_wake_test(t, {cv_signal, cv_signal, cv_signal});
  EXPECT_EQ(t.after_each, (std::vector<Log>{{"w1"}, {"w1", "w2"}, {"w1", "w2", "w3"}}));
  EXPECT_EQ(t.waiting_after_each, (std::vector<size_t>{2, 1, 0}));
  EXPECT_EQ(t.cv.nsignal, 3u);
  EXPECT_EQ(t.cv.nwait, 3u);
}

TEST(Condvar, BroadcastWakesAll) {
  WakeTest t;
  run_wake_test(t, {cv_broadcast});
  ASSERT_EQ(t.after_each.size(), 1u);
  EXPECT_EQ(t.after_each[0], (Log{"w1", "w2", "w3"}));
  EXPECT_EQ(t.waiting_after_each[0], 0u);
  EXPECT_EQ(t.cv.nbroadcast, 1u);
}

TEST(Condvar, SignalWithNoWaitersIsLost) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex m;
  kcondvar cv;
  bool had_waiters = true;
  e.spawn_lwp("t0", 0, [&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_NONE);
    cv_init(&cv, "nobody");
    cv_signal(&cv);
    cv_broadcast(&cv);
    had_waiters = cv_has_waiters(&cv);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_FALSE(had_waiters);
}

TEST(Condvar, TimedWaitTimesOut) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex m;
  kcondvar cv;
  int r_ticks = -1, r_ns = -1;
  uint64_t waited_ticks = 0, waited_ns = 0;
  bool owned_after = false;
  e.spawn_lwp("t0", 0, [&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_NONE);
    cv_init(&cv, "tmo");
    mutex_enter(&m);
    uint64_t t0 = kernel_now_ns();
    r_ticks = cv_timedwait(&cv, &m, 2);
    uint64_t t1 = kernel_now_ns();
    r_ns = cv_timedwait_ns(&cv, &m, 7'000, false);
    uint64_t t2 = kernel_now_ns();
    owned_after = mutex_owned(&m);  // the interlock is held again on return
    mutex_exit(&m);
    waited_ticks = t1 - t0;
    waited_ns = t2 - t1;
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(r_ticks, kEWOULDBLOCK);
  EXPECT_EQ(r_ns, kEWOULDBLOCK);
  EXPECT_GE(waited_ticks, 2 * kNsPerTick);
  EXPECT_LT(waited_ticks, 2 * kNsPerTick + 10'000);
  EXPECT_GE(waited_ns, 7'000u);
  EXPECT_LT(waited_ns, 17'000u);
  EXPECT_TRUE(owned_after);
}

TEST(Condvar, TimedWaitSignalledInTimeReturnsZero) {
  Engine e(machine(2), make_strategy("timed", 1), 1);
  kmutex m;
  kcondvar cv;
  bool ready = false;
  int r = -1;
  uint64_t woke_at = 0;
  Once init([&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_NONE);
    cv_init(&cv, "ready");
  });
  e.spawn_lwp("waiter", 0, [&] {
    init();
    mutex_enter(&m);
    while (!ready && r != kEWOULDBLOCK) r = cv_timedwait(&cv, &m, 1);
    woke_at = kernel_now_ns();
    mutex_exit(&m);
  });
  e.spawn_lwp("setter", 1, [&] {
    init();
    delay_ns(50'000);
    mutex_enter(&m);
    ready = true;
    cv_signal(&cv);
    mutex_exit(&m);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(r, 0);
  EXPECT_LT(woke_at, kNsPerTick);  // long before the 10 ms timeout
  EXPECT_GT(woke_at, 50'000u);
}

TEST(Condvar, WaitSigReturnsEintrWhenSignalled) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex m;
  kcondvar cv;
  int r_sleeping = -1, r_pending = -1;
  Ctx* waiter = nullptr;
  waiter = e.spawn_lwp("waiter", 0, [&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_NONE);
    cv_init(&cv, "sigwait");
    mutex_enter(&m);
    r_sleeping = cv_wait_sig(&cv, &m);  // the killer signals it while it sleeps
    r_pending = cv_wait_sig(&cv, &m);   // a signal that arrived while awake ends the next sleep
    mutex_exit(&m);
  });
  e.spawn_lwp("killer", 0, [&] {
    Engine::current()->signal_lwp(waiter);
    delay_ns(10);
  });
  // The second signal arrives while the woken waiter waits for the CPU: it stays pending.
  e.add_interrupt("sig", 0, IPL_VM, {20'000}, 0, 0, [&] { Engine::current()->signal_lwp(waiter); });
  e.spawn_lwp("napper", 0, [&] {
    // Keeps the waiter from running again until the interrupt posted its signal.
    for (int i = 0; i < 40; ++i) delay_ns(1000);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(r_sleeping, kEINTR);
  EXPECT_EQ(r_pending, kEINTR);
  EXPECT_FALSE(waiter->sig_pending);
}

TEST(Condvar, PlainWaitIgnoresSignals) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex m;
  kcondvar cv;
  Log log;
  Ctx* waiter = e.spawn_lwp("waiter", 0, [&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_NONE);
    cv_init(&cv, "nosig");
    mutex_enter(&m);
    cv_wait(&cv, &m);
    log.push_back("woken");
    mutex_exit(&m);
  });
  e.spawn_lwp("other", 0, [&] {
    Engine::current()->signal_lwp(waiter);
    kpause("p", false, 1, nullptr);
    log.push_back("signal sent");
    mutex_enter(&m);
    cv_signal(&cv);
    mutex_exit(&m);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(log, (Log{"signal sent", "woken"}));
}

TEST(Condvar, SpinInterlockIsReleasedWhileAsleepAndRetaken) {
  Engine e(machine(2), make_strategy("timed", 1), 1);
  kmutex m;
  kcondvar cv;
  bool flag = false;
  ipl_t spl_asleep_cpu = -1, spl_after_wait = -1;
  Once init([&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_VM);
    cv_init(&cv, "spincv");
  });
  e.spawn_lwp("waiter", 0, [&] {
    init();
    mutex_enter(&m);
    while (!flag) cv_wait(&cv, &m);
    spl_after_wait = curspl();
    mutex_exit(&m);
  });
  e.spawn_lwp("setter", 1, [&] {
    init();
    delay_ns(5000);
    spl_asleep_cpu = Engine::current()->cpus()[0].spl;  // the sleeper's CPU
    mutex_enter(&m);
    flag = true;
    cv_broadcast(&cv);
    mutex_exit(&m);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(spl_asleep_cpu, IPL_NONE);
  EXPECT_EQ(spl_after_wait, IPL_VM);
}

TEST(Kpause, SleepsForTheTimeGiven) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  int r_ns = -1, r_ticks = -1;
  uint64_t slept_ns = 0, slept_ticks = 0;
  Ctx* t = e.spawn_lwp("t0", 0, [&] {
    uint64_t t0 = kernel_now_ns();
    r_ns = kpause_ns("short", false, 5'000, nullptr);
    uint64_t t1 = kernel_now_ns();
    r_ticks = kpause("long", false, 3, nullptr);
    slept_ns = t1 - t0;
    slept_ticks = kernel_now_ns() - t1;
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(r_ns, kEWOULDBLOCK);
  EXPECT_EQ(r_ticks, kEWOULDBLOCK);
  EXPECT_GE(slept_ns, 5'000u);
  EXPECT_LT(slept_ns, 15'000u);
  EXPECT_GE(slept_ticks, 3 * kNsPerTick);
  EXPECT_EQ(t->l_ncsw, 2u);
}

TEST(Kpause, ReleasesTheMutexWhileAsleep) {
  Engine e(machine(2), make_strategy("timed", 1), 1);
  kmutex m;
  uint64_t pause_from = 0, pause_to = 0, other_got_it = 0;
  bool owned_after = false;
  Once init([&] { mutex_init(&m, MUTEX_DEFAULT, IPL_NONE); });
  e.spawn_lwp("pauser", 0, [&] {
    init();
    mutex_enter(&m);
    pause_from = kernel_now_ns();
    kpause("drop", false, 1, &m);
    pause_to = kernel_now_ns();
    owned_after = mutex_owned(&m);
    mutex_exit(&m);
  });
  e.spawn_lwp("other", 1, [&] {
    init();
    delay_ns(100'000);
    mutex_enter(&m);
    other_got_it = kernel_now_ns();
    mutex_exit(&m);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_GT(other_got_it, pause_from);
  EXPECT_LT(other_got_it, pause_to);
  EXPECT_TRUE(owned_after);
}

TEST(Kpause, InterruptibleKpauseEndsOnSignal) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  int r = -1;
  uint64_t slept = 0;
  Ctx* sleeper = e.spawn_lwp("sleeper", 0, [&] {
    uint64_t t0 = kernel_now_ns();
    r = kpause("intr", true, 100, nullptr);  // one second unless signalled
    slept = kernel_now_ns() - t0;
  });
  e.spawn_lwp("killer", 0, [&] {
    delay_ns(1000);
    Engine::current()->signal_lwp(sleeper);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(r, kEINTR);
  EXPECT_LT(slept, kNsPerTick);
}

// --- sleeping where one must not ----------------------------------------------

TEST(Sleep, SleepingInInterruptContextIsAFinding) {
  Finding f = expect_finding("sleep", [](Engine& e) {
    e.spawn_lwp("t0", 0, [] {
      for (int i = 0; i < 30; ++i) delay_ns(100);
    });
    e.add_interrupt("nic", 0, IPL_VM, {1000}, 0, 0, [] { kpause("intrsleep", false, 1, nullptr); });
  });
  EXPECT_TRUE(contains(f.message, "sleeping in interrupt context (intrsleep)")) << f.message;
  EXPECT_TRUE(contains(f.context, "interrupt nic")) << f.context;
}

TEST(Sleep, CvWaitInInterruptContextIsAFinding) {
  kmutex m;
  kcondvar cv;
  Finding f = expect_finding("sleep", [&](Engine& e) {
    e.spawn_lwp("t0", 0, [&] {
      mutex_init(&m, MUTEX_DEFAULT, IPL_VM);
      cv_init(&cv, "intrcv");
      for (int i = 0; i < 30; ++i) delay_ns(100);
    });
    e.add_interrupt("nic", 0, IPL_VM, {1000}, 0, 0, [&] {
      mutex_enter(&m);
      cv_wait(&cv, &m);
      mutex_exit(&m);
    });
  });
  EXPECT_TRUE(contains(f.message, "cv_wait on intrcv in interrupt nic")) << f.message;
}

TEST(Sleep, SleepingWithASpinMutexHeldIsAFinding) {
  kmutex spin;
  Finding f = expect_lwp_finding("sleep", [&] {
    mutex_init(&spin, MUTEX_DEFAULT, IPL_VM);
    mutex_set_name(&spin, "pc_lock");
    mutex_enter(&spin);
    kpause("held", false, 1, nullptr);
    mutex_exit(&spin);
  });
  EXPECT_TRUE(contains(f.message, "sleeping (held) with spin mutex pc_lock (spin, IPL_VM) held"))
      << f.message;
}

TEST(Sleep, CvWaitHoldingASpinMutexOtherThanTheInterlockIsAFinding) {
  kmutex spin, interlock;
  kcondvar cv;
  Finding f = expect_lwp_finding("sleep", [&] {
    mutex_init(&spin, MUTEX_DEFAULT, IPL_VM);
    mutex_set_name(&spin, "outer");
    mutex_init(&interlock, MUTEX_DEFAULT, IPL_NONE);
    cv_init(&cv, "cv");
    mutex_enter(&spin);
    mutex_enter(&interlock);
    cv_wait(&cv, &interlock);
  });
  EXPECT_TRUE(contains(f.message, "spin mutex outer")) << f.message;
}

TEST(Sleep, CvWaitWithoutTheInterlockIsAFinding) {
  kmutex m;
  kcondvar cv;
  Finding f = expect_lwp_finding("mutex", [&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_NONE);
    cv_init(&cv, "cv");
    cv_wait(&cv, &m);
  });
  EXPECT_TRUE(contains(f.message, "interlock")) << f.message;
}

// --- deadlock -----------------------------------------------------------------

TEST(Deadlock, AbbaIsReportedWithTheWaitForRelation) {
  // The timed strategy makes both LWPs take their first lock before either
  // asks for the second; other strategies may or may not find the deadlock.
  Engine e(machine(2), make_strategy("timed", 3), 3);
  kmutex a, b;
  Once init([&] {
    mutex_init(&a, MUTEX_DEFAULT, IPL_NONE);
    mutex_set_name(&a, "lock_a");
    mutex_init(&b, MUTEX_DEFAULT, IPL_NONE);
    mutex_set_name(&b, "lock_b");
  });
  auto abba = [&](kmutex* first, kmutex* second) {
    init();
    mutex_enter(first);
    delay_ns(1000);  // both hold their first lock before either wants the second
    mutex_enter(second);
    mutex_exit(second);
    mutex_exit(first);
  };
  e.spawn_lwp("A", 0, [&] { abba(&a, &b); });
  e.spawn_lwp("B", 1, [&] { abba(&b, &a); });
  ASSERT_EQ(e.run(), Outcome::finding);
  const Finding* f = find_finding(e.findings(), "deadlock");
  ASSERT_NE(f, nullptr) << describe_findings(e.findings());
  ASSERT_EQ(f->details.size(), 2u) << describe_findings(e.findings());
  std::string all = f->details[0] + "\n" + f->details[1];
  EXPECT_TRUE(contains(all, "lwp A (cpu0) sleeps for lock_b (adaptive, IPL_NONE), held by lwp B "
                            "(cpu1); holds lock_a"))
      << all;
  EXPECT_TRUE(contains(all, "lwp B (cpu1) sleeps for lock_a (adaptive, IPL_NONE), held by lwp A "
                            "(cpu0); holds lock_b"))
      << all;
}

TEST(Deadlock, SpinAbbaIsReportedToo) {
  Engine e(machine(2), make_strategy("timed", 1), 1);
  kmutex a, b;
  Once init([&] {
    mutex_init(&a, MUTEX_DEFAULT, IPL_VM);
    mutex_init(&b, MUTEX_DEFAULT, IPL_VM);
  });
  e.spawn_lwp("A", 0, [&] {
    init();
    mutex_enter(&a);
    delay_ns(1000);
    mutex_enter(&b);
  });
  e.spawn_lwp("B", 1, [&] {
    init();
    mutex_enter(&b);
    delay_ns(1000);
    mutex_enter(&a);
  });
  ASSERT_EQ(e.run(), Outcome::finding);
  const Finding* f = find_finding(e.findings(), "deadlock");
  ASSERT_NE(f, nullptr) << describe_findings(e.findings());
  ASSERT_EQ(f->details.size(), 2u);
  EXPECT_TRUE(contains(f->details[0] + f->details[1], "spins on")) << f->details[0];
}

TEST(Deadlock, LostWakeupIsADeadlock) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  kmutex m;
  kcondvar cv;
  e.spawn_lwp("sleeper", 0, [&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_NONE);
    mutex_set_name(&m, "sc_lock");
    cv_init(&cv, "sc_cv");
    mutex_enter(&m);
    cv_wait(&cv, &m);  // nobody will ever signal
    mutex_exit(&m);
  });
  EXPECT_EQ(e.run(), Outcome::finding);
  const Finding* f = find_finding(e.findings(), "deadlock");
  ASSERT_NE(f, nullptr) << describe_findings(e.findings());
  ASSERT_EQ(f->details.size(), 1u);
  EXPECT_EQ(f->details[0], "lwp sleeper (cpu0) sleeps on sc_cv (sc_cv) with interlock sc_lock "
                           "(adaptive, IPL_NONE)");
}

TEST(Deadlock, PageDaemonAsleepIsNotADeadlock) {
  MachineConfig mc = machine(1);
  mc.pagedaemon = true;
  Engine e(mc, make_strategy("timed", 1), 1);
  e.spawn_lwp("t0", 0, [] { delay_ns(10); });
  EXPECT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
}

}  // namespace
}  // namespace kasim
