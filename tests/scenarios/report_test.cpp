// report.json and trace.json in-process (scenarios/report.cpp): the decision
// encoding, the trace round trip through load_trace, and the report fields.
#include <map>

#include "scenarios/registry.h"
#include "test_util.h"

namespace kasim_test {
namespace {

using kasim::Decision;
using kasim::OptionKind;
using kasim::scn::decode_decisions;
using kasim::scn::encode_decisions;

TEST(Decisions, EncodeCompressesRepeatsAndDecodeInvertsIt) {
  const std::vector<Decision> ds = {
      {OptionKind::run, 0, 3},     {OptionKind::run, 1, 4},     {OptionKind::run, 1, 4},
      {OptionKind::run, 1, 4},     {OptionKind::deliver, 0, 1}, {OptionKind::run, 0, 3},
      {OptionKind::run, 65535, 7},
  };
  const std::string text = encode_decisions(ds);
  EXPECT_EQ(text, "r0.3 r1.4*3 d0.1 r0.3 r65535.7");
  std::string why;
  auto back = decode_decisions(text, &why);
  ASSERT_TRUE(back.has_value()) << why;
  EXPECT_EQ(*back, ds);
  EXPECT_EQ(encode_decisions({}), "");
  EXPECT_EQ(decode_decisions("", nullptr), std::vector<Decision>{});
  // Extra whitespace between decisions is fine.
  EXPECT_EQ(decode_decisions("  r0.3\n r1.4*3 ", nullptr)->size(), 4u);
}

TEST(Decisions, MalformedTextIsRejectedWithTheToken) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"q0.1", "bad decision \"q0.1\""},      {"r0", "bad decision \"r0\""},
      {"r0.x", "bad decision \"r0.x\""},      {"r70000.1", "bad decision \"r70000.1\""},
      {"r0.1*0", "bad repeat in \"r0.1*0\""}, {"r0.1*", "bad repeat in \"r0.1*\""},
      {"r0.1x", "bad repeat in \"r0.1x\""},   {"r0.1 d1.2*abc", "bad repeat in \"d1.2*abc\""},
  };
  for (const auto& [text, want] : cases) {
    std::string why;
    EXPECT_FALSE(decode_decisions(text, &why).has_value()) << text;
    EXPECT_EQ(why, want) << text;
  }
}

TEST(Trace, RoundTripsThroughLoadTraceAndReplays) {
  kasim::scn::Scenario sc = kasim::scn::parse_scenario_text(kAbba, "abba.json");
  kasim::scn::RunOptions opt;
  kasim::scn::RunReport rep = kasim::scn::run_scenario(sc, opt);
  ASSERT_EQ(first_kind(rep), "deadlock") << describe(rep);

  json t = kasim::scn::trace_json(sc, rep);
  EXPECT_EQ(t["kasim_trace"], 1);
  EXPECT_EQ(t["kasim_version"], KASIM_VERSION);
  EXPECT_EQ(t["file"], "abba.json");
  EXPECT_EQ(t["seed"], 3);
  EXPECT_EQ(t["strategy"], "timed");
  EXPECT_EQ(t["max_steps"], rep.limits.max_steps);
  EXPECT_EQ(t["trace_hash"], kasim::scn::hex64(rep.trace_hash));
  EXPECT_EQ(t["decisions"], encode_decisions(rep.decisions));
  EXPECT_EQ(t["scenario"], json::parse(kAbba));
  EXPECT_EQ(t["finding"]["kind"], "deadlock");

  TempDir dir;
  write_file(dir / "trace.json", t.dump(2));
  kasim::scn::LoadedTrace lt = kasim::scn::load_trace((dir / "trace.json").string());
  EXPECT_EQ(lt.seed, 3u);
  EXPECT_EQ(lt.strategy, "timed");
  EXPECT_EQ(lt.max_steps, rep.limits.max_steps);
  EXPECT_EQ(lt.decisions, rep.decisions);
  EXPECT_EQ(lt.trace_hash, rep.trace_hash);
  EXPECT_EQ(lt.version, KASIM_VERSION);
  EXPECT_EQ(lt.finding_kind, "deadlock");
  EXPECT_EQ(lt.finding_message, rep.findings[0].message);
  EXPECT_EQ(lt.scenario.name, "abba");
  EXPECT_EQ(lt.scenario.file, "abba.json") << "the original file name, for messages";

  kasim::scn::RunOptions replay;
  replay.seed = lt.seed;
  replay.max_steps = lt.max_steps;
  replay.replay = &lt.decisions;
  kasim::scn::RunReport again = kasim::scn::run_scenario(lt.scenario, replay);
  EXPECT_EQ(again.trace_hash, rep.trace_hash);
  EXPECT_EQ(first_kind(again), "deadlock");
}

