// allocators/vmem/vmem.cpp: vmem(9) — arenas of boundary tags, power-of-two
// free lists, instant-fit and best-fit, import and release, the busy-tag hash.
//
// Written from ../shared/docs/NETBSD-ALLOCATORS.md §2 (subr_vmem.c 1.118).
// Locking as NetBSD: vm_lock (MUTEX_DEFAULT at the arena's IPL) covers the
// arena; it is dropped around import and release callbacks and around the
// sleeps of VM_SLEEP, never held across another arena's lock.
#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "allocators/vmem/vmem.h"

#include "allocators/pool_cache/pool_cache.h"

namespace kasim {

// The pool allocator of an arena's quantum caches: NetBSD reaches the arena
// from the pool (pr_qcache->qc_vmem); kasim's allocator carries it. The
// pool_allocator is the first member, so the pool's pr_alloc converts back.
struct qc_allocator {
  pool_allocator qa_pa;
  vmem_t* qa_vmem = nullptr;
};
static_assert(std::is_standard_layout_v<qc_allocator>);

namespace {

constexpr int ENOMEM_ = kENOMEM;
constexpr int EINVAL_ = kEINVAL;

// SIZE2ORDER: floor(log2(q)), q > 0.
inline int SIZE2ORDER(vmem_size_t q) { return 63 - __builtin_clzll(q); }
inline vmem_size_t ORDER2SIZE(int order) { return static_cast<vmem_size_t>(1) << order; }
inline vmem_addr_t VMEM_ALIGNUP(vmem_addr_t a, vmem_size_t al) { return -(-a & -al); }
inline bool VMEM_CROSS_P(vmem_addr_t a1, vmem_addr_t a2, vmem_size_t b) {
  return ((a1 ^ a2) & -b) != 0;
}

#define VMEM_LOCK(vm) mutex_enter(&(vm)->vm_lock)
#define VMEM_UNLOCK(vm) mutex_exit(&(vm)->vm_lock)
// Held by someone: the cheap form (mutex_owned is a call into the machine on
// every internal helper); the public entry points take the lock themselves.
#define VMEM_ASSERT_LOCKED(vm) KASSERT((vm)->vm_lock.owner != nullptr)
// NetBSD's cv_broadcast returns at once without waiters; skip the call then.
#define VMEM_CONDVAR_BROADCAST(vm) \
  ((vm)->vm_cv.waitq.waiters.empty() ? (void)0 : cv_broadcast(&(vm)->vm_cv))

// ASSERT_SLEEPABLE for VM_SLEEP callers.
#define VMEM_ASSERT_SLEEPABLE(fn)                                                    \
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(), "%s: VM_SLEEP from interrupt context", fn)

// --- queue(3) shapes --------------------------------------------------------

inline void list_insert_head(vmem_btag_list* head, bt_t* bt) {
  bt->bt_list_next = head->lh_first;
  if (head->lh_first) head->lh_first->bt_list_prevp = &bt->bt_list_next;
  head->lh_first = bt;
  bt->bt_list_prevp = &head->lh_first;
}

inline void list_remove(bt_t* bt) {
  if (bt->bt_list_next) bt->bt_list_next->bt_list_prevp = bt->bt_list_prevp;
  *bt->bt_list_prevp = bt->bt_list_next;
  bt->bt_list_next = nullptr;
  bt->bt_list_prevp = nullptr;
}

// bt_insseg: TAILQ_INSERT_AFTER(&vm->vm_seglist, prev, bt).
inline void bt_insseg(vmem_t* vm, bt_t* bt, bt_t* prev) {
  bt->bt_seg_prev = prev;
  bt->bt_seg_next = prev->bt_seg_next;
  if (prev->bt_seg_next)
    prev->bt_seg_next->bt_seg_prev = bt;
  else
    vm->vm_seg_last = bt;
  prev->bt_seg_next = bt;
}

// bt_insseg_tail: TAILQ_INSERT_TAIL.
inline void bt_insseg_tail(vmem_t* vm, bt_t* bt) {
  bt->bt_seg_next = nullptr;
  bt->bt_seg_prev = vm->vm_seg_last;
  if (vm->vm_seg_last)
    vm->vm_seg_last->bt_seg_next = bt;
  else
    vm->vm_seg_first = bt;
  vm->vm_seg_last = bt;
}

inline void bt_remseg(vmem_t* vm, bt_t* bt) {
  if (bt->bt_seg_prev)
    bt->bt_seg_prev->bt_seg_next = bt->bt_seg_next;
  else
    vm->vm_seg_first = bt->bt_seg_next;
  if (bt->bt_seg_next)
    bt->bt_seg_next->bt_seg_prev = bt->bt_seg_prev;
  else
    vm->vm_seg_last = bt->bt_seg_prev;
  bt->bt_seg_next = bt->bt_seg_prev = nullptr;
}

// --- boundary tag supply ----------------------------------------------------

// pool_get(&vmem_btag_pool): host memory in slabs of the machine.
bt_t* bt_pool_get(vmem_t* vm) {
  vmem_globals& g = *vm->vm_globals;
  if (g.bt_pool_free == nullptr) {
    constexpr size_t kSlab = 256;
    g.bt_slabs.push_back(std::make_unique<bt_t[]>(kSlab));
    bt_t* slab = g.bt_slabs.back().get();
    for (size_t i = kSlab; i-- > 0;) {
      slab[i].bt_list_next = g.bt_pool_free;
      g.bt_pool_free = &slab[i];
    }
    g.bt_pool_nfree += kSlab;
  }
  bt_t* bt = g.bt_pool_free;
  g.bt_pool_free = bt->bt_list_next;
  g.bt_pool_nfree--;
  g.bt_pool_nget++;
  *bt = vmem_btag{};
  bt->bt_serial = ++vm->vm_nbtcreated;  // per arena: a dump does not depend on other arenas
  return bt;
}

// pool_put(&vmem_btag_pool, bt).
void bt_pool_put(vmem_globals& g, bt_t* bt) {
  bt->bt_list_next = g.bt_pool_free;
  g.bt_pool_free = bt;
  g.bt_pool_nfree++;
  g.bt_pool_nput++;
}

// bt_refill_locked: bring the arena's reserve above BT_MINRESERVE, from the
// static boot tags while any are left, then from the btag pool. kasim's pool
// is host memory; pool_get(PR_NOWAIT) failing is modelled by the
// fault-injection site "vmem_btag". The static tags cannot fail: the boot
// arenas (kmem_arena's initial span) always get theirs, as in NetBSD.
int bt_refill_locked(vmem_t* vm) {
  VMEM_ASSERT_LOCKED(vm);
  if (vm->vm_flags & VM_PRIVTAGS) return vm->vm_nfreetags > 0 ? 0 : ENOMEM_;
  vmem_globals& g = *vm->vm_globals;
  while (vm->vm_nfreetags <= BT_MINRESERVE) {
    if (g.bt_static_left > 0)
      g.bt_static_left--;
    else if (buggify("vmem_btag"))
      break;
    bt_t* bt = bt_pool_get(vm);
    list_insert_head(&vm->vm_freetags, bt);
    vm->vm_nfreetags++;
  }
  return vm->vm_nfreetags <= BT_MINRESERVE ? ENOMEM_ : 0;
}

// bt_alloc: take a tag from the reserve, refilling it first unless the
// allocation is itself for tag or metadata pages (VM_POPULATING).
//  => may drop vm_lock to sleep (VM_SLEEP).
bt_t* bt_alloc(vmem_t* vm, vm_flag_t flags) {
  VMEM_ASSERT_LOCKED(vm);
  if (vm->vm_flags & VM_PRIVTAGS) {
    // Private tags only: no pool to refill from.
  } else {
    while (vm->vm_nfreetags <= BT_MINRESERVE && (flags & VM_POPULATING) == 0) {
      if (bt_refill_locked(vm) == 0) break;
      vm->vm_nbtfail++;
      kasim_mark("vmem_btag_starved");
      if (flags & VM_NOSLEEP) return nullptr;
      // Several things could make a retry succeed; poll, as NetBSD does.
      VMEM_UNLOCK(vm);
      uvm_kick_pagedaemon();
      kpause("btalloc", false, 1, nullptr);
      VMEM_LOCK(vm);
    }
  }
  bt_t* bt = vm->vm_freetags.lh_first;
  if (bt == nullptr) {  // VM_POPULATING or VM_PRIVTAGS with an empty reserve (kasim)
    vm->vm_nbtfail++;
    return nullptr;
  }
  list_remove(bt);
  vm->vm_nfreetags--;
  return bt;
}

void bt_free(vmem_t* vm, bt_t* bt) {
  VMEM_ASSERT_LOCKED(vm);
  list_insert_head(&vm->vm_freetags, bt);
  vm->vm_nfreetags++;
}

// bt_freetrim: give tags beyond freelimit back to the pool.
//  => drops vm_lock.
void bt_freetrim(vmem_t* vm, unsigned freelimit) {
  VMEM_ASSERT_LOCKED(vm);
  bt_t* tofree = nullptr;
  if ((vm->vm_flags & VM_PRIVTAGS) == 0) {
    while (vm->vm_nfreetags > freelimit) {
      bt_t* bt = vm->vm_freetags.lh_first;
      list_remove(bt);
      vm->vm_nfreetags--;
      bt->bt_list_next = tofree;
      tofree = bt;
    }
  }
  VMEM_UNLOCK(vm);
  while (tofree) {
    bt_t* bt = tofree;
    tofree = bt->bt_list_next;
    bt_pool_put(*vm->vm_globals, bt);
  }
}

// --- free lists ---------------------------------------------------------------

// bt_freehead_tofree: the list a free segment of this size lives on.
vmem_btag_list* bt_freehead_tofree(vmem_t* vm, vmem_size_t size) {
  const vmem_size_t qsize = size >> vm->vm_quantum_shift;
  KASSERTMSG(size != 0 && qsize != 0, "bt_freehead_tofree: vmem %s: size 0x%" PRIx64,
             vm->vm_name, size);
  KASSERTMSG((size & vm->vm_quantum_mask) == 0,
             "bt_freehead_tofree: vmem %s: size 0x%" PRIx64 " not a multiple of the quantum",
             vm->vm_name, size);
  const int idx = SIZE2ORDER(qsize);
  return &vm->vm_freelist[idx];
}

// bt_freehead_toalloc: the first list worth searching. Instant-fit skips the
// list that may hold blocks smaller than the request.
int bt_freehead_toalloc(const vmem_t* vm, vmem_size_t size, vm_flag_t strat) {
  const vmem_size_t qsize = size >> vm->vm_quantum_shift;
  int idx = SIZE2ORDER(qsize);
  if (strat == VM_INSTANTFIT && ORDER2SIZE(idx) != qsize) idx++;
  return idx;
}

inline void bt_insfree(vmem_t* vm, bt_t* bt) {
  list_insert_head(bt_freehead_tofree(vm, bt->bt_size), bt);
}

inline void bt_remfree(vmem_t*, bt_t* bt) {
  KASSERT(bt->bt_type == BT_TYPE_FREE);
  list_remove(bt);
}

// --- busy hash ------------------------------------------------------------------

inline vmem_btag_list* bt_hashhead(vmem_t* vm, vmem_addr_t addr) {
  return &vm->vm_hashlist[vmem_hash_addr(addr) & vm->vm_hashmask];
}

bt_t* bt_lookupbusy(vmem_t* vm, vmem_addr_t addr) {
  for (bt_t* bt = bt_hashhead(vm, addr)->lh_first; bt; bt = bt->bt_list_next)
    if (bt->bt_start == addr) return bt;
  return nullptr;
}

void bt_insbusy(vmem_t* vm, bt_t* bt) {
  KASSERT(bt->bt_type == BT_TYPE_BUSY);
  list_insert_head(bt_hashhead(vm, bt->bt_start), bt);
  vm->vm_nbusytag++;
  if (vm->vm_nbusytag > vm->vm_maxbusytag) vm->vm_maxbusytag = vm->vm_nbusytag;
  vm->vm_inuse += bt->bt_size;
}

void bt_rembusy(vmem_t* vm, bt_t* bt) {
  KASSERT(vm->vm_nbusytag > 0);
  vm->vm_inuse -= bt->bt_size;
  vm->vm_nbusytag--;
  list_remove(bt);
}

// vmem_rehash_locked: move every busy tag to a table of
// 1 << (ilog2(newhashsize) + 1) buckets.
void vmem_rehash_locked(vmem_t* vm, size_t newhashsize) {
  VMEM_ASSERT_LOCKED(vm);
  const size_t size = static_cast<size_t>(1) << (SIZE2ORDER(newhashsize) + 1);
  vmem_btag_list* newlist = new vmem_btag_list[size];
  vmem_btag_list* oldlist = vm->vm_hashlist;
  const size_t oldsize = vm->vm_hashsize;
  vm->vm_hashlist = newlist;
  vm->vm_hashsize = size;
  vm->vm_hashmask = size - 1;
  for (size_t i = 0; i < oldsize; i++) {
    while (bt_t* bt = oldlist[i].lh_first) {
      bt_rembusy(vm, bt);
      bt_insbusy(vm, bt);
    }
  }
  // The high-water mark decays so that a shrinking arena's hash can shrink too.
  const size_t decayed = vm->vm_maxbusytag >= 2 ? vm->vm_maxbusytag / 2 - 1 : 0;
  vm->vm_maxbusytag = std::max(vm->vm_nbusytag, decayed);
  vm->vm_nrehash++;
  if (oldlist != &vm->vm_hash0) delete[] oldlist;
}

// vmem_rehash_check: what NetBSD's 10 s rehash callout does for one arena.
// kasim runs it lazily, under vm_lock, from the first vmem_xalloc after each
// 10 s boundary of simulated time (docs/fidelity.md).
void vmem_rehash_check(vmem_t* vm) {
  const uint64_t now = kernel_now_ns();
  if (now < vm->vm_rehash_next) return;
  vm->vm_rehash_next = (now / VMEM_REHASH_INTERVAL_NS + 1) * VMEM_REHASH_INTERVAL_NS;
  size_t desired = std::clamp(vm->vm_maxbusytag, VMEM_HASHSIZE_MIN, VMEM_HASHSIZE_MAX);
  const size_t current = vm->vm_hashsize;
  if (desired > current * 2 || desired * 2 < current) vmem_rehash_locked(vm, desired);
}

// --- spans ------------------------------------------------------------------------

// vmem_add1: append a span tag and one free segment covering it at the tail
// of the segment list.  => vm_lock held (bt_alloc may drop it to sleep).
int vmem_add1(vmem_t* vm, vmem_addr_t addr, vmem_size_t size, vm_flag_t flags, short spanbttype) {
  KASSERT((flags & (VM_SLEEP | VM_NOSLEEP)) != 0);
  KASSERT((~flags & (VM_SLEEP | VM_NOSLEEP)) != 0);
  KASSERT(spanbttype == BT_TYPE_SPAN || spanbttype == BT_TYPE_SPAN_STATIC);
  KASSERTMSG(size > 0 && ((addr | size) & vm->vm_quantum_mask) == 0 && addr + (size - 1) >= addr,
             "vmem_add: vmem %s: span addr 0x%" PRIx64 " size 0x%" PRIx64
             " is empty, not quantum-aligned or wraps",
             vm->vm_name, addr, size);
  VMEM_ASSERT_LOCKED(vm);
  bt_t* btspan = bt_alloc(vm, flags);
  if (btspan == nullptr) return ENOMEM_;
  bt_t* btfree = bt_alloc(vm, flags);
  if (btfree == nullptr) {
    bt_free(vm, btspan);
    return ENOMEM_;
  }
  btspan->bt_type = spanbttype;
  btspan->bt_start = addr;
  btspan->bt_size = size;
  btfree->bt_type = BT_TYPE_FREE;
  btfree->bt_start = addr;
  btfree->bt_size = size;
  bt_insseg_tail(vm, btspan);
  bt_insseg(vm, btfree, btspan);
  bt_insfree(vm, btfree);
  vm->vm_size += size;
  return 0;
}

// vmem_import: get a new span from the source.
//  => vm_lock held; dropped around the import (and release) callbacks.
int vmem_import(vmem_t* vm, vmem_size_t size, vm_flag_t flags) {
  VMEM_ASSERT_LOCKED(vm);
  if (vm->vm_importfn == nullptr && vm->vm_ximportfn == nullptr) return EINVAL_;
  if (vm->vm_flags & VM_LARGEIMPORT) size *= 16;
  vmem_addr_t addr = 0;
  int rc;
  VMEM_UNLOCK(vm);
  if (vm->vm_flags & VM_XIMPORT)
    rc = vm->vm_ximportfn(vm->vm_arg, size, &size, flags, &addr);
  else
    rc = vm->vm_importfn(vm->vm_arg, size, flags, &addr);
  VMEM_LOCK(vm);
  if (rc) return ENOMEM_;
  if (vmem_add1(vm, addr, size, flags, BT_TYPE_SPAN) != 0) {
    VMEM_UNLOCK(vm);
    if (vm->vm_releasefn) vm->vm_releasefn(vm->vm_arg, addr, size);
    VMEM_LOCK(vm);
    return ENOMEM_;
  }
  vm->vm_nimport++;
  kasim_mark("vmem_import");
  return 0;
}

// vmem_fit: place [start, start+size) inside bt honouring every constraint;
// maxaddr is inclusive.
int vmem_fit(const bt_t* bt, vmem_size_t size, vmem_size_t align, vmem_size_t phase,
             vmem_size_t nocross, vmem_addr_t minaddr, vmem_addr_t maxaddr, vmem_addr_t* addrp) {
  KASSERT(size > 0);
  KASSERT(bt->bt_size >= size);
  vmem_addr_t start = bt->bt_start;
  if (start < minaddr) start = minaddr;
  vmem_addr_t end = BT_END(bt);
  if (end > maxaddr) end = maxaddr;
  if (start > end) return ENOMEM_;

  start = VMEM_ALIGNUP(start - phase, align) + phase;
  if (start < bt->bt_start) start += align;
  if (VMEM_CROSS_P(start, start + size - 1, nocross)) {
    KASSERTMSG(align < nocross, "vmem_fit: align 0x%" PRIx64 " >= nocross 0x%" PRIx64, align,
               nocross);
    start = VMEM_ALIGNUP(start - phase, nocross) + phase;
  }
  if (start <= end && end - start >= size - 1) {
    KASSERTMSG((start & (align - 1)) == phase, "vmem_fit: start 0x%" PRIx64 " misaligned",
               start);
    KASSERTMSG(!VMEM_CROSS_P(start, start + size - 1, nocross),
               "vmem_fit: [0x%" PRIx64 ", +0x%" PRIx64 ") crosses 0x%" PRIx64, start, size,
               nocross);
    KASSERTMSG(minaddr <= start, "vmem_fit: start 0x%" PRIx64 " below minaddr", start);
    KASSERTMSG(maxaddr == 0 || start + size - 1 <= maxaddr,
               "vmem_fit: end 0x%" PRIx64 " above maxaddr", start + size - 1);
    KASSERTMSG(bt->bt_start <= start, "vmem_fit: start 0x%" PRIx64 " below the segment", start);
    KASSERTMSG(BT_END(bt) - start >= size - 1, "vmem_fit: end beyond the segment");
    *addrp = start;
    return 0;
  }
  return ENOMEM_;
}

// vmem_xfree_bt: free a busy segment, coalesce it with its free neighbours
// in the same span, and release a wholly free imported span.
//  => vm_lock held; dropped on return.
void vmem_xfree_bt(vmem_t* vm, bt_t* bt) {
  VMEM_ASSERT_LOCKED(vm);
  KASSERT(bt->bt_type == BT_TYPE_BUSY);
  if (kasim_canary("vmem_inuse_unlocked")) {
    // Planted bug: vm_inuse is read, the lock is dropped and retaken, and
    // the stale value is written back; a free or alloc on another CPU in
    // the window is lost.
    const vmem_size_t inuse = vm->vm_inuse;
    VMEM_UNLOCK(vm);
    VMEM_LOCK(vm);
    bt_rembusy(vm, bt);
    vm->vm_inuse = inuse - bt->bt_size;
  } else {
    bt_rembusy(vm, bt);
  }
  bt->bt_type = BT_TYPE_FREE;

  bt_t* t = bt->bt_seg_next;
  if (t != nullptr && t->bt_type == BT_TYPE_FREE) {
    KASSERTMSG(BT_END(bt) < t->bt_start, "vmem_xfree: vmem %s: overlapping segments",
               vm->vm_name);
    bt_remfree(vm, t);
    bt_remseg(vm, t);
    bt->bt_size += t->bt_size;
    bt_free(vm, t);
  }
  t = bt->bt_seg_prev;
  // Planted bug "vmem_no_coalesce_prev": the previous free segment is left alone.
  if (t != nullptr && t->bt_type == BT_TYPE_FREE && !kasim_canary("vmem_no_coalesce_prev")) {
    KASSERTMSG(BT_END(t) < bt->bt_start, "vmem_xfree: vmem %s: overlapping segments",
               vm->vm_name);
    bt_remfree(vm, t);
    bt_remseg(vm, t);
    bt->bt_size += t->bt_size;
    bt->bt_start = t->bt_start;
    bt_free(vm, t);
  }

  t = bt->bt_seg_prev;
  KASSERT(t != nullptr);
  KASSERT(BT_ISSPAN_P(t) || t->bt_type == BT_TYPE_BUSY);
  if (vm->vm_releasefn != nullptr && t->bt_type == BT_TYPE_SPAN && t->bt_size == bt->bt_size) {
    KASSERT(t->bt_start == bt->bt_start);
    const vmem_addr_t spanaddr = bt->bt_start;
    const vmem_size_t spansize = bt->bt_size;
    bt_remseg(vm, bt);
    bt_free(vm, bt);
    bt_remseg(vm, t);
    bt_free(vm, t);
    vm->vm_size -= spansize;
    vm->vm_nrelease++;
    kasim_mark("vmem_release");
    VMEM_CONDVAR_BROADCAST(vm);
    bt_freetrim(vm, BT_MAXFREE);  // drops the lock
    vm->vm_releasefn(vm->vm_arg, spanaddr, spansize);
  } else {
    bt_insfree(vm, bt);
    VMEM_CONDVAR_BROADCAST(vm);
    bt_freetrim(vm, BT_MAXFREE);  // drops the lock
  }
}

// --- quantum caches (§2.4) -------------------------------------------------------

// prf_to_vmf / vmf_to_prf: pool(9) flags to vmem(9) flags and back.
vm_flag_t prf_to_vmf(int prflags) {
  KASSERTMSG((prflags & ~(PR_LIMITFAIL | PR_WAITOK | PR_NOWAIT)) == 0,
             "prf_to_vmf: pool flags 0x%x beyond PR_LIMITFAIL|PR_WAITOK|PR_NOWAIT", prflags);
  return (prflags & PR_WAITOK) ? VM_SLEEP : VM_NOSLEEP;
}

int vmf_to_prf(vm_flag_t vmflags) { return (vmflags & VM_SLEEP) ? PR_WAITOK : PR_NOWAIT; }

// qc_poolpage_size: the smallest power of 2 greater than 3 * qcache_max, so
// that a pool page holds at least 3 of the largest items.
vmem_size_t qc_poolpage_size(vmem_size_t qcache_max) {
  int i = 0;
  while (ORDER2SIZE(i) <= qcache_max * 3) i++;
  return ORDER2SIZE(i);
}

vmem_t* qc_pool_vmem(const pool* pp) {
  return reinterpret_cast<const qc_allocator*>(pp->pr_alloc)->qa_vmem;
}

// qc_poolpage_alloc: a qcache pool page is an instant-fit allocation of the
// arena itself; being larger than vm_qcache_max, it is a busy segment.
vaddr_t qc_poolpage_alloc(pool* pp, int prflags) {
  vmem_t* vm = qc_pool_vmem(pp);
  vmem_addr_t addr = 0;
  if (vmem_alloc(vm, pp->pr_alloc->pa_pagesz, prf_to_vmf(prflags) | VM_INSTANTFIT, &addr) != 0)
    return 0;
  kasim_mark("vmem_qcache_import");
  return addr;
}

void qc_poolpage_free(pool* pp, vaddr_t addr) {
  vmem_free(qc_pool_vmem(pp), addr, pp->pr_alloc->pa_pagesz);
}

// qc_init: the quantum caches for sizes i * quantum, i = nq..1, largest
// first; a size whose pool would hold as many items per page as the next
// larger one's shares that cache instead.
//  => before the arena is used; not from interrupt context.
void qc_init(vmem_t* vm, vmem_size_t qcache_max, int ipl) {
  const vmem_size_t idx_max = std::min<vmem_size_t>(qcache_max >> vm->vm_quantum_shift,
                                                    VMEM_QCACHE_IDX_MAX);
  vm->vm_qcache_max = idx_max << vm->vm_quantum_shift;
  if (idx_max == 0) return;
  auto* qa = new qc_allocator();
  qa->qa_vmem = vm;
  qa->qa_pa.pa_alloc = qc_poolpage_alloc;
  qa->qa_pa.pa_free = qc_poolpage_free;
  vm->vm_qcache_pagesz = qc_poolpage_size(vm->vm_qcache_max);
  KASSERTMSG(vm->vm_qcache_pagesz <= 0x80000000ULL,
             "qc_init: vmem %s: pool page of 0x%" PRIx64 " bytes is too large", vm->vm_name,
             vm->vm_qcache_pagesz);
  qa->qa_pa.pa_pagesz = static_cast<unsigned>(vm->vm_qcache_pagesz);
  qa->qa_pa.pa_name = "vmem qcache";
  vm->vm_qcache_allocator = qa;
  vm->vm_qcache_store = new qcache_t[VMEM_QCACHE_IDX_MAX];

  qcache_t* prevqc = nullptr;
  for (vmem_size_t i = idx_max; i > 0; i--) {
    qcache_t* qc = &vm->vm_qcache_store[i - 1];
    const vmem_size_t size = i << vm->vm_quantum_shift;
    qc->qc_vmem = vm;
    std::snprintf(qc->qc_name, sizeof qc->qc_name, "%s-%" PRIu64, vm->vm_name, size);
    pool_cache_t pc = pool_cache_init(size, static_cast<unsigned>(ORDER2SIZE(vm->vm_quantum_shift)),
                                      0, PR_NOALIGN | PR_NOTOUCH | PR_RECURSIVE, qc->qc_name,
                                      &qa->qa_pa, ipl, nullptr, nullptr, nullptr);
    KASSERT(pc != nullptr);
    qc->qc_cache = pc;
    if (prevqc != nullptr &&
        pc->pc_pool.pr_itemsperpage == prevqc->qc_cache->pc_pool.pr_itemsperpage) {
      // As many per page as the next larger size: share that cache.
      pool_cache_destroy(pc);
      qc->qc_cache = nullptr;
      vm->vm_qcache[i - 1] = prevqc;
      continue;
    }
    vm->vm_qcache[i - 1] = qc;
    prevqc = qc;
  }
}

// qc_destroy: destroy each distinct quantum cache (aliases share one).
//  => no qcache item may be out (pool_destroy asserts it).
void qc_destroy(vmem_t* vm) {
  const qcache_t* prevqc = nullptr;
  const vmem_size_t idx_max = vm->vm_qcache_max >> vm->vm_quantum_shift;
  for (vmem_size_t i = 0; i < idx_max; i++) {
    qcache_t* qc = vm->vm_qcache[i];
    if (qc == prevqc) continue;
    pool_cache_destroy(qc->qc_cache);
    qc->qc_cache = nullptr;
    prevqc = qc;
  }
  for (qcache_t*& qc : vm->vm_qcache) qc = nullptr;
  vm->vm_qcache_max = 0;
}

// Frees the arena's host memory. Its tags go back to the machine's pool;
// with `to_pool` false (the machine is going away) they are left to the
// slabs, which are freed wholesale.
void vmem_free_host(vmem_t* vm, bool to_pool) {
  if (to_pool) {
    for (bt_t* bt = vm->vm_seg_first; bt;) {
      bt_t* next = bt->bt_seg_next;
      if ((bt->bt_flags & BT_F_PRIVATE) == 0) bt_pool_put(*vm->vm_globals, bt);
      bt = next;
    }
    for (bt_t* bt = vm->vm_freetags.lh_first; bt;) {
      bt_t* next = bt->bt_list_next;
      if ((bt->bt_flags & BT_F_PRIVATE) == 0) bt_pool_put(*vm->vm_globals, bt);
      bt = next;
    }
  }
  if (vm->vm_hashlist != &vm->vm_hash0) delete[] vm->vm_hashlist;
  // The quantum caches' pool_caches belong to the machine's pool_cache state.
  delete[] vm->vm_qcache_store;
  delete vm->vm_qcache_allocator;
  delete vm;
}

vmem_t* vmem_init(const char* name, vmem_addr_t base, vmem_size_t size, vmem_size_t quantum,
                  vmem_import_t* importfn, vmem_ximport_t* ximportfn, vmem_release_t* releasefn,
                  vmem_t* arg, vmem_size_t qcache_max, vm_flag_t flags, int ipl) {
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(), "vmem_create: %s: called from interrupt context",
             name);
  KASSERTMSG((flags & (VM_SLEEP | VM_NOSLEEP)) != 0 && (~flags & (VM_SLEEP | VM_NOSLEEP)) != 0,
             "vmem_create: %s: flags 0x%x need exactly one of VM_SLEEP and VM_NOSLEEP", name,
             flags);
  KASSERTMSG(quantum > 0 && (quantum & (quantum - 1)) == 0,
             "vmem_create: %s: quantum 0x%" PRIx64 " is not a power of 2", name, quantum);
  KASSERTMSG((flags & VM_PRIVTAGS) == 0 || size == 0,
             "vmem_create: %s: VM_PRIVTAGS needs an initial size of 0", name);
  KASSERTMSG((qcache_max & (quantum - 1)) == 0,
             "vmem_create: %s: qcache_max 0x%" PRIx64 " is not a multiple of the quantum", name,
             qcache_max);

