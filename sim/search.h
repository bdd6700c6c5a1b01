// sim/search.h: model checking — PCT and bounded exhaustive search.
//
// Both run the program many times, each run on a fresh machine, and differ
// only in the strategy they hand each run:
//
//  - PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010): every
//    context gets a random distinct priority, d-1 priority change points are
//    drawn uniformly among the first k steps, and the highest-priority option
//    always runs. A bug of depth d is found by one run with probability at
//    least 1/(n·k^(d-1)) for n contexts.
//  - dfs: stateless depth-first search over the decisions (which context runs
//    next, when each pending interrupt is delivered). Every schedule is a
//    fresh run that replays a prefix of decisions and then chooses; the
//    search is bounded by the number of preemptions, raised one at a time
//    (iterative context bounding, as in CHESS), and reduced with sleep sets
//    (Godefroid) over the dependency relation of step footprints
//    (Footprint in sim/strategy.h). docs/model-checking.md has the
//    definitions and what is not done.
//
// The search is deterministic: the same program, configuration and seed give
// the same runs in the same order. Wall-clock time only decides when to stop
// (SearchConfig::out_of_time), never what a run does.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/rng.h"
#include "sim/strategy.h"

namespace kasim {

// PCT with bug depth `depth` over an estimated `steps` scheduling steps.
// Run options take the priority of their context, delivery options the
// priority of their interrupt source: an interrupt is one more "thread" that
// PCT orders against the others; its frame, once delivered, is a context of
// its own. Contexts and sources first seen during the run get a fresh random
// priority above every lowered one.
class PctStrategy final : public Strategy {
 public:
  PctStrategy(uint64_t seed, int depth, uint64_t steps);
  std::string name() const override { return "pct"; }
  std::optional<size_t> choose(const ChoicePoint& cp) override;

 private:
  uint64_t priority(const Decision& d);
  Rng rng_;
  std::vector<uint64_t> change_points_;  // ascending engine step numbers
  size_t next_change_ = 0;
  std::map<uint64_t, uint64_t> prio_;  // (kind, id) key -> priority; ordered, never hashed
};

// PCT's guaranteed probability of finding a depth-d bug in one run: 1/(n·k^(d-1)).
double pct_probability(uint64_t contexts, uint64_t steps, int depth);

struct SearchConfig {
  enum class Kind { dfs, pct } kind = Kind::dfs;
  uint64_t seed = 1;
  // dfs
  int preemption_bound = 2;  // < 0: unbounded, one pass
  bool sleep_sets = true;
  // pct
  int pct_depth = 3;
  uint64_t pct_steps = 1000;  // k: steps of a run, estimated from a first run
  // Host threads. pct: runs are independent. dfs: subtrees of the search tree
  // (search.cpp, "Parallel dfs"); every count and the first finding are the
  // ones of the sequential search, for every J.
  unsigned jobs = 1;
  // both
  uint64_t max_runs = 100'000;
  std::function<bool()> out_of_time;  // polled between runs; may be empty
};

struct SearchStats {
  uint64_t runs = 0;         // executions, including repeats at a higher bound and pruned ones
  uint64_t schedules = 0;    // distinct complete schedules (dfs) or runs (pct)
  uint64_t pruned = 0;       // runs cut because every remaining option was asleep
  uint64_t slept = 0;        // options not explored because they were asleep
  bool exhausted = false;    // dfs: every schedule within the bound was explored
  bool bound_cut = false;    // dfs: some option exceeded the preemption bound
  int bound_reached = 0;     // dfs: the last preemption bound searched
  bool found = false;
  uint64_t found_at_run = 0;  // 1-based, in the sequential order of runs
  uint64_t found_key = 0;     // the RunOnce `run` argument of the finding run
  int found_preemptions = 0;
  std::string stop;  // why the search stopped: "finding", "exhausted", "max runs", "time"
};

// Runs the program once under `strategy`; returns true if the run found a bug.
// `run` orders the runs as the sequential search makes them: the 0-based run
// index for pct and sequential dfs; for dfs with jobs > 1 a sparse key (pass,
// subtree, run within it), and some runs of the top of the tree that are not
// counted. The finding the search reports is the one of SearchStats::found_key.
// Each call must build a fresh machine; with SearchConfig::jobs > 1 calls
// come from several host threads at once.
using RunOnce = std::function<bool(uint64_t run, std::unique_ptr<Strategy> strategy)>;

SearchStats search(const SearchConfig& cfg, const RunOnce& run);

}  // namespace kasim
