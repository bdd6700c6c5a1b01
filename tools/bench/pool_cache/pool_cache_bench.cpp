// tools/bench/pool_cache/pool_cache_bench.cpp: pool_cache(9) against a bare
// pool(9), natively and on the simulated machine.
//
// Native: ns per operation (thread CPU time, best of --repeat runs) of a get
// then a put of the same object on one LWP of one CPU, no contention: the
// pool_cache fast path (splvm, the per-CPU group, splx) and pool_get/put
// (pr_lock enter/exit around the page lists). Each get and each put is one
// operation.
//
// Simulated: each CPU runs one LWP doing --pairs get/put pairs (one object
// held at a time) on one shared cache, or on one shared pool; throughput is
// operations per simulated second, total operations divided by the latest
// CPU clock at the end, under the timed strategy and the default cost model.
// This is Bonwick and Adams's comparison ("Magazines and Vmem", USENIX 2001):
// per-CPU caching should scale close to linearly with CPUs, a single locked
// pool should not, because its pr_lock (a spin mutex at IPL_VM) serialises
// the CPUs and moves between their caches on every operation.
//
//   kasim_bench_pool_cache [--iterations N] [--pairs N] [--repeat N] [--markdown]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "allocators/boot.h"
#include "allocators/pool_cache/pool_cache.h"
#include "sim/engine.h"
#include "sim/rng.h"
#include "tools/bench/bench_util.h"

using namespace kasim;

namespace {

// Native ns per operation of get+put on one CPU.
double native(bool cached, uint64_t iterations) {
  const MachineConfig mc = bench_util::machine(1, 16384);
  Engine e(mc, make_strategy("timed", 1), 1, bench_util::unlimited());
  double ns = 0;
  e.spawn_lwp("bench", 0, [&] {
    bench_util::boot(mc);
    pool_cache* pc = pool_cache_init(64, 0, 0, 0, "bench", nullptr, IPL_VM, nullptr, nullptr,
                                     nullptr);
    pool* pp = &pc->pc_pool;
    // Warm: the cache's groups exist and hold an object.
    if (cached) pool_cache_put(pc, pool_cache_get(pc, PR_NOWAIT));
    const double t0 = bench_util::thread_cpu_ns();
    for (uint64_t i = 0; i < iterations; i++) {
      if (cached)
        pool_cache_put(pc, pool_cache_get(pc, PR_NOWAIT));
      else
        pool_put(pp, pool_get(pp, PR_NOWAIT));
    }
    ns = (bench_util::thread_cpu_ns() - t0) / static_cast<double>(2 * iterations);
  });
  e.run();
  return ns;
}

// Operations per simulated second with `cpus` CPUs each doing `pairs` pairs.
double simulated(bool cached, int cpus, uint64_t pairs) {
  const MachineConfig mc = bench_util::machine(cpus, 16384);
  Engine e(mc, make_strategy("timed", 1), 1, bench_util::unlimited());
  pool_cache* pc = nullptr;
  auto work = [&pc, cached, pairs] {
    for (uint64_t i = 0; i < pairs; i++) {
      if (cached)
        pool_cache_put(pc, pool_cache_get(pc, PR_NOWAIT));
      else
        pool_put(&pc->pc_pool, pool_get(&pc->pc_pool, PR_NOWAIT));
    }
  };
  // CPU 0 boots, creates the cache, then starts the other CPUs' workers.
  e.spawn_lwp("w0", 0, [&] {
    bench_util::boot(mc);
    pc = pool_cache_init(64, 0, 0, 0, "bench", nullptr, IPL_VM, nullptr, nullptr, nullptr);
    for (int c = 1; c < cpus; c++) {
      // Not "w" + to_string(c): GCC 12 at -O3 reports a false -Wrestrict there.
      std::string name = "w";
      name += std::to_string(c);
      e.spawn_lwp(name, c, work);
    }
    work();
  });
  // Boot is part of the measured time; it is small against the pairs.
  if (e.run() != Outcome::completed) return 0;
  const double secs = static_cast<double>(e.sim_time()) / 1e9;
  return static_cast<double>(2 * pairs * static_cast<uint64_t>(cpus)) / secs;
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t pairs = 20000;
  const bench_util::Options opt =
      bench_util::parse_options(argc, argv, 500000, " [--pairs N]", [&](const std::string& o, const char* v) {
        if (o != "pairs") return false;
        pairs = std::strtoull(v, nullptr, 10);
        return true;
      });
  double best_cache = 1e18, best_pool = 1e18;
  for (int r = 0; r < opt.repeat; r++) {
    best_cache = std::min(best_cache, native(true, opt.iterations));
    best_pool = std::min(best_pool, native(false, opt.iterations));
  }
  if (opt.markdown) {
    std::printf("## Native cost of one operation (1 CPU, no contention)\n\n");
    std::printf("| path | ns/op |\n|---|---:|\n");
    std::printf("| pool_cache_get/put fast path | %.1f |\n| pool_get/put | %.1f |\n\n", best_cache,
                best_pool);
    std::printf("## Simulated throughput (%llu get/put pairs per CPU)\n\n",
                static_cast<unsigned long long>(pairs));
    std::printf("| CPUs | pool_cache Mops/s | speed-up | bare pool Mops/s | speed-up |\n");
    std::printf("|---:|---:|---:|---:|---:|\n");
  } else {
    std::printf("native: pool_cache fast path %.1f ns/op, pool_get/put %.1f ns/op\n", best_cache,
                best_pool);
  }
  double base_cache = 0, base_pool = 0;
  for (int cpus : {1, 2, 4, 8, 16}) {
    const double tc = simulated(true, cpus, pairs);
    const double tp = simulated(false, cpus, pairs);
    if (cpus == 1) {
      base_cache = tc;
      base_pool = tp;
    }
    if (opt.markdown)
      std::printf("| %d | %.1f | %.2f | %.1f | %.2f |\n", cpus, tc / 1e6, tc / base_cache, tp / 1e6,
                  tp / base_pool);
    else
      std::printf("%2d CPUs: pool_cache %.1f Mops/s (x%.2f), pool %.1f Mops/s (x%.2f)\n", cpus,
                  tc / 1e6, tc / base_cache, tp / 1e6, tp / base_pool);
  }
  return 0;
}
