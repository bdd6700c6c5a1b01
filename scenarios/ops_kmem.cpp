// Scenario ops, objects, flags and boot for kmem(9) (SCENARIO-FORMAT.md):
// kmem_alloc, kmem_zalloc, kmem_intr_alloc, kmem_intr_zalloc, kmem_free,
// kmem_intr_free; the "KM" flag domain; the boot step that builds the kmem
// size-class caches for the machine's coherency_unit; and the system objects
// a `stats` step may name: every kmem cache ("kmem-00064"), the quantum
// caches of kmem_va_arena ("kva-4096", ...; an aliased size names the cache
// it shares), and "kmem" itself (kasim's counters).
#include <cinttypes>
#include <map>
#include <string>

#include "allocators/kmem/kmem.h"
#include "allocators/uvm_km/uvm_km.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"
#include "scenarios/world.h"
#include "sim/engine.h"
#include "sim/kernel.h"

namespace kasim::scn {
namespace {

// Every name KMEM_CACHE_SIZES and KMEM_CACHE_BIG_SIZES can give a cache;
// which of them exist depends on the machine (coherency_unit, page_size).
constexpr size_t kKmemNames[] = {8,   16,  24,  32,  40,  48,  56,   64,   80,   96,   112,  128,  160,
                                 192, 224, 256, 320, 384, 448, 512, 768, 1024, 2048, 4096, 8192, 16384};

std::string kmem_cache_name(size_t size) {
  char b[16];
  std::snprintf(b, sizeof b, "kmem-%05zu", size);
  return b;
}

std::vector<std::pair<std::string, std::string>> need_addr_or_ref(const Step& s) {
  if (!s.has("addr") && !s.has("ref")) return {{"", "needs \"ref\" (or \"addr\")"}};
  if (s.has("addr") && s.has("ref")) return {{"ref", "give \"addr\" or \"ref\", not both"}};
  return {};
}

OpSpec alloc_op(const char* name, vaddr_t (*fn)(size_t, km_flag_t), const char* help) {
  return {.name = name,
          .args = {arg_u64("size", true), arg_flags("flags", "KM")},
          .results = R_ADDR,
          .run = [fn](OpEnv& env, const Step& s) {
            const uint64_t size = s.u64("size");
            const vaddr_t v = fn(static_cast<size_t>(size), static_cast<km_flag_t>(s.flags("flags")));
            if (v == 0) return OpResult::with_addr(std::nullopt);
            env.track_alloc("kmem", "kmem", v, size);
            return OpResult::with_addr(v);
          },
          .help = help,
          .allocates = "kmem"};
}

OpSpec free_op(const char* name, void (*fn)(vaddr_t, size_t), const char* help) {
  return {.name = name,
          .args = {arg_label("ref"), arg_u64("addr"), arg_u64("size")},
          .validate = need_addr_or_ref,
          .run = [fn](OpEnv& env, const Step& s) {
            const uint64_t addr = env.addr_or_ref(s, "addr");
            const uint64_t size = env.size_or_tracked(s, "kmem", "kmem", addr);
            // Untracked before the free: once the object is back in its cache,
            // another CPU may get it (and track it) before this free returns.
            env.track_free("kmem", "kmem", addr);
            fn(addr, static_cast<size_t>(size));
            return OpResult::none();
          },
          .help = help,
          // Any kmem allocation: kmem_free and kmem_intr_free are the same back end.
          .frees = "kmem"};
}

// A system cache's counters: those of any pool_cache (ops_pool_cache.cpp).
std::map<std::string, uint64_t> system_cache_stats(void* p) {
  return Registry::get().find_object("pool_cache")->stats(p);
}

std::map<std::string, uint64_t> kmem_stats(void*) {
  const kmem_globals& g = kmem_globals_get();
  uint64_t page_live = 0;
  for (const auto& [p, r] : g.live) page_live += r.kind == kmem_route_kind::page;
  return {{"nalloc", g.nalloc},
          {"nfree", g.nfree},
          {"nfail", g.nfail},
          {"nlive", g.live.size()},
          {"npage", g.npage},
          {"npage_live", page_live},
          {"ncaches", g.caches.size() + g.big_caches.size()},
          {"kmem_cache_maxidx", g.kmem_cache_maxidx},
          {"kmem_cache_big_maxidx", g.kmem_cache_big_maxidx}};
}

}  // namespace

KASIM_REGISTER(kmem_ops) {
  reg.flags("KM", {{"KM_SLEEP", KM_SLEEP}, {"KM_NOSLEEP", KM_NOSLEEP}});

  // "kmem": the allocator as a whole; only boot makes it.
  reg.object({.type = "kmem", .fields = {}, .stats = kmem_stats});
  reg.system_object("kmem", "kmem");
  // The caches boot makes: kmem's size classes and the vmem quantum caches.
  reg.object({.type = "kmem_cache", .fields = {}, .stats = system_cache_stats});
  reg.object({.type = "qcache", .fields = {}, .stats = system_cache_stats});
  for (size_t sz : kKmemNames) reg.system_object(kmem_cache_name(sz), "kmem_cache");
  // kmem_va_arena's quantum caches on 4 KiB pages (16 pages of qcache_max).
  for (unsigned i = 1; i <= VMEM_QCACHE_IDX_MAX; i++)
    reg.system_object("kva-" + std::to_string(i * 4096u), "qcache");

  reg.boot({.name = "kmem",
            .order = 20,  // after "vm": the caches' pages come from kmem_va_arena
            .run = [](OpEnv& env) {
              kmem_init(env.engine().machine().coherency_unit);
              const kmem_globals& g = kmem_globals_get();
              env.world().add_object("kmem", {"kmem", nullptr, nullptr});
              for (pool_cache_t pc : g.caches)
                env.world().add_object(pc->pc_pool.pr_wchan, {"kmem_cache", pc, nullptr});
              for (pool_cache_t pc : g.big_caches)
                env.world().add_object(pc->pc_pool.pr_wchan, {"kmem_cache", pc, nullptr});
              // Each quantum-cache size by its qc_name; an aliased size is the
              // cache it shares (whose pr_size shows the alias).
              const vmem_t* va = uvm_km_globals_get().kmem_va_arena;
              const uint64_t n = va->vm_qcache_max >> va->vm_quantum_shift;
              for (uint64_t i = 0; i < n; i++)
                env.world().add_object(va->vm_qcache_store[i].qc_name,
                                       {"qcache", va->vm_qcache[i]->qc_cache, nullptr});
            }});

  reg.op(alloc_op("kmem_alloc", kmem_alloc,
                  "kmem_alloc(size, KM_SLEEP / KM_NOSLEEP): not from interrupt context; "
                  "KM_SLEEP never returns NULL"));
  reg.op(alloc_op("kmem_zalloc", kmem_zalloc, "kmem_zalloc(size, flags): kmem_alloc, zero-filled"));
  reg.op(alloc_op("kmem_intr_alloc", kmem_intr_alloc,
                  "kmem_intr_alloc(size, flags): usable up to IPL_VM with KM_NOSLEEP"));
  reg.op(alloc_op("kmem_intr_zalloc", kmem_intr_zalloc,
                  "kmem_intr_zalloc(size, flags): kmem_intr_alloc, zero-filled"));
  reg.op(free_op("kmem_free", kmem_free,
                 "kmem_free(ref, size): the size must be the allocated one (KMEM_SIZE checks it)"));
  reg.op(free_op("kmem_intr_free", kmem_intr_free,
                 "kmem_intr_free(ref, size): kmem_free's back end, usable from interrupts"));
}

}  // namespace kasim::scn
