// The kasim command on valid scenarios: exit statuses, what it prints, what
// it writes under results/<name>/<seed>/, replaying traces, --seed, --json,
// --max-steps, --check-determinism, `ops`, and usage errors.
#include <functional>

#include "test_util.h"

namespace kasim_test {
namespace {

// A scenario text with top-level "expect" set.
std::string with_expect(const std::string& text, const json& expect) {
  json j = json::parse(text);
  j["expect"] = expect;
  return j.dump(2);
}

// Runs kAbba in `dir` (exit 1, deadlock) and returns the path of its trace.
fs::path record_abba_trace(const TempDir& dir) {
  write_file(dir / "abba.json", kAbba);
  CmdResult r = run_kasim({"run", "abba.json"}, dir.path());
  EXPECT_EQ(r.status, 1) << r.all();
  fs::path trace = dir / "results/abba/3/trace.json";
  EXPECT_TRUE(fs::exists(trace)) << r.all();
  return trace;
}

// Rewrites a trace through `edit` into `out` and replays it.
CmdResult replay_edited(const TempDir& dir, const fs::path& trace, const std::string& out,
                        const std::function<void(json&)>& edit) {
  json t = read_json(trace);
  edit(t);
  write_file(dir / out, t.dump(2));
  return run_kasim({"replay", out}, dir.path());
}

TEST(CliRun, PassingRunWritesReportButNoTrace) {
  TempDir dir;
  write_file(dir / "tiny.json", kTiny);
  CmdResult r = run_kasim({"run", "tiny.json"}, dir.path());
  EXPECT_EQ(r.status, 0) << r.all();
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(starts_with(line_starting(r.out, "summary: "), "summary: all held | ")) << r.out;
  EXPECT_EQ(line_starting(r.out, "report: "), "report: results/tiny/7/report.json");
  EXPECT_EQ(line_starting(r.out, "reproduce: "), "") << "a passing run has nothing to reproduce";
  EXPECT_EQ(r.out.find("FINDING"), std::string::npos);

  const fs::path run_dir = dir / "results/tiny/7";
  ASSERT_TRUE(fs::exists(run_dir / "report.json")) << r.out;
  EXPECT_FALSE(fs::exists(run_dir / "trace.json"));
  json rep = read_json(run_dir / "report.json");
  EXPECT_EQ(rep["scenario"], "tiny");
  EXPECT_EQ(rep["file"], "tiny.json");
  EXPECT_EQ(rep["seed"], 7);
  EXPECT_EQ(rep["strategy"], "timed");
  EXPECT_EQ(rep["outcome"], "completed");
  EXPECT_EQ(rep["verdict"], "all held");
  EXPECT_EQ(rep["exit_status"], 0);
  EXPECT_EQ(rep["findings"], json::array());
  EXPECT_EQ(rep["ops"], 1);
  EXPECT_TRUE(rep["trace_hash"].is_string());
  // The summary line shows the same hash as the report.
  EXPECT_NE(r.out.find("| hash " + rep["trace_hash"].get<std::string>() + " |"), std::string::npos)
      << r.out;
}

TEST(CliRun, DeadlockWritesTraceAndItsReproduceCommandReplaysIt) {
  TempDir dir;
  write_file(dir / "abba.json", kAbba);
  CmdResult r = run_kasim({"run", "abba.json"}, dir.path());
  ASSERT_EQ(r.status, 1) << r.all();
  EXPECT_EQ(r.err, "");
  EXPECT_NE(r.out.find("FINDING deadlock: deadlock: every context is asleep or spinning and "
                       "nothing is pending\n"),
            std::string::npos)
      << r.out;
  // The wait-for relation names both threads and both locks.
  EXPECT_NE(r.out.find("lwp t0 (cpu0) sleeps for b"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lwp t1 (cpu1) sleeps for a"), std::string::npos) << r.out;
  EXPECT_TRUE(starts_with(line_starting(r.out, "summary: "), "summary: finding: deadlock | "))
      << r.out;

  const std::string reproduce = line_starting(r.out, "reproduce: ");
  EXPECT_EQ(reproduce, "reproduce: " + kasim_bin() + " replay results/abba/3/trace.json");

  const fs::path run_dir = dir / "results/abba/3";
  json rep = read_json(run_dir / "report.json");
  json trace = read_json(run_dir / "trace.json");
  EXPECT_EQ(rep["exit_status"], 1);
  EXPECT_EQ(rep["verdict"], "finding: deadlock");
  ASSERT_EQ(rep["findings"].size(), 1u);
  EXPECT_EQ(rep["findings"][0]["kind"], "deadlock");
  EXPECT_EQ(rep["findings"][0]["details"].size(), 2u);
  EXPECT_EQ(trace["kasim_trace"], 1);
  EXPECT_EQ(trace["seed"], 3);
  EXPECT_EQ(trace["strategy"], "timed");
  EXPECT_EQ(trace["finding"]["kind"], "deadlock");
  EXPECT_EQ(trace["scenario"], json::parse(kAbba)) << "the scenario is embedded whole";
  EXPECT_EQ(trace["trace_hash"], rep["trace_hash"]);
  EXPECT_FALSE(trace["decisions"].get<std::string>().empty());

  // The printed command, run as printed, reproduces the finding and the hash.
  ASSERT_TRUE(starts_with(reproduce, "reproduce: "));
  CmdResult rr = run_shell(reproduce.substr(std::string("reproduce: ").size()), dir.path());
  EXPECT_EQ(rr.status, 1) << rr.all();
  EXPECT_EQ(line_starting(rr.out, "replay: "),
            "replay: reproduced finding deadlock with the recorded trace hash " +
                rep["trace_hash"].get<std::string>());
  EXPECT_NE(rr.out.find("FINDING deadlock: "), std::string::npos) << rr.out;
  EXPECT_EQ(rr.out.find("DIVERGED"), std::string::npos) << rr.out;
  // A replay writes nothing.
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"abba.json", "results"}));
  EXPECT_FALSE(fs::exists(dir / "results/abba/3/replay"));
}

TEST(CliReplay, TamperedDecisionDiverges) {
  TempDir dir;
  const fs::path trace = record_abba_trace(dir);
  const std::string decisions = read_json(trace)["decisions"];
  ASSERT_TRUE(starts_with(decisions, "r")) << decisions;

  // A decision naming a context that does not exist: diverges at decision 0.
  CmdResult a = replay_edited(dir, trace, "a.json", [](json& t) {
    std::string d = t["decisions"];
    size_t dot = d.find('.'), end = d.find_first_of(" *", dot);
    t["decisions"] = d.substr(0, dot + 1) + "999" + (end == std::string::npos ? "" : d.substr(end));
  });
  EXPECT_EQ(a.status, 3) << a.all();
  const std::string da = line_starting(a.out, "DIVERGED: ");
  EXPECT_TRUE(starts_with(da, "DIVERGED: decision 0 at step ")) << a.out;
  EXPECT_NE(da.find("recorded run ctx 999 on cpu"), std::string::npos) << da;
  EXPECT_EQ(a.out.find("reproduced"), std::string::npos);

  // Too few decisions: the run needs more than the trace has.
  CmdResult b = replay_edited(dir, trace, "b.json", [](json& t) {
    std::string d = t["decisions"];
    t["decisions"] = d.substr(0, d.rfind(' '));
  });
  EXPECT_EQ(b.status, 3) << b.all();
  EXPECT_TRUE(starts_with(line_starting(b.out, "DIVERGED: "), "DIVERGED: the trace has ")) << b.out;
  EXPECT_NE(b.out.find("decisions but the run needs more"), std::string::npos) << b.out;
}

TEST(CliReplay, ChangedScenarioDiverges) {
  TempDir dir;
  const fs::path trace = record_abba_trace(dir);
  // Thread t0 now waits 20 us instead of 1 us before its second lock.
  CmdResult r = replay_edited(dir, trace, "changed.json", [](json& t) {
    t["scenario"]["threads"][0]["steps"][1]["ns"] = 20000;
  });
  EXPECT_EQ(r.status, 3) << r.all();
  EXPECT_NE(line_starting(r.out, "DIVERGED: "), "") << r.out;
  EXPECT_EQ(r.out.find("reproduced"), std::string::npos) << r.out;
}

TEST(CliReplay, ChangedHashOrFindingDiverges) {
  TempDir dir;
  const fs::path trace = record_abba_trace(dir);
  const std::string real_hash = read_json(trace)["trace_hash"];

  CmdResult h =
      replay_edited(dir, trace, "h.json", [](json& t) { t["trace_hash"] = "0x0000000000000001"; });
  EXPECT_EQ(h.status, 3) << h.all();
  EXPECT_EQ(line_starting(h.out, "DIVERGED: "),
            "DIVERGED: trace hash " + real_hash + ", but the trace recorded 0x0000000000000001");

  CmdResult k = replay_edited(dir, trace, "k.json", [](json& t) { t["finding"]["kind"] = "leak"; });
  EXPECT_EQ(k.status, 3) << k.all();
  EXPECT_EQ(line_starting(k.out, "DIVERGED: "),
            "DIVERGED: the trace recorded finding leak, the replay found deadlock");
}

TEST(CliReplay, MalformedTraceIsBadInput) {
  TempDir dir;
  const fs::path trace = record_abba_trace(dir);

  // A scenario is not a trace.
  CmdResult s = run_kasim({"replay", "abba.json"}, dir.path());
  EXPECT_EQ(s.status, 2) << s.all();
  EXPECT_EQ(s.err, "abba.json: not a kasim trace (no \"kasim_trace\" field)\n");

  json t = read_json(trace);
  t["decisions"] = "r0.1*0";
  write_file(dir / "rep0.json", t.dump());
  CmdResult d = run_kasim({"replay", "rep0.json"}, dir.path());
  EXPECT_EQ(d.status, 2) << d.all();
  EXPECT_EQ(d.err, "rep0.json: /decisions: bad repeat in \"r0.1*0\"\n");

  t = read_json(trace);
  t["decisions"] = "x1.2";
  t.erase("seed");
  write_file(dir / "bad2.json", t.dump());
  CmdResult d2 = run_kasim({"replay", "bad2.json"}, dir.path());
  EXPECT_EQ(d2.status, 2) << d2.all();
  EXPECT_EQ(d2.err,
            "bad2.json: /seed: required field is missing\nbad2.json: /decisions: bad decision "
            "\"x1.2\"\n");

  // The embedded scenario is validated like a file.
  t = read_json(trace);
  t["scenario"]["threads"][0]["steps"][1]["ns"] = "abc";
  write_file(dir / "emb.json", t.dump());
  CmdResult e = run_kasim({"replay", "emb.json"}, dir.path());
  EXPECT_EQ(e.status, 2) << e.all();
  EXPECT_EQ(e.err,
            "emb.json (embedded scenario): /threads/0/steps/1/ns: expected a non-negative integer "
            "(or a C-notation string like \"0x1000\"), got \"abc\"\n");
  expect_no_crash_text(e);

  CmdResult missing = run_kasim({"replay", "nosuch.json"}, dir.path());
  EXPECT_EQ(missing.status, 2);
  EXPECT_EQ(missing.err, "nosuch.json: cannot read the file: No such file or directory\n");
}

TEST(CliRun, SeedOptionOverridesTheFileSeed) {
  TempDir dir;
  write_file(dir / "tiny.json", kTiny);  // "seed": 7
  CmdResult r = run_kasim({"run", "tiny.json", "--seed", "42", "--out", "out"}, dir.path());
  EXPECT_EQ(r.status, 0) << r.all();
  EXPECT_NE(r.out.find("\n  seed 42, strategy timed,"), std::string::npos) << r.out;
  EXPECT_EQ(line_starting(r.out, "report: "), "report: out/tiny/42/report.json");
  EXPECT_EQ(read_json(dir / "out/tiny/42/report.json")["seed"], 42);
  EXPECT_FALSE(fs::exists(dir / "out/tiny/7"));
  EXPECT_FALSE(fs::exists(dir / "results")) << "--out replaces the default directory";
}

TEST(CliRun, SameSeedGivesTheSameTraceHashUnderBothStrategies) {
  TempDir dir;
  write_file(dir / "busy.json", kBusy);
  for (const std::string strategy : {"timed", "random"}) {
    SCOPED_TRACE(strategy);
    auto hash_of = [&](const std::string& seed, const std::string& out) {
      CmdResult r = run_kasim(
          {"run", "busy.json", "--strategy", strategy, "--seed", seed, "--out", out}, dir.path());
      EXPECT_EQ(r.status, 0) << r.all();
      json rep = read_json(dir / out / "busy" / seed / "report.json");
      EXPECT_EQ(rep["strategy"], strategy);
      EXPECT_GT(rep["decisions"].get<uint64_t>(), 10u) << "the scenario must involve choices";
      return rep["trace_hash"].get<std::string>();
    };
    const std::string first = hash_of("5", "a-" + strategy);
    EXPECT_EQ(first, hash_of("5", "b-" + strategy));
    if (strategy == "random") {
      EXPECT_NE(first, hash_of("6", "c-" + strategy)) << "seed unused?";
    }
  }
}

TEST(CliRun, CheckDeterminismPasses) {
  TempDir dir;
  write_file(dir / "busy.json", kBusy);
  for (const std::string strategy : {"timed", "random"}) {
    CmdResult r =
        run_kasim({"run", "busy.json", "--check-determinism", "--strategy", strategy}, dir.path());
    EXPECT_EQ(r.status, 0) << strategy << ": " << r.all();
    EXPECT_EQ(r.out.find("NONDETERMINISM"), std::string::npos) << r.out;
  }
  // validate --check-determinism runs the file's seed with the timed strategy
  // and prints the same hash that `run` reports.
  CmdResult run = run_kasim({"run", "busy.json", "--out", "plain"}, dir.path());
  ASSERT_EQ(run.status, 0) << run.all();
  const std::string hash = read_json(dir / "plain/busy/7/report.json")["trace_hash"];
  CmdResult v = run_kasim({"validate", "--check-determinism", "busy.json"}, dir.path());
  EXPECT_EQ(v.status, 0) << v.all();
  EXPECT_EQ(v.out, "busy.json: ok (deterministic: hash " + hash + "; the run: all held)\n");
  EXPECT_EQ(v.err, "");
}

TEST(CliRun, StepExpectMismatchIsAnExpectFindingNamingTheStep) {
  TempDir dir;
  write_file(dir / "try.json", R"({
    "kasim": 1, "name": "try",
    "objects": [ { "name": "m", "type": "mutex" } ],
    "threads": [ { "steps": [
      { "op": "delay", "ns": 10 },
      { "op": "mutex_tryenter", "mutex": "m", "expect": { "value": 0 } },
      { "op": "mutex_exit", "mutex": "m" } ] } ]
  })");
  CmdResult r = run_kasim({"run", "try.json"}, dir.path());
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_NE(r.out.find("FINDING expect: expected value 0, got 1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n  scenario: /threads/0/steps/1 (mutex_tryenter)\n"), std::string::npos)
      << r.out;
  json rep = read_json(dir / "results/try/0/report.json");
  ASSERT_EQ(rep["findings"].size(), 1u);
  EXPECT_EQ(rep["findings"][0]["kind"], "expect");
  EXPECT_EQ(rep["findings"][0]["where"], "/threads/0/steps/1 (mutex_tryenter)");
  EXPECT_TRUE(fs::exists(dir / "results/try/0/trace.json"));
}

