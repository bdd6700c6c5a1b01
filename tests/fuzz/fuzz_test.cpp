// tests/fuzz/fuzz_test.cpp: randomized workloads, fuzz campaigns, shrinking,
// marks and canaries, in-process.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "scenarios/fuzz.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "sim/finding.h"
#include "sim/kernel.h"

namespace {

using namespace kasim;
using namespace kasim::scn;
using nlohmann::json;

json base_doc() {
  return json::parse(R"({
    "kasim": 1, "name": "w", "seed": 5,
    "machine": { "cpus": 2, "phys_pages": 1024 },
    "objects": [
      { "name": "p", "type": "pool", "size": 256, "ipl": "IPL_VM" },
      { "name": "va", "type": "vmem", "base": "0x100000", "size": "0x100000", "quantum": 4096 }
    ],
    "workload": {
      "threads_per_cpu": 2, "ops_per_thread": 40,
      "mix": [
        { "op": "pool_get", "pool": "p", "flags": ["PR_WAITOK"], "weight": 2 },
        { "op": "pool_put", "pool": "p", "weight": 2 },
        { "op": "vmem_alloc", "arena": "va", "size": { "min": 4096, "max": 12288 },
          "flags": ["VM_SLEEP", "VM_INSTANTFIT"] },
        { "op": "vmem_free", "arena": "va" }
      ],
      "interrupts": { "cpus": [1], "ipl": "IPL_VM", "mean_interval_ns": 5000,
        "mix": [ { "op": "pool_get", "pool": "p", "flags": ["PR_NOWAIT"] },
                 { "op": "pool_put", "pool": "p" } ] }
    },
    "check": { "leaks": false }
  })");
}

std::vector<std::string> errors_of(const json& doc) {
  try {
    parse_scenario(doc, "f.json");
  } catch (const ScenarioError& e) {
    return e.lines;
  }
  return {};
}

bool has_line(const std::vector<std::string>& lines, const std::string& want) {
  for (const std::string& l : lines)
    if (l.find(want) != std::string::npos) return true;
  return false;
}

TEST(WorkloadValidation, AcceptsTheFullSection) {
  Scenario sc = parse_scenario(base_doc(), "f.json");
  ASSERT_TRUE(sc.workload.present);
  EXPECT_EQ(sc.workload.threads_per_cpu, 2u);
  ASSERT_EQ(sc.workload.mix.entries.size(), 4u);
  EXPECT_EQ(sc.workload.mix.total_weight, 6u);
  EXPECT_TRUE(sc.workload.mix.entries[1].pick_live);   // pool_put with no ref
  EXPECT_FALSE(sc.workload.mix.entries[0].pick_live);  // pool_get allocates
  ASSERT_EQ(sc.workload.mix.entries[2].ranges.size(), 1u);
  EXPECT_EQ(sc.workload.mix.entries[2].ranges[0].min, 4096u);
  EXPECT_EQ(sc.workload.mix.entries[2].ranges[0].max, 12288u);
  ASSERT_TRUE(sc.workload.interrupts);
  EXPECT_EQ(sc.workload.interrupts->cpus, std::vector<int>{1});
}

TEST(WorkloadValidation, ReportsEveryProblemWithItsPointer) {
  json d = base_doc();
  d["workload"]["mix"][0]["weight"] = "x";
  d["workload"]["mix"][2]["size"] = {{"min", 9000}, {"max", 10}};
  d["workload"]["mix"][3]["as"] = "a";
  d["workload"]["mix"][1]["flags"] = {{"min", 1}, {"max", 2}};
  d["workload"]["interrupts"]["cpus"] = {0, 7};
  d["workload"]["interrupts"].erase("mean_interval_ns");
  d["workload"]["bogus"] = 1;
  auto lines = errors_of(d);
  EXPECT_TRUE(has_line(lines, "f.json: /workload/mix/0/weight: expected a non-negative integer"));
  EXPECT_TRUE(has_line(lines, "f.json: /workload/mix/2/size: min 9000 is above max 10"));
  EXPECT_TRUE(has_line(lines, "f.json: /workload/mix/3/as: a workload op has no \"as\""));
  EXPECT_TRUE(has_line(lines, "f.json: /workload/mix/1/flags: unknown field for op pool_put"));
  EXPECT_TRUE(has_line(lines, "f.json: /workload/interrupts/cpus/1: no CPU 7"));
  EXPECT_TRUE(has_line(lines, "f.json: /workload/interrupts/mean_interval_ns: required"));
  EXPECT_TRUE(has_line(lines, "f.json: /workload/bogus: unknown field"));
}