TEST(Trace, LoadTraceReportsEveryMissingField) {
  TempDir dir;
  write_file(dir / "t.json", R"({ "kasim_trace": 1, "seed": -1, "decisions": 5 })");
  const std::string path = (dir / "t.json").string();
  try {
    kasim::scn::load_trace(path);
    ADD_FAILURE() << "no error";
  } catch (const kasim::scn::ScenarioError& e) {
    EXPECT_EQ(e.lines, (std::vector<std::string>{
                           path + ": /seed: expected a non-negative integer, got -1",
                           path + ": /max_steps: required field is missing",
                           path + ": /strategy: required field is missing",
                           path + ": /kasim_version: required field is missing",
                           path + ": /trace_hash: required field is missing",
                           path + ": /decisions: expected a string, got 5",
                           path + ": /scenario: required field is missing",
                       }));
  }
  write_file(dir / "broken.json", "{ \"kasim_trace\": 1,");
  try {
    kasim::scn::load_trace((dir / "broken.json").string());
    ADD_FAILURE() << "no error";
  } catch (const kasim::scn::ScenarioError& e) {
    ASSERT_EQ(e.lines.size(), 1u);
    EXPECT_TRUE(starts_with(e.lines[0], (dir / "broken.json").string() + ": parse error at line 1"))
        << e.lines[0];
  }
}

TEST(Report, FieldsPeopleAndToolsRead) {
  kasim::scn::Scenario sc = kasim::scn::parse_scenario_text(kBusy, "busy.json");
  kasim::scn::RunOptions opt;
  opt.seed = 4;
  opt.strategy = "random";
  kasim::scn::RunReport rep = kasim::scn::run_scenario(sc, opt);
  ASSERT_EQ(rep.exit_code, 0) << describe(rep);
  json r = kasim::scn::report_json(sc, rep, 0.5);
  EXPECT_EQ(r["kasim_version"], KASIM_VERSION);
  EXPECT_EQ(r["scenario"], "busy");
  EXPECT_EQ(r["file"], "busy.json");
  EXPECT_EQ(r["seed"], 4);
  EXPECT_EQ(r["strategy"], "random");
  EXPECT_EQ(r["outcome"], "completed");
  EXPECT_EQ(r["verdict"], "all held");
  EXPECT_EQ(r["exit_status"], 0);
  EXPECT_EQ(r["expected_contract"], false);
  EXPECT_EQ(r["findings"], json::array());
  EXPECT_EQ(r["decisions"], rep.decisions.size());
  EXPECT_EQ(r["steps"], rep.steps);
  EXPECT_EQ(r["ops"], rep.ops);
  EXPECT_EQ(r["machine"]["cpus"], 3);
  EXPECT_EQ(r["machine"]["kva_base"], "0xffff800000000000");
  EXPECT_EQ(r["cpus"].size(), 3u);
  EXPECT_EQ(r["wall_seconds"], 0.5);
  // 16 hex digits, so hashes compare as strings.
  const std::string hash = r["trace_hash"];
  EXPECT_EQ(hash.size(), 18u);
  EXPECT_EQ(hash, kasim::scn::hex64(rep.trace_hash));
  EXPECT_EQ(kasim::scn::hex64(0x1f), "0x000000000000001f");
  // The interrupt ran on CPU 0 only.
  EXPECT_GT(r["cpus"][0]["interrupts"].get<uint64_t>(), 0u);
  EXPECT_EQ(r["cpus"][1]["interrupts"], 0);
}

// perfetto.json of a workload scenario: its ops' steps live in the workload
// and are gone when the run ends, so the timeline must not point at them
// (it read freed memory once). Under AddressSanitizer this test is the check.
TEST(Perfetto, WorkloadScenarioGivesWellNestedTraceEvents) {
  kasim::scn::Scenario sc =
      kasim::scn::load_scenario(std::string(KASIM_SOURCE_DIR) + "/scenarios/examples/quickstart.json");
  kasim::scn::RunOptions opt;
  opt.timeline_spans = 1'000'000;
  const kasim::scn::RunReport rep = kasim::scn::run_scenario(sc, opt);
  ASSERT_FALSE(rep.spans.empty());
  const json p = json::parse(kasim::scn::perfetto_json(sc, rep).dump());
  // Per track (pid, tid), op slices sorted by start never overlap partially.
  std::map<std::pair<int, uint64_t>, std::vector<std::pair<double, double>>> tracks;
  size_t slices = 0;
  for (const json& e : p["traceEvents"]) {
    if (e["ph"] != "X") continue;
    ++slices;
    ASSERT_NE(kasim::scn::Registry::get().find_op(e["name"].get<std::string>()), nullptr) << e;
    EXPECT_TRUE(starts_with(e["args"]["where"].get<std::string>(), "/")) << e;
    ASSERT_GE(e["dur"].get<double>(), 0.0);
    tracks[{e["pid"].get<int>(), e["tid"].get<uint64_t>()}].push_back(
        {e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()});
  }
  EXPECT_EQ(slices, rep.spans.size());
  for (auto& [track, spans] : tracks) {
    std::sort(spans.begin(), spans.end());
    for (size_t i = 1; i < spans.size(); ++i)
      EXPECT_TRUE(spans[i].first >= spans[i - 1].second || spans[i].second <= spans[i - 1].second)
          << "track " << track.first << "/" << track.second << ": slices overlap";
  }
}

}  // namespace
}  // namespace kasim_test
