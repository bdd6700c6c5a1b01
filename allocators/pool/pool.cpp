// allocators/pool/pool.cpp: pool(9) on the simulated machine.
//
// Written from ../shared/docs/NETBSD-ALLOCATORS.md §3 (subr_pool.c 1.284),
// with the documented watermark contract of its first section: the low-water
// mark sets minitems and minpages and catches up, the high-water mark sets
// maxpages, and pool_put frees an emptied page at once while npages > maxpages.
#include "allocators/pool/pool.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "allocators/pool_cache/pool_cache.h"
#include "allocators/uvm_km/uvm_km.h"

namespace kasim {

namespace {

// --- LIST(3) on page headers ---------------------------------------------------

void ph_insert_head(pool_pagelist* l, pool_item_header* ph, int which) {
  ph->ph_next = l->lh_first;
  if (l->lh_first != nullptr) l->lh_first->ph_prevp = &ph->ph_next;
  l->lh_first = ph;
  ph->ph_prevp = &l->lh_first;
  ph->ph_list = which;
}

void ph_remove(pool_item_header* ph) {
  if (ph->ph_next != nullptr) ph->ph_next->ph_prevp = ph->ph_prevp;
  *ph->ph_prevp = ph->ph_next;
  ph->ph_next = nullptr;
  ph->ph_prevp = nullptr;
  ph->ph_list = PH_NONE;
}

unsigned howmany(uint64_t x, uint64_t y) { return static_cast<unsigned>((x + y - 1) / y); }
unsigned roundup_u(unsigned x, unsigned y) { return (x + y - 1) / y * y; }

bool is_pow2(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

// --- the page back ends (pool_page_alloc, pool_page_alloc_meta) ---------------

vm_flag_t pool_vmflags(int flags) {
  return ((flags & PR_WAITOK) ? VM_SLEEP : VM_NOSLEEP) | VM_INSTANTFIT;
}

vaddr_t pool_page_alloc(pool* pp, int flags) {
  vmem_addr_t va = 0;
  KASSERTMSG(uvm_km_globals_get().kmem_va_arena != nullptr,
             "pool_page_alloc: [%s] no kmem_va_arena (kasim_vm_boot has not run)", pp->pr_wchan);
  if (uvm_km_kmem_alloc(uvm_km_globals_get().kmem_va_arena, pp->pr_alloc->pa_pagesz,
                        pool_vmflags(flags), &va) != 0)
    return 0;
  return va;
}
void pool_page_free(pool* pp, vaddr_t v) {
  uvm_km_kmem_free(uvm_km_globals_get().kmem_va_arena, v, pp->pr_alloc->pa_pagesz);
}
vaddr_t pool_page_alloc_meta(pool* pp, int flags) {
  vmem_addr_t va = 0;
  KASSERTMSG(uvm_km_globals_get().kmem_meta_arena != nullptr,
             "pool_page_alloc_meta: [%s] no kmem_meta_arena (kasim_vm_boot has not run)",
             pp->pr_wchan);
  if (vmem_alloc(uvm_km_globals_get().kmem_meta_arena, pp->pr_alloc->pa_pagesz,
                 pool_vmflags(flags), &va) != 0)
    return 0;
  return va;
}
void pool_page_free_meta(pool* pp, vaddr_t v) {
  vmem_free(uvm_km_globals_get().kmem_meta_arena, v, pp->pr_alloc->pa_pagesz);
}

// pa_alloc through the allocator; a NOWAIT failure runs the drain hook and
// retries once.  => may be called with pr_lock held (NOWAIT).
vaddr_t pool_allocator_alloc(pool* pp, int flags) {
  pool_allocator* pa = pp->pr_alloc;
  vaddr_t res = pa->pa_alloc(pp, flags);
  if (res == 0 && (flags & PR_WAITOK) == 0 && pp->pr_drain_hook != nullptr) {
    pp->pr_drain_hook(pp->pr_drain_hook_arg, flags);
    res = pa->pa_alloc(pp, flags);
  }
  return res;
}

void pool_allocator_free(pool* pp, vaddr_t v) { pp->pr_alloc->pa_free(pp, v); }

void pa_setup(pool_allocator* pa) {
  if (pa->pa_pagesz == 0) pa->pa_pagesz = static_cast<unsigned>(page_size());
  pa->pa_pagemask = ~(static_cast<uint64_t>(pa->pa_pagesz) - 1);
  pa->pa_pageshift = 0;
  while ((1u << pa->pa_pageshift) < pa->pa_pagesz) pa->pa_pageshift++;
}

void pool_drain_hook_pagedaemon(void*) { (void)pool_drain(nullptr); }

// --- page headers, lookup, curpage ----------------------------------------------

void pool_update_curpage(pool* pp) {
  pp->pr_curpage = pp->pr_partpages.lh_first;
  if (pp->pr_curpage == nullptr) pp->pr_curpage = pp->pr_emptypages.lh_first;
  KASSERTMSG((pp->pr_curpage == nullptr && pp->pr_nitems == 0) ||
                 (pp->pr_curpage != nullptr && pp->pr_nitems > 0),
             "pool_update_curpage: [%s] curpage %s but nitems %u", pp->pr_wchan,
             pp->pr_curpage ? "set" : "NULL", pp->pr_nitems);
}

pool_item_header* pr_find_pagehead(pool* pp, vaddr_t v) {
  auto it = pp->pr_phtree.upper_bound(v);
  if (it == pp->pr_phtree.begin()) return nullptr;
  --it;
  if (v >= it->first + pool_pagesz(pp)) return nullptr;
  return it->second.get();
}

using pool_pq = std::vector<std::unique_ptr<pool_item_header>>;

// pr_rmpage: take a page out of the pool; its memory is freed after unlock.
void pr_rmpage(pool* pp, pool_item_header* ph, pool_pq* pq) {
  KASSERT(mutex_owned(&pp->pr_lock));
  if (ph->ph_nmissing == 0) {
    KASSERT(pp->pr_nidle != 0);
    pp->pr_nidle--;
  }
  pp->pr_nitems -= pp->pr_itemsperpage;
  ph_remove(ph);
  auto it = pp->pr_phtree.find(ph->ph_page);
  KASSERT(it != pp->pr_phtree.end());
  pq->push_back(std::move(it->second));
  pp->pr_phtree.erase(it);
  pp->pr_npages--;
  pp->pr_npagefree++;
  pool_update_curpage(pp);
}

// pr_pagelist_free: free pages pr_rmpage took out.  => pr_lock not held.
void pr_pagelist_free(pool* pp, pool_pq* pq) {
  for (auto& ph : *pq) {
    pool_allocator_free(pp, ph->ph_page);
    if ((pp->pr_roflags & PR_PHINPAGE) == 0) pool_put(pp->pr_phpool, ph->ph_hdraddr);
  }
  pq->clear();
}

// Watermarks changed: pages idle now were kept under the old ones.
void pool_watermarks_changed(pool* pp) {
  for (pool_item_header* ph = pp->pr_emptypages.lh_first; ph; ph = ph->ph_next)
    ph->ph_kept = false;
}

// pool_prime_page: make a fresh page the pool's; items go onto its free list
// in ascending address order, so the highest comes out first.
void pool_prime_page(pool* pp, vaddr_t storage, std::unique_ptr<pool_item_header> ph) {
  KASSERT(mutex_owned(&pp->pr_lock));
  const unsigned n = pp->pr_itemsperpage;
  ph->ph_page = storage;
  ph->ph_nmissing = 0;
  ph->ph_time = time_uptime();
  ph->ph_poolid = pp->pr_poolid;
  ph->ph_kept = false;
  // Colour this page.
  ph->ph_off = pp->pr_itemoffset + pp->pr_curcolor;
  if ((pp->pr_curcolor += pp->pr_align) > pp->pr_maxcolor) pp->pr_curcolor = 0;
  KASSERTMSG(((storage + ph->ph_off) & (pp->pr_align - 1)) == 0,
             "pool_prime_page: [%s] first item 0x%" PRIx64 " not aligned to %u", pp->pr_wchan,
             storage + ph->ph_off, pp->pr_align);
  ph->ph_bitmap.assign(howmany(n, 32), 0);
  for (unsigned i = 0; i < n; i++) ph->ph_bitmap[i / 32] |= 1u << (i % 32);
  if ((pp->pr_roflags & PR_USEBMAP) == 0) {
    ph->ph_itemlist.clear();
    ph->ph_itemlist.reserve(n);
    for (unsigned i = 0; i < n; i++) ph->ph_itemlist.push_back(i);
  }
  pool_item_header* p = ph.get();
  pp->pr_phtree[storage] = std::move(ph);
  ph_insert_head(&pp->pr_emptypages, p, PH_EMPTY);
  pp->pr_nidle++;
  pp->pr_nitems += n;
  if (pp->pr_curpage == nullptr) pp->pr_curpage = p;
  pp->pr_npages++;
  if (pp->pr_npages > pp->pr_hiwat) pp->pr_hiwat = pp->pr_npages;
  // Pages kept empty before this grow were judged with fewer pages.
  pool_watermarks_changed(pp);
}

// pool_grow: add one page.  => pr_lock held on entry and return; a PR_WAITOK
// grower drops it around the allocation, a PR_NOWAIT one keeps it.
int pool_grow(pool* pp, int flags) {
  KASSERT(mutex_owned(&pp->pr_lock));
  if (pp->pr_flags & PR_GROWING) {
    pp->pr_ngrowwait++;
    kasim_mark("pool_grow_wait");
    if (flags & PR_WAITOK) {
      do {
        cv_wait(&pp->pr_cv, &pp->pr_lock);
      } while (pp->pr_flags & PR_GROWING);
      return kERESTART;
    }
    if (pp->pr_flags & PR_GROWINGNOWAIT) {
      // Let the other grower run: effectively a busy-wait.
      mutex_exit(&pp->pr_lock);
      mutex_enter(&pp->pr_lock);
      return kERESTART;
    }
    return kEWOULDBLOCK;
  }
  pp->pr_flags |= PR_GROWING;
  if (flags & PR_WAITOK)
    mutex_exit(&pp->pr_lock);
  else
    pp->pr_flags |= PR_GROWINGNOWAIT;

  int error = 0;
  auto ph = std::make_unique<pool_item_header>();
  const vaddr_t storage = pool_allocator_alloc(pp, flags);
  if (storage == 0) {
    error = kENOMEM;
    kasim_mark("pool_grow_fail");
  } else {
    KASSERTMSG((pp->pr_roflags & PR_NOALIGN) != 0 ||
                   (storage & (pool_pagesz(pp) - 1)) == 0,
               "pool_grow: [%s] page 0x%" PRIx64 " not aligned to %u", pp->pr_wchan, storage,
               pool_pagesz(pp));
    if (pp->pr_roflags & PR_PHINPAGE) {
      ph->ph_hdraddr = storage;
    } else {
      ph->ph_hdraddr = pool_get(pp->pr_phpool, flags);
      if (ph->ph_hdraddr == 0) {
        pool_allocator_free(pp, storage);
        error = kENOMEM;
      }
    }
  }
  if (flags & PR_WAITOK) mutex_enter(&pp->pr_lock);
  if (error == 0) {
    pool_prime_page(pp, storage, std::move(ph));
    pp->pr_npagealloc++;
  }
  KASSERT(pp->pr_flags & PR_GROWING);
  pp->pr_flags &= ~(PR_GROWING | PR_GROWINGNOWAIT);
  cv_broadcast(&pp->pr_cv);
  return error;
}

bool pool_needs_catchup(const pool* pp) {
  return pp->pr_nitems < pp->pr_minitems || pp->pr_npages < pp->pr_minpages;
}

// pool_catchup: grow with PR_NOWAIT until the low-water mark holds; a
// failure is ignored (and remembered for the watermark invariant).
int pool_catchup(pool* pp) {
  int error = 0;
  while (pool_needs_catchup(pp)) {
    error = pool_grow(pp, PR_NOWAIT);
    if (error != 0) {
      if (error == kERESTART) continue;
      break;
    }
  }
  pp->pr_catchup_failed = pool_needs_catchup(pp);
  return error;
}

// ratecheck(9): true, and last := now, on the first call or once cap has passed.
bool ratecheck(pool* pp) {
  const uint64_t now = kernel_now_ns();
  if (!pp->pr_hardlimit_warned || now - pp->pr_hardlimit_warning_last >=
                                      pp->pr_hardlimit_ratecap * 1'000'000'000ULL) {
    pp->pr_hardlimit_warned = true;
    pp->pr_hardlimit_warning_last = now;
    return true;
  }
  return false;
}

unsigned pages_for(const pool* pp, uint64_t n) {
  const uint64_t p = (n + pp->pr_itemsperpage - 1) / pp->pr_itemsperpage;
  return p > POOL_UINT_MAX ? POOL_UINT_MAX : static_cast<unsigned>(p);
}

void assert_context(const pool* pp, const char* fn) {
  KASSERTMSG(!(cpu_intr_p() || cpu_softintr_p()) || pp->pr_ipl != IPL_NONE,
             "%s: [%s] is IPL_NONE, but called from interrupt context", fn, pp->pr_wchan);
}

// pool_do_put: return v to its page.  => pr_lock held; emptied pages that
// must go are put on pq and freed by the caller after unlock.
void pool_do_put(pool* pp, vaddr_t v, pool_pq* pq) {
  KASSERT(mutex_owned(&pp->pr_lock));
  if (pp->pr_nout == 0) panic("pool_do_put: [%s] putting with none out", pp->pr_wchan);
  pool_item_header* ph = pr_find_pagehead(pp, v);
  if (ph == nullptr)
    panic("pool_do_put: [%s] page header missing, item 0x%" PRIx64, pp->pr_wchan, v);
  KASSERTMSG(v >= ph->ph_page + ph->ph_off,
             "pool_do_put: [%s] item 0x%" PRIx64 " below the first item of page 0x%" PRIx64,
             pp->pr_wchan, v, ph->ph_page);
  const uint64_t rel = v - ph->ph_page - ph->ph_off;
  KASSERTMSG(rel % pp->pr_size == 0 && rel / pp->pr_size < pp->pr_itemsperpage,
             "pool_do_put: [%s] 0x%" PRIx64 " is not an item of page 0x%" PRIx64, pp->pr_wchan,
             v, ph->ph_page);
  KASSERT(ph->ph_poolid == pp->pr_poolid);
  const unsigned idx = static_cast<unsigned>(rel / pp->pr_size);
  uint32_t& word = ph->ph_bitmap[idx / 32];
  const uint32_t bit = 1u << (idx % 32);
  if (word & bit) panic("pool_do_put: [%s] 0x%" PRIx64 " already freed", pp->pr_wchan, v);
  word |= bit;
  if ((pp->pr_roflags & PR_USEBMAP) == 0) ph->ph_itemlist.push_back(idx);
  pool_live_map(*pp->pr_globals, pp).erase(v);
  KASSERT(ph->ph_nmissing != 0);
  ph->ph_nmissing--;
  pp->pr_nput++;
  pp->pr_nitems++;
  if (kasim_canary("pool_nout_spl_window")) {
    // Planted bug: pr_nout is read, the lock is dropped (which restores the
    // caller's SPL, so a pending interrupt is taken here) and retaken, and
    // the stale value is written back.
    const unsigned nout = pp->pr_nout;
    mutex_exit(&pp->pr_lock);
    mutex_enter(&pp->pr_lock);
    pp->pr_nout = nout - 1;
  } else {
    pp->pr_nout--;
  }
  if (pp->pr_curpage == nullptr) pp->pr_curpage = ph;
  if (pp->pr_flags & PR_WANTED) {
    pp->pr_flags &= ~PR_WANTED;
    cv_broadcast(&pp->pr_cv);
  }
  if (ph->ph_nmissing == 0) {
    pp->pr_nidle++;
    // Planted bug "pool_put_below_lowat": the low-water mark is not consulted.
    if ((kasim_canary("pool_put_below_lowat") ||
         (pp->pr_nitems - pp->pr_itemsperpage >= pp->pr_minitems &&
          pp->pr_npages > pp->pr_minpages)) &&
        pp->pr_npages > pp->pr_maxpages) {
      kasim_mark("pool_page_release");
      pr_rmpage(pp, ph, pq);
    } else {
      ph_remove(ph);
      ph_insert_head(&pp->pr_emptypages, ph, PH_EMPTY);
      ph->ph_time = time_uptime();
      ph->ph_kept = true;
    }
    pool_update_curpage(pp);
  } else if (ph->ph_nmissing == pp->pr_itemsperpage - 1) {
    // Full to partial: this page becomes curpage.
    ph_remove(ph);
    ph_insert_head(&pp->pr_partpages, ph, PH_PART);
    pp->pr_curpage = ph;
  }
}

}  // namespace

// --- globals -------------------------------------------------------------------

pool_globals& pool_globals_get() { return machine_local<pool_globals>(); }

pool* kasim_pool_new() {
  pool_globals& g = pool_globals_get();
  g.storage.push_back(std::make_unique<pool>());
  return g.storage.back().get();
}

pool_allocator* pool_allocator_kmem_get() {
  pool_subsystem_init();
  return &pool_globals_get().pool_allocator_kmem;
}
pool_allocator* pool_allocator_nointr_get() {
  pool_subsystem_init();
  return &pool_globals_get().pool_allocator_nointr;
}
pool_allocator* pool_allocator_meta_get() {
  pool_subsystem_init();
  return &pool_globals_get().pool_allocator_meta;
}
pool_allocator* pool_allocator_big_get(int idx) {
  pool_subsystem_init();
  KASSERTMSG(idx >= 0 && idx < static_cast<int>(POOL_ALLOCATOR_BIG_COUNT),
             "pool_allocator_big: index %d", idx);
  return &pool_globals_get().pool_allocator_big[idx];
}

pool_allocator* pool_allocator_named(const std::string& name, size_t size) {
  if (name == "kmem") return pool_allocator_kmem_get();
  if (name == "nointr") return pool_allocator_nointr_get();
  if (name == "meta") return pool_allocator_meta_get();
  if (name == "big") return pool_allocator_big_get(pool_bigidx(size));
  return nullptr;
}

int pool_bigidx(size_t size) {
  for (unsigned i = 0; i < POOL_ALLOCATOR_BIG_COUNT; i++)
    if ((size_t{1} << (i + POOL_ALLOCATOR_BIG_BASE)) >= size) return static_cast<int>(i);
  panic("pool_bigidx: size %zu too large", size);
}

unsigned pool_pagesz(const pool* pp) { return pp->pr_alloc->pa_pagesz; }

void pool_subsystem_init() {
  pool_globals& g = pool_globals_get();
  if (g.inited) return;
  g.inited = true;
  mutex_init(&g.pool_head_lock, MUTEX_DEFAULT, IPL_NONE);
  mutex_set_name(&g.pool_head_lock, "pool_head_lock");
  cv_init(&g.pool_busy, "poolbusy");
  g.pool_allocator_kmem = {pool_page_alloc, pool_page_free, 0};
  g.pool_allocator_kmem.pa_name = "pool_allocator_kmem";
  g.pool_allocator_nointr = {pool_page_alloc, pool_page_free, 0};
  g.pool_allocator_nointr.pa_name = "pool_allocator_nointr";
  g.pool_allocator_meta = {pool_page_alloc_meta, pool_page_free_meta, 0};
  g.pool_allocator_meta.pa_name = "pool_allocator_meta";
  for (unsigned i = 0; i < POOL_ALLOCATOR_BIG_COUNT; i++) {
    g.pool_allocator_big[i] = {pool_page_alloc, pool_page_free, 1u << (i + POOL_ALLOCATOR_BIG_BASE)};
    g.pool_allocator_big[i].pa_name = "pool_allocator_big";
  }
  // The off-page header pools: phpool[0] holds 64 items' bits in ph_u2,
  // phpool[i] 32 << i bits.
  for (unsigned idx = 0; idx < PHPOOL_MAX; idx++) {
    const unsigned nelem = idx == 0 ? 64 : 32u << idx;
    const unsigned sz = idx == 0 ? PHSIZE : PH_BITMAP_OFFSET + 4 * howmany(nelem, 32);
    char name[32];
    std::snprintf(name, sizeof name, "phpool-%u", nelem);
    g.phpool[idx] = std::make_unique<pool>();
    pool_init(g.phpool[idx].get(), sz, 0, 0, 0, name, &g.pool_allocator_meta, IPL_VM);
  }
  uvm_register_reclaim_hook("pool_drain", pool_drain_hook_pagedaemon, nullptr);
}

// --- pool_init / pool_destroy ----------------------------------------------------

void pool_init(pool* pp, size_t size, unsigned align, unsigned align_offset, int flags,
               const char* wchan, pool_allocator* palloc, int ipl) {
  pool_subsystem_init();
  pool_globals& g = pool_globals_get();
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(), "pool_init: [%s] from interrupt context",
             wchan);
  KASSERTMSG(align_offset == 0, "pool_init: [%s] align_offset %u", wchan, align_offset);
  KASSERTMSG(!pp->pr_initialized, "pool_init: [%s] pool already initialised", wchan);
  if (palloc == nullptr) palloc = &g.pool_allocator_kmem;
  if (palloc->pa_refcnt++ == 0) pa_setup(palloc);
  if (align == 0) align = POOL_ALIGN_DEFAULT;
  KASSERTMSG(is_pow2(align), "pool_init: [%s] align %u not a power of 2", wchan, align);
  if (flags & PR_PSERIALIZE) flags |= PR_NOTOUCH;