TEST(WorkloadValidation, RangesOnlyForNumbersAndNonZeroWeights) {
  json d = base_doc();
  d["workload"]["mix"][2]["flags"] = {{"min", 1}, {"max", 2}};
  for (auto& e : d["workload"]["interrupts"]["mix"]) e["weight"] = 0;
  auto lines = errors_of(d);
  EXPECT_TRUE(has_line(lines, "/workload/mix/2/flags"));
  EXPECT_TRUE(has_line(lines, "/workload/interrupts/mix: every weight is 0"));
}

TEST(WorkloadValidation, InterruptsWithoutThreadsNeedACount) {
  json d = base_doc();
  d["workload"]["threads_per_cpu"] = 0;
  EXPECT_TRUE(has_line(errors_of(d), "/workload/interrupts/count: required"));
  d["workload"]["interrupts"]["count"] = 20;
  EXPECT_TRUE(errors_of(d).empty());
}

TEST(WorkloadRun, DeterministicAndSeedDependent) {
  Scenario sc = parse_scenario(base_doc(), "f.json");
  RunOptions opt;
  opt.strategy = "random";
  RunReport a = run_scenario(sc, opt), b = run_scenario(sc, opt);
  EXPECT_EQ(a.verdict, "all held");
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  opt.seed = 6;
  RunReport c = run_scenario(sc, opt);
  EXPECT_NE(a.trace_hash, c.trace_hash);
  uint64_t intrs = 0;
  for (const CpuReport& cpu : a.cpus) {
    EXPECT_GT(cpu.ops, 0u) << "cpu " << cpu.cpu;
    intrs += cpu.intrs;
  }
  EXPECT_EQ(a.cpus[0].intrs, 0u);  // the interrupt source is on CPU 1 only
  EXPECT_GT(intrs, 0u);
}

// Frees pick live objects from any thread: with every get on CPU 0 and every
// put on CPU 1, items still flow back (nothing would be freed otherwise).
TEST(WorkloadRun, FreesPickObjectsOfOtherCpus) {
  json d = base_doc();
  d["workload"].erase("interrupts");
  d["workload"]["threads_per_cpu"] = 1;
  d["workload"]["mix"] = json::parse(R"([{ "op": "pool_get", "pool": "p", "flags": ["PR_WAITOK"] }])");
  d["threads"] = json::parse(R"([{ "name": "putter", "cpu": 1, "repeat": 1,
      "steps": [ { "op": "delay", "ns": 1000 } ] }])");
  // The workload's threads only get; the put-only thread must find their items.
  d["workload"]["threads_per_cpu"] = 1;
  json put_doc = d;
  put_doc["machine"]["cpus"] = 2;
  Scenario gets = parse_scenario(d, "f.json");
  RunReport only_gets = run_scenario(gets, RunOptions{});
  EXPECT_EQ(only_gets.live_allocations, 80u);  // 2 cpus x 40 gets, no frees
  // Now one thread per CPU with get and put: the puts find the other CPU's items.
  json mixed = base_doc();
  mixed["workload"].erase("interrupts");
  mixed["workload"]["threads_per_cpu"] = 1;
  mixed["workload"]["mix"] = json::parse(R"([
      { "op": "pool_get", "pool": "p", "flags": ["PR_WAITOK"] },
      { "op": "pool_put", "pool": "p" } ])");
  Scenario sc = parse_scenario(mixed, "f.json");
  RunReport rep = run_scenario(sc, RunOptions{});
  EXPECT_EQ(rep.verdict, "all held");
  EXPECT_LT(rep.live_allocations, 40u);
  EXPECT_GT(rep.ops, 40u);
}

