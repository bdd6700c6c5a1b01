// Tests for the cost model (what primitives charge to the CPU clock) and for
// buggify() fault injection.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/sim/sim_test_util.h"

namespace kasim {
namespace {

using namespace kasim::test;

// How long an uncontended mutex_enter takes on cpu1 when the mutex was last
// held on `last_cpu`.
uint64_t mutex_enter_cost(int last_cpu, CostModel costs = {}) {
  MachineConfig mc = machine(2);
  mc.costs = costs;
  Engine e(mc, make_strategy("timed", 1), 1);
  kmutex m;
  uint64_t took = 0;
  Once init([&] { mutex_init(&m, MUTEX_DEFAULT, IPL_NONE); });
  e.spawn_lwp("first", last_cpu, [&] {
    init();
    mutex_enter(&m);
    mutex_exit(&m);
  });
  e.spawn_lwp("second", 1, [&] {
    init();
    delay_ns(10'000);  // well after "first" is done
    uint64_t t0 = kernel_now_ns();
    mutex_enter(&m);
    took = kernel_now_ns() - t0;
    mutex_exit(&m);
  });
  EXPECT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(m.last_cpu, 1);
  return took;
}

TEST(Cost, MutexLastHeldElsewhereChargesRemote) {
  CostModel defaults;
  EXPECT_EQ(mutex_enter_cost(0), defaults.mutex_remote);
  EXPECT_EQ(mutex_enter_cost(1), defaults.mutex_local);
  EXPECT_GT(defaults.mutex_remote, defaults.mutex_local);

  // The machine's cost model is the one charged.
  CostModel custom;
  custom.mutex_remote = 1000;
  custom.mutex_local = 7;
  EXPECT_EQ(mutex_enter_cost(0, custom), 1000u);
  EXPECT_EQ(mutex_enter_cost(1, custom), 7u);
}

TEST(Cost, RemoteMutexMakesTheRunLonger) {
  // Same program, same schedule, except where the lock last lived: the CPU
  // that takes it over pays the difference on its clock.
  auto program = [](bool ping_pong) {
    return [ping_pong](Engine& e) {
      auto m = std::make_shared<kmutex>();
      auto init = std::make_shared<Once>([m] { mutex_init(m.get(), MUTEX_DEFAULT, IPL_NONE); });
      e.spawn_lwp("t1", 1, [m, init] {
        (*init)();
        for (int i = 0; i < 10; ++i) {
          mutex_enter(m.get());
          mutex_exit(m.get());
          delay_ns(1000);
        }
      });
      // cpu0 touches the lock in between each of t1's (or never).
      e.spawn_lwp("t0", 0, [m, init, ping_pong] {
        (*init)();
        delay_ns(500);
        for (int i = 0; i < 10; ++i) {
          if (ping_pong) {
            mutex_enter(m.get());
            mutex_exit(m.get());
          }
          delay_ns(1000);
        }
      });
    };
  };
  RunResult alone = run_program(machine(2), "timed", 1, program(false));
  RunResult shared = run_program(machine(2), "timed", 1, program(true));
  ASSERT_EQ(alone.outcome, Outcome::completed);
  ASSERT_EQ(shared.outcome, Outcome::completed);
  CostModel c;
  // After the first, each of t1's enters finds the lock last held on cpu0.
  EXPECT_GE(shared.cpu_clocks[1], alone.cpu_clocks[1] + 9 * (c.mutex_remote - c.mutex_local));
  EXPECT_GT(shared.sim_time, alone.sim_time);
}

TEST(Cost, AtomicOnALineLastTouchedElsewhereChargesRemote) {
  Engine e(machine(2), make_strategy("timed", 1), 1);
  volatile unsigned word = 0;
  uint64_t remote = 0, local = 0;
  e.spawn_lwp("toucher", 0, [&] { atomic_inc_uint(&word); });
  e.spawn_lwp("taker", 1, [&] {
    delay_ns(10'000);
    uint64_t t0 = kernel_now_ns();
    atomic_inc_uint(&word);
    uint64_t t1 = kernel_now_ns();
    atomic_inc_uint(&word);
    remote = t1 - t0;
    local = kernel_now_ns() - t1;
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(word, 3u);
  EXPECT_EQ(remote, e.machine().costs.atomic_remote);
  EXPECT_EQ(local, e.machine().costs.atomic_local);
}

TEST(Cost, ContextSwitchAndInterruptEntryAreCharged) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  uint64_t in_handler = 0;
  e.spawn_lwp("t0", 0, [] { delay_ns(5000); });
  e.add_interrupt("i", 0, IPL_VM, {10'000}, 0, 0, [&] { in_handler = kernel_now_ns(); });
  ASSERT_EQ(e.run(), Outcome::completed);
  const CostModel& c = e.machine().costs;
  EXPECT_EQ(in_handler, 10'000 + c.intr_entry);
  EXPECT_EQ(e.sim_time(), 10'000 + c.intr_entry + c.intr_exit);
  EXPECT_EQ(e.cpus()[0].busy_ns, c.context_switch + 5000 + c.intr_entry + c.intr_exit);
}

// --- buggify -------------------------------------------------------------------

// Calls buggify(site) `n` times in one LWP; returns which calls fired.
std::vector<bool> buggify_pattern(uint64_t seed, FaultConfig faults, int n,
                                  const char* site = "pool_get", uint64_t* fault_records = nullptr) {
  Engine e(machine(1), make_strategy("timed", seed), seed, RunLimits{}, faults);
  std::vector<bool> fired;
  e.spawn_lwp("t0", 0, [&] {
    for (int i = 0; i < n; ++i) fired.push_back(buggify(site));
  });
  EXPECT_EQ(e.run(), Outcome::completed);
  if (fault_records) {
    auto tail = e.trace().tail();
    *fault_records = static_cast<uint64_t>(std::count_if(
        tail.begin(), tail.end(), [](const TraceRecord& r) { return r.kind == TraceKind::fault; }));
  }
  return fired;
}

size_t count_true(const std::vector<bool>& v) {
  return static_cast<size_t>(std::count(v.begin(), v.end(), true));
}

FaultConfig faults(uint32_t site_percent, uint32_t fire_percent) {
  FaultConfig f;
  f.enabled = true;
  f.site_percent = site_percent;
  f.fire_percent = fire_percent;
  return f;
}

TEST(Buggify, NeverFiresWhenDisabled) {
  FaultConfig off = faults(100, 100);
  off.enabled = false;
  uint64_t records = 99;
  EXPECT_EQ(count_true(buggify_pattern(1, off, 500, "x", &records)), 0u);
  EXPECT_EQ(records, 0u);
}

TEST(Buggify, DeterministicPerSeedWhenEnabled) {
  FaultConfig on = faults(100, 50);
  uint64_t records = 0;
  std::vector<bool> a = buggify_pattern(42, on, 200, "pool_get", &records);
  EXPECT_EQ(a, buggify_pattern(42, on, 200));
  EXPECT_NE(a, buggify_pattern(43, on, 200));
  EXPECT_GT(count_true(a), 60u);  // about half of 200
  EXPECT_LT(count_true(a), 140u);
  EXPECT_EQ(records, count_true(a));  // every firing is traced
}

TEST(Buggify, SiteAndFirePercentages) {
  EXPECT_EQ(count_true(buggify_pattern(7, faults(0, 100), 100)), 0u);     // no site switched on
  EXPECT_EQ(count_true(buggify_pattern(7, faults(100, 0), 100)), 0u);     // on, never fires
  EXPECT_EQ(count_true(buggify_pattern(7, faults(100, 100), 100)), 100u);  // always
}

TEST(Buggify, SitesAreSwitchedOnPerRun) {
  // With half the sites switched on, some sites never fire in a run and
  // others fire often; which ones depends on the seed.
  Engine e(machine(1), make_strategy("timed", 9), 9, RunLimits{}, faults(50, 100));
  std::vector<std::string> names;
  for (int i = 0; i < 40; ++i) names.push_back(numbered("site", static_cast<uint64_t>(i)));
  std::vector<int> fired(names.size());
  e.spawn_lwp("t0", 0, [&] {
    for (int round = 0; round < 5; ++round)
      for (size_t i = 0; i < names.size(); ++i) fired[i] += buggify(names[i].c_str());
  });
  ASSERT_EQ(e.run(), Outcome::completed);
  int on = 0;
  for (int f : fired) {
    EXPECT_TRUE(f == 0 || f == 5) << "a site is switched on or off for the whole run";
    on += f == 5;
  }
  EXPECT_GT(on, 8);
  EXPECT_LT(on, 32);
}

}  // namespace
}  // namespace kasim
