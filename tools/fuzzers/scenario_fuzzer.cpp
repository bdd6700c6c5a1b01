// tools/fuzzers/scenario_fuzzer.cpp: libFuzzer target for the scenario
// loader. Any input must end in a Scenario or a ScenarioError (kasim's exit
// 2); anything else escaping, a crash, a hang or a sanitizer report is a bug.
// For a swarm scenario, a few seeds' draws are validated too (docs/fuzzing.md,
// "Fuzzing kasim itself").
#include <cstddef>
#include <cstdint>
#include <string>

#include "scenarios/scenario.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const kasim::scn::Scenario sc = kasim::scn::parse_scenario_text(text, "fuzz.json");
    for (uint64_t seed = 0; seed < 3 && !sc.swarm.empty(); ++seed)
      kasim::scn::draw_swarm(sc, seed, nullptr);
  } catch (const kasim::scn::ScenarioError&) {
    // bad input, said as such
  }
  return 0;
}
