// tests/kmem/kmem_ops_test.cpp: the kmem scenario ops, the KM flag domain,
// the boot step and the system objects (scenarios/ops_kmem.cpp), through the
// real scenario runner.
#include <gtest/gtest.h>

#include <string>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "tests/scenarios/ops_harness.h"

namespace kasim::scn {
namespace {

std::string wrap(const std::string& steps,
                 const std::string& machine = R"({ "cpus": 1, "phys_pages": 512 })") {
  return one_thread_scenario("", steps, machine);
}

TEST(KmemOps, AllocStatsAndFree) {
  RunReport r = run(wrap(R"(
    { "op": "kmem_alloc", "size": 24, "flags": ["KM_SLEEP"], "as": "a", "expect": { "null": false } },
    { "op": "kmem_zalloc", "size": 3000, "flags": ["KM_NOSLEEP"], "as": "b" },
    { "op": "kmem_intr_alloc", "size": 9000, "flags": ["KM_NOSLEEP"], "as": "c" },
    { "op": "kmem_intr_zalloc", "size": 1, "flags": ["KM_NOSLEEP"], "as": "d" },
    { "op": "stats", "object": "kmem-00032", "expect": { "stats": { "pr_nout": 1, "pr_size": 32 } } },
    { "op": "stats", "object": "kmem-04096", "expect": { "stats": { "pr_nout": 1 } } },
    { "op": "stats", "object": "kva-12288", "expect": { "stats": { "pr_nout": 1 } } },
    { "op": "stats", "object": "kmem", "expect": { "stats": { "nlive": 4, "npage": 1 } } },
    { "op": "kmem_free", "ref": "a", "size": 24 },
    { "op": "kmem_free", "ref": "b" },
    { "op": "kmem_intr_free", "ref": "c", "size": 9000 },
    { "op": "kmem_intr_free", "ref": "d", "size": 1 },
    { "op": "stats", "object": "kmem-00032", "expect": { "stats": { "cc_hits": 1, "pc_ncached": 1 } } }
  )"));
  EXPECT_EQ(r.exit_code, 0) << first_finding(r) << " " << r.verdict;
}

// A leaked kmem allocation is reported at the end like any other.
TEST(KmemOps, LeakIsAFinding) {
  RunReport r = run(wrap(R"({ "op": "kmem_alloc", "size": 100, "flags": ["KM_SLEEP"] })"));
  EXPECT_EQ(r.exit_code, 1);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings.front().kind, "leak") << first_finding(r);
}

// The machine's coherency_unit picks the classes: with 128, 192 is not one,
// so stats on kmem-00192 names no object on that machine.
TEST(KmemOps, CoherencyUnitComesFromTheMachine) {
  RunReport ok = run(wrap(R"(
    { "op": "kmem_alloc", "size": 150, "flags": ["KM_SLEEP"], "as": "a" },
    { "op": "stats", "object": "kmem-00256", "expect": { "stats": { "pr_nout": 1, "pr_align": 128 } } },
    { "op": "kmem_free", "ref": "a", "size": 150 }
  )",
                          R"({ "cpus": 1, "phys_pages": 512, "coherency_unit": 128 })"));
  EXPECT_EQ(ok.exit_code, 0) << first_finding(ok);
  RunReport missing = run(wrap(R"({ "op": "stats", "object": "kmem-00192" })",
                               R"({ "cpus": 1, "phys_pages": 512, "coherency_unit": 128 })"));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(first_finding(missing).find("no object \"kmem-00192\" on this machine"),
            std::string::npos)
      << first_finding(missing);
}

TEST(KmemOps, ContractFromInterruptMatchesTheFormatsExample) {
  RunReport r = run(R"({ "kasim": 1, "name": "t", "machine": { "cpus": 1 },
    "threads": [ { "name": "t0", "cpu": 0, "steps": [ { "op": "delay", "ns": 100000 } ] } ],
    "interrupts": [ { "name": "i", "cpu": 0, "ipl": "IPL_VM", "at": [1000], "steps": [
      { "op": "kmem_alloc", "size": 16, "flags": ["KM_NOSLEEP"],
        "expect": { "contract": "kmem_alloc from interrupt context" } } ] } ],
    "expect": { "result": "finding", "kind": "contract" } })");
  EXPECT_EQ(r.exit_code, 0) << first_finding(r) << " " << r.verdict;
}

TEST(KmemOps, ValidationNeedsARefAndKnownFlags) {
  EXPECT_THROW(parse_scenario_text(wrap(R"({ "op": "kmem_free", "size": 8 })"), "t.json"),
               ScenarioError);
  EXPECT_THROW(parse_scenario_text(
                   wrap(R"({ "op": "kmem_alloc", "size": 8, "flags": ["PR_WAITOK"] })"), "t.json"),
               ScenarioError);
  EXPECT_NO_THROW(parse_scenario_text(
      wrap(R"({ "op": "kmem_alloc", "size": 8, "flags": ["KM_SLEEP"], "as": "x" },
              { "op": "kmem_free", "ref": "x", "size": 8 })"),
      "t.json"));
}

}  // namespace
}  // namespace kasim::scn