  size_t prsize = size;
  if ((flags & PR_NOTOUCH) == 0 && prsize < POOL_ITEM_SIZE) prsize = POOL_ITEM_SIZE;
  prsize = (prsize + align - 1) / align * align;
  const unsigned pagesz = palloc->pa_pagesz;
  KASSERTMSG(prsize > 0 && prsize <= pagesz, "pool_init: [%s] pool item size (%zu) larger than page size (%u)",
             wchan, prsize, pagesz);

  std::snprintf(pp->pr_wchan, sizeof pp->pr_wchan, "%s", wchan);
  pp->pr_emptypages = pp->pr_fullpages = pp->pr_partpages = {};
  pp->pr_curpage = nullptr;
  pp->pr_npages = 0;
  pp->pr_minitems = 0;
  pp->pr_minpages = 0;
  pp->pr_maxitems = POOL_UINT_MAX;
  pp->pr_maxpages = POOL_UINT_MAX;
  pp->pr_roflags = flags;
  pp->pr_flags = 0;
  pp->pr_size = static_cast<unsigned>(prsize);
  pp->pr_reqsize = static_cast<unsigned>(size);
  pp->pr_align = align;
  pp->pr_alloc = palloc;
  pp->pr_poolid = ++g.poolid_counter;
  pp->pr_globals = &g;
  pp->pr_nitems = 0;
  pp->pr_nout = 0;
  pp->pr_hardlimit = POOL_UINT_MAX;
  pp->pr_hardlimit_warning.clear();
  pp->pr_hardlimit_ratecap = 0;
  pp->pr_hardlimit_warning_last = 0;
  pp->pr_hardlimit_warned = false;
  pp->pr_drain_hook = nullptr;
  pp->pr_drain_hook_arg = nullptr;
  pp->pr_ipl = ipl;
  pp->pr_cache = nullptr;

