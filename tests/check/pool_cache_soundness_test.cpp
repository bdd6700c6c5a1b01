// tests/check/pool_cache_soundness_test.cpp: soundness of the sleep-set
// reduction on pool_cache(9).
//
// Two LWPs (CPU 0 and CPU 1) each get and put one object of an IPL_VM
// pool_cache; an IPL_VM interrupt on CPU 0 does a get and a put of its own.
// dfs explores the program with and without sleep sets and collects the
// final state of every completed schedule: which object each context got,
// each CPU's groups (cc_current, cc_previous: their objects in stack order),
// the full and partial group lists, the backing pool's counters.
//
// Why equal sets are evidence that the dependency relation is sound for
// pool_cache: sleep sets only skip a schedule when it differs from an
// explored one by swapping adjacent steps the relation calls independent.
// If the relation missed a real conflict, the skipped schedule would
// commute two steps that do not commute, and its final state would be one
// no explored schedule reaches: the set with sleep sets would be smaller.
// pool_cache's shared state is reached three ways, each named by the steps'
// footprints: the CAS words pc_fullgroups, pc_partgroups and the global
// empty-group stack (atomic words, the step after the atomic's scheduling
// point), the per-CPU pool_cache_cpu (touched only on its CPU at splvm:
// the CPU key, which every step on that CPU and every delivery on it carry),
// and the pool behind it (pr_lock, a mutex key). An interrupt taken on CPU 0
// in the middle of a fast path would be exactly such a missed conflict if
// deliveries did not carry the CPU key. The search is bounded by 3
// preemptions (2 under the sanitizers) (the unbounded space is over two million runs without
// sleep sets). Sleep sets under a bound may in principle miss a schedule
// whose only explored equivalent needs more preemptions
// (docs/model-checking.md); the test pins that this does not lose a final
// state here, so a difference means a dependency the footprints miss.
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "allocators/boot.h"
#include "allocators/pool_cache/pool_cache.h"
#include "sim/search.h"
#include "tests/sim/sim_test_util.h"

namespace kasim {
namespace {

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRIx64, v);
  return buf;
}

std::string group(const pcg_t* g) {
  if (g == nullptr) return "-";
  if (g->pcg_size == 0) return "dummy";
  std::string s = "[";
  for (unsigned i = 0; i < g->pcg_avail; ++i) s += hex(g->pcg_objects[i].pcgo_va) + " ";
  return s + "]";
}

std::string list(const pcg_t* g) {
  std::string s;
  for (; g != nullptr; g = g->pcg_next) s += group(g);
  return s;
}

// The final state of the machine's one cache, as a string.
std::string final_state(const pool_cache* pc, const std::vector<vaddr_t>& got) {
  std::string s = "got";
  for (vaddr_t v : got) s += " " + hex(v);
  for (size_t c = 0; c < pc->pc_cpus.size(); ++c) {
    const pool_cache_cpu_t* cc = pc->pc_cpus[c].get();
    s += " | cpu" + std::to_string(c) + " cur " + group(cc->cc_current) + " prev " +
         group(cc->cc_previous);
  }
  s += " | full " + list(pc->pc_fullgroups) + " part " + list(pc->pc_partgroups);
  const pool& pp = pc->pc_pool;
  s += " | pool nout " + std::to_string(pp.pr_nout) + " nget " + std::to_string(pp.pr_nget) +
       " nput " + std::to_string(pp.pr_nput) + " npages " + std::to_string(pp.pr_npages) +
       " | ctor " + std::to_string(pc->pc_nctor);
  return s;
}

int null_ctor(void*, vaddr_t, int) { return 0; }

MachineConfig machine() {
  MachineConfig mc = test::machine(2, 256);
  mc.kva_pages = 512;
  return mc;
}

struct Program {
  std::shared_ptr<std::set<std::string>> finals = std::make_shared<std::set<std::string>>();

  test::Setup setup() const {
    auto finals_ = finals;
    return [finals_](Engine& e) {
      e.spawn_lwp("boot", 0, [&e, finals_] {
        vm_boot_params p;
        const MachineConfig mc = machine();
        p.kva_base = mc.kva_base;
        p.kva_pages = mc.kva_pages;
        p.page_size = mc.page_size;
        p.phys_pages = mc.phys_pages;
        kasim_vm_boot(p);
        pool_subsystem_init();
        pool_cache* pc =
            pool_cache_init(256, 0, 0, 0, "mb", nullptr, IPL_VM, null_ctor, nullptr, nullptr);
        // Host-side bookkeeping of this one machine (no scheduling point):
        // the context that finishes last records the final state.
        auto got = std::make_shared<std::vector<vaddr_t>>(3, 0);
        auto left = std::make_shared<int>(3);
        auto user = [pc, got, left, finals_](size_t who) {
          const vaddr_t v = pool_cache_get(pc, PR_NOWAIT);
          KASSERTMSG(v != 0, "pool_cache_get failed");
          (*got)[who] = v;
          pool_cache_put(pc, v);
          if (--*left == 0) finals_->insert(final_state(pc, *got));
        };
        for (int t = 0; t < 2; ++t) {
          Ctx* c = e.spawn_lwp("t" + std::to_string(t), t, [user, t] { user(static_cast<size_t>(t)); });
          c->ready_at = e.now();
        }
        e.add_interrupt("nic0", 0, IPL_VM, {0}, 0, 0, [user] { user(2); });
      });
    };
  }
};

// Bound 3 takes 2-3 s in an optimized build and two minutes under
// AddressSanitizer; the sanitizer run checks memory safety and uses bound 2.
#ifdef __SANITIZE_ADDRESS__
constexpr int kBound = 2;
#else
constexpr int kBound = 3;
#endif

struct Explored {
  SearchStats st;
  std::set<std::string> finals;
};

Explored explore(bool sleep_sets) {
  Program prog;
  const test::Setup setup = prog.setup();
  SearchConfig c;
  c.kind = SearchConfig::Kind::dfs;
  c.preemption_bound = kBound;
  c.sleep_sets = sleep_sets;
  c.max_runs = 2'000'000;
  Explored out;
  out.st = search(c, [&](uint64_t, std::unique_ptr<Strategy> s) {
    test::RunResult r = test::run_program(machine(), std::move(s), 1, setup);
    EXPECT_NE(r.outcome, Outcome::finding) << test::describe_findings(r.findings);
    return r.outcome == Outcome::finding;
  });
  out.finals = *prog.finals;
  return out;
}

TEST(PoolCacheSoundness, SleepSetsReachTheSameFinalStates) {
  const Explored full = explore(false);
  const Explored reduced = explore(true);
  ASSERT_TRUE(full.st.exhausted);
  ASSERT_TRUE(reduced.st.exhausted);
  std::printf("pool_cache, 2 LWPs + IPL_VM interrupt, bound %d: %llu schedules without sleep "
              "sets, %llu with (%llu pruned); %zu distinct final states\n",
              kBound, static_cast<unsigned long long>(full.st.schedules),
              static_cast<unsigned long long>(reduced.st.schedules),
              static_cast<unsigned long long>(reduced.st.pruned), full.finals.size());
  // The program has more than one final state (which CPU's group ends up
  // with which objects depends on the order), and the reduction saved runs.
  EXPECT_GT(full.finals.size(), 1u);
  EXPECT_LT(reduced.st.schedules, full.st.schedules);
  EXPECT_EQ(full.finals, reduced.finals);
}

}  // namespace
}  // namespace kasim