  vmem_globals& g = vmem_globals_get();
  vmem_t* vm = new vmem();
  vm->vm_globals = &g;
  vm->vm_serial = ++g.next_arena_serial;
  std::snprintf(vm->vm_name, sizeof vm->vm_name, "%s", name);  // strlcpy: 16 characters
  mutex_init(&vm->vm_lock, MUTEX_DEFAULT, ipl);
  mutex_set_name(&vm->vm_lock, std::string("vm_lock of ") + vm->vm_name);
  cv_init(&vm->vm_cv, vm->vm_name);
  vm->vm_flags = flags;
  vm->vm_nfreetags = 0;
  vm->vm_quantum_mask = quantum - 1;
  vm->vm_quantum_shift = SIZE2ORDER(quantum);
  vm->vm_importfn = importfn;
  vm->vm_ximportfn = ximportfn;
  vm->vm_releasefn = releasefn;
  vm->vm_arg = arg;
  vm->vm_ipl = ipl;
  vm->vm_hashsize = 1;
  vm->vm_hashmask = 0;
  vm->vm_hashlist = &vm->vm_hash0;
  qc_init(vm, qcache_max, ipl);
  vm->vm_rehash_next = (kernel_now_ns() / VMEM_REHASH_INTERVAL_NS + 1) * VMEM_REHASH_INTERVAL_NS;

