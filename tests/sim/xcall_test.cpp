// tests/sim/xcall_test.cpp: xc_broadcast / xc_wait (sim/xcall.cpp).
#include "tests/sim/sim_test_util.h"

namespace kasim::test {
namespace {

struct XcRecord {
  Log log;
  int ran = 0;
};

void record_cpu(void* arg1, void* arg2) {
  auto* r = static_cast<XcRecord*>(arg1);
  const char* tag = static_cast<const char*>(arg2);
  r->ran++;
  r->log.push_back(std::string(tag) + " cpu" + std::to_string(cpu_index(curcpu())) + " " +
                   curlwp()->name + (cpu_intr_p() ? " intr" : ""));
}

void spin_then_record(void* arg1, void* arg2) {
  delay_ns(50'000);  // long enough for an interrupt to arrive meanwhile
  record_cpu(arg1, arg2);
}

TEST(Xcall, RunsOnceOnEveryCpuInItsXcallThread) {
  for (const char* strategy : {"timed", "random"}) {
    for (uint64_t seed = 1; seed <= 5; ++seed) {
      XcRecord rec;
      bool waited_after_all = false;
      RunResult r = run_program(machine(4), strategy, seed, [&](Engine& e) {
        e.spawn_lwp("caller", 0, [&] {
          const uint64_t t = xc_broadcast(0, record_cpu, &rec, const_cast<char*>("a"));
          xc_wait(t);
          waited_after_all = rec.ran == 4;
        });
        for (int i = 1; i < 4; ++i) e.spawn_lwp(numbered("w", i), i, [] { delay_ns(1000); });
      });
      ASSERT_EQ(r.outcome, Outcome::completed) << describe_findings(r.findings);
      EXPECT_TRUE(waited_after_all) << strategy << " seed " << seed;
      ASSERT_EQ(rec.log.size(), 4u);
      for (int i = 0; i < 4; ++i)
        EXPECT_GE(index_of(rec.log, "a cpu" + std::to_string(i) + " xcall/" + std::to_string(i)), 0)
            << strategy << " seed " << seed;
    }
  }
}

TEST(Xcall, TheXcallThreadWaitsForTheLwpOnItsCpu) {
  // No kernel preemption: the xcall thread runs when the CPU's LWP leaves it.
  Log log;
  XcRecord rec;
  RunResult r = run_program(machine(2), "timed", 1, [&](Engine& e) {
    e.spawn_lwp("caller", 0, [&] {
      xc_wait(xc_broadcast(0, record_cpu, &rec, const_cast<char*>("x")));
      log.push_back("waited");
    });
    e.spawn_lwp("busy", 1, [&] {
      delay_ns(200'000);
      log.push_back("busy done");
    });
  });
  ASSERT_EQ(r.outcome, Outcome::completed) << describe_findings(r.findings);
  ASSERT_GE(index_of(log, "busy done"), 0);
  EXPECT_LT(index_of(log, "busy done"), index_of(log, "waited"));
}

TEST(Xcall, InterruptsArriveAroundTheCrossCall) {
  XcRecord rec;
  std::string interrupted;
  RunResult r = run_program(machine(2), "timed", 1, [&](Engine& e) {
    e.spawn_lwp("caller", 0, [&] {
      xc_wait(xc_broadcast(0, spin_then_record, &rec, const_cast<char*>("s")));
    });
    e.add_interrupt("tick", 1, IPL_VM, {20'000}, 0, 0,
                    [&] { interrupted = curlwp()->name; });
  });
  ASSERT_EQ(r.outcome, Outcome::completed) << describe_findings(r.findings);
  EXPECT_EQ(rec.ran, 2);
  EXPECT_EQ(interrupted, "xcall/1");  // the handler interrupted the cross-call
}

TEST(Xcall, BroadcastsAreSerialised) {
  XcRecord rec;
  RunResult r = run_program(machine(3), "random", 7, [&](Engine& e) {
    for (int i = 0; i < 3; ++i)
      e.spawn_lwp(numbered("c", i), i, [&, i] {
        xc_wait(xc_broadcast(0, record_cpu, &rec, const_cast<char*>(i == 0 ? "p" : i == 1 ? "q" : "r")));
      });
  });
  ASSERT_EQ(r.outcome, Outcome::completed) << describe_findings(r.findings);
  ASSERT_EQ(rec.log.size(), 9u);
  // One call in flight at a time: the log is three runs of one tag each.
  for (size_t i = 0; i < 9; i += 3)
    for (size_t j = i; j < i + 3; ++j) EXPECT_EQ(rec.log[j][0], rec.log[i][0]) << j;
}

TEST(Xcall, DeterministicAndReplayable) {
  XcRecord a, b;
  auto setup = [](XcRecord* rec) {
    return [rec](Engine& e) {
      e.spawn_lwp("caller", 0, [rec] {
        for (int k = 0; k < 3; ++k) xc_wait(xc_broadcast(0, record_cpu, rec, const_cast<char*>("d")));
      });
      e.spawn_lwp("other", 1, [] { delay_ns(5000); });
    };
  };
  RunResult r1 = run_program(machine(2), "random", 3, setup(&a));
  RunResult r2 = run_program(machine(2), "random", 3, setup(&b));
  ASSERT_EQ(r1.outcome, Outcome::completed) << describe_findings(r1.findings);
  EXPECT_EQ(r1.hash, r2.hash);
  EXPECT_EQ(a.log, b.log);
  XcRecord c;
  RunResult r3 = replay_program(machine(2), r1.decisions, 3, setup(&c));
  EXPECT_EQ(r3.hash, r1.hash);
  EXPECT_EQ(a.ran, 6);
}

TEST(Xcall, FromInterruptContextIsAContractFinding) {
  XcRecord rec;
  Finding f = expect_finding("contract", [&](Engine& e) {
    e.spawn_lwp("t", 0, [] { delay_ns(100'000); });
    e.add_interrupt("bad", 0, IPL_VM, {1000}, 0, 0,
                    [&] { (void)xc_broadcast(0, record_cpu, &rec, const_cast<char*>("i")); });
  });
  EXPECT_TRUE(contains(f.message, "xc_broadcast: from interrupt context")) << f.message;
}

TEST(Xcall, OneCpuMachine) {
  XcRecord rec;
  RunResult r = run_program(machine(1), "timed", 1, [&](Engine& e) {
    e.spawn_lwp("t", 0, [&] {
      xc_barrier(0);
      xc_wait(xc_broadcast(0, record_cpu, &rec, const_cast<char*>("o")));
    });
  });
  ASSERT_EQ(r.outcome, Outcome::completed) << describe_findings(r.findings);
  ASSERT_EQ(rec.log.size(), 1u);
  EXPECT_EQ(rec.log[0], "o cpu0 xcall/0");
}

TEST(Xcall, MpOnlineOnceASecondLwpRuns) {
  std::vector<bool> seen;
  RunResult r = run_program(machine(2), "timed", 1, [&](Engine& e) {
    e.spawn_lwp("boot", 0, [&e, &seen] {
      seen.push_back(mp_online());  // alone, like lwp0 at boot
      e.spawn_lwp("later", 1, [&seen] { seen.push_back(mp_online()); });
      seen.push_back(mp_online());
    });
  });
  ASSERT_EQ(r.outcome, Outcome::completed) << describe_findings(r.findings);
  EXPECT_EQ(seen, (std::vector<bool>{false, true, true}));
  bool one_cpu = true;
  run_program(machine(1), "timed", 1, [&](Engine& e) {
    e.spawn_lwp("a", 0, [&] { one_cpu = mp_online(); });
    e.spawn_lwp("b", 0, [] {});
  });
  EXPECT_FALSE(one_cpu);
}

}  // namespace
}  // namespace kasim::test
