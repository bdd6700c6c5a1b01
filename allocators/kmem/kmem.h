// allocators/kmem/kmem.h: kmem(9), the kernel's general-purpose allocator —
// its public interface, as NetBSD's sys/sys/kmem.h declares it, and the
// size-class machinery of subr_kmem.c.
//
// kasim follows subr_kmem.c 1.87 (../shared/docs/NETBSD-ALLOCATORS.md §5) as
// a DIAGNOSTIC kernel: KMEM_SIZE is on, so every cache allocation carries a
// size_t footer just past the requested bytes. Addresses are simulated; the
// footer lives in host memory, keyed by its simulated address.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "allocators/pool_cache/pool_cache.h"
#include "allocators/uvm_km/uvm_km.h"
#include "allocators/vmem/vmem.h"
#include "sim/kernel.h"

namespace kasim {

using km_flag_t = uint32_t;

// sys/sys/kmem.h; equal to PR_WAITOK / PR_NOWAIT (NetBSD CTASSERTs it).
inline constexpr km_flag_t KM_SLEEP = 0x00000001;
inline constexpr km_flag_t KM_NOSLEEP = 0x00000002;
static_assert(KM_SLEEP == PR_WAITOK && KM_NOSLEEP == PR_NOWAIT);

inline constexpr size_t KMEM_ALIGN = 8;
inline constexpr unsigned KMEM_SHIFT = 3;
inline constexpr size_t KMEM_MAXSIZE = 1024;
inline constexpr unsigned KMEM_CACHE_COUNT = KMEM_MAXSIZE >> KMEM_SHIFT;  // 128
inline constexpr unsigned KMEM_BIG_SHIFT = 11;
inline constexpr size_t KMEM_BIG_MAXSIZE = 16384;
inline constexpr unsigned KMEM_CACHE_BIG_COUNT = KMEM_BIG_MAXSIZE >> KMEM_BIG_SHIFT;  // 8
// KMEM_SIZE (DIAGNOSTIC): the footer is a size_t.
inline constexpr size_t SIZE_SIZE = 8;
// What kmem_free leaves in a footer (NetBSD fills it with 0xff bytes).
inline constexpr uint64_t KMEM_SIZE_FREED = ~uint64_t{0};

// struct kmem_cache_info: one entry of KMEM_CACHE_SIZES / KMEM_CACHE_BIG_SIZES.
struct kmem_cache_info {
  size_t kc_size;
  const char* kc_name;
};

// One size class kmem_create_caches decided to create (a pure description;
// kmem_init turns each into a pool_cache).
struct kmem_class {
  size_t kc_size = 0;
  size_t kc_align = 0;
  int kc_flags = 0;  // PR_NOTOUCH below COHERENCY_UNIT
  const char* kc_name = "";
};

// The result of kmem_create_caches' arithmetic for one machine: the created
// classes and the cumulative lookup tables (a class index per table slot,
// -1 past maxidx).
struct kmem_layout {
  uint64_t coherency_unit = 0, page_size = 0;
  std::vector<kmem_class> small, big;
  int small_table[KMEM_CACHE_COUNT];
  int big_table[KMEM_CACHE_BIG_COUNT];
  size_t kmem_cache_maxidx = 0, kmem_cache_big_maxidx = 0;
};

// kmem_compute_layout: which classes kmem_create_caches creates for this
// coherency unit and page size, with their alignment and flags. Pure.
//  => coherency_unit and page_size are powers of 2.
kmem_layout kmem_compute_layout(uint64_t coherency_unit, uint64_t page_size);

// Where an allocation of a requested size goes (§5.2): a pure function of
// the size, computed the same way by alloc and free.
enum class kmem_route_kind { small, big, page };
struct kmem_route {
  kmem_route_kind kind = kmem_route_kind::page;
  int cls = -1;             // index into layout.small / layout.big
  size_t allocsz = 0;       // roundup8(req) + SIZE_SIZE (cache routes)
  size_t pagesz = 0;        // round_page(roundup8(req)) (page route)
};
kmem_route kmem_route_of(const kmem_layout& l, size_t requested_size);

// kmem_roundup_size: the size kmem really reserves for a request, KMEM_ALIGN-rounded.
inline size_t kmem_roundup_size(size_t size) { return (size + (KMEM_ALIGN - 1)) & ~(KMEM_ALIGN - 1); }

// A live kmem allocation, as kasim's shadow records it.
struct kmem_live_rec {
  size_t req = 0;           // the requested size
  kmem_route_kind kind = kmem_route_kind::page;
  pool_cache_t pc = nullptr;  // the cache that served it (cache routes)
  size_t span = 0;          // bytes reserved: the class size, or the pages
  bool zeroed = false;
  bool intr = false;        // allocated through kmem_intr_*
};

// Per-machine kmem state: the size-class caches, their lookup tables, the
// KMEM_SIZE footers and the shadow of live allocations.
struct kmem_globals {
  bool inited = false;
  kmem_layout layout;
  std::vector<pool_cache_t> caches;      // layout.small, in order
  std::vector<pool_cache_t> big_caches;  // layout.big, in order
  pool_cache_t kmem_cache[KMEM_CACHE_COUNT] = {};
  pool_cache_t kmem_cache_big[KMEM_CACHE_BIG_COUNT] = {};
  size_t kmem_cache_maxidx = 0, kmem_cache_big_maxidx = 0;
  // KMEM_SIZE footers, by the simulated address of the size_t.
  std::map<vaddr_t, uint64_t> footers;
  std::map<vaddr_t, kmem_live_rec> live;
  uint64_t nalloc = 0, nfree = 0, nfail = 0, npage = 0;
  kmem_globals() = default;
  kmem_globals(const kmem_globals&) = delete;
  kmem_globals& operator=(const kmem_globals&) = delete;
};
kmem_globals& kmem_globals_get();

// kmem_init: create the size-class caches (kmem_create_caches for the small
// and the big table) for the machine's COHERENCY_UNIT.
//  => after kasim_vm_boot (the caches' pages come from kmem_va_arena);
//     once per machine; not from interrupt context.
void kmem_init(uint64_t coherency_unit);

// kmem_alloc: allocate size bytes.
//  => size > 0; exactly one of KM_SLEEP / KM_NOSLEEP.
//  => not from (soft) interrupt context (use pool_cache(9) or kmem_intr_alloc).
//  => KM_SLEEP never returns NULL (0).
vaddr_t kmem_alloc(size_t size, km_flag_t kmflags);
// kmem_zalloc: kmem_alloc, zero-filled (kasim records it; it keeps no contents).
vaddr_t kmem_zalloc(size_t size, km_flag_t kmflags);
// kmem_free: free what kmem_alloc returned, with the same size.
//  => p != NULL; not from (soft) interrupt context; may block.
void kmem_free(vaddr_t p, size_t size);
// kmem_intr_*: the back ends, usable up to IPL_VM with KM_NOSLEEP.
vaddr_t kmem_intr_alloc(size_t size, km_flag_t kmflags);
vaddr_t kmem_intr_zalloc(size_t size, km_flag_t kmflags);
void kmem_intr_free(vaddr_t p, size_t size);

// kmem_check: the §11 kmem invariants over the shadow: each live allocation
// sits where its route (a pure function of its size) says — a client-held
// item of the routed cache, or a uvm_km_kmem_alloc range of kmem_va_arena —
// carries a footer equal to its size, is aligned as its class requires
// (8; COHERENCY_UNIT from it up; PAGE_SIZE for page multiples and the page
// route), and overlaps no other live kmem allocation nor any live pool item
// but the quantum-cache item that contains it. One line per problem.
// Pure: calls no kernel function.
std::vector<std::string> kmem_check(const kmem_globals& g, const pool_globals& pg,
                                    const uvm_km_globals& ug);

// kasim: the class name serving a requested size ("kmem-00032"), or
// "kmem_va_arena" for the page route.
std::string kmem_route_name(const kmem_layout& l, size_t requested_size);

}  // namespace kasim
