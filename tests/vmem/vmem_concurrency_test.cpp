// tests/vmem/vmem_concurrency_test.cpp: several LWPs on two CPUs and an
// interrupt hammer an importing arena and its source under the random and
// timed strategies; vmem_check runs after every operation, and at the end
// every imported span must have gone back to the source. This exercises the
// windows where vmem drops vm_lock (import, release, tag trimming).
#include <vector>

#include "tests/vmem/harness.h"

namespace kasim::test {
namespace {

constexpr vmem_size_t PS = 4096;

struct Shared {
  vmem_t* src = nullptr;
  vmem_t* child = nullptr;
  struct Live {
    vmem_addr_t addr;
    vmem_size_t size;
  };
  std::vector<Live> live;  // any LWP frees any allocation: cross-CPU frees
  std::vector<std::string> problems;
  uint64_t rng = 0x2545f4914f6cdd1dULL;
  uint64_t next() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  }
  void check(const char* where) {
    for (const vmem_t* vm : {src, child})
      for (const std::string& p : vmem_check(vm)) problems.push_back(std::string(where) + ": " + p);
  }
};

void one_op(Shared& sh, vm_flag_t extra) {
  if (!sh.live.empty() && sh.next() % 2 == 0) {
    size_t i = sh.next() % sh.live.size();
    Shared::Live l = sh.live[i];
    sh.live.erase(sh.live.begin() + static_cast<long>(i));
    vmem_free(sh.child, l.addr, l.size);
    sh.check("after free");
  } else {
    const vmem_size_t size = (1 + sh.next() % 8) * PS;
    const vm_flag_t strat = sh.next() % 2 ? VM_INSTANTFIT : VM_BESTFIT;
    vmem_addr_t a;
    if (sh.next() % 4 == 0) {
      const vmem_size_t align = PS << (sh.next() % 4);
      if (vmem_xalloc(sh.child, size, align, 0, 0, VMEM_ADDR_MIN, VMEM_ADDR_MAX,
                      VM_NOSLEEP | strat | extra, &a) == 0)
        sh.live.push_back({a, size});
    } else if (vmem_alloc(sh.child, size, VM_NOSLEEP | strat | extra, &a) == 0) {
      sh.live.push_back({a, size});
    }
    sh.check("after alloc");
  }
}

void hammer(const std::string& strategy, uint64_t seed) {
  SCOPED_TRACE(strategy + " seed " + std::to_string(seed));
  Sim s(2, 256, {}, seed, false, strategy);
  Shared sh;
  sh.rng ^= seed * 0x9e3779b97f4a7c15ULL;
  bool ready = false;
  int done = 0;
  s.lwp("boot", 0, [&] {
    sh.src = vmem_create("src", 0x100000, 128 * PS, PS, nullptr, nullptr, nullptr, 0,
                         VM_NOSLEEP, IPL_VM);
    sh.child = vmem_create("child", 0, 0, PS, vmem_alloc, vmem_free, sh.src, 0, VM_NOSLEEP,
                           IPL_VM);
    ready = true;
  });
  for (int t = 0; t < 3; t++)
    s.lwp("worker" + std::to_string(t), t % 2, [&] {
      while (!ready) delay_ns(1000);
      for (int i = 0; i < 150; i++) one_op(sh, 0);
      if (++done == 3) {
        while (!sh.live.empty()) {
          vmem_free(sh.child, sh.live.back().addr, sh.live.back().size);
          sh.live.pop_back();
        }
        sh.check("at the end");
        EXPECT_EQ(vmem_size(sh.child, VMEM_ALLOC | VMEM_FREE), 0u);  // every span released
        EXPECT_EQ(vmem_size(sh.src, VMEM_ALLOC), 0u);
      }
    });
  s.e->add_interrupt("nic", 0, IPL_VM, {20'000}, 20'000, 40, [&] {
    if (ready) one_op(sh, 0);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_EQ(done, 3);
  // The runs did what they are for: imports and releases, interrupts, and
  // (random) interleavings.
  EXPECT_GT(sh.child->vm_nimport, 10u);
  EXPECT_GT(sh.child->vm_nrelease, 10u);
  EXPECT_GT(s.e->interrupts().front()->delivered, 0u);
  if (strategy == "random") {
    EXPECT_GT(s.e->decisions().size(), 100u);
  }
  ASSERT_TRUE(sh.problems.empty()) << sh.problems.front();
}

TEST(VmemConcurrency, RandomSchedules) {
  for (uint64_t seed = 1; seed <= 40; seed++) hammer("random", seed);
}

TEST(VmemConcurrency, TimedSchedules) {
  for (uint64_t seed = 1; seed <= 10; seed++) hammer("timed", seed);
}

}  // namespace
}  // namespace kasim::test
