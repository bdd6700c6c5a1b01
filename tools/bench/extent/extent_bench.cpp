// tools/bench/extent/extent_bench.cpp: extent_alloc_subregion + extent_free
// ns per operation.
//
// One EX_NOCOALESCE extent on a simulated machine with one CPU and no
// contention, holding N regions of 1 unit spaced 2 units apart (so N gaps of
// one unit and a large tail). Each iteration frees a random one of them and
// allocates 1 unit again with extent_alloc_subregion: the free walks the
// list to its region, the allocation to the first free gap, which is an
// exact fit (so best fit stops there as EX_FAST does) — each operation costs
// O(N): extent's region list is a linear list by design. Variants: best fit,
// and EX_FAST (first fit).
// A second workload, "no exact fit", spaces the regions three units apart
// (two-unit gaps) and allocates one unit and frees it again: best fit finds
// no exact fit and walks the whole list (keeping the first gap: ties keep
// the first), while EX_FAST stops at the first gap. Every alloc and every free is one operation
// and includes one ex_lock enter/exit and one expool get or put. Figures are
// the thread's CPU time, best of --repeat runs.
//
//   kasim_bench_extent [--iterations N] [--repeat N] [--markdown]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "allocators/boot.h"
#include "allocators/extent/extent.h"
#include "sim/engine.h"
#include "sim/rng.h"
#include "tools/bench/bench_util.h"

using namespace kasim;

namespace {

double bench(size_t nregions, bool fast, bool exact, uint64_t iterations) {
  const MachineConfig mc = bench_util::machine(1, 16384);
  Engine e(mc, make_strategy("timed", 1), 1, bench_util::unlimited());
  double ns = 0;
  e.spawn_lwp("bench", 0, [&] {
    bench_util::boot(mc);
    extent* ex = extent_create("bench", 0, 0xffffffffUL, 0, 0, EX_WAITOK | EX_NOCOALESCE);
    // Highest first: each region goes to the head, so building the map is
    // linear rather than quadratic.
    const u_long spacing = exact ? 2 : 3;
    std::vector<u_long> live;
    for (size_t i = nregions; i-- > 0;) {
      live.push_back(spacing * i);
      (void)extent_alloc_region(ex, spacing * i, 1, EX_WAITOK);
    }
    const int flags = EX_NOWAIT | (fast ? EX_FAST : 0);
    Rng rng(1);
    const double t0 = bench_util::thread_cpu_ns();
    for (uint64_t i = 0; i < iterations; i++) {
      u_long r = 0;
      if (exact) {
        const size_t k = rng.below(live.size());
        (void)extent_free(ex, live[k], 1, EX_NOWAIT);
        (void)extent_alloc_subregion(ex, 0, 0xffffffffUL, 1, 1, 0, flags, &r);
        live[k] = r;
      } else {
        (void)extent_alloc_subregion(ex, 0, 0xffffffffUL, 1, 1, 0, flags, &r);
        (void)extent_free(ex, r, 1, EX_NOWAIT);
      }
    }
    ns = (bench_util::thread_cpu_ns() - t0) / static_cast<double>(2 * iterations);
  });
  e.run();
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  // --iterations 0 (the default): a count per size that keeps each run near a second
  const bench_util::Options opt = bench_util::parse_options(argc, argv, 0, "");
  if (opt.markdown) {
    std::printf("| workload | regions | policy | iterations | ns/op | ns/op per region |\n");
    std::printf("|---|---:|---|---:|---:|---:|\n");
  }
  for (bool exact : {true, false}) {
    for (size_t n : {size_t{10}, size_t{1000}, size_t{100000}}) {
      for (bool fast : {false, true}) {
        const uint64_t it =
            opt.iterations ? opt.iterations : n >= 100000 ? 2000 : n >= 1000 ? 100000 : 500000;
        double best = 1e18;
        for (int r = 0; r < opt.repeat; r++) best = std::min(best, bench(n, fast, exact, it));
        const char* policy = fast ? "EX_FAST (first fit)" : "best fit";
        const char* work = exact ? "random free + alloc" : "no exact fit";
        if (opt.markdown)
          std::printf("| %s | %zu | %s | %llu | %.1f | %.3f |\n", work, n, policy,
                      static_cast<unsigned long long>(it), best, best / static_cast<double>(n));
        else
          std::printf("%s, %zu regions, %s: %.1f ns/op\n", work, n, policy, best);
      }
    }
  }
  return 0;
}