  if (size != 0) {
    if (vmem_add(vm, base, size, flags) != 0) {
      mutex_destroy(&vm->vm_lock);
      cv_destroy(&vm->vm_cv);
      vmem_free_host(vm, true);
      return nullptr;
    }
  }
  if (flags & VM_BOOTSTRAP) {
    VMEM_LOCK(vm);
    (void)bt_refill_locked(vm);
    VMEM_UNLOCK(vm);
  }
  if (!g.inited) {
    mutex_init(&g.vmem_list_lock, MUTEX_DEFAULT, IPL_NONE);
    mutex_set_name(&g.vmem_list_lock, "vmem_list_lock");
    g.inited = true;
  }
  mutex_enter(&g.vmem_list_lock);
  g.vmem_list.insert(g.vmem_list.begin(), vm);
  mutex_exit(&g.vmem_list_lock);
  return vm;
}

}  // namespace

// --- kasim helpers -------------------------------------------------------------------

vmem_globals& vmem_globals_get() { return machine_local<vmem_globals>(); }

vmem_globals::~vmem_globals() {
  for (vmem_t* vm : vmem_list) vmem_free_host(vm, false);
}

uint32_t vmem_hash_addr(vmem_addr_t addr) {
  // hash32_buf(&addr, sizeof(addr), HASH32_BUF_INIT): the bytes in memory
  // order of a little-endian machine.
  uint32_t h = 5381;
  for (int i = 0; i < 8; i++) h = h * 257 + static_cast<uint8_t>(addr >> (8 * i));
  return h * 257;
}

