#include "sim/search.h"

#include <algorithm>
#include <cmath>
#include <atomic>
#include <optional>
#include <thread>

#include "sim/finding.h"

namespace kasim {

// ---------------------------------------------------------------------------
// PCT

namespace {

// Priorities of contexts and interrupt sources share one map: bit 20 of the
// key tells them apart (context and source ids stay far below 2^20).
uint64_t pct_key(const Decision& d) {
  return (d.target & 0xFFFFFu) | (d.kind == OptionKind::deliver ? 1u << 20 : 0u);
}

}  // namespace

PctStrategy::PctStrategy(uint64_t seed, int depth, uint64_t steps)
    : rng_(seed, RngStream::schedule) {
  for (int i = 1; i < depth; ++i) change_points_.push_back(rng_.range(1, std::max<uint64_t>(steps, 1)));
  std::sort(change_points_.begin(), change_points_.end());
}

uint64_t PctStrategy::priority(const Decision& d) {
  const uint64_t key = pct_key(d);
  auto it = prio_.find(key);
  if (it != prio_.end()) return it->second;
  // Initial priorities sit above 2^62, lowered ones are 1..d-1. The random
  // part decides the order; the key in the low bits keeps them distinct.
  const uint64_t p = (1ULL << 62) | ((rng_.next() >> 24) << 21) | key;
  prio_.emplace(key, p);
  return p;
}

std::optional<size_t> PctStrategy::choose(const ChoicePoint& cp) {
  // At the i-th change point the context that just ran drops to priority i
  // (below every initial priority), as in the paper.
  while (next_change_ < change_points_.size() && cp.step >= change_points_[next_change_]) {
    if (cp.current != 0) {
      priority({OptionKind::run, 0, cp.current});  // make sure it has an entry
      prio_[pct_key({OptionKind::run, 0, cp.current})] = next_change_ + 1;
    }
    ++next_change_;
  }
  const auto& opts = *cp.options;
  size_t best = 0;
  uint64_t best_p = 0;
  for (size_t i = 0; i < opts.size(); ++i) {
    const uint64_t p = priority(opts[i].what);
    if (p > best_p) {
      best_p = p;
      best = i;
    }
  }
  return best;
}

double pct_probability(uint64_t contexts, uint64_t steps, int depth) {
  return 1.0 / (static_cast<double>(std::max<uint64_t>(contexts, 1)) *
                std::pow(static_cast<double>(std::max<uint64_t>(steps, 1)), depth - 1));
}

// ---------------------------------------------------------------------------
// Bounded exhaustive search

namespace {

// An explored option whose step is known to lead only to schedules already
// covered, as long as no step dependent on it runs. Its footprint is what its
// step touched when it was explored (ids, valid in every run) plus its first
// access as named in the current run (possibly a host address, valid only in
// the run that reads it).
struct Sleeper {
  Decision what;
  Footprint rest;  // what its step touched after the first access, when explored
  Access first;    // its first access, as the current run names it
};

Footprint with_first(Footprint rest, Access first) {
  rest.add(first);
  return rest;
}

// A decision point on the current path (points with one option are not kept).
struct Node {
  std::vector<Option> options;
  uint32_t current = 0;
  size_t chosen = 0;
  std::vector<bool> done;      // explored (with every schedule below it)
  std::vector<Footprint> fps;  // what each explored option's step touched after its first access
  std::vector<Sleeper> sleep;  // sleep set on entry
  int preemptions = 0;         // along the path before this decision
};

bool asleep(const std::vector<Sleeper>& sleep, const Decision& d) {
  for (const Sleeper& s : sleep)
    if (s.what == d) return true;
  return false;
}

// A preemption is a decision that switches away from a context that could go
// on: the context that reached this point is among the options and another
// option is chosen (running another context, or delivering an interrupt on
// top of it), or the option itself displaces a runnable LWP from its CPU.
// Switching when the previous context blocked, finished or returned from an
// interrupt is free. On several CPUs this is CHESS's definition applied to
// the one context that was running when the scheduling point was reached.
int preemption_cost(const std::vector<Option>& opts, uint32_t current, size_t i) {
  const Option& o = opts[i];
  if (o.preempts) return 1;
  const bool could_go_on = std::any_of(opts.begin(), opts.end(), [&](const Option& x) {
    return x.what.kind == OptionKind::run && x.what.target == current;
  });
  if (!could_go_on) return 0;
  return o.what.kind == OptionKind::run && o.what.target == current ? 0 : 1;
}

class Dfs {
 public:
  Dfs(const SearchConfig& cfg, int bound, SearchStats& stats)
      : sleep_sets_(cfg.sleep_sets), bound_(bound), stats_(stats) {}

