// tests/vmem/vmem_ops_test.cpp: the vmem and uvm_km scenario ops, objects,
// flags and boot step (scenarios/ops_vmem.cpp, scenarios/ops_uvm_km.cpp),
// through the real scenario runner.
#include <gtest/gtest.h>

#include <string>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "tests/scenarios/ops_harness.h"

namespace kasim::scn {
namespace {

std::string wrap(const std::string& objects, const std::string& steps,
                 const std::string& machine = R"({ "cpus": 1, "phys_pages": 256 })") {
  return one_thread_scenario(objects, steps, machine);
}

const char* kArena =
    R"({ "name": "va", "type": "vmem", "base": "0x10000", "size": "0x8000", "quantum": 4096,
         "flags": ["VM_NOSLEEP"] })";

TEST(VmemOps, AllocDumpStatsAndFree) {
  RunReport r = run(wrap(kArena, R"(
    { "op": "vmem_alloc", "arena": "va", "size": "0x2000", "flags": ["VM_NOSLEEP", "VM_BESTFIT"],
      "as": "a", "expect": { "error": 0, "addr": "0x10000" } },
    { "op": "vmem_dump", "arena": "va", "expect": { "output":
      "vmem 0x6 'va'\n\t0x5: 10000, 8000, 2(static span)\n\t0x7: 10000, 2000, 4(busy)\n\t0x6: 12000, 6000, 3(free)\nfreelist[2]\n\t0x6: 12000, 6000, 3(free)\n" } },
    { "op": "stats", "object": "va", "expect": { "stats": { "vm_inuse": 8192, "vm_size": 32768,
      "vm_nbusytag": 1, "nfree": 1 } } },
    { "op": "vmem_size", "arena": "va", "which": "free", "expect": { "value": 24576 } },
    { "op": "vmem_free", "arena": "va", "ref": "a" }
  )"));
  EXPECT_EQ(r.exit_code, 0) << first_finding(r) << " " << r.verdict;
}

TEST(VmemOps, SourceMakesAnImportingArena) {
  RunReport r = run(wrap(std::string(kArena) + R"(,
      { "name": "child", "type": "vmem", "source": "va", "flags": ["VM_NOSLEEP"] })",
                         R"(
    { "op": "vmem_alloc", "arena": "child", "size": 4096, "flags": ["VM_NOSLEEP", "VM_INSTANTFIT"],
      "as": "c" },
    { "op": "stats", "object": "va", "expect": { "stats": { "vm_inuse": 4096 } } },
    { "op": "vmem_xfree", "arena": "child", "ref": "c", "size": 4096 },
    { "op": "stats", "object": "child", "expect": { "stats": { "vm_size": 0, "vm_nrelease": 1 } } }
  )"));
  EXPECT_EQ(r.exit_code, 0) << first_finding(r) << " " << r.verdict;
}

TEST(VmemOps, ContractFindingCanBeExpected) {
  RunReport r = run(wrap(kArena, R"(
    { "op": "vmem_alloc", "arena": "va", "size": "0x2000", "flags": ["VM_NOSLEEP", "VM_BESTFIT"],
      "as": "a" },
    { "op": "vmem_free", "arena": "va", "ref": "a", "size": "0x1000",
      "expect": { "contract": "vmem_xfree: vmem va addr 0x10000 size 0x1000" } }
  )"));
  EXPECT_TRUE(r.expected_contract) << first_finding(r);
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings.front().kind, "contract");
}

TEST(VmemOps, LeftOverAllocationsAreLeaks) {
  RunReport r = run(wrap(kArena, R"(
    { "op": "vmem_alloc", "arena": "va", "size": "0x2000", "flags": ["VM_NOSLEEP", "VM_BESTFIT"] }
  )"));
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings.front().kind, "leak");
}

// 4 KiB from kmem_va_arena (this small kmem's qcache_max is 4 pages) is an
// item of its kva-4096 quantum cache: the cache's pool takes a 64 KiB page
// from the arena (imported from kmem_arena), and the pool's off-page header
// and the per-CPU group that takes the freed item back come from
// kmem_meta_arena, which imports 16 pages at a time (VM_LARGEIMPORT) from
// kmem_arena through vmem-va and maps two of them. The free leaves the page
// busy (vm_inuse unchanged).
TEST(VmemOps, SystemArenasAndKernelMap) {
  RunReport r = run(wrap("", R"(
    { "op": "vmem_alloc", "arena": "kmem_va_arena", "size": 4096,
      "flags": ["VM_SLEEP", "VM_INSTANTFIT"], "as": "k" },
    { "op": "stats", "object": "kmem_va_arena", "expect": { "stats": { "vm_inuse": 65536 } } },
    { "op": "vmem_size", "arena": "kmem_arena", "which": "alloc", "expect": { "value": 131072 } },
    { "op": "vmem_free", "arena": "kmem_va_arena", "ref": "k" },
    { "op": "stats", "object": "kmem_va_arena", "expect": { "stats": { "vm_inuse": 65536 } } },
    { "op": "stats", "object": "kmem_meta_arena", "expect": { "stats": { "vm_size": 8192 } } },
    { "op": "uvm_km_alloc", "map": "kernel_map", "size": 8192, "flags": ["UVM_KMF_WIRED"],
      "as": "w", "expect": { "null": false } },
    { "op": "stats", "object": "kernel_map", "expect": { "stats": { "nentries": 2 } } },
    { "op": "uvm_km_free", "map": "kernel_map", "ref": "w", "flags": ["UVM_KMF_WIRED"] },
    { "op": "stats", "object": "kmem_arena", "expect": { "stats": { "vm_size": 2097152 } } }
  )"));
  EXPECT_EQ(r.exit_code, 0) << first_finding(r) << " " << r.verdict;
}

TEST(VmemOps, UvmKmFreeWithTheWrongTypeIsAContractFinding) {
  RunReport r = run(wrap("", R"(
    { "op": "uvm_km_alloc", "map": "kernel_map", "size": 8192, "flags": ["UVM_KMF_WIRED"], "as": "w" },
    { "op": "uvm_km_free", "map": "kernel_map", "ref": "w", "size": 8192, "flags": ["UVM_KMF_PAGEABLE"] }
  )"));
  ASSERT_FALSE(r.findings.empty());
  EXPECT_EQ(r.findings.front().kind, "contract");
  EXPECT_NE(r.findings.front().message.find("uvm_km_free"), std::string::npos);
}

void expect_invalid(const std::string& text, const std::string& needle) {
  try {
    parse_scenario_text(text, "test.json");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const ScenarioError& e) {
    std::string all;
    for (const std::string& l : e.lines) all += l + "\n";
    EXPECT_NE(all.find(needle), std::string::npos) << all;
  }
}

TEST(VmemOps, ValidationRejectsMistakes) {
  expect_invalid(wrap(kArena, R"({ "op": "vmem_free", "arena": "va", "size": 4096 })"),
                 "needs \"addr\" or \"ref\"");
  expect_invalid(wrap(kArena, R"({ "op": "vmem_alloc", "arena": "va", "size": 4096,
                                   "flags": ["VM_NEXTFIT"] })"),
                 "VM_NEXTFIT");
  expect_invalid(wrap(kArena, R"({ "op": "vmem_alloc", "arena": "nope", "size": 4096 })"), "nope");
  expect_invalid(wrap(R"({ "name": "c", "type": "vmem", "source": "missing" })",
                      R"({ "op": "delay", "ns": 1 })"),
                 "missing");
  expect_invalid(wrap("", R"({ "op": "uvm_km_alloc", "map": "kmem_arena", "size": 4096 })"),
                 "kmem_arena");
}

}  // namespace
}  // namespace kasim::scn
