// tools/bench/kmem/kmem_bench.cpp: kmem_alloc/kmem_free ns per operation.
//
// kmem on a simulated machine with one CPU and no contention, for a size of
// each route: small classes (kmem-00128, kmem-01024), big classes
// (kmem-02048, kmem-04096), and the page path (within kmem_va_arena's
// quantum caches, and beyond them). Workloads:
//  - "0 live": allocate then free the same size (the per-CPU cache's hot
//    path; the page path maps and unmaps its pages every time);
//  - "N live": N objects live, then each iteration frees a random one and
//    allocates a new one.
// Every alloc and every free is one operation. Figures are the thread's CPU
// time, best of --repeat runs.
//
//   kasim_bench_kmem [--iterations N] [--repeat N] [--markdown]
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "allocators/boot.h"
#include "allocators/kmem/kmem.h"
#include "sim/engine.h"
#include "sim/rng.h"
#include "tools/bench/bench_util.h"

using namespace kasim;

namespace {

double bench(size_t size, size_t live, uint64_t iterations, std::string* route) {
  const MachineConfig mc = bench_util::machine(1, 65536);
  Engine e(mc, make_strategy("timed", 1), 1, bench_util::unlimited());
  double ns = 0;
  e.spawn_lwp("bench", 0, [&] {
    bench_util::boot(mc);
    kmem_init(mc.coherency_unit);
    *route = kmem_route_name(kmem_globals_get().layout, size);
    Rng rng(1);
    std::vector<vaddr_t> objs;
    for (size_t i = 0; i < live; i++) objs.push_back(kmem_alloc(size, KM_SLEEP));
    const double t0 = bench_util::thread_cpu_ns();
    for (uint64_t i = 0; i < iterations; i++) {
      if (live == 0) {
        kmem_free(kmem_alloc(size, KM_SLEEP), size);
      } else {
        const size_t k = rng.below(live);
        kmem_free(objs[k], size);
        objs[k] = kmem_alloc(size, KM_SLEEP);
      }
    }
    ns = (bench_util::thread_cpu_ns() - t0) / static_cast<double>(2 * iterations);
    for (vaddr_t v : objs) kmem_free(v, size);
  });
  e.run();
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  const bench_util::Options opt = bench_util::parse_options(argc, argv, 200000, "");
  struct Case {
    size_t size;
    size_t live;
  } cases[] = {{64, 0},   {64, 1000},   {1000, 0},  {1000, 1000}, {2000, 0},
               {4000, 0}, {4000, 1000}, {8192, 0},  {8192, 1000}, {100000, 0}};
  if (opt.markdown) {
    std::printf("| size | route | live objects | ns/op |\n");
    std::printf("|---:|---|---:|---:|\n");
  }
  for (const Case& c : cases) {
    double best = 1e18;
    std::string route;
    for (int r = 0; r < opt.repeat; r++) best = std::min(best, bench(c.size, c.live, opt.iterations, &route));
    const std::string live = c.live == 0 ? std::string("0 (alloc+free)") : std::to_string(c.live);
    if (route == "kmem_va_arena") route = c.size <= 16 * 4096 ? "page path (quantum cache)" : "page path";
    if (opt.markdown)
      std::printf("| %zu | %s | %s | %.1f |\n", c.size, route.c_str(), live.c_str(), best);
    else
      std::printf("size %zu %s live %s: %.1f ns/op\n", c.size, route.c_str(), live.c_str(), best);
  }
  return 0;
}
