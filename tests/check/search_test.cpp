// tests/check/search_test.cpp: the model checker (sim/search.h) on programs
// whose interleavings are known, a planted interleaving-only bug, and the
// determinism of the search itself.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "sim/search.h"
#include "tests/sim/sim_test_util.h"

namespace kasim {
namespace {

using test::Setup;

// Runs `setup` on a fresh 2-CPU machine under each strategy the search hands
// out; a run "finds" when it ends with a finding. Every complete run's log is
// collected in `logs` (if given), and the decisions of a finding run in `found`.
struct Harness {
  Setup setup;
  std::shared_ptr<std::vector<std::string>> log = std::make_shared<std::vector<std::string>>();
  std::set<std::string> logs;
  std::vector<Decision> found;
  std::vector<uint64_t> hashes;  // of every run, in order

  RunOnce runner() {
    return [this](uint64_t, std::unique_ptr<Strategy> s) {
      log->clear();
      test::RunResult r = test::run_program(test::machine(2), std::move(s), 1, setup);
      hashes.push_back(r.hash);
      std::string line;
      for (const std::string& e : *log) line += e + " ";
      if (r.outcome == Outcome::completed) logs.insert(line);
      if (r.outcome == Outcome::finding) found = r.decisions;
      return r.outcome == Outcome::finding;
    };
  }
};

SearchConfig dfs(int bound, bool sleep_sets) {
  SearchConfig c;
  c.kind = SearchConfig::Kind::dfs;
  c.preemption_bound = bound;
  c.sleep_sets = sleep_sets;
  return c;
}

// Two LWPs on two CPUs, two steps each: the step from the start to the atomic,
// and the atomic to the end. `same_word`: both atomics hit one word.
Harness two_by_two(bool same_word) {
  Harness h;
  auto log = h.log;
  h.setup = [log, same_word](Engine& e) {
    auto words = std::make_shared<std::vector<unsigned>>(2, 0u);
    for (int t = 0; t < 2; ++t) {
      const std::string name = t == 0 ? "A" : "B";
      e.spawn_lwp(name, t, [log, words, name, t, same_word] {
        log->push_back(name + "1");
        atomic_inc_uint(&(*words)[same_word ? 0 : static_cast<size_t>(t)]);  // scheduling point
        log->push_back(name + "2");
      });
    }
  };
  return h;
}

TEST(Dfs, TwoLwpsOfTwoStepsHaveSixInterleavings) {
  Harness h = two_by_two(false);
  SearchStats st = search(dfs(-1, false), h.runner());
  EXPECT_EQ(st.schedules, 6u);
  EXPECT_EQ(st.runs, 6u);
  EXPECT_EQ(st.pruned, 0u);
  EXPECT_TRUE(st.exhausted);
  EXPECT_FALSE(st.found);
  // C(4,2) distinct orders of the four steps, each keeping A1<A2 and B1<B2.
  EXPECT_EQ(h.logs.size(), 6u);
  EXPECT_TRUE(h.logs.count("A1 B1 A2 B2 "));
  EXPECT_TRUE(h.logs.count("B1 B2 A1 A2 "));
}

TEST(Dfs, PreemptionBoundsCountExactly) {
  // 0 preemptions: AABB, BBAA; 1: ABBA, BAAB; 2: ABAB, BABA.
  const uint64_t want[] = {2, 4, 6, 6};
  for (int bound = 0; bound <= 3; ++bound) {
    Harness h = two_by_two(false);
    SearchStats st = search(dfs(bound, false), h.runner());
    EXPECT_EQ(st.schedules, want[bound]) << "bound " << bound;
    EXPECT_EQ(h.logs.size(), want[bound]) << "bound " << bound;
    EXPECT_TRUE(st.exhausted);
    // At bound 2 nothing is cut any more, so the search stops there.
    EXPECT_EQ(st.bound_reached, std::min(bound, 2)) << "bound " << bound;
  }
}

TEST(Dfs, SleepSetsCollapseIndependentStepsToOneTrace) {
  Harness h = two_by_two(false);
  SearchStats st = search(dfs(-1, true), h.runner());
  EXPECT_EQ(st.schedules, 1u);  // one Mazurkiewicz trace
  EXPECT_EQ(st.pruned, 2u);
  EXPECT_TRUE(st.exhausted);
  EXPECT_EQ(h.logs.size(), 1u);
}

TEST(Dfs, SleepSetsKeepOneSchedulePerOrderOfDependentSteps) {
  // The two atomics hit one word: two traces (A's atomic first or B's).
  Harness h = two_by_two(true);
  SearchStats st = search(dfs(-1, true), h.runner());
  EXPECT_EQ(st.schedules, 2u);
  EXPECT_TRUE(st.exhausted);
  Harness full = two_by_two(true);
  EXPECT_EQ(search(dfs(-1, false), full.runner()).schedules, 6u);
}

TEST(Dfs, MutexStepsAreDependent) {
  // Each LWP takes and releases one mutex: steps start | enter | exit..end.
  // Without reduction: C(6,3) = 20 orders, minus those that put one LWP's
  // enter inside the other's critical section (they block and retry, which
  // adds steps), so count only that reduction explores strictly fewer and
  // that both orders of the critical sections are among them.
  auto make = [] {
    Harness h;
    auto log = h.log;
    h.setup = [log](Engine& e) {
      auto m = std::make_shared<kmutex_t>();
      auto once = std::make_shared<test::Once>([m] { mutex_init(m.get(), MUTEX_DEFAULT, IPL_NONE); });
      for (int t = 0; t < 2; ++t) {
        const std::string name = t == 0 ? "A" : "B";
        e.spawn_lwp(name, t, [log, m, once, name] {
          (*once)();
          mutex_enter(m.get());
          log->push_back(name);
          mutex_exit(m.get());
        });
      }
    };
    return h;
  };
  Harness full = make();
  SearchStats all = search(dfs(-1, false), full.runner());
  Harness red = make();
  SearchStats reduced = search(dfs(-1, true), red.runner());
  EXPECT_TRUE(all.exhausted);
  EXPECT_TRUE(reduced.exhausted);
  EXPECT_LT(reduced.schedules, all.schedules);
  EXPECT_GE(reduced.schedules, 2u);
  // Both orders of the critical sections survive the reduction.
  EXPECT_EQ(red.logs, (std::set<std::string>{"A B ", "B A "}));
  EXPECT_EQ(full.logs, red.logs);
}

// A check-then-act race: each LWP reads a flag and, if it is clear, sets it
// and must be its only owner. B starts 10 us late, so the timed strategy runs
// A's check and act before B's and never sees the race.
Harness planted_race() {
  Harness h;
  h.setup = [](Engine& e) {
    auto flag = std::make_shared<unsigned>(0u);
    auto claim = [flag] {
      if (atomic_cas_uint(flag.get(), 0, 0) == 0) {  // check
        unsigned owners = atomic_inc_uint_nv(flag.get());  // act
        KASSERTMSG(owners == 1, "two owners");
      }
    };
    e.spawn_lwp("A", 0, claim);
    e.spawn_lwp("B", 1, [claim] {
      delay_ns(10'000);
      claim();
    });
  };
  return h;
}

TEST(PlantedRace, TimedRunsMissIt) {
  Harness h = planted_race();
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    test::RunResult r = test::run_program(test::machine(2), "timed", seed, h.setup);
    EXPECT_EQ(r.outcome, Outcome::completed) << "seed " << seed << ": "
                                             << test::describe_findings(r.findings);
  }
}

TEST(PlantedRace, DfsFindsItWithinTwoPreemptionsAndTheTraceReplays) {
  for (bool sleep_sets : {false, true}) {
    Harness h = planted_race();
    SearchStats st = search(dfs(2, sleep_sets), h.runner());
    ASSERT_TRUE(st.found) << "sleep sets " << sleep_sets;
    std::printf("planted race: dfs (sleep sets %s) found it at run %llu with %d preemption(s)\n",
                sleep_sets ? "on" : "off", static_cast<unsigned long long>(st.found_at_run),
                st.found_preemptions);
    EXPECT_LE(st.found_preemptions, 2);
    EXPECT_EQ(st.stop, "finding");
    // The finding run's decisions replay it with no search at all.
    test::RunResult r = test::replay_program(test::machine(2), h.found, 1, h.setup);
    ASSERT_EQ(r.outcome, Outcome::finding);
    EXPECT_TRUE(test::contains(r.findings.front().message, "two owners"));
  }
}

TEST(PlantedRace, DfsWithNoPreemptionMissesIt) {
  Harness h = planted_race();
  SearchStats st = search(dfs(0, true), h.runner());
  EXPECT_FALSE(st.found);
  EXPECT_TRUE(st.exhausted);
  EXPECT_TRUE(st.bound_cut);
}

TEST(PlantedRace, PctFindsIt) {
  Harness h = planted_race();
  SearchConfig c;
  c.kind = SearchConfig::Kind::pct;
  c.pct_depth = 2;
  c.pct_steps = 10;
  c.max_runs = 1000;
  SearchStats st = search(c, h.runner());
  ASSERT_TRUE(st.found);
  std::printf("planted race: pct (d=2, k=10) found it at run %llu\n",
              static_cast<unsigned long long>(st.found_at_run));
  test::RunResult r = test::replay_program(test::machine(2), h.found, 1, h.setup);
  EXPECT_EQ(r.outcome, Outcome::finding);
}

TEST(Search, IsDeterministic) {
  for (SearchConfig::Kind kind : {SearchConfig::Kind::dfs, SearchConfig::Kind::pct}) {
    SearchConfig c = dfs(2, true);
    c.kind = kind;
    c.pct_depth = 2;
    c.pct_steps = 10;
    Harness h1 = planted_race(), h2 = planted_race();
    SearchStats a = search(c, h1.runner());
    SearchStats b = search(c, h2.runner());
    ASSERT_TRUE(a.found);
    EXPECT_EQ(a.runs, b.runs);
    EXPECT_EQ(a.schedules, b.schedules);
    EXPECT_EQ(a.pruned, b.pruned);
    EXPECT_EQ(h1.found, h2.found);
    EXPECT_EQ(h1.hashes, h2.hashes);
  }
}

TEST(Pct, JobsFindTheSameFirstFindingAsOneThread) {
  Harness h = planted_race();
  SearchConfig c;
  c.kind = SearchConfig::Kind::pct;
  c.pct_depth = 2;
  c.pct_steps = 10;
  c.max_runs = 1000;
  // Thread-safe: keeps the decisions of the lowest-numbered finding run.
  auto search_with = [&](unsigned jobs, std::vector<Decision>* decisions) {
    std::mutex mu;
    uint64_t lowest = UINT64_MAX;
    c.jobs = jobs;
    SearchStats st = search(c, [&](uint64_t run, std::unique_ptr<Strategy> s) {
      test::RunResult r = test::run_program(test::machine(2), std::move(s), 1, h.setup);
      if (r.outcome != Outcome::finding) return false;
      std::lock_guard<std::mutex> lock(mu);
      if (run < lowest) {
        lowest = run;
        *decisions = r.decisions;
      }
      return true;
    });
    return st;
  };
  std::vector<Decision> one, four;
  SearchStats a = search_with(1, &one);
  SearchStats b = search_with(4, &four);
  ASSERT_TRUE(a.found);
  ASSERT_TRUE(b.found);
  EXPECT_EQ(a.found_at_run, b.found_at_run);
  EXPECT_EQ(a.runs, a.found_at_run);  // one thread stops at the finding
  EXPECT_GE(b.runs, b.found_at_run);
  EXPECT_EQ(one, four);
}

TEST(Search, MaxRunsStopsTheSearch) {
  Harness h = two_by_two(false);
  SearchConfig c = dfs(-1, false);
  c.max_runs = 4;
  SearchStats st = search(c, h.runner());
  EXPECT_EQ(st.runs, 4u);
  EXPECT_FALSE(st.exhausted);
  EXPECT_EQ(st.stop, "max runs");
}

TEST(Dfs, InterruptDeliveriesAreChoices) {
  // One LWP with two scheduling points (three steps) on cpu0 and one
  // interrupt on cpu0 pending from time 0: the delivery can come before any
  // of the LWP's steps after the first point, or at the end (when the LWP
  // finishes, delivering is the only option left). Without an interrupt
  // there is exactly one schedule.
  auto make = [](bool with_intr) {
    Harness h;
    auto log = h.log;
    h.setup = [log, with_intr](Engine& e) {
      auto w = std::make_shared<unsigned>(0u);
      e.spawn_lwp("L", 0, [log, w] {
        atomic_inc_uint(w.get());
        atomic_inc_uint(w.get());
        log->push_back("L");
      });
      if (with_intr)
        e.add_interrupt("i", 0, IPL_VM, {0}, 0, 0, [log] { log->push_back("I"); });
    };
    return h;
  };
  Harness none = make(false);
  EXPECT_EQ(search(dfs(-1, false), none.runner()).schedules, 1u);
  Harness one = make(true);
  SearchStats st = search(dfs(-1, false), one.runner());
  EXPECT_TRUE(st.exhausted);
  EXPECT_GT(st.schedules, 1u);
  EXPECT_EQ(one.logs, (std::set<std::string>{"I L ", "L I "}));
}

// ---------------------------------------------------------------------------
// Parallel dfs: the same numbers and the same first finding for every J.

// Two LWPs on two CPUs and an interrupt on cpu0, three atomics each, one word
// shared by all (so some steps are dependent and sleep sets prune some runs,
// but not all). No state is shared between runs: machines run on several
// host threads at once.
Setup mixed_program() {
  return [](Engine& e) {
    auto w = std::make_shared<std::vector<unsigned>>(3, 0u);
    e.spawn_lwp("A", 0, [w] {
      atomic_inc_uint(&(*w)[0]);
      atomic_inc_uint(&(*w)[1]);
      atomic_inc_uint(&(*w)[0]);
    });
    e.spawn_lwp("B", 1, [w] {
      atomic_inc_uint(&(*w)[2]);
      atomic_inc_uint(&(*w)[1]);
      atomic_inc_uint(&(*w)[2]);
    });
    e.add_interrupt("i", 0, IPL_VM, {0}, 0, 0, [w] { atomic_inc_uint(&(*w)[1]); });
  };
}

struct ParallelResult {
  SearchStats st;
  std::set<uint64_t> completed;   // trace hashes of the runs that completed
  std::vector<Decision> finding;  // decisions of the reported finding run
};

// Thread-safe runner: keeps the finding of the lowest run key, the one the
// search reports (SearchStats::found_key).
ParallelResult search_jobs(SearchConfig c, unsigned jobs, const Setup& setup) {
  c.jobs = jobs;
  ParallelResult out;
  std::mutex mu;
  uint64_t lowest = UINT64_MAX;
  out.st = search(c, [&](uint64_t run, std::unique_ptr<Strategy> s) {
    test::RunResult r = test::run_program(test::machine(2), std::move(s), 1, setup);
    std::lock_guard<std::mutex> lock(mu);
    if (r.outcome == Outcome::completed) out.completed.insert(r.hash);
    if (r.outcome != Outcome::finding) return false;
    if (run < lowest) {
      lowest = run;
      out.finding = r.decisions;
    }
    return true;
  });
  if (out.st.found) {
    EXPECT_EQ(lowest, out.st.found_key);
  }
  return out;
}

void expect_same(const ParallelResult& a, const ParallelResult& b, const std::string& what) {
  EXPECT_EQ(a.st.runs, b.st.runs) << what;
  EXPECT_EQ(a.st.schedules, b.st.schedules) << what;
  EXPECT_EQ(a.st.pruned, b.st.pruned) << what;
  EXPECT_EQ(a.st.slept, b.st.slept) << what;
  EXPECT_EQ(a.st.exhausted, b.st.exhausted) << what;
  EXPECT_EQ(a.st.bound_cut, b.st.bound_cut) << what;
  EXPECT_EQ(a.st.bound_reached, b.st.bound_reached) << what;
  EXPECT_EQ(a.st.found, b.st.found) << what;
  EXPECT_EQ(a.st.found_at_run, b.st.found_at_run) << what;
  EXPECT_EQ(a.st.found_preemptions, b.st.found_preemptions) << what;
  EXPECT_EQ(a.st.stop, b.st.stop) << what;
  EXPECT_EQ(a.finding, b.finding) << what;
  // Runs cut by max runs may complete in one and not the other.
  if (a.st.exhausted) {
    EXPECT_EQ(a.completed, b.completed) << what;
  }
}

TEST(ParallelDfs, SameCountsForEveryJobs) {
  const test::Setup setup = mixed_program();
  for (int bound : {0, 1, 2, -1})
    for (bool sleep_sets : {true, false}) {
      const SearchConfig c = dfs(bound, sleep_sets);
      const ParallelResult one = search_jobs(c, 1, setup);
      ASSERT_TRUE(one.st.exhausted);
      if (bound == 2 && sleep_sets) {
        // The program is big enough to be split and to exercise the sleep sets.
        EXPECT_GT(one.st.runs, 50u);
        EXPECT_GT(one.st.slept, 0u);
      }
      for (unsigned jobs : {2u, 3u, 4u})
        expect_same(one, search_jobs(c, jobs, setup),
                    "bound " + std::to_string(bound) + ", sleep sets " +
                        std::to_string(sleep_sets) + ", jobs " + std::to_string(jobs));
    }
}

TEST(ParallelDfs, MaxRunsStopsAtTheSameRunForEveryJobs) {
  const test::Setup setup = mixed_program();
  for (uint64_t max : {1u, 7u, 20u, 41u}) {
    SearchConfig c = dfs(2, true);
    c.max_runs = max;
    const ParallelResult one = search_jobs(c, 1, setup);
    EXPECT_EQ(one.st.runs, max);
    EXPECT_EQ(one.st.stop, "max runs");
    for (unsigned jobs : {2u, 4u}) expect_same(one, search_jobs(c, jobs, setup), "max " + std::to_string(max));
  }
}

TEST(ParallelDfs, FindsTheSequentialFirstFinding) {
  const test::Setup setup = planted_race().setup;
  for (bool sleep_sets : {true, false}) {
    const ParallelResult one = search_jobs(dfs(2, sleep_sets), 1, setup);
    ASSERT_TRUE(one.st.found);
    for (unsigned jobs : {2u, 3u, 4u}) {
      const ParallelResult many = search_jobs(dfs(2, sleep_sets), jobs, setup);
      expect_same(one, many, "jobs " + std::to_string(jobs));
      test::RunResult r = test::replay_program(test::machine(2), many.finding, 1, setup);
      EXPECT_EQ(r.outcome, Outcome::finding);
    }
  }
}

TEST(Pct, ProbabilityBound) {
  EXPECT_DOUBLE_EQ(pct_probability(2, 10, 1), 0.5);
  EXPECT_DOUBLE_EQ(pct_probability(2, 10, 3), 1.0 / 200);
}

}  // namespace
}  // namespace kasim

