#include "sim/search.h"

#include <algorithm>
#include <cmath>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
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

  // The search of one subtree: the decisions in `prefix` (the nodes above
  // it, as the whole search had them when it reached the subtree) are
  // replayed by every run and never backtracked.
  Dfs(const SearchConfig& cfg, int bound, SearchStats& stats, std::vector<Node> prefix)
      : sleep_sets_(cfg.sleep_sets), bound_(bound), stats_(stats), path_(std::move(prefix)),
        base_(path_.size()) {}

  // Runs stop (as if pruned) at the first new decision at this depth: the
  // search only walks the top of the tree and hands the subtrees out.
  void cut_at(size_t depth) { cut_depth_ = depth; }
  bool cut() const { return cut_; }
  const std::vector<Node>& path() const { return path_; }

  void begin_run() {
    depth_ = 0;
    sleep_.clear();
    first_ = Access::none();
    awaiting_ = false;
    preemptions_ = 0;
    pruned_ = false;
    cut_ = false;
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
    if (d >= cut_depth_) {
      cut_ = true;
      return prune();
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
    while (path_.size() > base_) {
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
  const size_t base_ = 0;  // path_[0, base_) is a fixed prefix
  size_t cut_depth_ = SIZE_MAX;
  bool cut_ = false;
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

// Runs `worker` on `jobs` host threads. An exception thrown by a run (the
// program's nondeterminism, an internal error) is rethrown here once every
// thread has ended, as the sequential search would have thrown it; `failed`
// tells the others to stop taking work.
void on_threads(unsigned jobs, std::atomic<bool>& failed, const std::function<void()>& worker) {
  std::mutex mu;
  std::exception_ptr first;
  auto guarded = [&] {
    try {
      worker();
    } catch (const std::exception&) {
      failed = true;
      std::lock_guard<std::mutex> lock(mu);
      if (!first) first = std::current_exception();
    }
  };
  std::vector<std::thread> threads;
  for (unsigned j = 0; j < jobs; ++j) threads.emplace_back(guarded);
  for (std::thread& t : threads) t.join();
  if (first) std::rethrow_exception(first);
}

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
        st.found_key = st.runs - 1;
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


// ---------------------------------------------------------------------------
// Parallel dfs
//
// The sequential search is one depth-first walk; its numbers (runs,
// schedules, pruned runs, options asleep, where it stops and its first
// finding) depend on the order of the runs. The parallel search keeps that
// order and only computes its parts out of order:
//
//  1. the top of the tree is walked sequentially, exactly as the sequential
//     search walks it, except that a run stops at its first new decision at
//     depth `cut` and the subtree below that prefix becomes a task, with a
//     copy of the path above it (options, explored siblings, their
//     footprints, sleep sets: everything the sequential search knows there);
//     runs that end above the cut are made there and then;
//  2. the subtrees are searched on J host threads, each run on its own
//     machine, each subtree by its own Dfs that replays the prefix and never
//     backtracks above it, recording every run;
//  3. the records are merged in the walk's order with the sequential loop's
//     own accounting (max runs, first finding).
//
// Step 1 computes the nodes above the cut as the sequential search does
// because a node's options, footprints and sleep set depend only on the
// prefix leading to it and the siblings explored before it, never on what
// happened below those siblings. So the merged numbers are the sequential
// ones for every J. The cut depth grows until there are enough subtrees to
// keep J threads busy; the runs of the walk that stop at the cut are not
// counted (they are repeated as the first run of their subtree).

// One run as the sequential search counts it.
struct RunRecord {
  bool pruned = false;
  bool found = false;
  int preemptions = 0;
  uint64_t slept = 0;  // options found asleep in the run and in the backtrack after it
  bool bound_cut = false;  // an option was cut by the bound there
  uint64_t key = 0;        // the `run` argument it was made with
};

// A run made by the walk of the top, or a subtree handed out.
struct Item {
  bool subtree = false;
  RunRecord run;             // !subtree
  std::vector<Node> prefix;  // subtree: the path above it
  uint64_t pre_slept = 0;    // subtree: options asleep on the way down to it
  bool pre_cut = false;      // subtree: an option cut by the bound on the way down
  uint64_t post_slept = 0;   // options asleep in the walk's backtrack after it
  bool post_cut = false;     // an option cut by the bound in that backtrack
  // Filled in by the thread that searches the subtree.
  std::vector<RunRecord> runs;
  bool complete = false;  // searched to its end or to its first finding
};

// Runs of the parallel search are numbered so that their order is the
// sequential one: pass, then item of the walk, then run within the item.
uint64_t run_key(int pass, size_t item, uint64_t local) {
  return (static_cast<uint64_t>(pass) << 54) | (static_cast<uint64_t>(item) << 34) | local;
}
constexpr size_t kMaxItems = size_t{1} << 20;
constexpr uint64_t kMaxLocal = uint64_t{1} << 34;

struct Walk {
  std::vector<Item> items;
  // Why the walk stopped before the end of the pass: "time", or "max runs"
  // when it has more items than run keys can number; "" if it did not.
  std::string stopped;
  size_t subtrees = 0;
  bool found = false;  // a run of the walk found (the walk stopped there)
};

Walk walk_top(const SearchConfig& cfg, int bound, int pass, size_t cut, const RunOnce& run) {
  Walk w;
  SearchStats scratch;
  Dfs top(cfg, bound, scratch);
  top.cut_at(cut);
  for (;;) {
    if (out_of_time(cfg) || w.items.size() >= kMaxItems) {
      w.stopped = out_of_time(cfg) ? "time" : "max runs";
      break;
    }
    top.begin_run();
    const uint64_t before = scratch.slept;
    scratch.bound_cut = false;
    const uint64_t key = run_key(pass, w.items.size(), 0);
    const bool found = run(key, std::make_unique<DfsRun>(top));
    Item it;
    if (top.cut()) {
      it.subtree = true;
      it.prefix = top.path();
      it.pre_slept = scratch.slept - before;
      it.pre_cut = scratch.bound_cut;
      ++w.subtrees;
    } else {
      it.run = {top.pruned(), found, top.preemptions(), 0, false, key};
      if (found) {
        it.run.slept = scratch.slept - before;
        it.run.bound_cut = scratch.bound_cut;
        w.items.push_back(std::move(it));
        w.found = true;
        break;
      }
    }
    const uint64_t mid = scratch.slept;
    const bool cut_before = scratch.bound_cut;
    scratch.bound_cut = false;
    const bool more = top.backtrack();
    if (it.subtree) {
      it.post_slept = scratch.slept - mid;
      it.post_cut = scratch.bound_cut;
    } else {
      it.run.slept = scratch.slept - before;
      it.run.bound_cut = cut_before || scratch.bound_cut;
    }
    w.items.push_back(std::move(it));
    if (!more) break;
  }
  return w;
}

// Searches item i's subtree to its end, its first finding, max_runs runs or
// the time limit.
void search_subtree(const SearchConfig& cfg, int bound, int pass, size_t i, Item& it,
                    const RunOnce& run) {
  SearchStats local;
  Dfs dfs(cfg, bound, local, it.prefix);
  for (uint64_t j = 0; j < std::min(cfg.max_runs, kMaxLocal); ++j) {
    if (out_of_time(cfg)) break;
    dfs.begin_run();
    const uint64_t before = local.slept;
    local.bound_cut = false;
    const uint64_t key = run_key(pass, i, j);
    const bool found = run(key, std::make_unique<DfsRun>(dfs));
    RunRecord r{dfs.pruned(), found, dfs.preemptions(), 0, false, key};
    const bool more = !found && dfs.backtrack();
    r.slept = local.slept - before;
    r.bound_cut = local.bound_cut;
    it.runs.push_back(r);
    if (found || !more) {
      it.complete = true;
      break;
    }
  }
}

// The sequential loop's accounting of one run; true if the search stops
// before it (max runs).
bool over_max(const SearchConfig& cfg, SearchStats& st) {
  if (st.runs < cfg.max_runs) return false;
  st.stop = "max runs";
  return true;
}

void count_run(const RunRecord& r, int bound, SearchStats& st) {
  ++st.runs;
  if (r.pruned)
    ++st.pruned;
  else if (bound <= 0 || r.preemptions == bound)
    ++st.schedules;
  st.slept += r.slept;
  st.bound_cut = st.bound_cut || r.bound_cut;
  if (r.found) {
    st.found = true;
    st.found_at_run = st.runs;
    st.found_key = r.key;
    st.found_preemptions = r.preemptions;
    st.stop = "finding";
  }
}

SearchStats search_dfs_parallel(const SearchConfig& cfg, const RunOnce& run) {
  SearchStats st;
  const int top = cfg.preemption_bound;
  const unsigned jobs = cfg.jobs;
  int pass = 0;
  for (int bound = top < 0 ? -1 : 0; bound <= top || bound < 0; ++bound, ++pass) {
    st.bound_reached = bound;
    st.bound_cut = false;
    // Deepen the cut until there are 4 subtrees per thread (or the walk
    // covers the whole pass, or it found, or time ran out).
    Walk w;
    for (size_t cut = 1;; ++cut) {
      w = walk_top(cfg, bound, pass, cut, run);
      if (w.subtrees == 0 || w.subtrees >= 4 * jobs || w.found || !w.stopped.empty() || cut >= 32) break;
    }
    std::atomic<size_t> next{0}, first_found{SIZE_MAX};
    std::atomic<bool> failed{false};
    auto worker = [&] {
      for (;;) {
        const size_t i = next.fetch_add(1);
        if (i >= w.items.size() || i > first_found.load() || failed) return;
        Item& it = w.items[i];
        if (!it.subtree) continue;
        search_subtree(cfg, bound, pass, i, it, run);
        if (it.runs.empty() || !it.runs.back().found) continue;
        size_t cur = first_found.load();
        while (i < cur && !first_found.compare_exchange_weak(cur, i)) {
        }
      }
    };
    on_threads(jobs, failed, worker);

    // Merge in the walk's order.
    for (Item& it : w.items) {
      if (!it.subtree) {
        if (over_max(cfg, st)) return st;
        count_run(it.run, bound, st);
        if (st.found) return st;
        continue;
      }
      for (size_t j = 0; j < it.runs.size(); ++j) {
        if (over_max(cfg, st)) return st;
        if (j == 0) {
          st.slept += it.pre_slept;
          st.bound_cut = st.bound_cut || it.pre_cut;
        }
        count_run(it.runs[j], bound, st);
        if (st.found) return st;
      }
      if (!it.complete) {
        if (over_max(cfg, st)) return st;
        st.stop = "time";
        return st;
      }
      st.slept += it.post_slept;
      st.bound_cut = st.bound_cut || it.post_cut;
    }
    if (!w.stopped.empty()) {
      if (over_max(cfg, st)) return st;
      st.stop = w.stopped;
      return st;
    }
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
  std::atomic<bool> failed{false};
  auto worker = [&] {
    for (;;) {
      const uint64_t i = next.fetch_add(1);
      if (i >= cfg.max_runs || i > first_found.load() || failed) return;
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
    on_threads(jobs, failed, worker);
  }
  SearchStats st;
  st.runs = st.schedules = executed.load();
  if (first_found.load() != UINT64_MAX) {
    st.found = true;
    st.found_at_run = first_found.load() + 1;
    st.found_key = first_found.load();
    st.stop = "finding";
  } else {
    st.stop = timed_out ? "time" : "max runs";
  }
  return st;
}

}  // namespace

SearchStats search(const SearchConfig& cfg, const RunOnce& run) {
  if (cfg.kind == SearchConfig::Kind::pct) return search_pct(cfg, run);
  return cfg.jobs > 1 ? search_dfs_parallel(cfg, run) : search_dfs(cfg, run);
}

}  // namespace kasim