TEST(WorkloadRun, ExplicitThreadsKeepTheirLabelledObjects) {
  json d = base_doc();
  d["threads"] = json::parse(R"([{ "name": "t", "cpu": 0, "steps": [
      { "op": "pool_get", "pool": "p", "flags": ["PR_WAITOK"], "as": "mine" },
      { "op": "delay", "ns": 200000 },
      { "op": "pool_put", "pool": "p", "ref": "mine" } ] }])");
  Scenario sc = parse_scenario(d, "f.json");
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    RunOptions opt;
    opt.seed = seed;
    opt.strategy = "random";
    RunReport rep = run_scenario(sc, opt);
    EXPECT_EQ(rep.verdict, "all held") << "seed " << seed << ": "
                                        << (rep.findings.empty() ? "" : rep.findings[0].message);
  }
}

TEST(Fuzz, SameResultWhateverTheJobs) {
  Scenario sc = parse_scenario_text(R"({
    "kasim": 1, "name": "c", "machine": { "cpus": 2 },
    "objects": [ { "name": "va", "type": "vmem", "base": "0x100000", "size": "0x100000", "quantum": 4096 } ],
    "workload": { "threads_per_cpu": 1, "ops_per_thread": 30, "mix": [
      { "op": "vmem_alloc", "arena": "va", "size": { "min": 4096, "max": 16384 }, "flags": ["VM_SLEEP"] },
      { "op": "vmem_free", "arena": "va" } ] },
    "check": { "leaks": false } })", "c.json");
  std::map<uint64_t, uint64_t> hashes[2];
  std::optional<uint64_t> first[2];
  for (unsigned jobs : {1u, 3u}) {
    FuzzConfig cfg;
    cfg.seeds = 40;
    cfg.jobs = jobs;
    cfg.base.strategy = "random";
    cfg.base.canary = "vmem_inuse_unlocked";
    cfg.keep_going = true;
    const int k = jobs == 1 ? 0 : 1;
    cfg.on_result = [&](const SeedResult& r) { hashes[k][r.seed] = r.rep.trace_hash; };
    FuzzStats st = fuzz(sc, cfg);
    EXPECT_EQ(st.seeds_run, 40u);
    ASSERT_TRUE(st.first) << "the canary was not found in 40 seeds";
    first[k] = st.first->seed;
  }
  EXPECT_EQ(hashes[0], hashes[1]);
  EXPECT_EQ(first[0], first[1]);
}

TEST(Fuzz, ShardsPartitionTheCampaign) {
  Scenario sc = parse_scenario(base_doc(), "f.json");
  std::set<uint64_t> seen;
  for (uint64_t k = 0; k < 3; ++k) {
    FuzzConfig cfg;
    cfg.seeds = 10;
    cfg.seed_start = 100;
    cfg.shard = k;
    cfg.shards = 3;
    cfg.on_result = [&](const SeedResult& r) {
      EXPECT_EQ(r.index % 3, k);
      EXPECT_TRUE(seen.insert(r.seed).second);
    };
    fuzz(sc, cfg);
  }
  std::set<uint64_t> want;
  for (uint64_t s = 100; s < 110; ++s) want.insert(s);
  EXPECT_EQ(seen, want);
}

