// sim/strategy.h: who decides what runs next.
//
// At every scheduling point the engine lists the options — run the active
// context of some CPU, or deliver a pending interrupt on some CPU — and, when
// there is more than one, asks the strategy to pick. The engine records every
// pick by meaning (kind, CPU, target id), so a replay can feed it back with no
// strategy at all and name the first point where a changed program diverges.
// PCT and exhaustive search plug in here without touching the engine: they see
// the same options, the step count and the decision count.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/rng.h"

namespace kasim {

enum class OptionKind : uint8_t {
  run = 0,      // let `target` (a context id) run on `cpu`
  deliver = 1,  // deliver pending interrupt source `target` on `cpu`
};

struct Decision {
  OptionKind kind = OptionKind::run;
  uint16_t cpu = 0;
  uint32_t target = 0;
  bool operator==(const Decision&) const = default;
};

// What a step touches, for partial-order reduction (sim/search.h). Each
// scheduling point names the first shared object the step after it will touch
// (Ctx::pending, shown on Option::next); the engine records in a Footprint
// the context, its CPU and whatever else the step touches as it runs
// (Engine::note_access). Keys are compared for equality only, never ordered,
// so address keys cannot leak into decisions. An address means the same
// object only within one run, so only the first access (Option::next) may be
// an address; what note_access records is an id or a fixed key.
enum class AccessKind : uint8_t {
  none = 0,  // nothing shared: code private to the context (data-race freedom)
  any,       // unknown: dependent with every step
  object,    // a kmutex, kcondvar or wait queue, by object id
  word,      // an atomic word, by address
  pages,     // the physical page store and the kernel pmap
  cpu,       // a CPU's own state: SPL, run queue, interrupt stack (by index)
  ctx,       // a context's own state (by id): makes its steps dependent on each other
};

struct Access {
  AccessKind kind = AccessKind::none;
  uint64_t key = 0;
  static constexpr Access any() { return {AccessKind::any, 0}; }
  static constexpr Access none() { return {AccessKind::none, 0}; }
};

// Every object one step touched: a small set, "any" when it overflows.
class Footprint {
 public:
  void clear() {
    n_ = 0;
    any_ = false;
  }
  void add(Access a) {
    if (a.kind == AccessKind::none || any_) return;
    if (a.kind == AccessKind::any || n_ == kMax) {
      any_ = true;
      return;
    }
    const uint64_t k = (static_cast<uint64_t>(a.kind) << 60) | (a.key & ((1ULL << 60) - 1));
    for (uint8_t i = 0; i < n_; ++i)
      if (keys_[i] == k) return;
    keys_[n_++] = k;
  }
  bool any() const { return any_; }
  size_t size() const { return n_; }
  // Two steps are dependent when they touch a common object (or either is "any").
  bool dependent(const Footprint& o) const {
    if (any_ || o.any_) return true;
    for (uint8_t i = 0; i < n_; ++i)
      for (uint8_t j = 0; j < o.n_; ++j)
        if (keys_[i] == o.keys_[j]) return true;
    return false;
  }

 private:
  static constexpr uint8_t kMax = 14;
  uint8_t n_ = 0;
  bool any_ = false;
  uint64_t keys_[kMax] = {};
};

struct Option {
  Decision what;
  uint64_t time = 0;  // simulated time at which this option would start
  int ipl = 0;        // for deliver: the source's IPL
  bool preempts = false;  // run: switches away from a runnable LWP on the same CPU
  Access next;            // what the step this option starts touches first
};

struct ChoicePoint {
  uint64_t step = 0;      // engine steps so far
  uint64_t decision = 0;  // index of this decision among recorded ones
  const std::vector<Option>* options = nullptr;
  uint32_t current = 0;  // id of the context that reached this point (0: main, at the start)
  // With Strategy::wants_every_point(): the footprint of the step that just
  // ended, without its first access (empty at the start of the run).
  const Footprint* last = nullptr;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // Returns an index into *cp.options, or nullopt to stop the run (replay divergence).
  virtual std::optional<size_t> choose(const ChoicePoint& cp) = 0;
  // Why the strategy stopped the run, when choose returned nullopt.
  virtual std::string stop_reason() const { return {}; }
  // A strategy that answers true is also asked at scheduling points with a
  // single option (never recorded as decisions), and the engine records step
  // footprints for it. Costs time on every step: only model checking wants it.
  virtual bool wants_every_point() const { return false; }
  // Called once when the run ends, with the footprint of its last step
  // (empty unless wants_every_point()).
  virtual void run_ended(const Footprint& last) { (void)last; }
};

// Earliest simulated clock first; a pending deliverable interrupt before the
// code it interrupts; ties broken by the schedule stream of the seed.
class TimedStrategy final : public Strategy {
 public:
  explicit TimedStrategy(uint64_t seed) : rng_(seed, RngStream::schedule) {}
  std::string name() const override { return "timed"; }
  std::optional<size_t> choose(const ChoicePoint& cp) override;

 private:
  Rng rng_;
  std::vector<size_t> ties_;
};

// Uniformly random among the options.
class RandomStrategy final : public Strategy {
 public:
  explicit RandomStrategy(uint64_t seed) : rng_(seed, RngStream::schedule) {}
  std::string name() const override { return "random"; }
  std::optional<size_t> choose(const ChoicePoint& cp) override;

 private:
  Rng rng_;
};

// Feeds back recorded decisions. Stops the run at the first decision that is
// not among the options, or when the record runs out.
class ReplayStrategy final : public Strategy {
 public:
  explicit ReplayStrategy(std::vector<Decision> decisions) : decisions_(std::move(decisions)) {}
  std::string name() const override { return "replay"; }
  std::optional<size_t> choose(const ChoicePoint& cp) override;
  std::string stop_reason() const override { return reason_; }
  size_t consumed() const { return next_; }
  size_t recorded() const { return decisions_.size(); }

 private:
  std::vector<Decision> decisions_;
  size_t next_ = 0;
  std::string reason_;
};

std::string describe(const Decision& d);
std::unique_ptr<Strategy> make_strategy(const std::string& name, uint64_t seed);

}  // namespace kasim
