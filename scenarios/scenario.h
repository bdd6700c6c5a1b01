// scenarios/scenario.h: a validated scenario file, ready to run.
//
// load_scenario() parses and validates the whole file before anything runs
// and reports every problem, one per line, with the JSON Pointer of the value
// at fault. Everything after that works on these typed structures.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenarios/registry.h"
#include "sim/engine.h"

namespace kasim::scn {

// Bounds on what a scenario may ask for, so that no file can make a run
// exhaust memory before its first step (docs/scenario-format.md).
// limits.max_steps, and so the decisions a trace may hold.
inline constexpr uint64_t kMaxStepsLimit = 1'000'000'000;
// LWPs a scenario may start: its threads plus the workload's (each has a
// fiber stack).
inline constexpr uint64_t kMaxScenarioThreads = 1024;
// Interrupt sources (declared plus the workload's, one per CPU).
inline constexpr uint64_t kMaxInterruptSources = 1024;
// A scenario's name is a directory name under --out.
inline constexpr size_t kMaxNameLength = 128;

// Values of a list of ArgSpecs (an op's arguments or an object's fields).
class Args {
 public:
  const std::vector<ArgSpec>* specs = nullptr;
  std::vector<ArgValue> values;  // parallel to *specs; defaults filled in

  const ArgValue& arg(const std::string& name) const;  // InternalError if not in the schema
  bool has(const std::string& name) const { return arg(name).present; }
  uint64_t u64(const std::string& name) const { return arg(name).u; }
  uint64_t flags(const std::string& name) const { return arg(name).u; }
  ipl_t ipl(const std::string& name) const { return static_cast<ipl_t>(arg(name).u); }
  bool boolean(const std::string& name) const { return arg(name).u != 0; }
  const std::string& str(const std::string& name) const { return arg(name).s; }
};

struct Expect {
  std::optional<int> error;
  std::optional<uint64_t> addr;
  std::optional<bool> null;
  std::optional<uint64_t> value;
  std::optional<std::string> output;
  std::optional<std::string> same_as;
  std::optional<std::map<std::string, uint64_t>> stats;
  std::optional<std::string> contract;  // substring of an expected contract finding
};

struct Step : Args {
  const OpSpec* op = nullptr;
  std::string where;  // JSON Pointer of the step, e.g. /threads/0/steps/3
  uint32_t index = 0; // position among all steps of the file (enters the trace)
  std::optional<std::string> as;
  Expect expect;
};

struct ObjectDecl : Args {
  std::string name;
  std::string type;
  std::string where;
  const ObjectSpec* spec = nullptr;
};

struct ThreadDecl {
  std::string name;
  int cpu = 0;
  uint64_t repeat = 1;
  std::vector<Step> steps;
};

struct InterruptDecl {
  std::string name;
  int cpu = 0;
  ipl_t ipl = IPL_VM;
  std::vector<uint64_t> at;
  uint64_t every = 0;
  uint64_t count = 0;
  std::vector<Step> steps;
};

// The "workload" section (SCENARIO-FORMAT.md, docs/fuzzing.md): threads and
// interrupt handlers whose ops are drawn from the seed.
//
// One entry of a mix: the op with its fixed arguments, the u64 arguments
// given as {"min", "max"} (drawn uniformly for each op), and its weight.
struct ArgRange {
  size_t index = 0;  // into Step::values
  uint64_t min = 0, max = 0;
};

struct MixEntry {
  Step step;  // ranged arguments hold `min` until drawn
  std::vector<ArgRange> ranges;
  uint64_t weight = 1;
  // A freeing op (OpSpec::frees) given neither "ref" nor its address
  // argument: each run of it frees a random live allocation of its kind.
  bool pick_live = false;
};

struct Mix {
  std::vector<MixEntry> entries;
  uint64_t total_weight = 0;
};

struct WorkloadInterrupts {
  std::vector<int> cpus;  // one source per CPU listed ("all": every CPU)
  ipl_t ipl = IPL_VM;
  uint64_t mean_interval_ns = 0;
  uint64_t count = 0;     // arrivals per CPU; 0 = as long as threads run
  Mix mix;
};

struct Workload {
  bool present = false;
  uint64_t threads_per_cpu = 1;
  uint64_t ops_per_thread = 100;
  Mix mix;
  std::optional<WorkloadInterrupts> interrupts;
};

// Swarm scenarios: a machine or object parameter given as {"min", "max"}
// (JSON Pointer of the parameter and its bounds), drawn from the run's seed.
struct SwarmRange {
  std::string ptr;
  uint64_t min = 0, max = 0;
};

struct CheckPolicy {
  uint64_t every = 1;  // run invariants after every n-th op; 0 = only at the end
  bool leaks = true;
};

struct Scenario {
  std::string file;  // where it was read from (for messages)
  std::string name;
  std::string description;
  uint64_t seed = 0;
  MachineConfig machine;
  RunLimits limits;
  std::vector<ObjectDecl> objects;
  std::vector<ThreadDecl> threads;
  std::vector<InterruptDecl> interrupts;
  Workload workload;
  std::optional<FaultConfig> faults;  // the "faults" section
  // Swarm ranges; when non-empty, the typed fields above hold every range's
  // min (that is what was validated), and draw_swarm() makes each run's one.
  std::vector<SwarmRange> swarm;
  CheckPolicy check;
  bool expect_finding = false;
  std::string expect_kind;  // with expect_finding: the finding kind that must occur
  nlohmann::json doc;       // the file as read, embedded in traces
};

// Thrown by load_scenario: every problem in the file, one formatted line each
// ("FILE: /json/pointer: message").
class ScenarioError : public std::runtime_error {
 public:
  explicit ScenarioError(std::vector<std::string> lines);
  std::vector<std::string> lines;
};

// Reads, parses and validates a scenario file.
Scenario load_scenario(const std::string& path);
// Validates an already parsed document; `file` names it in messages.
Scenario parse_scenario(const nlohmann::json& doc, const std::string& file);
// Parses text (for tests and for traces that embed the scenario).
Scenario parse_scenario_text(const std::string& text, const std::string& file);

// The configuration a seed draws from a swarm scenario: the scenario with
// every range replaced by a value from `seed` (uniform in [min, max]; a power
// of two when both bounds are powers of two), and in `drawn` the values by
// JSON Pointer. Without ranges, a copy of `sc`.
Scenario draw_swarm(const Scenario& sc, uint64_t seed, nlohmann::json* drawn);

// A JSON integer or a C-notation string ("0x4f", "4096", "017") as a
// non-negative 64-bit value; nullopt (with `why`) if it is neither.
std::optional<uint64_t> parse_c_number(const nlohmann::json& v, std::string* why);

}  // namespace kasim::scn
