// scenarios/schema.h: the JSON Schema of scenario files, generated from the
// registry (ops, object types, flag names), so it always says what the
// validator accepts. scenarios/schema.json is this output, committed; a test
// keeps the two equal.
#pragma once

#include <nlohmann/json.hpp>

namespace kasim::scn {

nlohmann::json scenario_schema();

}  // namespace kasim::scn
