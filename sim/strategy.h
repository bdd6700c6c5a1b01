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

struct Option {
  Decision what;
  uint64_t time = 0;  // simulated time at which this option would start
  int ipl = 0;        // for deliver: the source's IPL
  bool preempts = false;  // run: switches away from a runnable LWP on the same CPU
};

struct ChoicePoint {
  uint64_t step = 0;      // engine steps so far
  uint64_t decision = 0;  // index of this decision among recorded ones
  const std::vector<Option>* options = nullptr;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // Returns an index into *cp.options, or nullopt to stop the run (replay divergence).
  virtual std::optional<size_t> choose(const ChoicePoint& cp) = 0;
  // Why the strategy stopped the run, when choose returned nullopt.
  virtual std::string stop_reason() const { return {}; }
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
