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

// A JSON integer or a C-notation string ("0x4f", "4096", "017") as a
// non-negative 64-bit value; nullopt (with `why`) if it is neither.
std::optional<uint64_t> parse_c_number(const nlohmann::json& v, std::string* why);

}  // namespace kasim::scn