TEST(CliRun, ExpectedContractFindingPassesAndAnotherDoesNot) {
  TempDir dir;
  auto splx_expecting = [](const std::string& contract) {
    return R"({ "kasim": 1, "name": "splx", "threads": [ { "steps": [
      { "op": "splx", "expect": { "contract": ")" +
           contract + R"(" } } ] } ] })";
  };
  write_file(dir / "match.json", splx_expecting("no spl step to restore"));
  CmdResult m = run_kasim({"run", "match.json", "--out", "m"}, dir.path());
  EXPECT_EQ(m.status, 0) << m.all();
  EXPECT_NE(m.out.find("FINDING contract: splx: no spl step to restore (splx without spl)\n"),
            std::string::npos)
      << m.out;
  EXPECT_TRUE(starts_with(line_starting(m.out, "summary: "),
                          "summary: expected contract finding occurred | "))
      << m.out;
  json rm = read_json(dir / "m/splx/0/report.json");
  EXPECT_EQ(rm["verdict"], "expected contract finding occurred");
  EXPECT_EQ(rm["expected_contract"], true);
  EXPECT_EQ(rm["exit_status"], 0);
  EXPECT_EQ(rm["findings"][0]["where"], "/threads/0/steps/0 (splx)");

  write_file(dir / "other.json", splx_expecting("kmem_alloc from interrupt context"));
  CmdResult o = run_kasim({"run", "other.json", "--out", "o"}, dir.path());
  EXPECT_EQ(o.status, 1) << o.all();
  json ro = read_json(dir / "o/splx/0/report.json");
  EXPECT_EQ(ro["verdict"], "finding: contract");
  EXPECT_EQ(ro["expected_contract"], false);
}

