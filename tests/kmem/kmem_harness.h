// tests/kmem/kmem_harness.h: kmem(9) on a small simulated machine.
#pragma once

#include <string>

#include "allocators/kmem/kmem.h"
#include "properties/invariants.h"
#include "tests/pool/pool_harness.h"

namespace kasim::test {

// Boots kernel_map, the kmem arenas (kmem_va_arena with its quantum caches)
// and the kmem size-class caches for `cu`, as the scenario boot does.
inline void kmem_boot(const Sim& s, uint64_t cu = 64) {
  kasim_vm_boot(s.boot_params());
  kmem_init(cu);
}

// Every kmem invariant now, one line per problem.
inline std::string kmem_problems() {
  std::string out;
  for (const std::string& p :
       kmem_check(kmem_globals_get(), pool_globals_get(), uvm_km_globals_get()))
    out += p + "\n";
  return out;
}

// Every registered invariant (kmem, pool, pool_cache, vmem, uvm_km, pages).
inline std::string all_problems() {
  std::string out;
  for (const props::Problem& p : props::check_invariants(*Engine::current(), true))
    out += p.kind + ": " + p.message + "\n";
  return out;
}

// Runs body (after booting) in one LWP of a 1-CPU machine; requires a clean run.
inline void kmem_clean(const std::function<void(Sim&)>& body, uint64_t phys_pages = 2048,
                       uint64_t cu = 64) {
  Sim s(1, phys_pages);
  s.lwp("t", 0, [&] {
    kmem_boot(s, cu);
    body(s);
  });
  Outcome o = s.run();
  ASSERT_EQ(o, Outcome::completed) << s.finding();
}

// Requires a contract finding whose message contains every needle.
inline void kmem_contract(const std::function<void()>& body,
                          std::initializer_list<const char*> needles) {
  pool_contract(
      [&] {
        kmem_init(64);
        body();
      },
      needles);
}

}  // namespace kasim::test