size_t vmem_count_segments(const vmem_t* vm, short type) {
  size_t n = 0;
  for (const bt_t* bt = vm->vm_seg_first; bt; bt = bt->bt_seg_next) n += bt->bt_type == type;
  return n;
}

// --- API ---------------------------------------------------------------------------------

vmem_t* vmem_create(const char* name, vmem_addr_t base, vmem_size_t size, vmem_size_t quantum,
                    vmem_import_t* importfn, vmem_release_t* releasefn, vmem_t* source,
                    vmem_size_t qcache_max, vm_flag_t flags, int ipl) {
  KASSERTMSG((flags & VM_XIMPORT) == 0, "vmem_create: %s: VM_XIMPORT is for vmem_xcreate", name);
  return vmem_init(name, base, size, quantum, importfn, nullptr, releasefn, source, qcache_max,
                   flags, ipl);
}

vmem_t* vmem_xcreate(const char* name, vmem_addr_t base, vmem_size_t size, vmem_size_t quantum,
                     vmem_ximport_t* importfn, vmem_release_t* releasefn, vmem_t* source,
                     vmem_size_t qcache_max, vm_flag_t flags, int ipl) {
  KASSERTMSG((flags & VM_XIMPORT) == 0, "vmem_xcreate: %s: VM_XIMPORT is set by vmem_xcreate",
             name);
  return vmem_init(name, base, size, quantum, nullptr, importfn, releasefn, source, qcache_max,
                   flags | VM_XIMPORT, ipl);
}