  // On-page or off-page header (pool_init_is_phinpage).
  bool phinpage;
  if (flags & PR_PHINPAGE)
    phinpage = true;
  else if (flags & (PR_NOTOUCH | PR_NOALIGN))
    phinpage = false;
  else if (pp->pr_size < std::min(pagesz / 16, 8 * PHSIZE))
    phinpage = true;
  else
    phinpage = pagesz / pp->pr_size == (pagesz - PHSIZE) / pp->pr_size;

  unsigned itemspace;
  if (phinpage) {
    pp->pr_roflags |= PR_PHINPAGE;
    pp->pr_itemoffset = roundup_u(PHSIZE, align);
    itemspace = pagesz - pp->pr_itemoffset;
  } else {
    pp->pr_roflags &= ~PR_PHINPAGE;
    pp->pr_itemoffset = 0;
    itemspace = pagesz;
  }
  KASSERTMSG(itemspace >= pp->pr_size, "pool_init: [%s] no room for an item", wchan);
  pp->pr_itemsperpage = itemspace / pp->pr_size;
  KASSERT(pp->pr_itemsperpage != 0);

  // Bitmap or free list (pool_init_is_usebmap).
  bool usebmap;
  if (flags & PR_NOTOUCH)
    usebmap = true;
  else if (!phinpage)
    usebmap = true;
  else
    usebmap = pp->pr_itemsperpage <= (roundup_u(PHSIZE, align) - PH_BITMAP_OFFSET) * 8;
  if (usebmap) pp->pr_roflags |= PR_USEBMAP;
  if (phinpage && (flags & PR_NOTOUCH))
    KASSERTMSG(pp->pr_itemsperpage <= (roundup_u(PHSIZE, align) - PH_BITMAP_OFFSET) * 8,
               "pool_init: [%s] PR_NOTOUCH bitmap does not fit the on-page header", wchan);

