// Tests for the engine's scheduling: run to completion, non-preemptive LWPs,
// the timed and random strategies, determinism, replay and divergence, the
// step and time bounds, and per-machine storage.
#include <gtest/gtest.h>

#include "tests/sim/sim_test_util.h"

namespace kasim {
namespace {

using namespace kasim::test;

// Four LWPs on two CPUs contending an adaptive and a spin mutex, with SPL
// changes and a periodic interrupt: enough choice points to tell schedules apart.
Setup mixed_program() {
  return [](Engine& e) {
    struct State {
      kmutex a, s;
      int counter = 0, ticks = 0;
      Once init{[this] {
        mutex_init(&a, MUTEX_DEFAULT, IPL_NONE);
        mutex_init(&s, MUTEX_DEFAULT, IPL_SCHED);  // the tick handler takes it too
      }};
    };
    auto st = std::make_shared<State>();
    for (int i = 0; i < 4; ++i)
      e.spawn_lwp(numbered("w", static_cast<uint64_t>(i)), i % 2, [st, i] {
        st->init();
        for (int k = 0; k < 10; ++k) {
          mutex_enter(&st->a);
          ++st->counter;
          delay_ns(50 + static_cast<uint64_t>(i) * 10);
          mutex_exit(&st->a);
          mutex_enter(&st->s);
          delay_ns(20);
          mutex_exit(&st->s);
          int s = splvm();
          delay_ns(30);
          splx(s);
        }
      });
    e.add_interrupt("tick", 1, IPL_SCHED, {}, 700, 0, [st] {
      st->init();
      mutex_enter(&st->s);
      ++st->ticks;
      mutex_exit(&st->s);
    });
  };
}

TEST(Engine, SingleLwpCompletes) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  int calls = 0;
  e.spawn_lwp("t0", 0, [&] {
    for (int i = 0; i < 5; ++i) {
      delay_ns(10);
      ++calls;
    }
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(calls, 5);
  EXPECT_EQ(e.steps(), 5u);  // one scheduling point per delay
  // Dispatching the LWP is a context switch, then 5 x 10 ns of delay.
  EXPECT_EQ(e.sim_time(), e.machine().costs.context_switch + 50);
  EXPECT_TRUE(e.findings().empty());
  EXPECT_TRUE(e.decisions().empty());  // never more than one option
  ASSERT_EQ(e.lwps().size(), 1u);
  EXPECT_EQ(e.lwps()[0]->state, CtxState::finished);
  EXPECT_EQ(Engine::current(), nullptr);  // run() restores the host thread's engine
}

TEST(Engine, LwpsOnOneCpuRunUntilTheyBlock) {
  // Non-preemptive: B runs only once A sleeps, and A resumes only once B is
  // done, whatever the strategy.
  for (const char* strategy : {"timed", "random"}) {
    for (uint64_t seed = 1; seed <= 10; ++seed) {
      Engine e(machine(1), make_strategy(strategy, seed), seed);
      Log log;
      Ctx* a = e.spawn_lwp("A", 0, [&] {
        log.push_back("A1");
        delay_ns(100);
        log.push_back("A2");
        kpause("nap", false, 1, nullptr);
        log.push_back("A3");
      });
      Ctx* b = e.spawn_lwp("B", 0, [&] {
        log.push_back("B1");
        delay_ns(100);
        log.push_back("B2");
      });
      ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
      EXPECT_EQ(log, (Log{"A1", "A2", "B1", "B2", "A3"})) << strategy << " seed " << seed;
      EXPECT_EQ(a->l_ncsw, 1u);  // slept once
      EXPECT_EQ(b->l_ncsw, 0u);
    }
  }
}

// Two LWPs on two CPUs record the clock each time they are resumed.
struct ClockLog {
  std::vector<uint64_t> times;
  std::vector<int> cpus;
};

Setup clock_program(std::shared_ptr<ClockLog> out) {
  return [out](Engine& e) {
    for (int cpu = 0; cpu < 2; ++cpu)
      e.spawn_lwp(numbered("c", static_cast<uint64_t>(cpu)), cpu, [out, cpu] {
        for (int k = 0; k < 20; ++k) {
          out->times.push_back(kernel_now_ns());
          out->cpus.push_back(cpu);
          delay_ns(cpu == 0 ? 700 : 300);
        }
      });
  };
}

bool non_decreasing(const std::vector<uint64_t>& v) {
  for (size_t i = 1; i < v.size(); ++i)
    if (v[i] < v[i - 1]) return false;
  return true;
}

TEST(Engine, TimedRunsTheEarliestClockFirst) {
  auto out = std::make_shared<ClockLog>();
  RunResult r = run_program(machine(2), "timed", 3, clock_program(out));
  ASSERT_EQ(r.outcome, Outcome::completed);
  ASSERT_EQ(out->times.size(), 40u);
  EXPECT_TRUE(non_decreasing(out->times));
  // The CPUs interleave: cpu1 (300 ns steps) runs about 7 steps per 3 of cpu0.
  EXPECT_NE(out->cpus[0], out->cpus[1]);
  EXPECT_EQ(out->cpus.back(), 0);  // the slow CPU finishes last

  // The check above can fail: a random schedule runs CPUs out of clock order.
  bool some_random_out_of_order = false;
  for (uint64_t seed = 1; seed <= 5 && !some_random_out_of_order; ++seed) {
    auto rout = std::make_shared<ClockLog>();
    run_program(machine(2), "random", seed, clock_program(rout));
    some_random_out_of_order = !non_decreasing(rout->times);
  }
  EXPECT_TRUE(some_random_out_of_order);
}

TEST(Engine, RandomSeedsExploreDifferentSchedules) {
  std::vector<std::vector<Decision>> seen;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    RunResult r = run_program(machine(2), "random", seed, mixed_program());
    ASSERT_EQ(r.outcome, Outcome::completed) << describe_findings(r.findings);
    EXPECT_GT(r.decisions.size(), 20u);
    for (const auto& d : seen) EXPECT_NE(d, r.decisions) << "seed " << seed;
    seen.push_back(r.decisions);
  }
}

TEST(Engine, SameSeedSameRun) {
  for (const char* strategy : {"timed", "random"}) {
    RunResult a = run_program(machine(2), strategy, 11, mixed_program());
    RunResult b = run_program(machine(2), strategy, 11, mixed_program());
    ASSERT_EQ(a.outcome, Outcome::completed) << describe_findings(a.findings);
    EXPECT_EQ(a.hash, b.hash) << strategy;
    EXPECT_EQ(a.decisions, b.decisions) << strategy;
    EXPECT_EQ(a.steps, b.steps) << strategy;
    EXPECT_EQ(a.sim_time, b.sim_time) << strategy;
  }
  // The hash tells schedules apart.
  EXPECT_NE(run_program(machine(2), "random", 11, mixed_program()).hash,
            run_program(machine(2), "random", 12, mixed_program()).hash);
}

TEST(Engine, ReplayReproducesTheRun) {
  for (const char* strategy : {"timed", "random"}) {
    RunResult a = run_program(machine(2), strategy, 5, mixed_program());
    ASSERT_FALSE(a.decisions.empty());
    RunResult r = replay_program(machine(2), a.decisions, 5, mixed_program());
    EXPECT_EQ(r.outcome, a.outcome) << strategy << ": " << r.stop_reason;
    EXPECT_EQ(r.hash, a.hash) << strategy;
    EXPECT_EQ(r.decisions, a.decisions) << strategy;
    EXPECT_EQ(r.steps, a.steps) << strategy;
  }
}

TEST(Engine, TamperedReplayDivergesAtTheTamperedDecision) {
  RunResult a = run_program(machine(2), "random", 5, mixed_program());
  ASSERT_GT(a.decisions.size(), 10u);
  const size_t k = a.decisions.size() / 2;
  std::vector<Decision> tampered = a.decisions;
  tampered[k] = Decision{OptionKind::run, 0, 999};  // no such context

  Engine e(machine(2), std::make_unique<ReplayStrategy>(tampered), 5);
  mixed_program()(e);
  EXPECT_EQ(e.run(), Outcome::diverged);
  EXPECT_TRUE(contains(e.stop_reason(), numbered("decision ", k) + " ")) << e.stop_reason();
  EXPECT_TRUE(contains(e.stop_reason(), "run ctx 999 on cpu0")) << e.stop_reason();
  EXPECT_EQ(e.decisions().size(), k);  // the first k were followed
  EXPECT_EQ(dynamic_cast<ReplayStrategy&>(e.strategy()).consumed(), k);
  EXPECT_TRUE(e.findings().empty());

  // A record that runs out is a divergence too, not a silent fallback.
  std::vector<Decision> truncated(a.decisions.begin(), a.decisions.begin() + 3);
  RunResult t = replay_program(machine(2), truncated, 5, mixed_program());
  EXPECT_EQ(t.outcome, Outcome::diverged);
  EXPECT_TRUE(contains(t.stop_reason, "has 3 decisions but the run needs more")) << t.stop_reason;
}

TEST(Engine, StepBoundStopsTheRun) {
  RunLimits limits;
  limits.max_steps = 100;
  int iterations = 0;
  Engine e(machine(1), make_strategy("timed", 1), 1, limits);
  e.spawn_lwp("loop", 0, [&] {
    for (int i = 0; i < 1000; ++i) {
      delay_ns(1);
      ++iterations;
    }
  });
  EXPECT_EQ(e.run(), Outcome::bound);
  EXPECT_EQ(iterations, 100);  // the 101st scheduling point never returned
  const Finding* f = find_finding(e.findings(), "bound");
  ASSERT_NE(f, nullptr) << describe_findings(e.findings());
  EXPECT_TRUE(contains(f->message, "step limit of 100")) << f->message;
  EXPECT_EQ(f->context, "lwp loop (cpu0)");
}

TEST(Engine, TimeBoundStopsTheRun) {
  RunLimits limits;
  limits.max_time_ns = 50'000;
  int iterations = 0;
  Engine e(machine(1), make_strategy("timed", 1), 1, limits);
  e.spawn_lwp("loop", 0, [&] {
    for (int i = 0; i < 1000; ++i) {
      delay_ns(1000);
      ++iterations;
    }
  });
  EXPECT_EQ(e.run(), Outcome::bound);
  EXPECT_GE(iterations, 48);  // ran until simulated time passed the limit, not beyond
  EXPECT_LE(iterations, 50);
  const Finding* f = find_finding(e.findings(), "bound");
  ASSERT_NE(f, nullptr) << describe_findings(e.findings());
  EXPECT_TRUE(contains(f->message, "time limit of 50000 ns")) << f->message;
}

TEST(Engine, SpawnOutOfRangeCpuIsAnInternalError) {
  Engine e(machine(2), make_strategy("timed", 1), 1);
  EXPECT_THROW(e.spawn_lwp("bad", 2, [] {}), InternalError);
  EXPECT_THROW(e.add_interrupt("bad", -1, IPL_VM, {1}, 0, 0, [] {}), InternalError);
  EXPECT_THROW(make_strategy("dfs", 1), std::invalid_argument);
}

TEST(Engine, PreemptionOnlyWhenTheMachineAllowsIt) {
  // One CPU, two LWPs that never block: with preempt=false (or the timed
  // strategy) A runs to the end first; a random strategy on a preemptible
  // machine interleaves them at scheduling points.
  auto program = [](std::shared_ptr<Log> log) {
    return [log](Engine& e) {
      for (const char* name : {"A", "B"})
        e.spawn_lwp(name, 0, [log, name] {
          for (int i = 0; i < 5; ++i) {
            log->push_back(name);
            delay_ns(100);
          }
        });
    };
  };
  const Log serial{"A", "A", "A", "A", "A", "B", "B", "B", "B", "B"};
  MachineConfig preemptible = machine(1);
  preemptible.preempt = true;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    auto log = std::make_shared<Log>();
    run_program(machine(1), "random", seed, program(log));
    EXPECT_EQ(*log, serial) << "seed " << seed;
    auto timed_log = std::make_shared<Log>();
    run_program(preemptible, "timed", seed, program(timed_log));
    EXPECT_EQ(*timed_log, serial) << "seed " << seed;
  }
  bool interleaved = false;
  for (uint64_t seed = 1; seed <= 5 && !interleaved; ++seed) {
    auto log = std::make_shared<Log>();
    RunResult r = run_program(preemptible, "random", seed, program(log));
    ASSERT_EQ(r.outcome, Outcome::completed);
    ASSERT_EQ(log->size(), 10u);
    interleaved = *log != serial;
  }
  EXPECT_TRUE(interleaved);
}

TEST(Engine, PreemptionCountsAsAContextSwitch) {
  MachineConfig mc = machine(1);
  mc.preempt = true;
  // Find a seed whose first decision preempts A for B.
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Engine e(mc, make_strategy("random", seed), seed);
    Log log;
    Ctx* a = e.spawn_lwp("A", 0, [&] {
      log.push_back("A");
      delay_ns(100);
      log.push_back("A");
    });
    e.spawn_lwp("B", 0, [&] { log.push_back("B"); });
    ASSERT_EQ(e.run(), Outcome::completed);
    if (log == Log{"A", "B", "A"}) {
      EXPECT_EQ(a->l_ncsw, 1u);
      return;
    }
    EXPECT_EQ(a->l_ncsw, 0u);
  }
  FAIL() << "no seed in 1..20 preempted A";
}

