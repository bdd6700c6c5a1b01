// allocators/vmem/vmem_impl.h: struct vmem and struct vmem_btag, with
// NetBSD's field names (sys/sys/vmem_impl.h 1.7).
//
// The lists are NetBSD's queue(3) shapes written out: the segment list is a
// doubly linked TAILQ, the free lists, the busy hash buckets and the tag
// reserve are LISTs with insertion at the head. All of it is host memory;
// nothing here ever depends on a host pointer's value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "allocators/vmem/vmem.h"
#include "sim/kernel.h"

namespace kasim {

// Boundary tag types.
inline constexpr short BT_TYPE_SPAN = 1;         // imported span
inline constexpr short BT_TYPE_SPAN_STATIC = 2;  // span from vmem_add
inline constexpr short BT_TYPE_FREE = 3;
inline constexpr short BT_TYPE_BUSY = 4;
inline constexpr short BT_F_PRIVATE = 0x1;  // caller-owned tag (vmem_add_bts)

inline constexpr int VMEM_MAXORDER = 64;      // bits in vmem_size_t
inline constexpr int VMEM_QCACHE_IDX_MAX = 16;
inline constexpr unsigned BT_MINRESERVE = 4;  // tags bt_alloc keeps in reserve
inline constexpr size_t VMEM_BTAG_BOOTSTRAP = 200;  // static_bts[]
inline constexpr unsigned BT_MAXFREE = 64;    // reserve trimmed to this after a free
inline constexpr size_t VMEM_HASHSIZE_MIN = 1;
inline constexpr size_t VMEM_HASHSIZE_MAX = 65536;
inline constexpr uint64_t VMEM_REHASH_INTERVAL_NS = 10ULL * 1'000'000'000ULL;  // hz * 10
inline constexpr size_t VMEM_NAME_MAX = 16;

struct vmem_btag;
using bt_t = vmem_btag;
struct vmem_globals;
struct pool_cache;
struct qc_allocator;

// qcache_t: one quantum cache — a pool_cache of i quanta whose pool pages
// come from the arena itself (qc_init, §2.4).
struct qcache {
  pool_cache* qc_cache = nullptr;
  vmem* qc_vmem = nullptr;
  char qc_name[VMEM_NAME_MAX + 24] = {};  // "%s-%zu" (kasim does not truncate it)
};
using qcache_t = qcache;

struct vmem_btag_list {  // LIST_HEAD
  vmem_btag* lh_first = nullptr;
};

struct vmem_btag {
  // bt_seglist: TAILQ_ENTRY
  vmem_btag* bt_seg_next = nullptr;
  vmem_btag* bt_seg_prev = nullptr;
  // bt_freelist (FREE, or in the tag reserve) / bt_hashlist (BUSY): one LIST_ENTRY
  vmem_btag* bt_list_next = nullptr;
  vmem_btag** bt_list_prevp = nullptr;
  vmem_addr_t bt_start = 0;
  vmem_size_t bt_size = 0;
  short bt_type = 0;
  short bt_flags = 0;
  // kasim: a deterministic identity printed where NetBSD prints the tag's %p
  // (the n-th tag its arena created; 0 for a private tag).
  uint64_t bt_serial = 0;
};

inline vmem_addr_t BT_END(const vmem_btag* bt) { return bt->bt_start + bt->bt_size - 1; }
inline bool BT_ISSPAN_P(const vmem_btag* bt) { return bt->bt_type <= BT_TYPE_SPAN_STATIC; }

struct vmem {
  kcondvar_t vm_cv;
  kmutex_t vm_lock;
  vm_flag_t vm_flags = 0;
  vmem_import_t* vm_importfn = nullptr;
  vmem_ximport_t* vm_ximportfn = nullptr;  // with VM_XIMPORT (NetBSD: a union)
  vmem_release_t* vm_releasefn = nullptr;
  vmem_t* vm_arg = nullptr;
  size_t vm_nfreetags = 0;
  vmem_btag_list vm_freetags;
  // vm_seglist
  vmem_btag* vm_seg_first = nullptr;
  vmem_btag* vm_seg_last = nullptr;
  vmem_btag_list vm_freelist[VMEM_MAXORDER];
  size_t vm_hashsize = 1;
  size_t vm_hashmask = 0;
  size_t vm_nbusytag = 0;
  size_t vm_maxbusytag = 0;
  vmem_btag_list* vm_hashlist = nullptr;
  vmem_btag_list vm_hash0;
  vmem_size_t vm_quantum_mask = 0;
  int vm_quantum_shift = 0;
  vmem_size_t vm_size = 0;
  vmem_size_t vm_inuse = 0;
  char vm_name[VMEM_NAME_MAX + 1] = {};
  // Quantum caches (qc_init): vm_qcache[i] serves requests of i+1 quanta;
  // a size whose cache would hold as many items per pool page as the next
  // larger one shares that one's qcache. All NULL when vm_qcache_max is 0.
  vmem_size_t vm_qcache_max = 0;
  qcache_t* vm_qcache[VMEM_QCACHE_IDX_MAX] = {};
  qcache_t* vm_qcache_store = nullptr;            // [VMEM_QCACHE_IDX_MAX], host memory
  qc_allocator* vm_qcache_allocator = nullptr;    // the pool allocator of the qcaches
  vmem_size_t vm_qcache_pagesz = 0;               // its pa_pagesz
  // kasim
  int vm_ipl = 0;
  uint64_t vm_serial = 0;         // deterministic identity for vmem_dump's %p
  uint64_t vm_rehash_next = 0;    // simulated time of the next rehash check
  uint64_t vm_nimport = 0, vm_nrelease = 0, vm_nrehash = 0, vm_nbtfail = 0;
  uint64_t vm_nsleep = 0;
  uint64_t vm_nbtcreated = 0;  // tags this arena took from the btag pool (dump ids)
  vmem_globals* vm_globals = nullptr;  // the machine's (for the btag pool)
};

// Per-machine vmem state: what NetBSD keeps in globals.
struct vmem_globals {
  bool inited = false;
  kmutex_t vmem_list_lock;
  std::vector<vmem_t*> vmem_list;  // newest first, as LIST_INSERT_HEAD leaves it
  uint64_t next_arena_serial = 0;
  // vmem_btag_pool: tags come from slabs the machine owns, so a tag held by a
  // context that a finding ends (btnew in the middle of vmem_xalloc) is freed
  // with the machine.
  std::vector<std::unique_ptr<vmem_btag[]>> bt_slabs;
  vmem_btag* bt_pool_free = nullptr;  // linked through bt_list_next
  size_t bt_pool_nfree = 0, bt_pool_nget = 0, bt_pool_nput = 0;
  // static_bts: the first VMEM_BTAG_BOOTSTRAP tags the machine hands out are
  // NetBSD's static boot tags (vmem_btag_freelist), which refills take before
  // calling pool_get; only pool_get can fail. Counts the ones left.
  size_t bt_static_left = VMEM_BTAG_BOOTSTRAP;
  vmem_globals() = default;
  vmem_globals(const vmem_globals&) = delete;
  vmem_globals& operator=(const vmem_globals&) = delete;
  // Frees the host memory of arenas still alive when the machine goes away
  // (calls no kernel function).
  ~vmem_globals();
};

// kasim's own bookkeeping helpers (not NetBSD API).
vmem_globals& vmem_globals_get();
// The hash bucket NetBSD's bt_hashhead picks: hash32_buf(&addr) & mask.
uint32_t vmem_hash_addr(vmem_addr_t addr);
// Counts the tags on each list, for stats and tests.
size_t vmem_count_segments(const vmem_t* vm, short type);

}  // namespace kasim