void vmem_destroy(vmem_t* vm) {
  vmem_globals& g = vmem_globals_get();
  // The quantum caches go first: their pool pages are busy segments.
  if (vm->vm_qcache_max != 0) qc_destroy(vm);
  // NetBSD unlinks the arena first and then asserts, while draining the busy
  // hash, that every hashed tag is a static span: the hash holds busy tags
  // only, so any tag there is an outstanding allocation. kasim asserts first,
  // so that an arena that fails stays on the list (and is freed with the machine).
  for (size_t i = 0; i < vm->vm_hashsize; i++) {
    if (const bt_t* bt = vm->vm_hashlist[i].lh_first)
      KASSERTMSG(bt->bt_type == BT_TYPE_SPAN_STATIC,
                 "vmem_destroy: vmem %s still has busy segment addr 0x%" PRIx64
                 " size 0x%" PRIx64,
                 vm->vm_name, bt->bt_start, bt->bt_size);
  }
  mutex_enter(&g.vmem_list_lock);
  auto it = std::find(g.vmem_list.begin(), g.vmem_list.end(), vm);
  KASSERTMSG(it != g.vmem_list.end(), "vmem_destroy: not an arena");
  g.vmem_list.erase(it);
  mutex_exit(&g.vmem_list_lock);
  mutex_destroy(&vm->vm_lock);
  cv_destroy(&vm->vm_cv);
  vmem_free_host(vm, true);
}

