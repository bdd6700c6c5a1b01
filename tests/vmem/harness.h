// tests/vmem/harness.h: run kernel code on a small simulated machine.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "allocators/boot.h"
#include "allocators/uvm_km/uvm_km.h"
#include "allocators/vmem/vmem.h"
#include "sim/engine.h"

namespace kasim::test {

struct Sim {
  MachineConfig mc;
  std::unique_ptr<Engine> e;

  explicit Sim(int cpus = 1, uint64_t phys_pages = 1024, FaultConfig faults = {}, uint64_t seed = 1,
               bool pagedaemon = false, const std::string& strategy = "timed") {
    mc.cpus = cpus;
    mc.phys_pages = phys_pages;
    mc.kva_pages = 2 * phys_pages;
    mc.free_target = phys_pages / 32;
    mc.pagedaemon = pagedaemon;
    RunLimits limits;
    limits.max_time_ns = 600'000'000'000ULL;  // the rehash test spends minutes of simulated time
    e = std::make_unique<Engine>(mc, make_strategy(strategy, seed), seed, limits, faults);
  }
  void lwp(const std::string& name, int cpu, std::function<void()> body) {
    e->spawn_lwp(name, cpu, std::move(body));
  }
  Outcome run() { return e->run(); }
  std::string finding() const {
    if (e->findings().empty()) return "";
    return e->findings().front().kind + ": " + e->findings().front().message;
  }
  // Boots kernel_map and the kmem arenas from this machine's config.
  vm_boot_params boot_params() const {
    vm_boot_params p;
    p.kva_base = mc.kva_base;
    p.kva_pages = mc.kva_pages;
    p.page_size = mc.page_size;
    p.phys_pages = mc.phys_pages;
    return p;
  }
};

// Runs body in one LWP and requires a contract finding whose message
// contains every one of `needles`.
inline void expect_contract(const std::function<void()>& body,
                            std::initializer_list<const char*> needles) {
  Sim s;
  s.lwp("t", 0, body);
  Outcome o = s.run();
  ASSERT_EQ(o, Outcome::finding) << "no finding";
  ASSERT_EQ(s.e->findings().size(), 1u);
  const Finding& f = s.e->findings().front();
  EXPECT_EQ(f.kind, "contract") << f.message;
  for (const char* n : needles) EXPECT_NE(f.message.find(n), std::string::npos) << f.message;
}

// Runs body in one LWP and requires a clean run.
inline void expect_clean(const std::function<void()>& body) {
  Sim s;
  s.lwp("t", 0, body);
  Outcome o = s.run();
  ASSERT_EQ(o, Outcome::completed) << s.finding();
}

inline std::string problems(const vmem_t* vm) {
  std::string out;
  for (const std::string& p : vmem_check(vm)) out += p + "\n";
  return out;
}

}  // namespace kasim::test
