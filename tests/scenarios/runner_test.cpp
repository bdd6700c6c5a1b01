// The runner in-process (scenarios/runner.cpp, ops_builtin.cpp): verdicts,
// exit codes, findings and where they point, expectations, determinism and
// replay, and the machine ops' results.
#include "test_util.h"

namespace kasim_test {
namespace {

using kasim::scn::RunOptions;
using kasim::scn::RunReport;

RunOptions with_seed(uint64_t seed, const std::string& strategy = "timed") {
  RunOptions o;
  o.seed = seed;
  o.strategy = strategy;
  return o;
}

// A one-CPU scenario with the given objects and one thread's steps.
std::string one_thread(const std::string& objects, const std::string& steps,
                       const std::string& extra = "") {
  return R"({ "kasim": 1, "name": "one", )" + extra + R"( "objects": )" + objects +
         R"(, "threads": [ { "name": "t0", "steps": )" + steps + " } ] }";
}

const char* const kMutexAndCv =
    R"([ { "name": "m", "type": "mutex" }, { "name": "cv", "type": "condvar" } ])";

TEST(Runner, PassingScenario) {
  RunReport rep = run_text(kTiny);
  EXPECT_EQ(rep.exit_code, 0) << describe(rep);
  EXPECT_EQ(rep.verdict, "all held");
  EXPECT_EQ(rep.outcome, kasim::Outcome::completed);
  EXPECT_TRUE(rep.findings.empty());
  EXPECT_EQ(rep.name, "tiny");
  EXPECT_EQ(rep.seed, 7u);
  EXPECT_EQ(rep.strategy, "timed");
  EXPECT_EQ(rep.ops, 1u);
  EXPECT_EQ(rep.live_allocations, 0u);
}

TEST(Runner, SeedOptionOverridesTheScenarioSeed) {
  EXPECT_EQ(run_text(kTiny, with_seed(9)).seed, 9u);
  EXPECT_EQ(run_text(kTiny).seed, 7u);
}

TEST(Runner, RepeatRunsTheStepsAgain) {
  RunReport rep = run_text(R"({ "kasim": 1, "name": "r", "threads": [
      { "repeat": 3, "steps": [ { "op": "delay", "ns": 10 }, { "op": "check" } ] } ] })");
  EXPECT_EQ(rep.exit_code, 0) << describe(rep);
  EXPECT_EQ(rep.ops, 6u);
}

TEST(Runner, AbbaDeadlockIsAFinding) {
  RunReport rep = run_text(kAbba);
  EXPECT_EQ(rep.exit_code, 1) << describe(rep);
  EXPECT_EQ(rep.verdict, "finding: deadlock");
  ASSERT_EQ(first_kind(rep), "deadlock") << describe(rep);
  const auto& f = rep.findings.front();
  EXPECT_EQ(f.where, "") << "a deadlock is nobody's step in particular";
  ASSERT_EQ(f.details.size(), 2u);
  EXPECT_NE(f.details[0].find("sleeps for"), std::string::npos) << f.details[0];
  EXPECT_NE(f.details[0].find("held by"), std::string::npos) << f.details[0];
}

TEST(Runner, SameSeedSameHashAndTheDecisionsReplay) {
  for (const std::string strategy : {"timed", "random"}) {
    SCOPED_TRACE(strategy);
    RunReport a = run_text(kBusy, with_seed(11, strategy));
    RunReport b = run_text(kBusy, with_seed(11, strategy));
    ASSERT_EQ(a.exit_code, 0) << describe(a);
    EXPECT_GT(a.decisions.size(), 10u);
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.steps, b.steps);
    EXPECT_EQ(a.decisions, b.decisions);

    RunOptions replay;
    replay.seed = 11;
    replay.replay = &a.decisions;
    RunReport r = run_text(kBusy, replay);
    EXPECT_EQ(r.strategy, "replay");
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.trace_hash, a.trace_hash);
    EXPECT_EQ(r.steps, a.steps);
  }
  EXPECT_NE(run_text(kBusy, with_seed(11, "random")).trace_hash,
            run_text(kBusy, with_seed(12, "random")).trace_hash);
}

