// tools/fuzzers/trace_fuzzer.cpp: libFuzzer target for the trace loader
// (kasim replay and kasim shrink read traces). Any input must end in a
// LoadedTrace or a ScenarioError; anything else escaping, a crash, a hang, a
// huge allocation or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "scenarios/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    kasim::scn::parse_trace(text, "fuzz.trace.json");
  } catch (const kasim::scn::ScenarioError&) {
    // bad input, said as such
  }
  return 0;
}
