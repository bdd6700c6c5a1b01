// tools/bench/bench_util.h: what the native allocator benchmarks share — the
// clock they time with and their command line.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <string>

#include "allocators/boot.h"
#include "sim/engine.h"

namespace kasim::bench_util {

// CPU time of this thread in ns: the machine is shared, so wall time would
// count other processes' work.
inline double thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

// A machine for a native benchmark: no page daemon (nothing but the bench
// runs), kernel VA twice the physical memory.
inline MachineConfig machine(int cpus, uint64_t phys_pages) {
  MachineConfig mc;
  mc.cpus = cpus;
  mc.phys_pages = phys_pages;
  mc.kva_pages = 2 * mc.phys_pages;
  mc.pagedaemon = false;
  return mc;
}

// kasim_vm_boot for that machine.  => in an LWP of it.
inline void boot(const MachineConfig& mc) {
  vm_boot_params p;
  p.kva_base = mc.kva_base;
  p.kva_pages = mc.kva_pages;
  p.page_size = mc.page_size;
  p.phys_pages = mc.phys_pages;
  kasim_vm_boot(p);
}

// No step or time bound: a benchmark run ends when its work does.
inline RunLimits unlimited() {
  RunLimits limits;
  limits.max_steps = UINT64_MAX;
  limits.max_time_ns = UINT64_MAX;
  return limits;
}

struct Options {
  uint64_t iterations = 0;
  int repeat = 3;  // best of this many runs
  bool markdown = false;
};

// parse_options: --iterations N, --repeat N, --markdown, plus the bench's own
// options: `extra(name, value)` is offered each other "--name value" pair and
// returns whether it took it. Anything else prints `usage` and exits with 2.
inline Options parse_options(int argc, char** argv, uint64_t default_iterations,
                             const char* usage,
                             const std::function<bool(const std::string&, const char*)>& extra = {}) {
  Options o;
  o.iterations = default_iterations;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--markdown") {
      o.markdown = true;
    } else if (a == "--iterations" && value) {
      o.iterations = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--repeat" && value) {
      o.repeat = std::max(1, std::atoi(argv[++i]));
    } else if (a.rfind("--", 0) == 0 && value && extra && extra(a.substr(2), value)) {
      ++i;
    } else {
      std::fprintf(stderr, "usage: %s [--iterations N] [--repeat N] [--markdown]%s\n", argv[0],
                   usage);
      std::exit(2);
    }
  }
  return o;
}

}  // namespace kasim::bench_util
