#include "sim/strategy.h"

#include <stdexcept>

namespace kasim {

std::optional<size_t> TimedStrategy::choose(const ChoicePoint& cp) {
  const auto& opts = *cp.options;
  ties_.clear();
  for (size_t i = 0; i < opts.size(); ++i) {
    const Option& o = opts[i];
    if (o.preempts) continue;  // timed never preempts: an LWP runs until it blocks
    if (ties_.empty()) {
      ties_.push_back(i);
      continue;
    }
    const Option& best = opts[ties_.front()];
    // Earlier time wins; at equal time an interrupt delivery wins over running
    // code (hardware delivers as soon as the SPL allows), higher IPL first.
    auto rank = [](const Option& x) {
      return x.what.kind == OptionKind::deliver ? 1 + x.ipl : 0;
    };
    if (o.time < best.time || (o.time == best.time && rank(o) > rank(best))) {
      ties_.clear();
      ties_.push_back(i);
    } else if (o.time == best.time && rank(o) == rank(best)) {
      ties_.push_back(i);
    }
  }
  if (ties_.empty()) return 0;
  if (ties_.size() == 1) return ties_.front();
  return ties_[rng_.below(ties_.size())];
}

std::optional<size_t> RandomStrategy::choose(const ChoicePoint& cp) {
  return rng_.below(cp.options->size());
}

std::optional<size_t> ReplayStrategy::choose(const ChoicePoint& cp) {
  const auto& opts = *cp.options;
  if (next_ >= decisions_.size()) {
    reason_ = "the trace has " + std::to_string(decisions_.size()) +
              " decisions but the run needs more (at step " + std::to_string(cp.step) + ")";
    return std::nullopt;
  }
  const Decision& want = decisions_[next_];
  for (size_t i = 0; i < opts.size(); ++i) {
    if (opts[i].what == want) {
      ++next_;
      return i;
    }
  }
  std::string avail;
  for (const auto& o : opts) avail += (avail.empty() ? "" : ", ") + describe(o.what);
  reason_ = "decision " + std::to_string(next_) + " at step " + std::to_string(cp.step) +
            ": recorded " + describe(want) + ", but the options are " + avail;
  return std::nullopt;
}

std::string describe(const Decision& d) {
  std::string s = d.kind == OptionKind::run ? "run ctx " : "deliver intr ";
  return s + std::to_string(d.target) + " on cpu" + std::to_string(d.cpu);
}

std::unique_ptr<Strategy> make_strategy(const std::string& name, uint64_t seed) {
  if (name == "timed") return std::make_unique<TimedStrategy>(seed);
  if (name == "random") return std::make_unique<RandomStrategy>(seed);
  throw std::invalid_argument("unknown strategy '" + name + "' (expected timed or random)");
}

}  // namespace kasim
