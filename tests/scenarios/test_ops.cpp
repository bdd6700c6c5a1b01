// Test-only ops, registered in the in-process test binary only. No built-in
// op has an address result or a "ref" argument, so these stand in for an
// allocator's alloc/free to pin labels ("as", "ref", "same_as"), the
// "addr or ref" cross-argument rule, allocation tracking and leak reports.
#include <optional>

#include "scenarios/registry.h"
#include "scenarios/scenario.h"
#include "scenarios/world.h"

namespace kasim::scn {

KASIM_REGISTER(scenario_test_ops) {
  reg.op({.name = "scntest_alloc",
          .args = {arg_u64("size", true)},
          .results = R_ADDR,
          .run =
              [](OpEnv& env, const Step& s) {
                const uint64_t size = s.u64("size");
                if (size == 0) return OpResult::with_addr(std::nullopt);  // "fails": NULL
                const uint64_t addr = 0x10000 * size;  // the address names the size
                env.track_alloc("scntest", "scntest", addr, size);
                return OpResult::with_addr(addr);
              },
          .help = "test op: returns 0x10000 * size (NULL for size 0)"});
  reg.op({.name = "scntest_free",
          .args = {arg_u64("addr"), arg_label("ref")},
          .validate =
              [](const Step& s) {
                std::vector<std::pair<std::string, std::string>> problems;
                if (s.has("addr") == s.has("ref"))
                  problems.push_back({"", "give exactly one of \"addr\" and \"ref\""});
                return problems;
              },
          .run =
              [](OpEnv& env, const Step& s) {
                env.track_free("scntest", "scntest", env.addr_or_ref(s, "addr"));
                return OpResult::none();
              },
          .help = "test op: frees what scntest_alloc returned"});
  reg.op(
      {.name = "scntest_touch",
       .args = {arg_label("ref", true)},
       .results = R_VALUE,
       .run = [](OpEnv& env,
                 const Step& s) { return OpResult::with_value(env.world().resolve(s.str("ref"))); },
       .help = "test op: the value of a label"});
}

}  // namespace kasim::scn
