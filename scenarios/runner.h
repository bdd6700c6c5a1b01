// scenarios/runner.h: runs a validated scenario on a fresh machine.
//
// A run is a pure function of (scenario, seed, strategy, recorded decisions,
// kasim version). The boot LWP on CPU 0 runs the registered boot steps,
// creates the scenario's objects in order, then starts the threads and the
// interrupt sources. Each step is a scheduling point, is traced, has its
// "expect" checked and is followed by the invariants the "check" policy asks
// for. At the end, the invariants run once more and leaks are reported.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scenarios/scenario.h"
#include "sim/engine.h"

namespace kasim::scn {

struct RunOptions {
  std::optional<uint64_t> seed;           // default: the scenario's
  std::string strategy = "timed";         // timed | random (ignored with replay)
  std::optional<uint64_t> max_steps;      // default: the scenario's limits
  const std::vector<Decision>* replay = nullptr;
  // When set (and not replaying), the run's strategy comes from here instead
  // of `strategy`: kasim check hands each run its PCT or dfs strategy.
  std::function<std::unique_ptr<Strategy>()> strategy_factory;
  // Fault injection; when not enabled here, the scenario's "faults" section
  // (if any) applies.
  FaultConfig faults;
  // A planted bug to switch on (kasim_canaries() in sim/kernel.cpp); "" = none.
  std::string canary;
  // Host-side poll every Engine::kPollSteps steps (wall-clock limits,
  // progress lines); returning true stops the run there as a step bound that
  // the trace replays (Engine::set_poll).
  std::function<bool(uint64_t steps)> poll;
  // Stop once boot has built the machine and the objects: `kasim validate`
  // boots every file it accepts.
  bool boot_only = false;
  size_t trace_tail = 64;                 // trace records kept for the report
  size_t timeline_spans = 0;              // op spans kept for perfetto.json (0 = none)
};

// One op as it ran: for the Perfetto timeline. It keeps copies, not the
// Step: a workload's steps are gone when the run ends.
struct Span {
  int cpu = 0;
  uint32_t ctx = 0;
  const OpSpec* op = nullptr;  // the registry outlives every run
  std::string where;           // the step's JSON Pointer
  uint64_t begin = 0, end = 0;
};

struct CpuReport {
  int cpu = 0;
  uint64_t clock = 0, busy_ns = 0, ops = 0, intrs = 0;
};

struct RunReport {
  std::string name;
  uint64_t seed = 0;
  std::string strategy;
  Outcome outcome = Outcome::completed;
  std::vector<Finding> findings;
  bool expected_contract = false;  // the finding is the contract a step expected
  std::string verdict;             // one line for people
  int exit_code = 0;               // 0 held, 1 finding, 3 divergence
  uint64_t trace_hash = 0;
  uint64_t steps = 0;
  uint64_t ops = 0;
  uint64_t sim_time = 0;
  std::vector<CpuReport> cpus;
  std::vector<Engine::Message> messages;
  std::vector<Decision> decisions;
  std::string stop_reason;
  std::vector<TraceRecord> trace_tail;
  std::vector<std::string> context_names;  // context id -> name
  std::vector<Span> spans;                 // with RunOptions::timeline_spans
  uint64_t live_allocations = 0;
  RunLimits limits;                 // as the run ended (a poll stop lowers max_steps)
  bool stopped_by_poll = false;     // a wall-clock limit, not the scenario, ended it
  std::string canary;               // the planted bug that was on, if any
  std::vector<std::string> marks;   // reachability marks the run reached
  FaultConfig faults;               // the fault injection it ran with
  // Swarm scenarios: the values this seed drew (JSON Pointer -> value), and
  // the configuration it ran (its machine is what report.json shows).
  nlohmann::json swarm = nlohmann::json::object();
  std::shared_ptr<const Scenario> drawn;
};

// Throws ScenarioError when the machine is too small for boot to finish
// (without a canary or fault injection): that is bad input, not a finding.
RunReport run_scenario(const Scenario& sc, const RunOptions& opt);

// `kasim validate`'s last check: boots the scenario's machine and objects
// (the file's seed, its swarm draw) and throws ScenarioError, like any bad
// input, if boot fails. A scenario that expects a finding may expect it from
// boot, and passes.
void check_boots(const Scenario& sc);

}  // namespace kasim::scn