TEST(Runner, ReplayWithAWrongDecisionDiverges) {
  RunReport a = run_text(kBusy, with_seed(3, "random"));
  ASSERT_GT(a.decisions.size(), 2u);
  std::vector<kasim::Decision> bad = a.decisions;
  bad[1].target = 999;
  RunOptions replay;
  replay.seed = 3;
  replay.replay = &bad;
  RunReport r = run_text(kBusy, replay);
  EXPECT_EQ(r.outcome, kasim::Outcome::diverged);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(starts_with(r.verdict, "replay diverged: decision 1 at step ")) << r.verdict;
}

TEST(Runner, ReplayWithDecisionsLeftOverDiverges) {
  RunReport a = run_text(kBusy, with_seed(3, "random"));
  std::vector<kasim::Decision> longer = a.decisions;
  longer.push_back(longer.back());
  RunOptions replay;
  replay.seed = 3;
  replay.replay = &longer;
  RunReport r = run_text(kBusy, replay);
  EXPECT_EQ(r.outcome, kasim::Outcome::diverged);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.verdict, "replay diverged: the run ended after " +
                           std::to_string(a.decisions.size()) + " of the " +
                           std::to_string(longer.size()) + " recorded decisions");
}

TEST(Runner, StepExpectMismatchIsAnExpectFindingAtTheStep) {
  RunReport rep = run_text(one_thread(R"([ { "name": "m", "type": "mutex" } ])", R"([
      { "op": "delay", "ns": 5 },
      { "op": "mutex_tryenter", "mutex": "m", "expect": { "value": 0 } },
      { "op": "mutex_exit", "mutex": "m" } ])"));
  EXPECT_EQ(rep.exit_code, 1) << describe(rep);
  ASSERT_EQ(first_kind(rep), "expect") << describe(rep);
  EXPECT_EQ(rep.findings[0].message, "expected value 0, got 1");
  EXPECT_EQ(rep.findings[0].where, "/threads/0/steps/1 (mutex_tryenter)");
  EXPECT_EQ(rep.verdict, "finding: expect");

  // The matching expectation holds, and a failing tryenter returns 0.
  RunReport ok = run_text(one_thread(R"([ { "name": "m", "type": "mutex" } ])", R"([
      { "op": "mutex_tryenter", "mutex": "m", "expect": { "value": 1 } },
      { "op": "mutex_exit", "mutex": "m" } ])"));
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
}

TEST(Runner, ExpectedContractFinding) {
  auto splx = [](const std::string& contract) {
    return one_thread("[]",
                      R"([ { "op": "splx", "expect": { "contract": ")" + contract + R"(" } } ])");
  };
  RunReport m = run_text(splx("no spl step to restore"));
  EXPECT_EQ(m.exit_code, 0) << describe(m);
  EXPECT_TRUE(m.expected_contract);
  EXPECT_EQ(m.verdict, "expected contract finding occurred");
  ASSERT_EQ(first_kind(m), "contract");
  EXPECT_EQ(m.findings[0].message, "splx: no spl step to restore (splx without spl)");
  EXPECT_EQ(m.findings[0].where, "/threads/0/steps/0 (splx)");

  RunReport o = run_text(splx("locking against myself"));
  EXPECT_EQ(o.exit_code, 1) << describe(o);
  EXPECT_FALSE(o.expected_contract);
  EXPECT_EQ(o.verdict, "finding: contract");

  // An unexpected contract finding (no expect at all) is exit 1 too.
  RunReport u = run_text(one_thread("[]", R"([ { "op": "splx" } ])"));
  EXPECT_EQ(u.exit_code, 1) << describe(u);
  EXPECT_EQ(first_kind(u), "contract");
}