  void begin_run() {
    depth_ = 0;
    sleep_.clear();
    first_ = Access::none();
    awaiting_ = false;
    preemptions_ = 0;
    pruned_ = false;
  }
  bool pruned() const { return pruned_; }
  int preemptions() const { return preemptions_; }

  std::optional<size_t> choose(const ChoicePoint& cp) {
    account(*cp.last);
    const auto& opts = *cp.options;
    if (opts.size() == 1) {
      // Past the replayed prefix sleep_ is the sleep set of this state; before
      // it, sleep_ is empty.
      if (asleep(sleep_, opts[0].what)) return prune();
      first_ = opts[0].next;
      return 0;
    }
    const size_t d = depth_++;
    if (d < path_.size()) {  // replaying the prefix
      Node& n = path_[d];
      if (n.current != cp.current || !same(n.options, opts))
        throw InternalError("dfs: decision " + std::to_string(d) +
                            " differs from the previous run of the same prefix: the program "
                            "is not deterministic");
      preemptions_ = n.preemptions + preemption_cost(n.options, n.current, n.chosen);
      if (d + 1 == path_.size() && sleep_sets_) {
        // The node the search backtracked to: its sleep set plus the siblings
        // already explored (Godefroid's sleep(s·t) before filtering by t),
        // with first accesses as this run names them.
        sleep_.clear();
        for (const Sleeper& s : n.sleep) sleep_.push_back({s.what, s.rest, next_of(opts, s.what)});
        for (size_t i = 0; i < n.options.size(); ++i)
          if (n.done[i] && i != n.chosen) sleep_.push_back({n.options[i].what, n.fps[i], opts[i].next});
      }
      awaiting_ = true;
      first_ = opts[n.chosen].next;
      return n.chosen;
    }
    Node n;
    n.options = opts;
    n.current = cp.current;
    n.done.assign(opts.size(), false);
    n.fps.resize(opts.size());
    n.sleep = sleep_;
    n.preemptions = preemptions_;
    std::optional<size_t> pick = next_option(n);
    if (!pick) return prune();
    n.chosen = *pick;
    first_ = opts[n.chosen].next;
    preemptions_ += preemption_cost(n.options, n.current, n.chosen);
    path_.push_back(std::move(n));
    awaiting_ = true;
    return *pick;
  }

  void run_ended(const Footprint& last) { account(last); }

  // Moves to the next schedule; false when every one within the bound is done.
  bool backtrack() {
    while (!path_.empty()) {
      Node& n = path_.back();
      n.done[n.chosen] = true;
      if (std::optional<size_t> i = next_option(n)) {
        n.chosen = *i;
        return true;
      }
      path_.pop_back();
    }
    return false;
  }

 private:
  static bool same(const std::vector<Option>& a, const std::vector<Option>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
      if (!(a[i].what == b[i].what) || a[i].preempts != b[i].preempts) return false;
    return true;
  }

  std::optional<size_t> prune() {
    pruned_ = true;
    return std::nullopt;
  }

  // The first access a sleeper's option names in this run. A sleeper stays
  // enabled until a dependent step wakes it, so it is among the options; if
  // it were not, "any" keeps the reduction sound.
  static Access next_of(const std::vector<Option>& opts, const Decision& d) {
    for (const Option& o : opts)
      if (o.what == d) return o.next;
    return Access::any();
  }

  // The step that began at the last decision (or a forced point) has ended,
  // having touched `rest` after its first access first_: remember that for
  // the node, and wake every sleeper that depends on the step.
  void account(const Footprint& rest) {
    if (awaiting_) {
      Node& n = path_[depth_ - 1];
      n.fps[n.chosen] = rest;
      awaiting_ = false;
    }
    if (!sleep_.empty()) {
      const Footprint step = with_first(rest, first_);
      std::erase_if(sleep_, [&](const Sleeper& s) {
        return with_first(s.rest, s.first).dependent(step);
      });
    }
    first_ = Access::none();
  }

  // The first option not yet explored, not asleep and within the bound;
  // options that need no preemption first (they give the shortest schedules).
  std::optional<size_t> next_option(const Node& n) {
    for (int pass = 0; pass < 2; ++pass)
      for (size_t i = 0; i < n.options.size(); ++i) {
        if (n.done[i]) continue;
        const int cost = preemption_cost(n.options, n.current, i);
        if (cost != pass) continue;
        if (asleep(n.sleep, n.options[i].what)) {
          ++stats_.slept;
          continue;
        }
        if (bound_ >= 0 && n.preemptions + cost > bound_) {
          stats_.bound_cut = true;
          continue;
        }
        return i;
      }
    return std::nullopt;
  }