TEST(Fuzz, StopsAtTheFirstFindingUnlessKeepGoing) {
  Scenario sc = parse_scenario_text(R"({
    "kasim": 1, "name": "h", "objects": [ { "name": "p", "type": "pool", "size": 64, "hardlimit": 2 } ],
    "workload": { "ops_per_thread": 20, "mix": [
      { "op": "pool_get", "pool": "p", "flags": ["PR_NOWAIT"], "weight": 3 },
      { "op": "pool_put", "pool": "p" } ] },
    "check": { "leaks": false } })", "h.json");
  FuzzConfig cfg;
  cfg.seeds = 30;
  cfg.base.canary = "pool_nowait_hardlimit";
  FuzzStats st = fuzz(sc, cfg);
  ASSERT_TRUE(st.first);
  EXPECT_EQ(st.first->rep.findings.front().kind, "hardlimit");
  EXPECT_EQ(st.seeds_run, st.first->index + 1);
  EXPECT_EQ(st.stop, "finding");
  cfg.keep_going = true;
  FuzzStats all = fuzz(sc, cfg);
  EXPECT_EQ(all.seeds_run, 30u);
  EXPECT_GE(all.findings, 1u);
  cfg.base.canary.clear();
  FuzzStats clean = fuzz(sc, cfg);
  EXPECT_EQ(clean.findings, 0u);
  EXPECT_EQ(clean.marks["pool_hardlimit"], 30u);  // the limit is reached, and held
}

TEST(Shrink, KeepsTheFindingKindAndReplays) {
  json d = base_doc();
  d["machine"]["cpus"] = 3;
  d["workload"]["mix"][2]["weight"] = 5;
  Scenario sc = parse_scenario(d, "f.json");
  RunOptions opt;
  opt.strategy = "random";
  opt.canary = "vmem_no_coalesce_prev";
  RunReport rep = run_scenario(sc, opt);
  ASSERT_TRUE(is_finding(rep));
  ShrinkInput in;
  in.doc = d;
  in.file = "f.json";
  in.seed = rep.seed;
  in.canary = opt.canary;
  in.kind = rep.findings.front().kind;
  auto res = shrink(in);
  ASSERT_TRUE(res);
  EXPECT_GT(res->accepted, 0u);
  // Fewer CPUs first (a run on fewer CPUs may take more steps to fail).
  EXPECT_LT(res->scenario.machine.cpus, 3);
  EXPECT_LT(res->rep.decisions.size(), rep.decisions.size());
  EXPECT_EQ(res->rep.findings.front().kind, in.kind);
  // The minimal trace replays to the same finding and hash.
  json trace = trace_json(res->scenario, res->rep);
  EXPECT_EQ(trace["canary"], "vmem_no_coalesce_prev");
  Scenario again = parse_scenario(trace["scenario"], "min.json");
  std::string why;
  auto decisions = decode_decisions(trace["decisions"].get<std::string>(), &why);
  ASSERT_TRUE(decisions);
  RunOptions ro;
  ro.seed = res->rep.seed;
  ro.replay = &*decisions;
  ro.canary = "vmem_no_coalesce_prev";
  RunReport replayed = run_scenario(again, ro);
  EXPECT_EQ(replayed.trace_hash, res->rep.trace_hash);
  EXPECT_EQ(replayed.findings.front().kind, in.kind);
}

TEST(Shrink, RefusesAnInputThatDoesNotFail) {
  ShrinkInput in;
  in.doc = base_doc();
  in.file = "f.json";
  in.seed = 1;
  in.kind = "vmem";
  EXPECT_FALSE(shrink(in));
}