namespace {

// Records the footprint of every step that ends at a scheduling point.
class FootprintRecorder final : public kasim::Strategy {
 public:
  std::string name() const override { return "footprints"; }
  bool wants_every_point() const override { return true; }
  std::optional<size_t> choose(const kasim::ChoicePoint& cp) override {
    steps.push_back(*cp.last);
    return 0;
  }
  std::vector<kasim::Footprint> steps;
};

}  // namespace

// Footprints are compared with steps of later runs, where every object sits
// at a new host address: a word key recorded inside a step must widen to "any".
TEST(Footprint, AWordNotedInsideAStepCountsAsAny) {
  kasim::MachineConfig mc;
  mc.pagedaemon = false;
  auto recorder = std::make_unique<FootprintRecorder>();
  FootprintRecorder* rec = recorder.get();
  kasim::Engine e(mc, std::move(recorder), 1);
  static unsigned word;
  e.spawn_lwp("t", 0, [&e] {
    e.note_access({kasim::AccessKind::word, reinterpret_cast<uintptr_t>(&word)});
    e.note_access({kasim::AccessKind::pages, 0});
    e.sched_point(1, kasim::Access::none());
  });
  e.run();
  ASSERT_GE(rec->steps.size(), 2u);
  bool widened = false;
  for (const kasim::Footprint& f : rec->steps) widened |= f.any();
  EXPECT_TRUE(widened) << "the step that noted a word must be dependent with every step";
}
