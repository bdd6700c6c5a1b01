// tests/extent/extent_ops_test.cpp: the extent scenario ops, object and flags
// (scenarios/ops_extent.cpp) through the real scenario runner.
#include <gtest/gtest.h>

#include <string>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "tests/scenarios/ops_harness.h"

namespace kasim::scn {
namespace {

std::string wrap(const std::string& objects, const std::string& steps,
                 const std::string& extra = "") {
  return one_thread_scenario(objects, steps, R"({ "cpus": 1, "phys_pages": 256 })", extra);
}

TEST(ExtentOps, AllocFreePrintAndStats) {
  RunReport r = run(wrap(
      R"({ "name": "ex", "type": "extent", "start": "0x100", "end": "0x1ff", "flags": ["EX_BOUNDZERO"] })",
      R"(
    { "op": "extent_alloc_subregion", "extent": "ex", "substart": "0x100", "subend": "0x1ff", "size": "0x10",
      "alignment": "0x20", "boundary": 0, "as": "a", "expect": { "error": 0, "addr": "0x100" } },
    { "op": "extent_alloc", "extent": "ex", "size": "0x10", "as": "b", "expect": { "error": 0, "addr": "0x110" } },
    { "op": "extent_alloc_region", "extent": "ex", "start": "0x118", "size": 1, "expect": { "error": "EAGAIN" } },
    { "op": "extent_print", "extent": "ex", "expect": { "output": "extent `ex' (0x100 - 0x1ff), flags = 0x0\n     0x100 - 0x11f\n" } },
    { "op": "extent_free", "extent": "ex", "start": "0x108", "size": "0x10", "expect": { "error": 0 } },
    { "op": "stats", "object": "ex", "expect": { "stats": { "nregions": 2, "nalloc": 2, "nfree": 1, "neagain": 1, "ex_flags": 0 } } },
    { "op": "extent_free", "extent": "ex", "ref": "a", "size": 8 },
    { "op": "extent_free", "extent": "ex", "start": "0x118", "size": 8 }
  )"));
  EXPECT_EQ(r.exit_code, 0) << first_finding(r);
  EXPECT_EQ(r.live_allocations, 0u);  // the partial free left the pieces tracked, then freed
}

TEST(ExtentOps, LeftOverRangesAreLeaks) {
  RunReport r = run(wrap(R"({ "name": "ex", "type": "extent", "start": 0, "end": "0xff" })",
                         R"({ "op": "extent_alloc_region", "extent": "ex", "start": 0, "size": 4 },
                            { "op": "extent_free", "extent": "ex", "start": 1, "size": 2 })"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.live_allocations, 2u);
}

TEST(ExtentOps, FixedObjectStats) {
  RunReport r = run(wrap(
      R"({ "name": "fx", "type": "extent", "start": 0, "end": "0xff", "flags": ["EX_NOCOALESCE"], "fixed_regions": 3 })",
      R"({ "op": "extent_alloc_region", "extent": "fx", "start": 0, "size": 4 },
         { "op": "stats", "object": "fx", "expect": { "stats": { "ex_flags": 3, "fex_capacity": 3, "fex_nfree": 2, "fex_ninuse": 1 } } },
         { "op": "extent_free", "extent": "fx", "start": 0, "size": 4 })"));
  EXPECT_EQ(r.exit_code, 0) << first_finding(r);
}

TEST(ExtentOps, ExpectedContract) {
  RunReport r = run(wrap(R"({ "name": "ex", "type": "extent", "start": 0, "end": "0xff" })",
                         R"({ "op": "extent_free", "extent": "ex", "start": 0, "size": 4,
                              "expect": { "contract": "extent_free: region not found" } })",
                         R"(, "expect": { "result": "finding", "kind": "contract" })"));
  EXPECT_TRUE(r.expected_contract) << first_finding(r);
  EXPECT_EQ(r.exit_code, 0) << first_finding(r);
}

TEST(ExtentOps, ValidationRejectsMistakes) {
  EXPECT_THROW(parse_scenario_text(wrap(R"({ "name": "ex", "type": "extent", "start": 0 })",
                                        R"({ "op": "check" })"),
                                   "t.json"),
               ScenarioError);
  EXPECT_THROW(parse_scenario_text(
                   wrap(R"({ "name": "ex", "type": "extent", "start": 0, "end": 1, "flags": ["EX_SLEEP"] })",
                        R"({ "op": "check" })"),
                   "t.json"),
               ScenarioError);
  EXPECT_THROW(parse_scenario_text(wrap(R"({ "name": "ex", "type": "extent", "start": 0, "end": 1 })",
                                        R"({ "op": "extent_free", "extent": "ex", "size": 1 })"),
                                   "t.json"),
               ScenarioError);
}

}  // namespace
}  // namespace kasim::scn
