// tests/pool/pool_harness.h: pools on a small simulated machine.
#pragma once

#include "allocators/pool/pool.h"
#include "properties/invariants.h"
#include "tests/vmem/harness.h"

namespace kasim::test {

// Boots kernel_map, the kmem arenas and the pool subsystem (in an LWP).
inline void pool_boot(const Sim& s) {
  kasim_vm_boot(s.boot_params());
  pool_subsystem_init();
}

inline pool* mkpool(size_t size, unsigned align = 0, int flags = 0, int ipl = IPL_VM,
                    const char* name = "tp", pool_allocator* pa = nullptr) {
  pool* pp = kasim_pool_new();
  pool_init(pp, size, align, 0, flags, name, pa, ipl);
  return pp;
}

inline std::string chk(const pool* pp) {
  std::string out;
  for (const std::string& p : pool_chk(pp)) out += p + "\n";
  for (const std::string& p : pool_chk_items(pool_globals_get())) out += p + "\n";
  return out;
}

// Runs body (after booting) in one LWP of a 1-CPU machine; requires a clean run.
inline void pool_clean(const std::function<void(Sim&)>& body, uint64_t phys_pages = 1024) {
  Sim s(1, phys_pages);
  s.lwp("t", 0, [&] {
    pool_boot(s);
    body(s);
  });
  Outcome o = s.run();
  ASSERT_EQ(o, Outcome::completed) << s.finding();
}

// Requires a contract finding whose message contains every needle.
inline void pool_contract(const std::function<void()>& body,
                          std::initializer_list<const char*> needles) {
  Sim s;
  s.lwp("t", 0, [&] {
    pool_boot(s);
    body();
  });
  Outcome o = s.run();
  ASSERT_EQ(o, Outcome::finding) << "no finding";
  const Finding& f = s.e->findings().front();
  EXPECT_EQ(f.kind, "contract") << f.message;
  for (const char* n : needles) EXPECT_NE(f.message.find(n), std::string::npos) << f.message;
}

}  // namespace kasim::test
