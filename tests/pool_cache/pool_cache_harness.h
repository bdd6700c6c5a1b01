// tests/pool_cache/pool_cache_harness.h: pool caches on a small machine.
#pragma once

#include "allocators/pool_cache/pool_cache.h"
#include "tests/pool/pool_harness.h"

namespace kasim::test {

// Counting ctor/dtor; the ctor fails every `fail_every`-th call (0 = never).
struct CtorCounts {
  int fail_every = 0;
  int ctor = 0, dtor = 0;
  std::set<vaddr_t> built;  // constructed and not yet destructed
  std::vector<std::string> errors;
};

inline int counting_ctor(void* arg, vaddr_t obj, int) {
  auto* c = static_cast<CtorCounts*>(arg);
  c->ctor++;
  if (c->fail_every != 0 && c->ctor % c->fail_every == 0) return 1;
  if (!c->built.insert(obj).second) c->errors.push_back("ctor on a constructed object");
  return 0;
}

inline void counting_dtor(void* arg, vaddr_t obj) {
  auto* c = static_cast<CtorCounts*>(arg);
  c->dtor++;
  if (c->built.erase(obj) != 1) c->errors.push_back("dtor on an object not constructed");
}

inline pool_cache* mkcache(size_t size, CtorCounts* cc = nullptr, int flags = 0, int ipl = IPL_VM,
                           const char* name = "tc") {
  return pool_cache_init(size, 0, 0, flags, name, nullptr, ipl, cc ? counting_ctor : nullptr,
                         cc ? counting_dtor : nullptr, cc);
}

// Every pool_cache problem the checker knows, for one cache.
inline std::string cchk(const pool_cache* pc) {
  std::string out;
  for (const std::string& p : pool_cache_check(pc)) out += p + "\n";
  for (const std::string& p : pool_cache_chk_shadow(pc, pool_globals_get())) out += p + "\n";
  for (const std::string& p : pool_chk(&pc->pc_pool)) out += p + "\n";
  for (const std::string& p : pool_chk_items(pool_globals_get())) out += p + "\n";
  return out;
}

inline pcg_t* dummy_group() { return &pool_cache_globals_get().pcg_dummy; }

}  // namespace kasim::test
