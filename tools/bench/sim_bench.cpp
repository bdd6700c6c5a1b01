// tools/bench/sim_bench.cpp: how fast the simulated machine runs.
//
// The figure that matters is scheduling points per second (DESIGN.md,
// "Performance stance"): every mutex enter/exit, atomic, SPL drop and delay is
// one, and a model-checking campaign is bounded by how many it can run. Each
// benchmark iteration builds a fresh machine and runs one program to the end,
// as a fuzz campaign does; items_per_second counts the engine's steps
// (Engine::steps(), one per scheduling point) unless stated otherwise.
#include <benchmark/benchmark.h>

#include <memory>

#include "sim/engine.h"
#include "sim/kernel.h"

namespace kasim {
namespace {

MachineConfig bench_machine(int cpus) {
  MachineConfig mc;
  mc.cpus = cpus;
  mc.phys_pages = 16;  // the page store is not under test: keep set-up small
  mc.free_target = 1;
  mc.pagedaemon = false;
  return mc;
}

// Kernel objects must be initialized inside a run; with several CPUs the
// first context to get there does it (mutex_init is not a scheduling point).
struct Shared {
  kmutex m;
  kcondvar cv;
  bool ready = false;
  int turn = 0;
  void init(ipl_t ipl) {
    if (ready) return;
    ready = true;
    mutex_init(&m, MUTEX_DEFAULT, ipl);
    cv_init(&cv, "pingpong");
  }
};

void report(benchmark::State& state, uint64_t steps, uint64_t items) {
  state.SetItemsProcessed(static_cast<int64_t>(items));
  state.counters["steps_per_run"] =
      benchmark::Counter(static_cast<double>(steps) / static_cast<double>(state.iterations()));
}

// One LWP on one CPU: the scheduler's fast path (a single option, no strategy
// call, no fiber switch). range(0): loop iterations; range(1): 0 = delay_ns(1)
// (one scheduling point each), 1 = mutex_enter + mutex_exit (two each).
void BM_SchedPoints_1cpu(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const bool use_mutex = state.range(1) != 0;
  state.SetLabel(use_mutex ? "mutex_enter/exit" : "delay_ns(1)");
  uint64_t steps = 0;
  for (auto _ : state) {
    Engine e(bench_machine(1), make_strategy("timed", 1), 1);
    auto sh = std::make_shared<Shared>();
    e.spawn_lwp("loop", 0, [sh, n, use_mutex] {
      sh->init(IPL_NONE);
      for (int i = 0; i < n; ++i) {
        if (use_mutex) {
          mutex_enter(&sh->m);
          mutex_exit(&sh->m);
        } else {
          delay_ns(1);
        }
      }
    });
    if (e.run() != Outcome::completed) state.SkipWithError("run did not complete");
    steps += e.steps();
  }
  report(state, steps, steps);
}
BENCHMARK(BM_SchedPoints_1cpu)->Args({1 << 16, 0})->Args({1 << 16, 1})->Unit(benchmark::kMillisecond);

// Two LWPs on two CPUs contending one spin mutex under the random strategy:
// every scheduling point is a real choice (strategy call, decision recorded),
// and contention means spinning and fiber switches between CPUs.
void BM_SchedPoints_2cpu_random(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  state.SetLabel("spin mutex, random strategy");
  uint64_t steps = 0, seed = 0;
  for (auto _ : state) {
    ++seed;
    Engine e(bench_machine(2), make_strategy("random", seed), seed);
    auto sh = std::make_shared<Shared>();
    for (int cpu = 0; cpu < 2; ++cpu)
      e.spawn_lwp(cpu == 0 ? "c0" : "c1", cpu, [sh, n] {
        sh->init(IPL_VM);
        for (int i = 0; i < n; ++i) {
          mutex_enter(&sh->m);
          mutex_exit(&sh->m);
        }
      });
    if (e.run() != Outcome::completed) state.SkipWithError("run did not complete");
    steps += e.steps();
  }
  report(state, steps, steps);
}
BENCHMARK(BM_SchedPoints_2cpu_random)->Arg(1 << 15)->Unit(benchmark::kMillisecond);

// Two LWPs on one CPU taking turns under a mutex and condvar: each turn the
// running LWP wakes the other and sleeps in cv_wait, so every turn is an LWP
// context switch, i.e. a fiber switch. items_per_second counts context
// switches (the LWPs' l_ncsw).
void BM_MutexPingPong_1cpu_2lwps(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  state.SetLabel("cv_wait/cv_signal turns; items = context switches");
  uint64_t steps = 0, switches = 0;
  for (auto _ : state) {
    Engine e(bench_machine(1), make_strategy("timed", 1), 1);
    auto sh = std::make_shared<Shared>();
    Ctx* players[2];
    for (int me = 0; me < 2; ++me)
      players[me] = e.spawn_lwp(me == 0 ? "p0" : "p1", 0, [sh, n, me] {
        sh->init(IPL_NONE);
        mutex_enter(&sh->m);
        for (int i = 0; i < n; ++i) {
          while (sh->turn != me) cv_wait(&sh->cv, &sh->m);
          sh->turn = 1 - me;
          cv_signal(&sh->cv);
        }
        mutex_exit(&sh->m);
      });
    if (e.run() != Outcome::completed) state.SkipWithError("run did not complete");
    steps += e.steps();
    switches += players[0]->l_ncsw + players[1]->l_ncsw;
  }
  report(state, steps, switches);
  state.counters["switches_per_run"] =
      benchmark::Counter(static_cast<double>(switches) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_MutexPingPong_1cpu_2lwps)->Arg(1 << 15)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace kasim

BENCHMARK_MAIN();
