// allocators/pool/pool.h: pool(9), the fixed-size object allocator — its
// public interface and structures, as NetBSD's sys/sys/pool.h declares them.
//
// kasim follows subr_pool.c 1.284 (../shared/docs/NETBSD-ALLOCATORS.md §3),
// except for the watermarks, which follow the documented contract (the 1.205
// semantics; see docs/fidelity.md, section "pool"). Addresses are simulated:
// items and pages are plain numbers in kernel VA, and every page header, free
// list and bitmap lives in host memory, keyed by the simulated page address.
// Nothing is ever written to a simulated address.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "allocators/vmem/vmem.h"
#include "sim/kernel.h"

namespace kasim {

// Flags (sys/sys/pool.h 1.96).
inline constexpr int PR_WAITOK = 0x01;
inline constexpr int PR_NOWAIT = 0x02;
inline constexpr int PR_WANTED = 0x04;
inline constexpr int PR_PHINPAGE = 0x40;
inline constexpr int PR_LIMITFAIL = 0x100;
inline constexpr int PR_RECURSIVE = 0x200;
inline constexpr int PR_NOTOUCH = 0x400;
inline constexpr int PR_NOALIGN = 0x800;
inline constexpr int PR_LARGECACHE = 0x1000;
inline constexpr int PR_GROWING = 0x2000;
inline constexpr int PR_GROWINGNOWAIT = 0x4000;
inline constexpr int PR_ZERO = 0x8000;
inline constexpr int PR_USEBMAP = 0x10000;
inline constexpr int PR_PSERIALIZE = 0x20000;

// LP64 sizes of the structures NetBSD places in simulated memory.
inline constexpr unsigned PHSIZE = 56;             // sizeof(struct pool_item_header)
inline constexpr unsigned PH_BITMAP_OFFSET = 48;   // offsetof(struct pool_item_header, ph_bitmap)
inline constexpr unsigned POOL_ITEM_SIZE = 24;     // sizeof(struct pool_item) with pi_magic
inline constexpr unsigned POOL_ALIGN_DEFAULT = 8;  // ALIGN(1)
inline constexpr unsigned PHPOOL_MAX = 8;
inline constexpr unsigned POOL_ALLOCATOR_BIG_BASE = 13;
inline constexpr unsigned POOL_ALLOCATOR_BIG_COUNT = 12;  // 2^13 .. 2^24
inline constexpr uint64_t pool_inactive_time = 10;        // seconds
inline constexpr unsigned POOL_UINT_MAX = 0xffffffffu;

struct pool;
struct pool_cache;

// struct pool_allocator: page back end of a pool. Pages are simulated
// addresses; pa_alloc returns 0 on failure.
struct pool_allocator {
  vaddr_t (*pa_alloc)(pool* pp, int flags) = nullptr;
  void (*pa_free)(pool* pp, vaddr_t page) = nullptr;
  unsigned pa_pagesz = 0;  // 0 -> PAGE_SIZE, fixed at first use
  // internal
  unsigned pa_refcnt = 0;
  uint64_t pa_pagemask = 0;
  unsigned pa_pageshift = 0;
  const char* pa_name = "";  // kasim: for reports
};

// struct pool_item_header, in host memory. The lists are NetBSD's LISTs:
// insert at the head, so their order is part of the behaviour.
struct pool_item_header {
  pool_item_header* ph_next = nullptr;   // ph_pagelist
  pool_item_header** ph_prevp = nullptr;
  int ph_list = 0;        // kasim: which list it is on (PH_EMPTY/PH_PART/PH_FULL/PH_NONE)
  unsigned ph_poolid = 0;  // on-page headers
  vaddr_t ph_page = 0;
  uint64_t ph_time = 0;  // time_uptime of the last transition to empty
  unsigned ph_nmissing = 0;
  unsigned ph_off = 0;  // itemoffset + colour
  vaddr_t ph_hdraddr = 0;  // where NetBSD keeps the header: the page, or a phpool item
  // Free items: ph_bitmap (1 = free, bit i = item i) always; list pools also
  // keep the LIFO free list, whose head is the back of ph_itemlist.
  std::vector<uint32_t> ph_bitmap;
  std::vector<uint32_t> ph_itemlist;
  // kasim, for the watermark invariant: kept empty by a pool_put under the
  // current watermarks (not grown and unused, not predating a watermark change).
  bool ph_kept = false;
};
inline constexpr int PH_NONE = 0, PH_EMPTY = 1, PH_PART = 2, PH_FULL = 3;

struct pool_pagelist {
  pool_item_header* lh_first = nullptr;
};

using pool_drain_hook_t = void (*)(void* arg, int flags);

struct pool {
  char pr_wchan[32] = {};
  pool_pagelist pr_emptypages, pr_fullpages, pr_partpages;
  pool_item_header* pr_curpage = nullptr;
  pool* pr_phpool = nullptr;
  pool_cache* pr_cache = nullptr;  // the pool_cache in front of it, if any
  unsigned pr_size = 0, pr_reqsize = 0, pr_align = 0, pr_itemoffset = 0;
  unsigned pr_itemsperpage = 0;
  unsigned pr_minitems = 0, pr_maxitems = POOL_UINT_MAX;
  unsigned pr_minpages = 0, pr_maxpages = POOL_UINT_MAX;
  unsigned pr_npages = 0, pr_nitems = 0, pr_nout = 0;
  unsigned pr_hardlimit = POOL_UINT_MAX;
  std::string pr_hardlimit_warning;  // empty = none
  uint64_t pr_hardlimit_ratecap = 0;  // seconds
  uint64_t pr_hardlimit_warning_last = 0;  // ns; 0 = never (ratecheck's {0,0})
  bool pr_hardlimit_warned = false;
  int pr_flags = 0, pr_roflags = 0;
  pool_allocator* pr_alloc = nullptr;
  pool_drain_hook_t pr_drain_hook = nullptr;
  void* pr_drain_hook_arg = nullptr;
  kmutex_t pr_lock;
  kcondvar_t pr_cv;
  int pr_ipl = IPL_NONE;
  std::map<vaddr_t, std::unique_ptr<pool_item_header>> pr_phtree;  // every page, by address
  unsigned pr_maxcolor = 0, pr_curcolor = 0;
  uint64_t pr_nget = 0, pr_nfail = 0, pr_nput = 0, pr_npagealloc = 0, pr_npagefree = 0;
  unsigned pr_hiwat = 0, pr_nidle = 0;
  unsigned pr_poolid = 0, pr_refcnt = 0;
  bool pr_initialized = false;
  struct pool_globals* pr_globals = nullptr;  // kasim: the machine's (for the shadow)
  // kasim's own counters and marks
  uint64_t pr_nhardwait = 0;   // PR_WAITOK sleeps at the hard limit
  uint64_t pr_ngrowwait = 0;   // sleeps (or busy-wait restarts) behind another grower
  uint64_t pr_nwarn = 0;       // hard-limit warnings logged
  uint64_t pr_nzero = 0;       // PR_ZERO gets
  bool pr_catchup_failed = false;  // the last catch-up stopped short
  pool() = default;
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;
};
using pool_t = pool;

// A live item, as the shadow records it (properties' ownership check).
struct pool_live_item {
  const pool* pp = nullptr;
  unsigned size = 0;
  bool zeroed = false;
  // pool_cache: the item sits in a cache group (out of the pool, held by no
  // client), and whether the cache's constructor built it (and no dtor ran).
  bool cached = false;
  bool constructed = false;
};

// Per-machine pool state: pool_head (sorted by wchan), the drain cursor, the
// allocators, the off-page header pools, and the shadow of live items.
struct pool_globals {
  bool inited = false;
  kmutex_t pool_head_lock;
  kcondvar_t pool_busy;
  std::vector<pool*> pool_head;
  pool* drainpp = nullptr;
  unsigned poolid_counter = 0;
  pool_allocator pool_allocator_kmem, pool_allocator_nointr, pool_allocator_meta;
  pool_allocator pool_allocator_big[POOL_ALLOCATOR_BIG_COUNT];
  std::unique_ptr<pool> phpool[PHPOOL_MAX];
  std::vector<std::unique_ptr<pool>> storage;  // kasim_pool_new
  std::map<vaddr_t, pool_live_item> live;
  // Items of PR_RECURSIVE pools ("pool contains pools", e.g. vmem's quantum
  // caches): they hold other pools' pages, so they overlap those pools'
  // items by design and are checked among themselves.
  std::map<vaddr_t, pool_live_item> live_recursive;
  pool_globals() = default;
  pool_globals(const pool_globals&) = delete;
  pool_globals& operator=(const pool_globals&) = delete;
};
pool_globals& pool_globals_get();
// The shadow map that holds pp's live items.
inline std::map<vaddr_t, pool_live_item>& pool_live_map(pool_globals& g, const pool* pp) {
  return (pp->pr_roflags & PR_RECURSIVE) ? g.live_recursive : g.live;
}
inline const std::map<vaddr_t, pool_live_item>& pool_live_map(const pool_globals& g,
                                                              const pool* pp) {
  return (pp->pr_roflags & PR_RECURSIVE) ? g.live_recursive : g.live;
}

// pool_subsystem_init: the allocators, phpools, and the page daemon's
// pool_drain hook. Called by the first pool_init if not before.
void pool_subsystem_init();

// kasim_pool_new: storage for a struct pool that lives as long as the machine
// (NetBSD callers embed it; a run may end with any fiber unwound).
pool* kasim_pool_new();

// pool_init: initialise a pool.  => not from interrupt context.
//  => align_offset must be 0; a NULL palloc means pool_allocator_kmem.
void pool_init(pool* pp, size_t size, unsigned align, unsigned align_offset, int flags,
               const char* wchan, pool_allocator* palloc, int ipl);
// pool_destroy:  => no items out ("pool busy: still out"), no cache.
void pool_destroy(pool* pp);
void pool_set_drain_hook(pool* pp, pool_drain_hook_t fn, void* arg);

// pool_get: an item, or 0 (PR_NOWAIT, or PR_LIMITFAIL at the hard limit).
//  => exactly one of PR_WAITOK/PR_NOWAIT; PR_WAITOK only where one may sleep.
vaddr_t pool_get(pool* pp, int flags);
// pool_put: return an item that is out.
void pool_put(pool* pp, vaddr_t v);

void pool_prime(pool* pp, int n);
void pool_setlowat(pool* pp, int n);
void pool_sethiwat(pool* pp, int n);
// pool_sethardlimit: returns EINVAL if n is below the items now out.
int pool_sethardlimit(pool* pp, int n, const char* warnmess, int ratecap);
// pool_reclaim: free idle pages; 1 if any page was freed.
//  => not from interrupt context.
int pool_reclaim(pool* pp);
// pool_drain: reclaim the next pool in round-robin order.
bool pool_drain(pool** ppp);

uint64_t pool_nget(const pool* pp);
uint64_t pool_nput(const pool* pp);
uint64_t pool_totalpages();

// pool_bigidx: the pool_allocator_big index for an item size.
int pool_bigidx(size_t size);
pool_allocator* pool_allocator_kmem_get();
pool_allocator* pool_allocator_nointr_get();
pool_allocator* pool_allocator_meta_get();
pool_allocator* pool_allocator_big_get(int idx);
// kasim: the allocator called `name` ("kmem", "nointr", "meta", or "big":
// the big allocator for items of `size`), or NULL for any other name.
pool_allocator* pool_allocator_named(const std::string& name, size_t size);

// pool_chk: every §11 pool invariant of one pool; one line per problem,
// empty if all hold. A pool whose pr_lock is held is mid-update and is
// skipped. Pure: calls no kernel function.
std::vector<std::string> pool_chk(const pool* pp);
// pool_chk_items: the shadow's live items against the pools' pages: each lies
// at an item start inside a page of its pool, is out there, and overlaps no
// other live item; and every quiet pool's nout equals its shadow count.
std::vector<std::string> pool_chk_items(const pool_globals& g);

// kasim: the header of the page holding v, or NULL (a pure lookup).
const pool_item_header* pool_find_page(const pool* pp, vaddr_t v);
unsigned pool_pagesz(const pool* pp);

}  // namespace kasim