  pp->pr_phpool = nullptr;
  if (!phinpage) {
    unsigned idx = 0;
    for (;;) {
      const unsigned nelem = idx == 0 ? 64 : 32u << idx;
      if (pp->pr_itemsperpage <= nelem) break;
      if (++idx >= PHPOOL_MAX) panic("pool_init: [%s] too large itemsperpage(%u) for PR_USEBMAP",
                                     wchan, pp->pr_itemsperpage);
    }
    pp->pr_phpool = g.phpool[idx].get();
    KASSERTMSG(pp->pr_phpool != nullptr, "pool_init: [%s] phpool %u not initialised", wchan, idx);
  }

  // Colouring.
  const unsigned slack = itemspace - pp->pr_itemsperpage * pp->pr_size;
  pp->pr_maxcolor = slack / align * align;
  pp->pr_curcolor = 0;

  pp->pr_nget = pp->pr_nfail = pp->pr_nput = pp->pr_npagealloc = pp->pr_npagefree = 0;
  pp->pr_hiwat = 0;
  pp->pr_nidle = 0;
  pp->pr_refcnt = 0;
  pp->pr_phtree.clear();
  mutex_init(&pp->pr_lock, MUTEX_DEFAULT, static_cast<ipl_t>(ipl));
  mutex_set_name(&pp->pr_lock, std::string("pr_lock of ") + pp->pr_wchan);
  cv_init(&pp->pr_cv, pp->pr_wchan);
  pp->pr_initialized = true;