int vmem_alloc(vmem_t* vm, vmem_size_t size, vm_flag_t flags, vmem_addr_t* addrp) {
  const vm_flag_t strat = flags & VM_FITMASK;
  KASSERTMSG((flags & (VM_SLEEP | VM_NOSLEEP)) != 0 && (~flags & (VM_SLEEP | VM_NOSLEEP)) != 0,
             "vmem_alloc: vmem %s: flags 0x%x need exactly one of VM_SLEEP and VM_NOSLEEP",
             vm->vm_name, flags);
  KASSERTMSG(size > 0, "vmem_alloc: vmem %s: size 0", vm->vm_name);
  KASSERTMSG(strat == VM_BESTFIT || strat == VM_INSTANTFIT,
             "vmem_alloc: vmem %s: flags 0x%x need exactly one of VM_BESTFIT and VM_INSTANTFIT",
             vm->vm_name, flags);
  if (flags & VM_SLEEP) VMEM_ASSERT_SLEEPABLE("vmem_alloc");

  int error;
  if (size <= vm->vm_qcache_max) {
    // The quantum cache of ceil(size / quantum) quanta. The item stays a
    // busy part of its pool page in the arena, whatever happens to it.
    const vmem_size_t qidx = (size + vm->vm_quantum_mask) >> vm->vm_quantum_shift;
    qcache_t* qc = vm->vm_qcache[qidx - 1];
    const vaddr_t p = pool_cache_get(qc->qc_cache, vmf_to_prf(flags));
    if (p != 0) *addrp = p;
    error = p == 0 ? ENOMEM_ : 0;
  } else {
    error = vmem_xalloc(vm, size, 0, 0, 0, VMEM_ADDR_MIN, VMEM_ADDR_MAX, flags, addrp);
  }
  KASSERTMSG(error || (*addrp & vm->vm_quantum_mask) == 0,
             "vmem_alloc: vmem %s: addr 0x%" PRIx64 " not quantum-aligned", vm->vm_name, *addrp);
  KASSERTMSG(error == 0 || (flags & VM_SLEEP) == 0, "vmem_alloc: vmem %s: VM_SLEEP failed",
             vm->vm_name);
  return error;
}