TEST(Canaries, DeclaredOnceAndOffByDefault) {
  std::set<std::string> names;
  for (const kasim_named& c : kasim_canaries()) EXPECT_TRUE(names.insert(c.name).second);
  EXPECT_GE(names.size(), 8u);
  for (const char* n : {"vmem_no_coalesce_prev", "vmem_inuse_unlocked", "pool_nowait_hardlimit",
                        "pool_put_below_lowat", "pool_nout_spl_window",
                        "pool_cache_fast_path_no_splvm",
                        "kmem_route_one_class_small", "extent_boundary_off_by_one"})
    EXPECT_TRUE(is_canary(n)) << n;
  EXPECT_FALSE(is_canary("no_such_bug"));
  std::set<std::string> sites;
  for (const kasim_named& f : kasim_fault_sites()) EXPECT_TRUE(sites.insert(f.name).second);
  for (const char* n : {"vmem_btag", "pool_cache_get", "pool_cache_ctor", "uvm_pagealloc", "cv_wait_sig"})
    EXPECT_TRUE(sites.count(n)) << n;
  RunOptions opt;
  opt.canary = "no_such_bug";
  Scenario sc = parse_scenario(base_doc(), "f.json");
  EXPECT_THROW(run_scenario(sc, opt), InternalError);
}

TEST(Marks, ReportedPerRun) {
  Scenario sc = parse_scenario_text(R"({
    "kasim": 1, "name": "m",
    "objects": [ { "name": "src", "type": "vmem", "base": "0x10000000", "size": "0x100000", "quantum": 4096 },
                 { "name": "child", "type": "vmem", "source": "src" } ],
    "threads": [ { "steps": [
      { "op": "vmem_alloc", "arena": "child", "size": 4096, "flags": ["VM_SLEEP", "VM_INSTANTFIT"], "as": "a" },
      { "op": "vmem_free", "arena": "child", "ref": "a", "size": 4096 } ] } ] })", "m.json");
  RunReport rep = run_scenario(sc, RunOptions{});
  EXPECT_EQ(rep.verdict, "all held");
  EXPECT_NE(std::find(rep.marks.begin(), rep.marks.end(), "vmem_import"), rep.marks.end());
  EXPECT_NE(std::find(rep.marks.begin(), rep.marks.end(), "vmem_release"), rep.marks.end());
  EXPECT_EQ(std::find(rep.marks.begin(), rep.marks.end(), "pool_hardlimit"), rep.marks.end());
}

TEST(Faults, SectionSwitchesInjectionOnAndIsRecorded) {
  json d = base_doc();
  d["faults"] = {{"site_percent", 100}, {"fire_percent", 50}};
  Scenario sc = parse_scenario(d, "f.json");
  ASSERT_TRUE(sc.faults);
  RunReport rep = run_scenario(sc, RunOptions{});
  EXPECT_TRUE(rep.faults.enabled);
  EXPECT_EQ(rep.faults.fire_percent, 50u);
  json trace = trace_json(sc, rep);
  EXPECT_EQ(trace["faults"]["site_percent"], 100);
  d["faults"] = {{"fire_percent", 101}};
  EXPECT_TRUE(has_line(errors_of(d), "/faults/fire_percent: must be in [0, 100]"));
}

// Regression: with every fault site on, the vmem_btag site fired while
// kasim_vm_boot created kmem_arena, vmem_create returned NULL, and the first
// page-path kmem_alloc imported from a NULL source arena (a crash in
// vmem_alloc through vmem_import). NetBSD's boot arenas take static boot
// tags, which cannot fail: so do kasim's now, and faults only leave
// NetBSD's failures (NULL from KM_NOSLEEP), never a finding.
TEST(Faults, BootArenasSurviveEveryFaultSite) {
  json d = json::parse(R"({
    "kasim": 1, "name": "faults-kmem", "seed": 1,
    "machine": { "cpus": 2, "phys_pages": 2048 },
    "workload": {
      "threads_per_cpu": 1, "ops_per_thread": 40,
      "mix": [
        { "op": "kmem_alloc", "size": { "min": 4097, "max": 65536 }, "flags": ["KM_NOSLEEP"], "weight": 2 },
        { "op": "kmem_alloc", "size": { "min": 1, "max": 16384 }, "flags": ["KM_SLEEP"], "weight": 2 },
        { "op": "kmem_free", "weight": 3 }
      ]
    },
    "faults": { "site_percent": 100, "fire_percent": 50 },
    "check": { "every": "step", "leaks": false }
  })");
  Scenario sc = parse_scenario(d, "f.json");
  std::set<std::string> marks;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    RunOptions opt;
    opt.seed = seed;
    opt.strategy = "random";
    RunReport rep = run_scenario(sc, opt);
    EXPECT_TRUE(rep.findings.empty()) << "seed " << seed << ": " << rep.verdict;
    EXPECT_EQ(rep.outcome, Outcome::completed) << "seed " << seed;
    marks.insert(rep.marks.begin(), rep.marks.end());
  }
  EXPECT_TRUE(marks.count("kmem_page"));
  EXPECT_TRUE(marks.count("vmem_qcache_import"));
  EXPECT_TRUE(marks.count("fault_injected"));
}

