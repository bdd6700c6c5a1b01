// allocators/pool_cache/pool_cache.h: pool_cache(9), the per-CPU object
// cache in front of a pool(9), as NetBSD's sys/sys/pool.h declares it.
//
// kasim follows subr_pool.c 1.284 (../shared/docs/NETBSD-ALLOCATORS.md §4):
// each CPU holds two groups (cc_current, cc_previous) it uses at splvm with
// no lock; full and partial groups of a cache go to lock-free CAS stacks
// (pc_fullgroups, pc_partgroups), empty groups to the global stacks
// pcg_normal_cache / pcg_large_cache shared by every cache. Objects are
// simulated addresses; groups live in host memory, keyed by the simulated
// address of the pcg pool item NetBSD would store them in.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "allocators/pool/pool.h"
#include "sim/kernel.h"

namespace kasim {

// Objects per group (LP64): PCG_NOBJECTS_NORMAL, or _LARGE with PR_LARGECACHE.
inline constexpr unsigned PCG_NOBJECTS_NORMAL = 15;
inline constexpr unsigned PCG_NOBJECTS_LARGE = 63;
// sizeof(pcg_t) with n objects: pcg_next, pcg_avail, pcg_size, {va, pa}[n].
inline constexpr unsigned pcg_sizeof(unsigned n) { return 16 + 16 * n; }
inline constexpr paddr_t POOL_PADDR_INVALID = ~paddr_t{0};

struct pcgpair {
  vaddr_t pcgo_va = 0;
  paddr_t pcgo_pa = POOL_PADDR_INVALID;
};

// pcg_t: a group of objects, a LIFO stack. The static pcg_dummy has
// avail = size = 0: "always empty, yet always full".
struct pool_cache_group {
  pool_cache_group* pcg_next = nullptr;
  unsigned pcg_avail = 0;
  unsigned pcg_size = 0;
  vaddr_t pcg_addr = 0;  // kasim: the pcg pool item that holds it (0 for the dummy)
  std::vector<pcgpair> pcg_objects;
};
using pcg_t = pool_cache_group;

// pool_cache_cpu_t: one CPU's groups and counters. Touched only on its CPU,
// at splvm (no lock).
struct pool_cache_cpu {
  pcg_t* cc_current = nullptr;
  pcg_t* cc_previous = nullptr;
  pcg_t* volatile* cc_pcgcache = nullptr;  // the global empty-group stack for this group size
  uint64_t cc_misses = 0, cc_hits = 0, cc_pcmisses = 0, cc_contended = 0;
  // Signed: a group pushed on one CPU may be taken by another, so one CPU's
  // count may go below zero; only the sum over CPUs means |pc_fullgroups|.
  int64_t cc_nfull = 0, cc_npart = 0;
};
using pool_cache_cpu_t = pool_cache_cpu;

using pool_cache_ctor_t = int (*)(void* arg, vaddr_t obj, int flags);  // non-zero = failure
using pool_cache_dtor_t = void (*)(void* arg, vaddr_t obj);

struct pool_cache {
  pool pc_pool;                 // the backing pool (pc_pool.pr_cache == this)
  pool* pc_pcgpool = nullptr;   // pcg_normal_pool or pcg_large_pool
  pcg_t* volatile* pc_pcgcache = nullptr;  // &pcg_normal_cache or &pcg_large_cache
  unsigned pc_pcgsize = 0;      // PCG_NOBJECTS_NORMAL or _LARGE
  unsigned pc_ncpu = 0;
  pool_cache_ctor_t pc_ctor = nullptr;  // never NULL: pool_cache_nullop sentinel
  pool_cache_dtor_t pc_dtor = nullptr;  // never NULL: pool_cache_nullop sentinel
  void* pc_arg = nullptr;
  unsigned pc_refcnt = 0;
  int pc_roflags = 0;
  std::vector<std::unique_ptr<pool_cache_cpu_t>> pc_cpus;  // by CPU index
  // Each stack head alone on its cache line (NetBSD aligns them to
  // COHERENCY_UNIT): the cost of an atomic depends on who last touched the
  // line, and that must not depend on where the host put the structure.
  alignas(64) pcg_t* volatile pc_fullgroups = nullptr;
  alignas(64) pcg_t* volatile pc_partgroups = nullptr;
  alignas(64) char pc_pad_end = 0;
  // kasim: counters and marks for stats and the checker.
  uint64_t pc_nctor = 0, pc_nctorfail = 0, pc_ndtor = 0;
  uint64_t pc_ninvalidate = 0, pc_ntransfer = 0;
  // Contexts now holding groups of this cache off every list (a pcg_get
  // holding the marker, a trunc being emptied, a transfer in progress):
  // the conservation checks skip the cache while it is non-zero.
  unsigned pc_transit = 0;
  pool_cache() = default;
  pool_cache(const pool_cache&) = delete;
  pool_cache& operator=(const pool_cache&) = delete;
};
using pool_cache_t = pool_cache*;

// Per-machine pool_cache state: the pcg pools, the global empty-group stacks,
// the dummy group, the caches and every group by its pcg item address.
struct pool_cache_globals {
  bool inited = false;
  pcg_t pcg_dummy;
  pool* pcg_normal_pool = nullptr;
  pool* pcg_large_pool = nullptr;
  alignas(64) pcg_t* volatile pcg_normal_cache = nullptr;  // each alone on its cache line
  alignas(64) pcg_t* volatile pcg_large_cache = nullptr;
  alignas(64) char pcg_pad_end = 0;
  std::vector<pool_cache*> caches;  // live caches, in creation order
  std::vector<std::unique_ptr<pool_cache>> storage;
  std::map<vaddr_t, std::unique_ptr<pcg_t>> groups;  // every group, by pcg item address
  bool pool_cache_disable = false;
  pool_cache_globals() = default;
  pool_cache_globals(const pool_cache_globals&) = delete;
  pool_cache_globals& operator=(const pool_cache_globals&) = delete;
};
pool_cache_globals& pool_cache_globals_get();

// pool_cache_init: a cache of objects of `size` bytes.  => not from interrupt
// context. ctor/dtor may be nullptr; flags are pool(9)'s (PR_LARGECACHE).
pool_cache_t pool_cache_init(size_t size, unsigned align, unsigned align_offset, int flags,
                             const char* wchan, pool_allocator* palloc, int ipl,
                             pool_cache_ctor_t ctor, pool_cache_dtor_t dtor, void* arg);
// pool_cache_destroy:  => not from interrupt context; no object out.
void pool_cache_destroy(pool_cache_t pc);
// pool_cache_get: a constructed object, or 0 (PR_NOWAIT, LIMITFAIL, ctor failure).
vaddr_t pool_cache_get(pool_cache_t pc, int flags);
vaddr_t pool_cache_get_paddr(pool_cache_t pc, int flags, paddr_t* pap);
// pool_cache_put: return a constructed object.  => obj != 0, from this cache.
void pool_cache_put(pool_cache_t pc, vaddr_t obj);
void pool_cache_put_paddr(pool_cache_t pc, vaddr_t obj, paddr_t pa);
// pool_cache_invalidate: destruct every cached object.  => not from interrupt context.
void pool_cache_invalidate(pool_cache_t pc);
// pool_cache_destruct_object: dtor, then pool_put.
void pool_cache_destruct_object(pool_cache_t pc, vaddr_t obj);
int pool_cache_reclaim(pool_cache_t pc);
void pool_cache_set_drain_hook(pool_cache_t pc, pool_drain_hook_t fn, void* arg);
void pool_cache_setlowat(pool_cache_t pc, int n);
void pool_cache_sethiwat(pool_cache_t pc, int n);
void pool_cache_sethardlimit(pool_cache_t pc, int n, const char* warnmess, int ratecap);
void pool_cache_prime(pool_cache_t pc, int n);

// pool_cache_check: the §11 pool_cache invariants of one cache, one line per
// problem (empty if all hold). Pure: calls no kernel function.
std::vector<std::string> pool_cache_check(const pool_cache* pc);
// pool_cache_chk_shadow: every cached object is live in the pool shadow,
// marked cached, in exactly one group; the shadow's cached objects of the
// cache are exactly those in its groups (conservation).
std::vector<std::string> pool_cache_chk_shadow(const pool_cache* pc, const pool_globals& g);
// pool_cache_chk_shadow_all: pool_cache_chk_shadow of every cache in caches,
// with one pass over the pool shadow for all of them.
std::vector<std::string> pool_cache_chk_shadow_all(const std::vector<pool_cache*>& caches,
                                                   const pool_globals& g);
// Σ avail over every group of the cache (per-CPU, full, part).
uint64_t pool_cache_nobjects(const pool_cache* pc);

}  // namespace kasim