int vmem_xalloc(vmem_t* vm, const vmem_size_t size0, vmem_size_t align, const vmem_size_t phase,
                const vmem_size_t nocross, const vmem_addr_t minaddr, const vmem_addr_t maxaddr,
                const vm_flag_t flags, vmem_addr_t* addrp) {
  const vmem_size_t size = vmem_roundup_size(vm, size0);
  vm_flag_t strat = flags & VM_FITMASK;

  KASSERTMSG((flags & (VM_SLEEP | VM_NOSLEEP)) != 0 && (~flags & (VM_SLEEP | VM_NOSLEEP)) != 0,
             "vmem_xalloc: vmem %s: flags 0x%x need exactly one of VM_SLEEP and VM_NOSLEEP",
             vm->vm_name, flags);
  KASSERTMSG(size0 > 0 && size > 0, "vmem_xalloc: vmem %s: size 0x%" PRIx64, vm->vm_name, size0);
  KASSERTMSG(strat == VM_BESTFIT || strat == VM_INSTANTFIT,
             "vmem_xalloc: vmem %s: flags 0x%x need exactly one of VM_BESTFIT and VM_INSTANTFIT",
             vm->vm_name, flags);
  if (flags & VM_SLEEP) VMEM_ASSERT_SLEEPABLE("vmem_xalloc");
  KASSERTMSG((align & vm->vm_quantum_mask) == 0 && (align & (align - 1)) == 0,
             "vmem_xalloc: vmem %s: align 0x%" PRIx64
             " is not a power-of-2 multiple of the quantum",
             vm->vm_name, align);
  KASSERTMSG((phase & vm->vm_quantum_mask) == 0,
             "vmem_xalloc: vmem %s: phase 0x%" PRIx64 " is not a multiple of the quantum",
             vm->vm_name, phase);
  KASSERTMSG((nocross & vm->vm_quantum_mask) == 0 && (nocross & (nocross - 1)) == 0,
             "vmem_xalloc: vmem %s: nocross 0x%" PRIx64
             " is not a power-of-2 multiple of the quantum",
             vm->vm_name, nocross);
  KASSERTMSG((align == 0 || phase < align) && (phase == 0 || phase < align),
             "vmem_xalloc: vmem %s: phase 0x%" PRIx64 " not below align 0x%" PRIx64, vm->vm_name,
             phase, align);
  KASSERTMSG(nocross == 0 || nocross >= size,
             "vmem_xalloc: vmem %s: nocross 0x%" PRIx64 " smaller than size 0x%" PRIx64,
             vm->vm_name, nocross, size);
  KASSERTMSG(minaddr <= maxaddr,
             "vmem_xalloc: vmem %s: minaddr 0x%" PRIx64 " above maxaddr 0x%" PRIx64, vm->vm_name,
             minaddr, maxaddr);
  KASSERTMSG(!VMEM_CROSS_P(phase, phase + size - 1, nocross),
             "vmem_xalloc: vmem %s: phase 0x%" PRIx64 " and size 0x%" PRIx64
             " always cross nocross 0x%" PRIx64,
             vm->vm_name, phase, size, nocross);

  if (align == 0) align = vm->vm_quantum_mask + 1;

  VMEM_LOCK(vm);
  vmem_rehash_check(vm);
  bt_t* btnew = bt_alloc(vm, flags);
  if (btnew == nullptr) {
    VMEM_UNLOCK(vm);
    return ENOMEM_;
  }
  bt_t* btnew2 = bt_alloc(vm, flags);  // for the alignment gap at the front
  if (btnew2 == nullptr) {
    bt_free(vm, btnew);
    VMEM_UNLOCK(vm);
    return ENOMEM_;
  }

  bt_t* bt = nullptr;
  vmem_addr_t start = 0;
  int first;
retry_strat:
  first = bt_freehead_toalloc(vm, size, strat);
retry:
  bt = nullptr;
  if (strat == VM_INSTANTFIT) {
    // Every block on lists >= first is big enough: look at the heads only.
    for (int list = first; list < VMEM_MAXORDER; list++) {
      bt_t* head = vm->vm_freelist[list].lh_first;
      if (head != nullptr &&
          vmem_fit(head, size, align, phase, nocross, minaddr, maxaddr, &start) == 0) {
        bt = head;
        goto gotit;
      }
    }
  } else {  // VM_BESTFIT: every entry, in list (LIFO) order
    for (int list = first; list < VMEM_MAXORDER; list++) {
      for (bt_t* t = vm->vm_freelist[list].lh_first; t; t = t->bt_list_next) {
        if (t->bt_size >= size &&
            vmem_fit(t, size, align, phase, nocross, minaddr, maxaddr, &start) == 0) {
          bt = t;
          goto gotit;
        }
      }
    }
  }
  if (strat == VM_INSTANTFIT) {
    strat = VM_BESTFIT;
    goto retry_strat;
  }
  if (align != vm->vm_quantum_mask + 1 || phase != 0 || nocross != 0) {
    // A constrained request never imports (NetBSD: "XXX should try to
    // import a region large enough to satisfy restrictions?").
    goto fail;
  }
  // NetBSD: "XXX eeek, minaddr & maxaddr not respected".
  if (vmem_import(vm, size, flags) == 0) goto retry;
  if (flags & VM_SLEEP) {
    vm->vm_nsleep++;
    kasim_mark("vmem_sleep");
    uvm_kick_pagedaemon();
    cv_wait(&vm->vm_cv, &vm->vm_lock);
    goto retry;
  }
fail:
  bt_free(vm, btnew);
  bt_free(vm, btnew2);
  VMEM_UNLOCK(vm);
  return ENOMEM_;

gotit:
  KASSERT(bt->bt_type == BT_TYPE_FREE);
  KASSERT(bt->bt_size >= size);
  bt_remfree(vm, bt);
  if (bt->bt_start != start) {
    // The alignment gap at the front becomes a free segment of its own.
    btnew2->bt_type = BT_TYPE_FREE;
    btnew2->bt_start = bt->bt_start;
    btnew2->bt_size = start - bt->bt_start;
    bt->bt_start = start;
    bt->bt_size -= btnew2->bt_size;
    bt_insfree(vm, btnew2);
    bt_insseg(vm, btnew2, bt->bt_seg_prev);
    btnew2 = nullptr;
  }
  KASSERT(bt->bt_start == start);
  if (bt->bt_size != size && bt->bt_size - size > vm->vm_quantum_mask) {
    // Split: the front becomes busy, the rest stays free.
    btnew->bt_type = BT_TYPE_BUSY;
    btnew->bt_start = bt->bt_start;
    btnew->bt_size = size;
    bt->bt_start = bt->bt_start + size;
    bt->bt_size -= size;
    bt_insfree(vm, bt);
    bt_insseg(vm, btnew, bt->bt_seg_prev);
    bt_insbusy(vm, btnew);
    btnew = nullptr;
  } else {
    bt->bt_type = BT_TYPE_BUSY;
    bt_insbusy(vm, bt);
  }
  if (btnew != nullptr) bt_free(vm, btnew);
  if (btnew2 != nullptr) bt_free(vm, btnew2);
  VMEM_UNLOCK(vm);
  *addrp = start;
  return 0;
}

int vmem_xalloc_addr(vmem_t* vm, vmem_addr_t addr, vmem_size_t size, vm_flag_t flags) {
  KASSERTMSG((addr & vm->vm_quantum_mask) == 0,
             "vmem_xalloc_addr: vmem %s: addr 0x%" PRIx64 " not quantum-aligned", vm->vm_name,
             addr);
  KASSERTMSG(size > 0, "vmem_xalloc_addr: vmem %s: size 0", vm->vm_name);
  size = vmem_roundup_size(vm, size);
  flags = (flags & ~VM_INSTANTFIT) | VM_BESTFIT;
  vmem_addr_t result = 0;
  const int error = vmem_xalloc(vm, size, 0, 0, 0, addr, addr + size - 1, flags, &result);
  KASSERT(error != 0 || result == addr);
  return error;
}