// Each fault site leaves NetBSD's failure: a cache whose ctor fails returns
// NULL even to PR_WAITOK, a NOSLEEP page-path kmem_alloc returns NULL, and
// an EX_CATCH sleep for space returns EINTR (without the fault it would
// sleep for ever: nothing frees).
TEST(Faults, SitesLeaveNetBSDsFailures) {
  json d = json::parse(R"({
    "kasim": 1, "name": "faults-sites", "seed": 1,
    "machine": { "cpus": 1, "phys_pages": 1024 },
    "objects": [
      { "name": "c", "type": "pool_cache", "size": 128, "ctor": true },
      { "name": "ex", "type": "extent", "start": 0, "end": "0xff" }
    ],
    "threads": [ { "name": "t0", "cpu": 0, "steps": [
      { "op": "pool_cache_get", "cache": "c", "flags": ["PR_WAITOK"], "expect": { "null": true } },
      { "op": "kmem_alloc", "size": 20000, "flags": ["KM_NOSLEEP"], "expect": { "null": true } },
      { "op": "extent_alloc_region", "extent": "ex", "start": 0, "size": "0x100",
        "flags": ["EX_WAITOK"], "expect": { "error": 0 } },
      { "op": "extent_alloc", "extent": "ex", "size": "0x10", "alignment": 1, "boundary": 0,
        "flags": ["EX_WAITOK", "EX_WAITSPACE", "EX_CATCH"], "expect": { "error": "EINTR" } }
    ] } ],
    "faults": { "site_percent": 100, "fire_percent": 100 },
    "check": { "every": "step", "leaks": false }
  })");
  Scenario sc = parse_scenario(d, "f.json");
  RunReport rep = run_scenario(sc, RunOptions{});
  EXPECT_TRUE(rep.findings.empty()) << rep.verdict;
  EXPECT_EQ(rep.outcome, Outcome::completed);
  std::set<std::string> marks(rep.marks.begin(), rep.marks.end());
  EXPECT_TRUE(marks.count("pool_cache_ctor_fail"));
  EXPECT_TRUE(marks.count("fault_injected"));
}

}  // namespace

namespace {

json load_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

uint64_t findings_in(const json& doc, const std::string& canary, uint64_t seeds) {
  Scenario sc = parse_scenario(doc, "canary.json");
  FuzzConfig cfg;
  cfg.seeds = seeds;
  cfg.keep_going = true;
  cfg.base.strategy = "random";
  cfg.base.canary = canary;
  return fuzz(sc, cfg).findings;
}

// The two interleaving canaries are invisible to a sequential run: only a
// second CPU (vmem_inuse_unlocked) or an interrupt (pool_nout_spl_window)
// in the window exposes them.
TEST(Canaries, InterleavingCanariesNeedTheInterleaving) {
  json v = load_json(KASIM_SOURCE_DIR "/scenarios/canaries/vmem-inuse-unlocked.json");
  EXPECT_GT(findings_in(v, "vmem_inuse_unlocked", 30), 0u);
  v["machine"]["cpus"] = 1;
  EXPECT_EQ(findings_in(v, "vmem_inuse_unlocked", 100), 0u);

  json p = load_json(KASIM_SOURCE_DIR "/scenarios/canaries/pool-nout-spl-window.json");
  EXPECT_GT(findings_in(p, "pool_nout_spl_window", 30), 0u);
  p["workload"].erase("interrupts");
  EXPECT_EQ(findings_in(p, "pool_nout_spl_window", 100), 0u);
}

// pool_cache's fast path without splvm is exposed only by an interrupt taken
// on the same CPU in the middle of the group update.
TEST(Canaries, PoolCacheFastPathCanaryNeedsTheInterrupt) {
  json f = load_json(KASIM_SOURCE_DIR "/scenarios/canaries/pool-cache-fast-path-no-splvm.json");
  EXPECT_GT(findings_in(f, "pool_cache_fast_path_no_splvm", 30), 0u);
  f["workload"].erase("interrupts");
  EXPECT_EQ(findings_in(f, "pool_cache_fast_path_no_splvm", 100), 0u);
}

}  // namespace