  // pool_head is sorted by wchan.
  mutex_enter(&g.pool_head_lock);
  auto it = g.pool_head.begin();
  while (it != g.pool_head.end() && std::strcmp((*it)->pr_wchan, pp->pr_wchan) < 0) ++it;
  g.pool_head.insert(it, pp);
  mutex_exit(&g.pool_head_lock);
}

void pool_destroy(pool* pp) {
  pool_globals& g = pool_globals_get();
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(), "pool_destroy: [%s] from interrupt context",
             pp->pr_wchan);
  mutex_enter(&g.pool_head_lock);
  while (pp->pr_refcnt != 0) cv_wait(&g.pool_busy, &g.pool_head_lock);
  for (auto it = g.pool_head.begin(); it != g.pool_head.end(); ++it)
    if (*it == pp) {
      g.pool_head.erase(it);
      break;
    }
  if (g.drainpp == pp) g.drainpp = nullptr;
  mutex_exit(&g.pool_head_lock);

  pool_pq pq;
  mutex_enter(&pp->pr_lock);
  KASSERT(pp->pr_cache == nullptr);
  KASSERTMSG(pp->pr_nout == 0, "pool_destroy: pool busy: still out: %u", pp->pr_nout);
  KASSERT(pp->pr_fullpages.lh_first == nullptr);
  KASSERT(pp->pr_partpages.lh_first == nullptr);
  while (pp->pr_emptypages.lh_first != nullptr) pr_rmpage(pp, pp->pr_emptypages.lh_first, &pq);
  mutex_exit(&pp->pr_lock);
  pr_pagelist_free(pp, &pq);
  pp->pr_alloc->pa_refcnt--;
  pp->pr_initialized = false;
  mutex_destroy(&pp->pr_lock);
  cv_destroy(&pp->pr_cv);
}