void vmem_free(vmem_t* vm, vmem_addr_t addr, vmem_size_t size) {
  KASSERTMSG(size > 0, "vmem_free: vmem %s: addr 0x%" PRIx64 " size 0", vm->vm_name, addr);
  KASSERTMSG((addr & vm->vm_quantum_mask) == 0,
             "vmem_free: vmem %s: addr 0x%" PRIx64 " not quantum-aligned", vm->vm_name, addr);
  if (size <= vm->vm_qcache_max) {
    // Back to its quantum cache: the arena's busy accounting does not change.
    const vmem_size_t qidx = (size + vm->vm_quantum_mask) >> vm->vm_quantum_shift;
    pool_cache_put(vm->vm_qcache[qidx - 1]->qc_cache, addr);
    return;
  }
  vmem_xfree(vm, addr, size);
}

void vmem_xfree(vmem_t* vm, vmem_addr_t addr, vmem_size_t size) {
  KASSERTMSG(size > 0, "vmem_xfree: vmem %s: addr 0x%" PRIx64 " size 0", vm->vm_name, addr);
  VMEM_LOCK(vm);
  bt_t* bt = bt_lookupbusy(vm, addr);
  KASSERTMSG(bt != nullptr,
             "vmem_xfree: vmem %s addr 0x%" PRIx64 " size 0x%" PRIx64 ": not allocated",
             vm->vm_name, addr, size);
  KASSERT(bt->bt_start == addr);
  KASSERTMSG(bt->bt_size == vmem_roundup_size(vm, size) ||
                 bt->bt_size - vmem_roundup_size(vm, size) <= vm->vm_quantum_mask,
             "vmem_xfree: vmem %s addr 0x%" PRIx64 " size 0x%" PRIx64
             ": allocated size is 0x%" PRIx64,
             vm->vm_name, addr, size, bt->bt_size);
  vmem_xfree_bt(vm, bt);  // drops the lock
}

void vmem_xfreeall(vmem_t* vm) {
  KASSERTMSG(vm->vm_qcache_max == 0, "vmem_xfreeall: vmem %s has a quantum cache", vm->vm_name);
  VMEM_LOCK(vm);
  for (size_t i = 0; i < vm->vm_hashsize; i++) {
    while (bt_t* bt = vm->vm_hashlist[i].lh_first) {
      vmem_xfree_bt(vm, bt);  // drops the lock
      VMEM_LOCK(vm);
    }
  }
  VMEM_UNLOCK(vm);
}

int vmem_add(vmem_t* vm, vmem_addr_t addr, vmem_size_t size, vm_flag_t flags) {
  KASSERTMSG((flags & (VM_SLEEP | VM_NOSLEEP)) != 0 && (~flags & (VM_SLEEP | VM_NOSLEEP)) != 0,
             "vmem_add: vmem %s: flags 0x%x need exactly one of VM_SLEEP and VM_NOSLEEP",
             vm->vm_name, flags);
  VMEM_LOCK(vm);
  const int rc = vmem_add1(vm, addr, size, flags, BT_TYPE_SPAN_STATIC);
  VMEM_UNLOCK(vm);
  return rc;
}

void vmem_add_bts(vmem_t* vm, vmem_btag* bts, unsigned n) {
  VMEM_LOCK(vm);
  for (unsigned i = 0; i < n; i++) {
    bt_t* bt = &bts[i];
    *bt = vmem_btag{};
    bt->bt_flags = BT_F_PRIVATE;
    bt->bt_serial = 0;
    list_insert_head(&vm->vm_freetags, bt);
    vm->vm_nfreetags++;
  }
  VMEM_UNLOCK(vm);
}

vmem_size_t vmem_roundup_size(const vmem_t* vm, vmem_size_t size) {
  return (size + vm->vm_quantum_mask) & ~vm->vm_quantum_mask;
}

vmem_size_t vmem_size(const vmem_t* vm, int typemask) {
  switch (typemask) {
    case VMEM_ALLOC: return vm->vm_inuse;
    case VMEM_FREE: return vm->vm_size - vm->vm_inuse;
    case VMEM_FREE | VMEM_ALLOC: return vm->vm_size;
    default: panic("vmem_size: vmem %s: bad typemask %d", vm->vm_name, typemask);
  }
}

int vmem_rehash(vmem_t* vm, size_t newhashsize, vm_flag_t flags) {
  KASSERTMSG(newhashsize > 0, "vmem_rehash: vmem %s: size 0", vm->vm_name);
  (void)flags;  // kasim's host allocation of the table does not fail
  VMEM_LOCK(vm);
  vmem_rehash_locked(vm, newhashsize);
  VMEM_UNLOCK(vm);
  return 0;
}

// --- vmem_dump (§2.5) -----------------------------------------------------------

namespace {

const char* bt_type_string(int type) {
  switch (type) {
    case BT_TYPE_BUSY: return "busy";
    case BT_TYPE_FREE: return "free";
    case BT_TYPE_SPAN: return "span";
    case BT_TYPE_SPAN_STATIC: return "static span";
    default: return "BOGUS";
  }
}

void append_bt(std::string& out, const bt_t* bt) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "\t0x%" PRIx64 ": %" PRIx64 ", %" PRIx64 ", %d(%s)\n",
                bt->bt_serial, bt->bt_start, bt->bt_size, bt->bt_type,
                bt_type_string(bt->bt_type));
  out += buf;
}

}  // namespace

std::string vmem_dump_string(const vmem_t* vm) {
  std::string out;
  char buf[96];
  std::snprintf(buf, sizeof buf, "vmem 0x%" PRIx64 " '%s'\n", vm->vm_serial, vm->vm_name);
  out += buf;
  for (const bt_t* bt = vm->vm_seg_first; bt; bt = bt->bt_seg_next) append_bt(out, bt);
  for (int i = 0; i < VMEM_MAXORDER; i++) {
    const bt_t* bt = vm->vm_freelist[i].lh_first;
    if (bt == nullptr) continue;
    std::snprintf(buf, sizeof buf, "freelist[%d]\n", i);
    out += buf;
    for (; bt; bt = bt->bt_list_next) append_bt(out, bt);
  }
  return out;
}

void vmem_dump(const vmem_t* vm, void (*pr)(const char*, ...)) {
  const std::string s = vmem_dump_string(vm);
  pr("%s", s.c_str());
}

}  // namespace kasim
