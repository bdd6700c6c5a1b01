// scenarios/report.h: what a run writes — report.json for people and tools,
// trace.json to replay it — and reading a trace back.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace kasim::scn {

// The trace.json format this kasim writes and reads ("kasim_trace").
inline constexpr uint64_t kTraceFormat = 1;

nlohmann::json report_json(const Scenario& sc, const RunReport& rep, double wall_seconds);

// The scenario (embedded whole), seed, strategy, limits and every decision.
nlohmann::json trace_json(const Scenario& sc, const RunReport& rep);

// Decisions as a compact string: "r<cpu>.<target>" or "d<cpu>.<target>",
// space-separated, with "*N" for N repeats of the same decision.
std::string encode_decisions(const std::vector<Decision>& ds);
// nullopt (with why) if the text is malformed or holds more than
// `max_decisions` (a run records at most one per step); the count is checked
// before anything that large is allocated.
std::optional<std::vector<Decision>> decode_decisions(const std::string& text, std::string* why,
                                                      uint64_t max_decisions = kMaxStepsLimit);

struct LoadedTrace {
  Scenario scenario;
  uint64_t seed = 0;
  std::string strategy;
  uint64_t max_steps = 0;
  std::vector<Decision> decisions;
  uint64_t trace_hash = 0;
  std::string version;
  std::string finding_kind;  // empty if the run had none
  std::string finding_message;
  std::string canary;  // the planted bug the run had on ("" none)
  FaultConfig faults;  // fault injection the run had on
};

// Whether `name` is a declared canary (kasim_canaries()).
bool is_canary(const std::string& name);

// Reads a trace.json; throws ScenarioError with one line per problem.
LoadedTrace load_trace(const std::string& path);
// The same from text already read; `path` names it in messages.
LoadedTrace parse_trace(const std::string& text, const std::string& path);

// The run's ops as a Chrome/Perfetto trace (open it at ui.perfetto.dev): one
// process per CPU, one track per LWP or interrupt level, simulated time.
nlohmann::json perfetto_json(const Scenario& sc, const RunReport& rep);

std::string hex64(uint64_t v);

}  // namespace kasim::scn