void pool_set_drain_hook(pool* pp, pool_drain_hook_t fn, void* arg) {
  KASSERTMSG(pp->pr_drain_hook == nullptr, "pool_set_drain_hook(%s): already set",
             pp->pr_wchan);
  pp->pr_drain_hook = fn;
  pp->pr_drain_hook_arg = arg;
}

// --- pool_get / pool_put ------------------------------------------------------------

vaddr_t pool_get(pool* pp, int flags) {
  const int wn = flags & (PR_WAITOK | PR_NOWAIT);
  KASSERTMSG(wn == PR_WAITOK || wn == PR_NOWAIT,
             "pool_get: [%s] flags 0x%x: exactly one of PR_WAITOK and PR_NOWAIT", pp->pr_wchan,
             flags);
  KASSERT(pp->pr_itemsperpage != 0);
  assert_context(pp, "pool_get");
  if (flags & PR_WAITOK)
    KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(),
               "pool_get: [%s] PR_WAITOK from interrupt context (ASSERT_SLEEPABLE)",
               pp->pr_wchan);

  mutex_enter(&pp->pr_lock);
  pool_item_header* ph;
  for (;;) {  // startover
    KASSERTMSG(pp->pr_nout <= pp->pr_hardlimit, "pool_get: %s: crossed hard limit",
               pp->pr_wchan);
    // Planted bug "pool_nowait_hardlimit": PR_NOWAIT gets pass the limit.
    if (pp->pr_nout == pp->pr_hardlimit &&
        !((flags & PR_NOWAIT) && kasim_canary("pool_nowait_hardlimit"))) {
      kasim_mark("pool_hardlimit");
      if (pp->pr_drain_hook != nullptr) {
        mutex_exit(&pp->pr_lock);
        pp->pr_drain_hook(pp->pr_drain_hook_arg, flags);
        mutex_enter(&pp->pr_lock);
        if (pp->pr_nout < pp->pr_hardlimit) continue;
      }
      if ((flags & PR_WAITOK) && !(flags & PR_LIMITFAIL)) {
        // No warning on this path.
        pp->pr_flags |= PR_WANTED;
        pp->pr_nhardwait++;
        kasim_mark("pool_hardlimit_wait");
        do {
          cv_wait(&pp->pr_cv, &pp->pr_lock);
        } while (pp->pr_flags & PR_WANTED);
        continue;
      }
      if (!pp->pr_hardlimit_warning.empty() && ratecheck(pp)) {
        pp->pr_nwarn++;
        log(LOG_ERR, "%s\n", pp->pr_hardlimit_warning.c_str());
      }
      pp->pr_nfail++;
      mutex_exit(&pp->pr_lock);
      KASSERT((flags & (PR_NOWAIT | PR_LIMITFAIL)) != 0);
      return 0;
    }
    ph = pp->pr_curpage;
    if (ph == nullptr) {
      KASSERTMSG(pp->pr_nitems == 0, "pool_get: nitems %u inconsistent with curpage NULL",
                 pp->pr_nitems);
      const int error = pool_grow(pp, flags);
      if (error != 0) {
        if (error == kERESTART) continue;
        if (pp->pr_curpage != nullptr) continue;
        pp->pr_nfail++;
        mutex_exit(&pp->pr_lock);
        KASSERTMSG((flags & (PR_NOWAIT | PR_LIMITFAIL)) != 0,
                   "pool_get: [%s] PR_WAITOK allocation failed", pp->pr_wchan);
        return 0;
      }
      continue;
    }
    break;
  }

  // Take an item from curpage.
  KASSERTMSG(ph->ph_nmissing < pp->pr_itemsperpage, "pool_get: %s: page empty", pp->pr_wchan);
  unsigned idx = 0;
  if (pp->pr_roflags & PR_USEBMAP) {
    bool found = false;
    for (size_t w = 0; w < ph->ph_bitmap.size() && !found; w++) {
      if (ph->ph_bitmap[w] != 0) {
        idx = static_cast<unsigned>(w * 32 + static_cast<unsigned>(__builtin_ctz(ph->ph_bitmap[w])));
        found = true;
      }
    }
    KASSERTMSG(found, "pool_get: %s: page empty", pp->pr_wchan);
  } else {
    if (ph->ph_itemlist.empty()) panic("pool_get: %s: page empty", pp->pr_wchan);
    idx = ph->ph_itemlist.back();
    ph->ph_itemlist.pop_back();
  }
  ph->ph_bitmap[idx / 32] &= ~(1u << (idx % 32));
  const vaddr_t v = ph->ph_page + ph->ph_off + static_cast<uint64_t>(idx) * pp->pr_size;
  pp->pr_nitems--;
  pp->pr_nout++;
  if (ph->ph_nmissing == 0) {
    KASSERT(pp->pr_nidle > 0);
    pp->pr_nidle--;
    ph_remove(ph);
    ph_insert_head(&pp->pr_partpages, ph, PH_PART);
  }
  ph->ph_kept = false;
  ph->ph_nmissing++;
  if (ph->ph_nmissing == pp->pr_itemsperpage) {
    KASSERTMSG((pp->pr_roflags & PR_USEBMAP) || ph->ph_itemlist.empty(),
               "pool_get: %s: nmissing inconsistent", pp->pr_wchan);
    ph_remove(ph);
    ph_insert_head(&pp->pr_fullpages, ph, PH_FULL);
    pool_update_curpage(pp);
  }
  pp->pr_nget++;
  auto [lit, fresh] =
      pool_live_map(*pp->pr_globals, pp).emplace(v, pool_live_item{pp, pp->pr_size, (flags & PR_ZERO) != 0});
  if (!fresh)
    kasim_finding("overlap", "pool_get: [%s] returned 0x%" PRIx64 ", which is live in [%s]",
                  pp->pr_wchan, v, lit->second.pp->pr_wchan);
  if (pool_needs_catchup(pp)) (void)pool_catchup(pp);
  mutex_exit(&pp->pr_lock);
  KASSERTMSG((v & (pp->pr_align - 1)) == 0, "pool_get: [%s] item 0x%" PRIx64 " misaligned",
             pp->pr_wchan, v);
  // kasim keeps no memory contents: PR_ZERO is recorded, not performed.
  if (flags & PR_ZERO) pp->pr_nzero++;
  return v;
}