TEST(Runner, ExpectedContractThatDoesNotHappenIsAnExpectFinding) {
  RunReport rep = run_text(one_thread("[]", R"([
      { "op": "spl", "ipl": "IPL_VM" },
      { "op": "splx", "expect": { "contract": "no spl step" } } ])"));
  EXPECT_EQ(rep.exit_code, 1) << describe(rep);
  ASSERT_EQ(first_kind(rep), "expect");
  EXPECT_EQ(rep.findings[0].message,
            "expected a contract finding containing \"no spl step\", but the op returned normally");
  EXPECT_EQ(rep.findings[0].where, "/threads/0/steps/1 (splx)");
}

TEST(Runner, TopLevelExpectedFinding) {
  auto expecting = [](const std::string& text, const std::string& kind) {
    json j = json::parse(text);
    j["expect"] = {{"result", "finding"}, {"kind", kind}};
    return j.dump();
  };
  RunReport occurs = run_text(expecting(kAbba, "deadlock"));
  EXPECT_EQ(occurs.exit_code, 0) << describe(occurs);
  EXPECT_EQ(occurs.verdict, "expected finding occurred: deadlock");
  EXPECT_EQ(first_kind(occurs), "deadlock");

  RunReport absent = run_text(expecting(kTiny, "deadlock"));
  EXPECT_EQ(absent.exit_code, 1) << describe(absent);
  EXPECT_EQ(absent.verdict, "expected finding deadlock did not occur");

  RunReport other = run_text(expecting(one_thread("[]", R"([ { "op": "splx" } ])"), "deadlock"));
  EXPECT_EQ(other.exit_code, 1) << describe(other);
  EXPECT_EQ(other.verdict, "finding contract (the scenario expects deadlock)");
}

TEST(Runner, StepLimitIsABoundFinding) {
  RunOptions o;
  o.max_steps = 5;
  RunReport rep = run_text(kBusy, o);
  EXPECT_EQ(rep.exit_code, 1) << describe(rep);
  ASSERT_EQ(first_kind(rep), "bound") << describe(rep);
  EXPECT_EQ(rep.findings[0].message, "step limit of 5 reached");
  EXPECT_EQ(rep.limits.max_steps, 5u);
  EXPECT_LE(rep.steps, 6u);

  // The same limit from the file.
  json j = json::parse(kBusy);
  j["limits"] = {{"max_steps", 5}};
  RunReport file = run_text(j.dump());
  EXPECT_EQ(first_kind(file), "bound") << describe(file);
  EXPECT_EQ(file.trace_hash, rep.trace_hash);
}

TEST(Runner, SleepingInAnInterruptHandlerIsASleepFinding) {
  RunReport k = run_text(R"({ "kasim": 1, "name": "s",
      "threads": [ { "steps": [ { "op": "delay", "ns": 5000 } ] } ],
      "interrupts": [ { "name": "nic0", "ipl": "IPL_VM", "at": [2000],
                        "steps": [ { "op": "kpause", "ns": 100 } ] } ] })");
  EXPECT_EQ(k.exit_code, 1) << describe(k);
  ASSERT_EQ(first_kind(k), "sleep") << describe(k);
  EXPECT_EQ(k.findings[0].message,
            "sleeping in interrupt context (kpause) in interrupt nic0 (cpu0, IPL_VM)");
  EXPECT_EQ(k.findings[0].where, "/interrupts/0/steps/0 (kpause)");
  EXPECT_EQ(k.findings[0].context, "interrupt nic0 (cpu0, IPL_VM)");

  RunReport c = run_text(R"({ "kasim": 1, "name": "s",
      "objects": [ { "name": "m", "type": "mutex", "ipl": "IPL_VM" },
                   { "name": "cv", "type": "condvar" } ],
      "threads": [ { "steps": [ { "op": "delay", "ns": 5000 } ] } ],
      "interrupts": [ { "name": "nic0", "ipl": "IPL_VM", "at": [2000], "steps": [
        { "op": "mutex_enter", "mutex": "m" },
        { "op": "cv_wait", "cv": "cv", "mutex": "m" },
        { "op": "mutex_exit", "mutex": "m" } ] } ] })");
  EXPECT_EQ(c.exit_code, 1) << describe(c);
  ASSERT_EQ(first_kind(c), "sleep") << describe(c);
  EXPECT_EQ(c.findings[0].where, "/interrupts/0/steps/1 (cv_wait)");
  EXPECT_TRUE(starts_with(c.findings[0].message, "cv_wait on cv in interrupt nic0"))
      << c.findings[0].message;
}

