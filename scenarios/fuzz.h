// scenarios/fuzz.h: fuzzing campaigns and shrinking (docs/fuzzing.md).
//
// A campaign runs one scenario under many seeds; each seed's run is a pure
// function of (scenario, seed, strategy, canary, faults), so the result for a
// seed never depends on --jobs, on the shard, or on the wall clock, which
// only decides when to stop launching seeds (--time).
//
// Shrinking takes a failing run and looks for a smaller scenario (fewer CPUs,
// threads, ops, interrupts, mix entries and injected faults, narrower size
// ranges) on which the same seed still produces the same kind of finding.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace kasim::scn {

// What kasim fuzz and kasim check count as a finding: what `kasim run`
// would report with exit status 1.
bool is_finding(const RunReport& rep);

struct SeedResult {
  uint64_t index = 0;  // position in the whole campaign (before sharding)
  uint64_t seed = 0;
  bool finding = false;
  RunReport rep;
};

struct FuzzConfig {
  uint64_t seeds = 100;    // campaign size; 0 = unbounded (then out_of_time must stop it)
  uint64_t seed_start = 0;
  unsigned jobs = 1;
  uint64_t shard = 0, shards = 1;  // run campaign indexes i with i % shards == shard
  bool keep_going = false;
  RunOptions base;         // strategy, canary, faults (seed is set per run)
  // Wall clock: asked before launching each seed; never consulted by a run.
  std::function<bool()> out_of_time;
  // Called once per finished seed, in completion order, under a lock.
  std::function<void(const SeedResult&)> on_result;
  // Called from the calling thread about every 250 ms while seeds run.
  std::function<void()> on_tick;
};

struct FuzzStats {
  uint64_t seeds_run = 0;
  uint64_t findings = 0;
  uint64_t steps = 0;
  // The finding with the lowest campaign index: without --keep-going, every
  // lower index has run, so this is the same seed whatever --jobs is.
  std::optional<SeedResult> first;
  std::map<std::string, uint64_t> marks;  // mark -> seeds that reached it
  std::string stop;                       // why the campaign ended
};

// Runs the campaign. `live` (optional) is updated as seeds finish, for
// progress lines; it is read under the same lock as on_result.
FuzzStats fuzz(const Scenario& sc, const FuzzConfig& cfg, FuzzStats* live = nullptr);

struct ShrinkInput {
  nlohmann::json doc;  // the scenario as a document
  std::string file;    // for messages
  uint64_t seed = 0;
  std::string strategy = "random";  // timed | random: how the failing run was scheduled
  std::string canary;
  FaultConfig faults;
  std::string kind;  // the finding kind to keep
  uint64_t max_runs = 400;
};

struct ShrinkResult {
  Scenario scenario;
  RunReport rep;        // the minimal run (its decisions make the minimal trace)
  uint64_t runs = 0;    // candidate runs tried
  uint64_t accepted = 0;
  std::vector<std::string> log;  // one line per accepted reduction
};

// Greedy: tries every reduction of the current document in a fixed order,
// keeps the first that still fails the same way, and starts over, until none
// helps or max_runs candidates have run. nullopt if the input itself does not
// reproduce the finding.
std::optional<ShrinkResult> shrink(const ShrinkInput& in);

// A one-line size measure of a run: "N steps, C cpus, T threads, O ops, I interrupts, F faults".
std::string run_size(const Scenario& sc, const RunReport& rep);

}  // namespace kasim::scn