TEST(CliRun, TopLevelExpectedFinding) {
  TempDir dir;
  const json want = {{"result", "finding"}, {"kind", "deadlock"}};
  write_file(dir / "abba.json", with_expect(kAbba, want));
  CmdResult a = run_kasim({"run", "abba.json"}, dir.path());
  EXPECT_EQ(a.status, 0) << a.all();
  EXPECT_TRUE(starts_with(line_starting(a.out, "summary: "),
                          "summary: expected finding occurred: deadlock | "))
      << a.out;
  // The finding is still recorded and reproducible.
  EXPECT_TRUE(fs::exists(dir / "results/abba/3/trace.json"));
  EXPECT_EQ(line_starting(a.out, "reproduce: "),
            "reproduce: " + kasim_bin() + " replay results/abba/3/trace.json");
  CmdResult rr = run_kasim({"replay", "results/abba/3/trace.json"}, dir.path());
  EXPECT_EQ(rr.status, 0) << rr.all();
  EXPECT_TRUE(starts_with(line_starting(rr.out, "replay: "), "replay: reproduced finding deadlock"))
      << rr.out;

  // The same expectation on a scenario that passes: exit 1.
  write_file(dir / "tiny.json", with_expect(kTiny, want));
  CmdResult t = run_kasim({"run", "tiny.json"}, dir.path());
  EXPECT_EQ(t.status, 1) << t.all();
  EXPECT_TRUE(starts_with(line_starting(t.out, "summary: "),
                          "summary: expected finding deadlock did not occur | "))
      << t.out;
  EXPECT_EQ(read_json(dir / "results/tiny/7/report.json")["verdict"],
            "expected finding deadlock did not occur");
}

