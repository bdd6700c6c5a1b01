// sim/rng.h: kasim's own random numbers.
//
// xoshiro256** (Blackman and Vigna, 2018) seeded through splitmix64. A run
// owns one Rng per purpose (schedule, workload, faults), each seeded from the
// run's seed and the stream's number, so drawing more numbers for one purpose
// never reshuffles another. Integer-only API: no floating point reaches a
// decision, so results are identical on every machine.
#pragma once

#include <cstdint>

namespace kasim {

enum class RngStream : uint64_t { schedule = 1, workload = 2, faults = 3, interrupts = 4 };

uint64_t splitmix64(uint64_t& state);

class Rng {
 public:
  Rng() : Rng(0) {}
  explicit Rng(uint64_t seed);
  Rng(uint64_t seed, RngStream stream);

  uint64_t next();
  // Uniform in [0, bound) without modulo bias; bound 0 returns 0.
  uint64_t below(uint64_t bound);
  // Uniform in [lo, hi] inclusive.
  uint64_t range(uint64_t lo, uint64_t hi);
  // True with probability num/den.
  bool chance(uint64_t num, uint64_t den) { return below(den) < num; }

 private:
  uint64_t s_[4];
};

}  // namespace kasim
