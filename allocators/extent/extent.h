// allocators/extent/extent.h: extent(9), the general-purpose resource-map
// allocator (I/O ports, bus space, interrupt vectors) — its public interface
// and structures, as NetBSD's sys/sys/extent.h 1.26 declares them.
//
// kasim follows subr_extent.c 1.86 (../shared/docs/NETBSD-ALLOCATORS.md §7).
// Region descriptors are items of the `expool` pool(9) (created by
// extent_init) or slots of a fixed extent's caller-provided storage; in both
// cases the descriptor has a simulated address and its contents live in host
// memory, keyed by that address. Nothing is ever written to a simulated
// address. The region list is NetBSD's sorted LIST: a linear list by design.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "allocators/pool/pool.h"
#include "sim/kernel.h"

namespace kasim {

using u_long = unsigned long;
static_assert(sizeof(u_long) == 8, "kasim models LP64 NetBSD: u_long is 64 bits");

// Call flags (sys/sys/extent.h 1.26).
inline constexpr int EX_NOWAIT = 0x0000;      // not safe to sleep
inline constexpr int EX_WAITOK = 0x0001;      // may sleep for descriptor memory
inline constexpr int EX_FAST = 0x0002;        // first fit instead of best fit
inline constexpr int EX_CATCH = 0x0004;       // sleeps are interruptible (cv_wait_sig)
inline constexpr int EX_NOCOALESCE = 0x0008;  // create: never coalesce regions
inline constexpr int EX_MALLOCOK = 0x0010;    // fixed extent may take descriptors from expool
inline constexpr int EX_WAITSPACE = 0x0020;   // sleep until space is freed
inline constexpr int EX_BOUNDZERO = 0x0040;   // per call: boundary lines counted from 0
inline constexpr int EX_EARLY = 0x0080;       // create: bootstrap extent, no lock and no cv
inline constexpr u_long EX_NOALIGN = 1;
inline constexpr u_long EX_NOBOUNDARY = 0;

// Internal ex_flags.
inline constexpr int EXF_FIXED = 0x1;
inline constexpr int EXF_NOCOALESCE = 0x2;
inline constexpr int EXF_EARLY = 0x4;

// er_flags.
inline constexpr int ER_ALLOC = 0x1;  // the descriptor came from expool

// LP64 sizes of the structures NetBSD places in simulated memory (amd64:
// kmutex_t 8 bytes, kcondvar_t 16, LIST_ENTRY 16, LIST_HEAD 8, ALIGNBYTES 7).
inline constexpr size_t EXTENT_REGION_SIZE = 40;  // sizeof(struct extent_region)
inline constexpr size_t EXTENT_SIZE = 64;         // sizeof(struct extent)
inline constexpr size_t EXTENT_FIXED_SIZE = 88;   // sizeof(struct extent_fixed)
inline constexpr size_t EXTENT_ALIGN_BYTES = 7;   // ALIGNBYTES
inline constexpr size_t extent_ALIGN(size_t x) {
  return (x + EXTENT_ALIGN_BYTES) & ~EXTENT_ALIGN_BYTES;
}
inline constexpr size_t EXTENT_FIXED_STORAGE_SIZE(size_t n) {
  return extent_ALIGN(EXTENT_FIXED_SIZE) + n * extent_ALIGN(EXTENT_REGION_SIZE);
}

// struct extent_region, in host memory. er_link is NetBSD's LIST_ENTRY: the
// order of the region list (sorted) and of the fixed freelist (LIFO) is part
// of the behaviour.
struct extent_region {
  extent_region* er_next = nullptr;  // er_link
  extent_region** er_prevp = nullptr;
  u_long er_start = 0;
  u_long er_end = 0;  // inclusive
  int er_flags = 0;
  vaddr_t er_addr = 0;  // kasim: the descriptor's simulated address
  bool er_inflight = false;  // kasim: held by a caller, on neither list
};

struct extent_region_list {
  extent_region* lh_first = nullptr;
};

// struct extent. A fixed extent is the ex of an extent_fixed (ex_fixed
// points back to it, where NetBSD casts).
struct extent_fixed;
struct extent {
  const char* ex_name = nullptr;
  kmutex_t ex_lock;
  kcondvar_t ex_cv;
  extent_region_list ex_regions;
  u_long ex_start = 0, ex_end = 0;
  int ex_flags = 0;
  bool ex_flwanted = false;
  // kasim
  vaddr_t ex_addr = 0;  // simulated address of the struct extent
  extent_fixed* ex_fixed = nullptr;
  std::string ex_namebuf;  // ex_name points here (NetBSD keeps the caller's pointer)
  // Descriptors taken for a call and not yet on the region list or given
  // back (a call holds one between extent_alloc_region_descriptor and ex_lock).
  unsigned ex_ninflight = 0, ex_ninflight_alloc = 0;
  uint64_t ex_nalloc = 0;      // successful allocations (alloc_region and alloc_subregion1)
  uint64_t ex_nfree = 0;       // successful extent_free calls
  uint64_t ex_neagain = 0;     // EAGAIN returns
  uint64_t ex_nenomem = 0;     // ENOMEM returns (no descriptor)
  uint64_t ex_nwaitspace = 0;  // EX_WAITSPACE sleeps
  uint64_t ex_nwaitdesc = 0;   // sleeps for a fixed descriptor
  uint64_t ex_nintr = 0;       // sleeps ended by a signal
  extent() = default;
  extent(const extent&) = delete;
  extent& operator=(const extent&) = delete;
};

struct extent_fixed {
  extent fex_extent;
  extent_region_list fex_freelist;
  vaddr_t fex_storage = 0;
  size_t fex_storagesize = 0;
  unsigned fex_capacity = 0;  // kasim: descriptors carved from the storage
};

// A range the caller was given, with the constraints it was asked for.
struct extent_given {
  u_long end = 0;
  u_long alignment = EX_NOALIGN, skew = 0;  // EX_NOALIGN once a partial free moved its start
  u_long boundary = EX_NOBOUNDARY, bound_base = 0;
};

// Per-machine extent state: expool, every descriptor's host contents by simulated
// address, every live extent (creation order) and the shadow of what callers
// were given.
struct extent_globals {
  bool inited = false;
  pool* expool = nullptr;
  std::map<vaddr_t, std::unique_ptr<extent_region>> descriptors;
  std::map<vaddr_t, std::unique_ptr<extent_fixed>> extents;  // by ex_addr
  std::vector<extent*> extent_list;
  // Shadow: per extent, the ranges callers were given and have not freed,
  // keyed by start (maintained by extent_shadow_*; see inv_extent). Keyed by
  // host pointer, so looked up only, never iterated.
  std::map<const extent*, std::map<u_long, extent_given>> shadow;
  extent_globals() = default;
  extent_globals(const extent_globals&) = delete;
  extent_globals& operator=(const extent_globals&) = delete;
};
extent_globals& extent_globals_get();

// extent_init: create expool (struct extent_region items, IPL_VM). Runs once
// per machine; extent_create calls it if it has not run.
//  => not from interrupt context.
void extent_init();

// extent_create: a new extent managing [start, end]. storage != 0 makes a
// fixed extent whose struct extent and descriptors live in the caller's
// storagesize bytes at simulated address `storage`; otherwise the struct
// comes from extent_struct_alloc (EX_WAITOK sleeps, else NULL on failure).
//  => not from interrupt context.
extent* extent_create(const char* name, u_long start, u_long end, vaddr_t storage,
                      size_t storagesize, int flags);
// extent_destroy: free every region descriptor and the extent.
void extent_destroy(extent* ex);

// extent_alloc_subregion1: allocate size units in [substart, subend] at an
// address that is alignment-aligned after skew and does not cross a
// boundary line. Returns 0 (with *result), ENOMEM, EAGAIN, EINVAL or EINTR.
//  => EX_WAITOK / EX_WAITSPACE only where one may sleep.
int extent_alloc_subregion1(extent* ex, u_long substart, u_long subend, u_long size,
                            u_long alignment, u_long skew, u_long boundary, int flags,
                            u_long* result);
int extent_alloc_subregion(extent* ex, u_long substart, u_long subend, u_long size,
                           u_long alignment, u_long boundary, int flags, u_long* result);
int extent_alloc(extent* ex, u_long size, u_long alignment, u_long boundary, int flags,
                 u_long* result);
int extent_alloc1(extent* ex, u_long size, u_long alignment, u_long skew, u_long boundary,
                  int flags, u_long* result);
// extent_alloc_region: allocate exactly [start, start+size-1].
int extent_alloc_region(extent* ex, u_long start, u_long size, int flags);
// extent_free: free [start, start+size-1]; a region that is not allocated is
// a contract finding ("extent_free: region not found").
int extent_free(extent* ex, u_long start, u_long size, int flags);
// extent_print: NetBSD's text, returned and logged.
std::string extent_print(extent* ex);
// The same text without taking the lock (for checkers and panic messages).
std::string extent_print_string(const extent* ex);

// extent_struct_alloc / extent_struct_free: the memory of a non-fixed
// struct extent (NetBSD: kmem_alloc(sizeof *ex, KM_SLEEP or KM_NOSLEEP)).
vaddr_t extent_struct_alloc(int flags);
void extent_struct_free(vaddr_t addr);

// extent_check: the §11 invariants of one extent, as messages (empty = all
// hold). Pure: calls no kernel function.
std::vector<std::string> extent_check(const extent* ex);
// Number of regions on the list.
size_t extent_nregions(const extent* ex);
// Descriptors on a fixed extent's freelist (0 for a non-fixed extent).
size_t extent_nfreedesc(const extent* ex);

// The shadow of what callers were given: recorded from the arguments and
// results of each successful call, under ex_lock, so that a checker sees it
// agree with the region list whenever the lock is free. extent never reads it.
void extent_shadow_alloc(const extent* ex, u_long start, u_long size, u_long alignment = EX_NOALIGN,
                         u_long skew = 0, u_long boundary = EX_NOBOUNDARY, int flags = 0);
void extent_shadow_free(const extent* ex, u_long start, u_long size);
// The shadow against the region list (the same covered units; with
// EX_NOCOALESCE the same ranges one for one) and against the constraints:
// no given range crosses its boundary lines, and each is aligned unless it
// starts on a boundary line (the bump quirk).
std::vector<std::string> extent_check_shadow(const extent_globals& g, const extent* ex);

}  // namespace kasim
