// tests/scenarios/ops_harness.h: running an allocator's scenario ops
// in-process — one thread on CPU 0 running the steps given, after the objects
// given — for the per-allocator *_ops_test suites.
#pragma once

#include <string>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace kasim::scn {

// The text of a scenario: `objects` and `steps` are the insides of the JSON
// arrays, `extra` more top-level fields (starting with a comma).
inline std::string one_thread_scenario(const std::string& objects, const std::string& steps,
                                       const std::string& machine = R"({ "cpus": 1, "phys_pages": 256 })",
                                       const std::string& extra = "") {
  return R"({ "kasim": 1, "name": "t", "machine": )" + machine + R"(, "objects": [)" + objects +
         R"(], "threads": [ { "name": "t0", "cpu": 0, "steps": [)" + steps + "] } ]" + extra +
         " }";
}

inline RunReport run(const std::string& text) {
  Scenario sc = parse_scenario_text(text, "test.json");
  RunOptions opt;
  return run_scenario(sc, opt);
}

// "kind: message" of the first finding, or "" if there was none.
inline std::string first_finding(const RunReport& r) {
  return r.findings.empty() ? "" : r.findings.front().kind + ": " + r.findings.front().message;
}

}  // namespace kasim::scn
