// tools/bench/pool/pool_bench.cpp: pool_get/pool_put ns per operation.
//
// One pool on a simulated machine with one CPU and no contention. Workloads:
//  - "lifo": get then put the same item (the hot path: one page, curpage);
//  - "steady N": N live items, then each iteration puts a random live item
//    and gets a new one (items spread over many pages, pages go partial,
//    empty and full).
// Every get and every put is one operation, and each includes one pr_lock
// enter/exit (two scheduling points with a single runnable context). Figures
// are the thread's CPU time, best of --repeat runs.
//
//   kasim_bench_pool [--iterations N] [--repeat N] [--markdown]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "allocators/boot.h"
#include "allocators/pool/pool.h"
#include "sim/engine.h"
#include "sim/rng.h"
#include "tools/bench/bench_util.h"

using namespace kasim;

namespace {

double bench(size_t size, unsigned align, int ipl, size_t live, uint64_t iterations) {
  const MachineConfig mc = bench_util::machine(1, 16384);
  Engine e(mc, make_strategy("timed", 1), 1, bench_util::unlimited());
  double ns = 0;
  e.spawn_lwp("bench", 0, [&] {
    bench_util::boot(mc);
    pool* pp = kasim_pool_new();
    pool_init(pp, size, align, 0, 0, "bench", nullptr, ipl);
    Rng rng(1);
    std::vector<vaddr_t> items;
    for (size_t i = 0; i < live; i++) items.push_back(pool_get(pp, PR_NOWAIT));
    const double t0 = bench_util::thread_cpu_ns();
    for (uint64_t i = 0; i < iterations; i++) {
      if (live == 0) {
        pool_put(pp, pool_get(pp, PR_NOWAIT));
      } else {
        const size_t k = rng.below(live);
        pool_put(pp, items[k]);
        items[k] = pool_get(pp, PR_NOWAIT);
      }
    }
    ns = (bench_util::thread_cpu_ns() - t0) / static_cast<double>(2 * iterations);
    for (vaddr_t v : items) pool_put(pp, v);
  });
  e.run();
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  const bench_util::Options opt = bench_util::parse_options(argc, argv, 500000, "");
  struct Case {
    size_t size;
    unsigned align;
    int ipl;
    size_t live;
  } cases[] = {{64, 64, IPL_VM, 0},   {64, 64, IPL_VM, 1000},   {64, 64, IPL_VM, 100000},
               {32, 8, IPL_VM, 0},    {32, 8, IPL_VM, 1000},    {32, 8, IPL_VM, 100000},
               {1024, 0, IPL_VM, 0},  {1024, 0, IPL_VM, 10000}, {64, 64, IPL_NONE, 1000}};
  if (opt.markdown) {
    std::printf("| item size | align | header / free items | pr_lock | live items | ns/op |\n");
    std::printf("|---:|---:|---|---|---:|---:|\n");
  }
  for (const Case& c : cases) {
    double best = 1e18;
    for (int r = 0; r < opt.repeat; r++) best = std::min(best, bench(c.size, c.align, c.ipl, c.live, opt.iterations));
    const char* kind = c.size == 1024 ? "off-page / bitmap" : c.align == 64 ? "on-page / bitmap"
                                                                           : "on-page / list";
    const char* lock = c.ipl == IPL_VM ? "spin (IPL_VM)" : "adaptive (IPL_NONE)";
    const std::string live = c.live == 0 ? std::string("0 (get+put)") : std::to_string(c.live);
    if (opt.markdown)
      std::printf("| %zu | %u | %s | %s | %s | %.1f |\n", c.size, c.align, kind, lock,
                  live.c_str(), best);
    else
      std::printf("size %zu align %u %s %s live %s: %.1f ns/op\n", c.size, c.align, kind, lock,
                  live.c_str(), best);
  }
  return 0;
}