namespace {

const char* kSwarm = R"({"kasim": 1, "name": "sw",
  "machine": { "cpus": { "min": 1, "max": 4 }, "phys_pages": { "min": 500, "max": 3000 } },
  "objects": [ { "name": "p", "type": "pool", "size": { "min": 64, "max": 1024 },
                 "align": { "min": 8, "max": 64 } } ],
  "workload": { "ops_per_thread": 20, "mix": [
    { "op": "pool_get", "pool": "p", "flags": ["PR_WAITOK"] }, { "op": "pool_put", "pool": "p" } ] },
  "check": { "leaks": false } })";

TEST(Swarm, EachSeedDrawsItsConfigurationAndKeepsIt) {
  Scenario sc = parse_scenario_text(kSwarm, "sw.json");
  ASSERT_EQ(sc.swarm.size(), 4u);
  std::set<int> cpus;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    RunOptions opt;
    opt.seed = seed;
    RunReport a = run_scenario(sc, opt), b = run_scenario(sc, opt);
    EXPECT_EQ(a.swarm, b.swarm);
    EXPECT_EQ(a.trace_hash, b.trace_hash);
    EXPECT_EQ(a.verdict, "all held");
    ASSERT_TRUE(a.drawn);
    const uint64_t pages = a.swarm["/machine/phys_pages"].get<uint64_t>();
    EXPECT_GE(pages, 500u);
    EXPECT_LE(pages, 3000u);
    EXPECT_EQ(a.drawn->machine.phys_pages, pages);
    const uint64_t align = a.swarm["/objects/0/align"].get<uint64_t>();
    EXPECT_EQ(align & (align - 1), 0u) << "both bounds are powers of two: so is the draw";
    EXPECT_EQ(static_cast<int>(a.cpus.size()), a.drawn->machine.cpus);
    cpus.insert(a.drawn->machine.cpus);
    EXPECT_EQ(report_json(sc, a, 0)["swarm"], a.swarm);
  }
  EXPECT_GT(cpus.size(), 2u) << "30 seeds should draw several CPU counts";
}

TEST(Swarm, BothEndsOfEveryRangeAreValidated) {
  json d = json::parse(kSwarm);
  d["machine"]["cpus"] = {{"min", 2}, {"max", 300}};
  d["objects"][0]["size"] = {{"min", 9}, {"max", 3}};
  d["objects"][0]["hardlimit"] = {{"min", 1}};
  auto lines = errors_of(d);
  EXPECT_TRUE(has_line(lines, "f.json: /objects/0/size: min 9 is above max 3"));
  EXPECT_TRUE(has_line(lines, "f.json: /objects/0/hardlimit/max: a range needs"));
  d["objects"][0]["size"] = 64;
  d["objects"][0].erase("hardlimit");
  lines = errors_of(d);
  EXPECT_TRUE(has_line(lines, "f.json: /machine/cpus: must be in [1, 256], got 300"));
}

}  // namespace