  const bool sleep_sets_;
  const int bound_;
  SearchStats& stats_;
  std::vector<Node> path_;
  // The run in progress.
  size_t depth_ = 0;
  std::vector<Sleeper> sleep_;
  Access first_;  // first access of the step in progress
  bool awaiting_ = false;  // path_[depth_-1]'s chosen step is running
  int preemptions_ = 0;
  bool pruned_ = false;
};

// The strategy one run gets: the search itself, seen through Strategy.
class DfsRun final : public Strategy {
 public:
  explicit DfsRun(Dfs& dfs) : dfs_(dfs) {}
  std::string name() const override { return "dfs"; }
  std::optional<size_t> choose(const ChoicePoint& cp) override { return dfs_.choose(cp); }
  std::string stop_reason() const override {
    return "pruned: every remaining option is asleep (an equivalent schedule was explored)";
  }
  bool wants_every_point() const override { return true; }
  void run_ended(const Footprint& last) override { dfs_.run_ended(last); }

 private:
  Dfs& dfs_;
};

bool out_of_time(const SearchConfig& cfg) { return cfg.out_of_time && cfg.out_of_time(); }

SearchStats search_dfs(const SearchConfig& cfg, const RunOnce& run) {
  SearchStats st;
  const int top = cfg.preemption_bound;
  // Iterative context bounding: bound 0, then 1, ... Each pass repeats the
  // schedules of the lower bounds (the search keeps no state between runs),
  // so only the schedules with exactly `bound` preemptions are new.
  for (int bound = top < 0 ? -1 : 0; bound <= top || bound < 0; ++bound) {
    st.bound_reached = bound;
    st.bound_cut = false;
    Dfs dfs(cfg, bound, st);
    for (;;) {
      if (st.runs >= cfg.max_runs) {
        st.stop = "max runs";
        return st;
      }
      if (out_of_time(cfg)) {
        st.stop = "time";
        return st;
      }
      dfs.begin_run();
      const bool found = run(st.runs, std::make_unique<DfsRun>(dfs));
      ++st.runs;
      if (dfs.pruned()) {
        ++st.pruned;
      } else if (bound <= 0 || dfs.preemptions() == bound) {
        ++st.schedules;
      }
      if (found) {
        st.found = true;
        st.found_at_run = st.runs;
        st.found_preemptions = dfs.preemptions();
        st.stop = "finding";
        return st;
      }
      if (!dfs.backtrack()) break;
    }
    // Nothing was cut by the bound: a higher one would explore the same schedules.
    if (bound < 0 || !st.bound_cut) break;
  }
  st.exhausted = true;
  st.stop = "exhausted";
  return st;
}

// The schedule seed of PCT run i: the i-th output of splitmix64 seeded with
// the search seed, so every run's seed is independent of the others and of
// which host thread runs it.
uint64_t pct_seed(uint64_t search_seed, uint64_t i) {
  uint64_t state = search_seed + i * 0x9e3779b97f4a7c15ULL;
  return splitmix64(state);
}

// PCT runs are independent, so `jobs` host threads take run numbers in
// increasing order. The result is the sequential one: the lowest-numbered run
// that finds, because every lower number was taken before it and runs to the
// end. Runs numbered above a known finding are not started.
SearchStats search_pct(const SearchConfig& cfg, const RunOnce& run) {
  std::atomic<uint64_t> next{0}, executed{0}, first_found{UINT64_MAX};
  std::atomic<bool> timed_out{false};
  auto worker = [&] {
    for (;;) {
      const uint64_t i = next.fetch_add(1);
      if (i >= cfg.max_runs || i > first_found.load()) return;
      if (out_of_time(cfg)) {
        timed_out = true;
        return;
      }
      const bool found =
          run(i, std::make_unique<PctStrategy>(pct_seed(cfg.seed, i), cfg.pct_depth, cfg.pct_steps));
      ++executed;
      if (!found) continue;
      uint64_t cur = first_found.load();
      while (i < cur && !first_found.compare_exchange_weak(cur, i)) {
      }
    }
  };
  const unsigned jobs = std::max(cfg.jobs, 1u);
  if (jobs == 1) {
    worker();
  } else {
    std::vector<std::thread> threads;
    for (unsigned j = 0; j < jobs; ++j) threads.emplace_back(worker);
    for (std::thread& t : threads) t.join();
  }
  SearchStats st;
  st.runs = st.schedules = executed.load();
  if (first_found.load() != UINT64_MAX) {
    st.found = true;
    st.found_at_run = first_found.load() + 1;
    st.stop = "finding";
  } else {
    st.stop = timed_out ? "time" : "max runs";
  }
  return st;
}

}  // namespace

SearchStats search(const SearchConfig& cfg, const RunOnce& run) {
  return cfg.kind == SearchConfig::Kind::dfs ? search_dfs(cfg, run) : search_pct(cfg, run);
}

}  // namespace kasim