void pool_put(pool* pp, vaddr_t v) {
  assert_context(pp, "pool_put");
  pool_pq pq;
  mutex_enter(&pp->pr_lock);
  pool_do_put(pp, v, &pq);
  mutex_exit(&pp->pr_lock);
  pr_pagelist_free(pp, &pq);
}

// --- watermarks and limits --------------------------------------------------------

void pool_prime(pool* pp, int n) {
  KASSERT(n >= 0);
  mutex_enter(&pp->pr_lock);
  pp->pr_minpages = n == 0 ? 0 : pages_for(pp, static_cast<unsigned>(n));
  if (pp->pr_maxpages <= pp->pr_minpages) pp->pr_maxpages = pp->pr_minpages + 1;
  pool_watermarks_changed(pp);
  while (pp->pr_npages < pp->pr_minpages) (void)pool_grow(pp, PR_WAITOK);
  mutex_exit(&pp->pr_lock);
}

void pool_setlowat(pool* pp, int n) {
  KASSERT(n >= 0);
  mutex_enter(&pp->pr_lock);
  pp->pr_minitems = static_cast<unsigned>(n);
  pp->pr_minpages = n == 0 ? 0 : pages_for(pp, static_cast<unsigned>(n));
  pool_watermarks_changed(pp);
  pp->pr_catchup_failed = false;
  if (pool_needs_catchup(pp)) (void)pool_catchup(pp);
  mutex_exit(&pp->pr_lock);
}