TEST(CliRun, MaxStepsGivesABoundFindingThatReplays) {
  TempDir dir;
  write_file(dir / "busy.json", kBusy);
  CmdResult r = run_kasim({"run", "busy.json", "--max-steps", "5"}, dir.path());
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_NE(r.out.find("FINDING bound: step limit of 5 reached\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max steps 5,"), std::string::npos) << r.out;
  json trace = read_json(dir / "results/busy/7/trace.json");
  EXPECT_EQ(trace["max_steps"], 5);
  EXPECT_EQ(trace["finding"]["kind"], "bound");
  CmdResult rr = run_kasim({"replay", "results/busy/7/trace.json"}, dir.path());
  EXPECT_EQ(rr.status, 1) << rr.all();
  EXPECT_TRUE(starts_with(line_starting(rr.out, "replay: "), "replay: reproduced finding bound"))
      << rr.out;
}

TEST(CliRun, JsonPrintsOnlyTheReportWithTheExitStatus) {
  TempDir dir;
  write_file(dir / "tiny.json", kTiny);
  write_file(dir / "abba.json", kAbba);
  for (const auto& [file, status] :
       {std::pair<std::string, int>{"tiny.json", 0}, {"abba.json", 1}}) {
    SCOPED_TRACE(file);
    CmdResult r = run_kasim({"run", file, "--json"}, dir.path());
    EXPECT_EQ(r.status, status) << r.all();
    json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "stdout is not JSON:\n" << r.out;
    EXPECT_EQ(j["exit_status"], r.status);
    EXPECT_EQ(r.out.find("summary:"), std::string::npos);
    // The same report is in the results directory.
    json on_disk = read_json(dir / "results" / j["scenario"].get<std::string>() /
                             std::to_string(j["seed"].get<uint64_t>()) / "report.json");
    EXPECT_EQ(on_disk, j);
  }
  // replay --json of a trace that reproduces.
  CmdResult rj = run_kasim({"replay", "results/abba/3/trace.json", "--json"}, dir.path());
  EXPECT_EQ(rj.status, 1) << rj.all();
  json j = json::parse(rj.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << rj.out;
  EXPECT_EQ(j["exit_status"], 1);
  EXPECT_EQ(j["strategy"], "replay");
}

TEST(CliRun, ReplayJsonOfADivergentTraceIsStillJson) {
  TempDir dir;
  const fs::path trace = record_abba_trace(dir);
  json t = read_json(trace);
  t["trace_hash"] = "0x0000000000000001";
  write_file(dir / "h.json", t.dump());
  CmdResult r = run_kasim({"replay", "h.json", "--json"}, dir.path());
  EXPECT_EQ(r.status, 3) << r.all();
  json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "stdout is not JSON:\n" << r.out;
  EXPECT_EQ(j["exit_status"], 3);
}

TEST(CliOps, ListsTheBuiltinOps) {
  TempDir dir;
  CmdResult r = run_kasim({"ops"}, dir.path());
  EXPECT_EQ(r.status, 0) << r.all();
  EXPECT_EQ(r.err, "");
  const std::vector<std::string> lines = split_lines(r.out);
  auto has = [&](const std::string& l) {
    return std::find(lines.begin(), lines.end(), l) != lines.end();
  };
  EXPECT_TRUE(has("delay ns  -- spend simulated time on this CPU (a busy wait)")) << r.out;
  EXPECT_TRUE(has("mutex_enter mutex")) << r.out;
  EXPECT_TRUE(has("cv_timedwait cv mutex ns intr?")) << "optional arguments end in '?'\n" << r.out;
  EXPECT_TRUE(
      has("lwp_signal thread  -- interrupt that thread's interruptible sleep, as a "
          "signal would"))
      << r.out;
  EXPECT_TRUE(std::is_sorted(lines.begin(), lines.end())) << r.out;
}

TEST(CliUsage, UnknownCommandAndMissingArgumentsExit2) {
  TempDir dir;
  CmdResult u = run_kasim({"frobnicate"}, dir.path());
  EXPECT_EQ(u.status, 2);
  EXPECT_TRUE(starts_with(u.err, "kasim: unknown command 'frobnicate'\nusage: kasim COMMAND"))
      << u.err;
  EXPECT_EQ(u.out, "");

  CmdResult none = run_kasim({}, dir.path());
  EXPECT_EQ(none.status, 2);
  EXPECT_TRUE(starts_with(none.err, "usage: kasim COMMAND")) << none.err;

  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"run"}, "kasim run: missing the scenario FILE\n"},
      {{"run", "--seed", "3"}, "kasim run: missing the scenario FILE\n"},
      {{"replay"}, "kasim replay: missing the TRACE file\n"},
      {{"validate"}, "kasim validate: give at least one FILE\n"},
  };
  for (const auto& [args, err] : cases) {
    CmdResult r = run_kasim(args, dir.path());
    EXPECT_EQ(r.status, 2) << args[0];
    EXPECT_EQ(r.err, err);
    EXPECT_EQ(r.out, "");
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(CliUsage, BadOptionsExit2WithoutRunning) {
  TempDir dir;
  write_file(dir / "tiny.json", kTiny);
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"run", "tiny.json", "--strategy", "pct"},
       "kasim run: --strategy must be timed or random, got 'pct'\n"},
      {{"run", "tiny.json", "--seed", "abc"},
       "kasim run: --seed expects a non-negative integer, got 'abc'\n"},
      {{"run", "tiny.json", "--bogus"}, "kasim run: unrecognised option '--bogus'"},
      {{"run", "tiny.json", "other.json"}, "kasim run: too many positional options"},
  };
  for (const auto& [args, err] : cases) {
    SCOPED_TRACE(args.back());
    CmdResult r = run_kasim(args, dir.path());
    EXPECT_EQ(r.status, 2) << r.all();
    EXPECT_TRUE(starts_with(r.err, err)) << r.err;
    EXPECT_EQ(r.out, "");
    expect_no_crash_text(r);
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"tiny.json"});
}

TEST(CliUsage, NegativeSeedOrMaxStepsIsRejected) {
  TempDir dir;
  write_file(dir / "tiny.json", kTiny);
  for (const std::string opt : {"--seed=-1", "--max-steps=-1"}) {
    CmdResult r = run_kasim({"run", "tiny.json", opt}, dir.path());
    EXPECT_EQ(r.status, 2) << opt << ": " << r.all();
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"tiny.json"});
}

TEST(CliUsage, UnusableOutDirectoryIsNotAnInternalError) {
  TempDir dir;
  write_file(dir / "tiny.json", kTiny);
  write_file(dir / "afile", "");
  CmdResult r = run_kasim({"run", "tiny.json", "--out", "afile"}, dir.path());
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_EQ(r.err.find("internal error"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace kasim_test