TEST(Engine, StaleTimeoutDoesNotEndALaterSleep) {
  Engine e(machine(2), make_strategy("timed", 1), 1);
  kmutex m;
  kcondvar cv;
  int first = -1, second = -1;
  uint64_t second_slept = 0;
  Once init([&] {
    mutex_init(&m, MUTEX_DEFAULT, IPL_NONE);
    cv_init(&cv, "cv");
  });
  e.spawn_lwp("sleeper", 0, [&] {
    init();
    mutex_enter(&m);
    first = cv_timedwait_ns(&cv, &m, 10'000, false);  // signalled at about 2 us
    uint64_t t = kernel_now_ns();
    second = cv_timedwait_ns(&cv, &m, 1'000'000, false);  // the 10 us timeout is stale
    second_slept = kernel_now_ns() - t;
    mutex_exit(&m);
  });
  e.spawn_lwp("waker", 1, [&] {
    init();
    delay_ns(2000);
    mutex_enter(&m);
    cv_signal(&cv);
    mutex_exit(&m);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(first, 0);
  EXPECT_EQ(second, kEWOULDBLOCK);
  EXPECT_GE(second_slept, 1'000'000u);
}

TEST(Engine, ExceptionInAContextReachesRunsCaller) {
  // kasim's own errors (InternalError, exit status 3) raised on a fiber must
  // come out of run(), not terminate the host process.
  Engine e(machine(2), make_strategy("timed", 1), 1);
  bool other_finished = false;
  e.spawn_lwp("bad", 0, [] {
    delay_ns(100);
    Engine::current()->rng(RngStream::schedule);  // the schedule stream is the strategy's
  });
  e.spawn_lwp("other", 1, [&] {
    for (int i = 0; i < 100; ++i) delay_ns(100);
    other_finished = true;
  });
  EXPECT_THROW(e.run(), InternalError);
  EXPECT_FALSE(other_finished);  // the run stopped there
  EXPECT_EQ(Engine::current(), nullptr);
}

// --- machine_local -----------------------------------------------------------

struct Counter {
  int n = 0;
};

std::vector<std::string>* g_destroyed = nullptr;
struct First {
  ~First() { g_destroyed->push_back("First"); }
};
struct Second {
  ~Second() { g_destroyed->push_back("Second"); }
};

TEST(Engine, MachineLocalIsPerMachine) {
  Engine e1(machine(2), make_strategy("timed", 1), 1);
  Engine e2(machine(1), make_strategy("timed", 1), 1);
  std::vector<Counter*> seen1, seen2;
  for (int cpu = 0; cpu < 2; ++cpu)
    e1.spawn_lwp(numbered("l", static_cast<uint64_t>(cpu)), cpu, [&] {
      Counter& c = machine_local<Counter>();
      ++c.n;
      seen1.push_back(&c);
    });
  e2.spawn_lwp("only", 0, [&] {
    Counter& c = machine_local<Counter>();
    ++c.n;
    seen2.push_back(&c);
  });
  ASSERT_EQ(e1.run(), Outcome::completed);
  ASSERT_EQ(e2.run(), Outcome::completed);  // e1 is still alive: its object too
  ASSERT_EQ(seen1.size(), 2u);
  ASSERT_EQ(seen2.size(), 1u);
  EXPECT_EQ(seen1[0], seen1[1]);  // same object within one machine
  EXPECT_NE(seen1[0], seen2[0]);  // another machine has its own
  EXPECT_EQ(e1.local<Counter>().n, 2);
  EXPECT_EQ(e2.local<Counter>().n, 1);
  EXPECT_EQ(&e1.local<Counter>(), seen1[0]);
}

TEST(Engine, MachineLocalsAreDestroyedInReverseOrder) {
  std::vector<std::string> destroyed;
  g_destroyed = &destroyed;
  {
    Engine e(machine(1), make_strategy("timed", 1), 1);
    e.spawn_lwp("t", 0, [] {
      machine_local<First>();
      machine_local<Second>();
      machine_local<First>();  // no second instance
    });
    ASSERT_EQ(e.run(), Outcome::completed);
    EXPECT_TRUE(destroyed.empty());  // they live as long as the machine
  }
  EXPECT_EQ(destroyed, (std::vector<std::string>{"Second", "First"}));
  g_destroyed = nullptr;
}

}  // namespace
}  // namespace kasim