void pool_sethiwat(pool* pp, int n) {
  KASSERT(n >= 0);
  mutex_enter(&pp->pr_lock);
  pp->pr_maxitems = static_cast<unsigned>(n);
  pp->pr_maxpages = n == 0 ? 0 : pages_for(pp, static_cast<unsigned>(n));
  pool_watermarks_changed(pp);
  mutex_exit(&pp->pr_lock);
}

int pool_sethardlimit(pool* pp, int n, const char* warnmess, int ratecap) {
  int error = 0;
  mutex_enter(&pp->pr_lock);
  if (n < 0 || static_cast<unsigned>(n) < pp->pr_nout) {
    error = kEINVAL;
  } else {
    pp->pr_hardlimit = static_cast<unsigned>(n);
    pp->pr_hardlimit_warning = warnmess ? warnmess : "";
    pp->pr_hardlimit_ratecap = ratecap < 0 ? 0 : static_cast<uint64_t>(ratecap);
    pp->pr_hardlimit_warning_last = 0;
    pp->pr_hardlimit_warned = false;
    pp->pr_maxpages = pages_for(pp, static_cast<unsigned>(n));
    pool_watermarks_changed(pp);
  }
  mutex_exit(&pp->pr_lock);
  return error;
}

// --- reclaim / drain -------------------------------------------------------------------

int pool_reclaim(pool* pp) {
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(), "pool_reclaim: [%s] from interrupt context",
             pp->pr_wchan);
  if (pp->pr_drain_hook != nullptr) pp->pr_drain_hook(pp->pr_drain_hook_arg, PR_NOWAIT);
  // The cache holds items the pool counts as out: destruct them first, so
  // their pages can become empty (§12 item 14).
  if (pp->pr_cache != nullptr) pool_cache_invalidate(pp->pr_cache);
  if (mutex_tryenter(&pp->pr_lock) == 0) return 0;
  pool_pq pq;
  const uint64_t curtime = time_uptime();
  for (pool_item_header *ph = pp->pr_emptypages.lh_first, *phnext; ph != nullptr; ph = phnext) {
    phnext = ph->ph_next;
    if (pp->pr_npages <= pp->pr_minpages) break;
    KASSERT(ph->ph_nmissing == 0);
    if (curtime - ph->ph_time < pool_inactive_time) continue;
    if (pp->pr_nitems - pp->pr_itemsperpage < pp->pr_minitems ||
        pp->pr_npages - 1 < pp->pr_minpages)
      break;
    pr_rmpage(pp, ph, &pq);
  }
  mutex_exit(&pp->pr_lock);
  if (pq.empty()) return 0;
  pr_pagelist_free(pp, &pq);
  return 1;
}

bool pool_drain(pool** ppp) {
  pool_globals& g = pool_globals_get();
  pool* pp = nullptr;
  mutex_enter(&g.pool_head_lock);
  const size_t n = g.pool_head.size();
  for (size_t tries = 0; tries < n; tries++) {
    if (g.drainpp == nullptr) g.drainpp = g.pool_head.front();
    pool* cand = g.drainpp;
    size_t i = 0;
    while (g.pool_head[i] != cand) i++;
    g.drainpp = i + 1 < n ? g.pool_head[i + 1] : nullptr;
    if (cand->pr_npages != 0) {
      pp = cand;
      break;
    }
  }
  if (pp == nullptr) {
    mutex_exit(&g.pool_head_lock);
    if (ppp) *ppp = nullptr;
    return false;
  }
  pp->pr_refcnt++;
  mutex_exit(&g.pool_head_lock);
  const bool reclaimed = pool_reclaim(pp) != 0;
  mutex_enter(&g.pool_head_lock);
  pp->pr_refcnt--;
  cv_broadcast(&g.pool_busy);
  mutex_exit(&g.pool_head_lock);
  if (ppp) *ppp = pp;
  return reclaimed;
}

uint64_t pool_nget(const pool* pp) { return pp->pr_nget; }
uint64_t pool_nput(const pool* pp) { return pp->pr_nput; }

uint64_t pool_totalpages() {
  pool_globals& g = pool_globals_get();
  uint64_t total = 0;
  for (const pool* pp : g.pool_head) {
    uint64_t bytes = static_cast<uint64_t>(pp->pr_npages) * pool_pagesz(pp);
    if (pp->pr_roflags & PR_RECURSIVE) bytes -= static_cast<uint64_t>(pp->pr_nout) * pp->pr_size;
    total += bytes;
  }
  return total / page_size();
}

const pool_item_header* pool_find_page(const pool* pp, vaddr_t v) {
  return pr_find_pagehead(const_cast<pool*>(pp), v);
}

}  // namespace kasim