TEST(Runner, LwpSignalInterruptsCvWaitSigWithEintr) {
  auto scenario = [](const std::string& expect_error) {
    return R"({ "kasim": 1, "name": "sig", "machine": { "cpus": 2 },
      "objects": [ { "name": "m", "type": "mutex" }, { "name": "cv", "type": "condvar" } ],
      "threads": [
        { "name": "w", "cpu": 0, "steps": [
          { "op": "mutex_enter", "mutex": "m" },
          { "op": "cv_wait_sig", "cv": "cv", "mutex": "m", "expect": { "error": )" +
           expect_error + R"( } },
          { "op": "mutex_exit", "mutex": "m" } ] },
        { "name": "s", "cpu": 1, "steps": [
          { "op": "delay", "ns": 5000 }, { "op": "lwp_signal", "thread": "w" } ] } ] })";
  };
  for (const std::string strategy : {"timed", "random"}) {
    RunReport ok = run_text(scenario("\"EINTR\""), with_seed(1, strategy));
    EXPECT_EQ(ok.exit_code, 0) << strategy << ": " << describe(ok);
  }
  RunReport bad = run_text(scenario("0"));
  EXPECT_EQ(bad.exit_code, 1) << describe(bad);
  ASSERT_EQ(first_kind(bad), "expect");
  EXPECT_EQ(bad.findings[0].message, "expected error 0, got EINTR");
  EXPECT_EQ(bad.findings[0].where, "/threads/0/steps/1 (cv_wait_sig)");
}

TEST(Runner, CvTimedwaitWithoutASignallerTimesOut) {
  auto scenario = [](const std::string& expect_error) {
    return one_thread(kMutexAndCv, R"([
      { "op": "mutex_enter", "mutex": "m" },
      { "op": "cv_timedwait", "cv": "cv", "mutex": "m", "ns": 1000, "expect": { "error": )" +
                                       expect_error + R"( } },
      { "op": "mutex_exit", "mutex": "m" } ])");
  };
  RunReport ok = run_text(scenario("\"EWOULDBLOCK\""));
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);
  EXPECT_GE(ok.sim_time, 1000u) << "the wait lasts its timeout";
  RunReport bad = run_text(scenario("0"));
  EXPECT_EQ(bad.exit_code, 1) << describe(bad);
  ASSERT_EQ(first_kind(bad), "expect");
  // EWOULDBLOCK and EAGAIN are the same errno in NetBSD.
  EXPECT_EQ(bad.findings[0].message, "expected error 0, got EAGAIN (EWOULDBLOCK)");
}

TEST(Runner, SignalSentBeforeTheSleepIsNotLost) {
  // machine-deadlock.json relies on this: lwp_signal to a thread that is not
  // (yet) in an interruptible sleep makes its next one return EINTR at once.
  for (const std::string strategy : {"timed", "random"}) {
    for (uint64_t seed : {1, 2, 3}) {
      RunReport rep = run_text(R"({ "kasim": 1, "name": "pending", "machine": { "cpus": 2 },
        "threads": [
          { "name": "a", "cpu": 0, "steps": [
            { "op": "lwp_signal", "thread": "b" },
            { "op": "kpause", "ns": 1000000000, "intr": true, "expect": { "error": "EINTR" } } ] },
          { "name": "b", "cpu": 1, "steps": [
            { "op": "lwp_signal", "thread": "a" },
            { "op": "kpause", "ns": 1000000000, "intr": true,
              "expect": { "error": "EINTR" } } ] } ] })",
                               with_seed(seed, strategy));
      EXPECT_EQ(rep.exit_code, 0) << strategy << " " << seed << ": " << describe(rep);
      EXPECT_LT(rep.sim_time, 1000000000u) << "nobody waited for the timeout";
    }
  }
}

