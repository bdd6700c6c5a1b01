// tests/extent/extent_harness.h: extents on a small simulated machine.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "allocators/extent/extent.h"
#include "allocators/kmem/kmem.h"
#include "tests/pool/pool_harness.h"

namespace kasim::test {

// Boots the kmem arenas, pools and kmem's caches (the struct extent comes from
// kmem_alloc), then extent_init (in an LWP).
inline void extent_boot(const Sim& s) {
  pool_boot(s);
  kmem_init(64);
  extent_init();
}

using ranges = std::vector<std::pair<u_long, u_long>>;

// The region list, in order.
inline ranges regions(const extent* ex) {
  ranges out;
  for (const extent_region* rp = ex->ex_regions.lh_first; rp != nullptr; rp = rp->er_next)
    out.emplace_back(rp->er_start, rp->er_end);
  return out;
}

// Every problem extent_check and the shadow check find, one per line.
inline std::string echk(const extent* ex) {
  std::string out;
  for (const std::string& p : extent_check(ex)) out += p + "\n";
  for (const std::string& p : extent_check_shadow(extent_globals_get(), ex)) out += p + "\n";
  return out;
}

// Runs body (after booting) in one LWP of a 1-CPU machine; requires a clean run.
inline void extent_clean(const std::function<void()>& body) {
  Sim s(1, 1024);
  s.lwp("t", 0, [&] {
    extent_boot(s);
    body();
  });
  Outcome o = s.run();
  ASSERT_EQ(o, Outcome::completed) << s.finding();
}

// Requires a contract finding whose message contains every needle.
inline void extent_contract(const std::function<void()>& body,
                            std::initializer_list<const char*> needles) {
  pool_contract(
      [&] {
        kmem_init(64);
        extent_init();
        body();
      },
      needles);
}

}  // namespace kasim::test