TEST(Runner, StatsOnAMutexReportsNetBSDCounters) {
  const std::string objects = R"([ { "name": "m", "type": "mutex" } ])";
  auto with_stats = [&](const std::string& stats) {
    return one_thread(objects, R"([
      { "op": "mutex_enter", "mutex": "m" }, { "op": "mutex_exit", "mutex": "m" },
      { "op": "mutex_enter", "mutex": "m" }, { "op": "mutex_exit", "mutex": "m" },
      { "op": "stats", "object": "m", "expect": { "stats": )" +
                                   stats + R"( } } ])");
  };
  RunReport ok = run_text(with_stats(R"({ "mtx_nenter": 2, "mtx_ncontended": 0 })"));
  EXPECT_EQ(ok.exit_code, 0) << describe(ok);

  RunReport wrong = run_text(with_stats(R"({ "mtx_nenter": 3 })"));
  EXPECT_EQ(wrong.exit_code, 1);
  ASSERT_EQ(first_kind(wrong), "expect");
  EXPECT_EQ(wrong.findings[0].message, "expected mtx_nenter = 3, got 2");
  EXPECT_EQ(wrong.findings[0].where, "/threads/0/steps/4 (stats)");

  RunReport unknown = run_text(with_stats(R"({ "pr_nget": 0 })"));
  ASSERT_EQ(first_kind(unknown), "expect");
  EXPECT_EQ(unknown.findings[0].message,
            "no counter \"pr_nget\" (this object has: mtx_ncontended, mtx_nenter)");

  RunReport cv = run_text(one_thread(kMutexAndCv, R"([
      { "op": "cv_signal", "cv": "cv" }, { "op": "cv_broadcast", "cv": "cv" },
      { "op": "cv_signal", "cv": "cv" },
      { "op": "stats", "object": "cv",
        "expect": { "stats": { "cv_nsignal": 2, "cv_nbroadcast": 1, "cv_nwait": 0 } } } ])"));
  EXPECT_EQ(cv.exit_code, 0) << describe(cv);
}

TEST(Runner, InterruptWaitsForSplx) {
  // What machine-interrupts.json shows, pinned here with the exact counters.
  RunReport rep = run_text(R"({ "kasim": 1, "name": "spl",
      "objects": [ { "name": "l", "type": "mutex", "ipl": "IPL_VM" } ],
      "threads": [ { "steps": [
        { "op": "spl", "ipl": "IPL_VM" },
        { "op": "delay", "ns": 20000 },
        { "op": "stats", "object": "l", "expect": { "stats": { "mtx_nenter": 0 } } },
        { "op": "splx" },
        { "op": "kpause", "ns": 10000 },
        { "op": "stats", "object": "l", "expect": { "stats": { "mtx_nenter": 1 } } } ] } ],
      "interrupts": [ { "ipl": "IPL_VM", "at": [5000], "steps": [
        { "op": "mutex_enter", "mutex": "l" }, { "op": "mutex_exit", "mutex": "l" } ] } ] })");
  EXPECT_EQ(rep.exit_code, 0) << describe(rep);
  ASSERT_EQ(rep.cpus.size(), 1u);
  EXPECT_EQ(rep.cpus[0].intrs, 1u);
}

// --- labels, with the test ops of test_ops.cpp ------------------------------

TEST(RunnerLabels, AsRefAndSameAs) {
  RunReport rep = run_text(one_thread("[]", R"([
      { "op": "scntest_alloc", "size": 1, "as": "x",
        "expect": { "addr": "0x10000", "null": false } },
      { "op": "scntest_touch", "ref": "x", "expect": { "value": 65536 } },
      { "op": "scntest_alloc", "size": 1, "expect": { "same_as": "x" } },
      { "op": "scntest_alloc", "size": 0, "expect": { "null": true } },
      { "op": "scntest_free", "ref": "x" } ])"));
  EXPECT_EQ(rep.exit_code, 0) << describe(rep);
  EXPECT_EQ(rep.live_allocations, 0u);
}

TEST(RunnerLabels, AddressMismatches) {
  RunReport same = run_text(one_thread("[]", R"([
      { "op": "scntest_alloc", "size": 1, "as": "x" },
      { "op": "scntest_alloc", "size": 2, "as": "y", "expect": { "same_as": "x" } } ])"));
  ASSERT_EQ(first_kind(same), "expect") << describe(same);
  EXPECT_EQ(same.findings[0].message, "expected the same address as \"x\" (0x10000), got 0x20000");
  EXPECT_EQ(same.findings[0].where, "/threads/0/steps/1 (scntest_alloc)");

  RunReport addr = run_text(one_thread("[]", R"([
      { "op": "scntest_alloc", "size": 0, "expect": { "addr": 16 } } ])"));
  ASSERT_EQ(first_kind(addr), "expect") << describe(addr);
  EXPECT_EQ(addr.findings[0].message, "expected addr 0x10, got NULL");

  RunReport null = run_text(one_thread("[]", R"([
      { "op": "scntest_alloc", "size": 1, "expect": { "null": true } } ])"));
  ASSERT_EQ(first_kind(null), "expect") << describe(null);
  EXPECT_EQ(null.findings[0].message, "expected NULL, got 0x10000");
}

TEST(RunnerLabels, RefBeforeItsStepRanOrToANullResultIsAScenarioFinding) {
  RunReport early = run_text(R"({ "kasim": 1, "name": "early", "machine": { "cpus": 2 },
      "threads": [
        { "cpu": 0, "steps": [ { "op": "scntest_touch", "ref": "x" } ] },
        { "cpu": 1, "steps": [ { "op": "delay", "ns": 5000 },
                               { "op": "scntest_alloc", "size": 1, "as": "x" } ] } ] })");
  EXPECT_EQ(early.exit_code, 1) << describe(early);
  ASSERT_EQ(first_kind(early), "scenario");
  EXPECT_EQ(early.findings[0].message,
            "ref \"x\" has no value yet: the step that labels it has not run");
  EXPECT_EQ(early.findings[0].where, "/threads/0/steps/0 (scntest_touch)");

  RunReport null = run_text(one_thread("[]", R"([
      { "op": "scntest_alloc", "size": 0, "as": "x" },
      { "op": "scntest_touch", "ref": "x" } ])"));
  ASSERT_EQ(first_kind(null), "scenario") << describe(null);
  EXPECT_EQ(null.findings[0].message, "ref \"x\" is NULL: the step that labels it failed");
}

TEST(RunnerLabels, LeaksAreAFindingUnlessTurnedOff) {
  const std::string steps = R"([
      { "op": "scntest_alloc", "size": 1 }, { "op": "scntest_alloc", "size": 2, "as": "y" },
      { "op": "scntest_free", "ref": "y" } ])";
  RunReport leak = run_text(one_thread("[]", steps));
  EXPECT_EQ(leak.exit_code, 1) << describe(leak);
  ASSERT_EQ(first_kind(leak), "leak") << describe(leak);
  EXPECT_EQ(leak.findings[0].message, "1 allocation(s) still live at the end of the run");
  EXPECT_EQ(leak.findings[0].where, "end of run");
  EXPECT_EQ(leak.findings[0].details, std::vector<std::string>{"scntest scntest 0x10000 size 1"});
  EXPECT_EQ(leak.live_allocations, 1u);

  RunReport off = run_text(one_thread("[]", steps, R"("check": { "leaks": false },)"));
  EXPECT_EQ(off.exit_code, 0) << describe(off);
  EXPECT_EQ(off.live_allocations, 1u);
}

}  // namespace
}  // namespace kasim_test
