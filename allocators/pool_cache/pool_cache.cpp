// allocators/pool_cache/pool_cache.cpp: pool_cache(9) on the simulated machine.
//
// Written from ../shared/docs/NETBSD-ALLOCATORS.md §4 (subr_pool.c 1.284).
// The fast paths run at splvm and touch only this CPU's pool_cache_cpu_t:
// splvm blocks every interrupt handler that may use a cache on this CPU and
// keeps the LWP on it, so no lock is needed. The slow paths exchange whole
// groups with lock-free stacks (pool_pcg_get/put/trunc), whose every CAS and
// every spin iteration is a scheduling point, and leave splvm before they call
// anything that may sleep (pool_get, pool_put, the ctor and the dtor).
#include "allocators/pool_cache/pool_cache.h"

#include <algorithm>
#include <cinttypes>

namespace kasim {

namespace {

// SPINLOCK_BACKOFF: the first spin waits this long, doubling up to the max.
constexpr uint64_t kBackoffMinNs = 8;
constexpr uint64_t kBackoffMaxNs = 512;

int pool_cache_nullop_ctor(void*, vaddr_t, int) { return 0; }
void pool_cache_nullop_dtor(void*, vaddr_t) {}

pool_cache_cpu_t* cc_get(pool_cache* pc) { return pc->pc_cpus[cpu_index(curcpu())].get(); }

pcg_t* dummy() { return &pool_cache_globals_get().pcg_dummy; }

// The shadow entry of an object the cache is about to hold or hand out.
pool_live_item* shadow(pool_cache* pc, vaddr_t obj) {
  auto& live = pool_live_map(*pc->pc_pool.pr_globals, &pc->pc_pool);
  auto it = live.find(obj);
  if (it == live.end() || it->second.pp != &pc->pc_pool) return nullptr;
  return &it->second;
}

// --- the lock-free group stacks ------------------------------------------------

// pool_pcg_get: pop a group, or NULL if the stack is empty. The head is taken
// by CASing the dummy group in, which keeps every other user off the stack
// while next is read; others spin (with backoff) while they see the dummy.
//  => at splvm: an interrupt on this CPU spinning on our marker would never
//     see it released. Returns the number of spins in *spins.
pcg_t* pool_pcg_get(pcg_t* volatile* head, uint64_t* spins) {
  pcg_t* const marker = dummy();
  KASSERTMSG(curspl() >= IPL_VM, "pool_pcg_get: not at splvm");
  uint64_t backoff = kBackoffMinNs;
  pcg_t* o;
  for (;;) {
    o = static_cast<pcg_t*>(atomic_load_ptr(head));
    if (o == marker) {
      kasim_mark("pool_cache_pcg_contended");
      (*spins)++;
      delay_ns(backoff);
      backoff = std::min(backoff * 2, kBackoffMaxNs);
      continue;
    }
    if (o == nullptr) return nullptr;
    if (atomic_cas_ptr(head, o, marker) == o) break;
    (*spins)++;
  }
  // The stack is ours until the head is released.
  pcg_t* const n = o->pcg_next;
  membar_sync();
  atomic_store_ptr(head, n);
  o->pcg_next = nullptr;
  return o;
}

// pool_pcg_put: push a group. Spins while another CPU holds the marker.
//  => at splvm.
void pool_pcg_put(pcg_t* volatile* head, pcg_t* pcg, uint64_t* spins) {
  pcg_t* const marker = dummy();
  KASSERTMSG(curspl() >= IPL_VM, "pool_pcg_put: not at splvm");
  uint64_t backoff = kBackoffMinNs;
  for (;;) {
    pcg_t* const o = static_cast<pcg_t*>(atomic_load_ptr(head));
    if (o == marker) {
      kasim_mark("pool_cache_pcg_contended");
      (*spins)++;
      delay_ns(backoff);
      backoff = std::min(backoff * 2, kBackoffMaxNs);
      continue;
    }
    pcg->pcg_next = o;
    membar_producer();
    if (atomic_cas_ptr(head, o, pcg) == o) return;
    (*spins)++;
  }
}

// pool_pcg_trunc: detach the whole stack.
pcg_t* pool_pcg_trunc(pcg_t* volatile* head) {
  pcg_t* const marker = dummy();
  const int s = splvm();
  pcg_t* o;
  uint64_t backoff = kBackoffMinNs;
  for (;;) {
    o = static_cast<pcg_t*>(atomic_load_ptr(head));
    if (o == marker) {
      kasim_mark("pool_cache_pcg_contended");
      delay_ns(backoff);
      backoff = std::min(backoff * 2, kBackoffMaxNs);
      continue;
    }
    if (atomic_cas_ptr(head, o, nullptr) == o) break;
  }
  splx(s);
  return o;
}

// --- groups ----------------------------------------------------------------------

pool* pcg_pool_for(unsigned size) {
  pool_cache_globals& g = pool_cache_globals_get();
  return size == PCG_NOBJECTS_LARGE ? g.pcg_large_pool : g.pcg_normal_pool;
}

// A new empty group in the pcg pool item at va.
pcg_t* pcg_create(vaddr_t va, unsigned size) {
  pool_cache_globals& g = pool_cache_globals_get();
  auto grp = std::make_unique<pcg_t>();
  grp->pcg_addr = va;
  grp->pcg_size = size;
  grp->pcg_avail = 0;
  grp->pcg_objects.assign(size, pcgpair{});
  pcg_t* const p = grp.get();
  g.groups[va] = std::move(grp);
  return p;
}

// Returns an empty group to its pcg pool.
void pcg_destroy(pcg_t* pcg) {
  KASSERT(pcg != dummy() && pcg->pcg_avail == 0);
  pool_cache_globals& g = pool_cache_globals_get();
  pool* const pp = pcg_pool_for(pcg->pcg_size);
  const vaddr_t va = pcg->pcg_addr;
  g.groups.erase(va);
  pool_put(pp, va);
}

void pool_cache_pre_destruct(pool_cache* pc) {
  // PR_PSERIALIZE: readers under pserialize may still see the object; wait
  // for every CPU to pass a point outside any read section.
  if (pc->pc_roflags & PR_PSERIALIZE) {
    KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(),
               "pool_cache_destruct_object: [%s] PR_PSERIALIZE from interrupt context",
               pc->pc_pool.pr_wchan);
    xc_barrier(0);
  }
}

// dtor + pool_put of one object. => not at splvm (the dtor may sleep).
void pool_cache_destruct_object_noflush(pool_cache* pc, vaddr_t obj) {
  pool_live_item* it = shadow(pc, obj);
  if (it != nullptr) {
    KASSERTMSG(it->constructed, "pool_cache_destruct_object: [%s] 0x%" PRIx64
               " was never constructed, or its dtor already ran", pc->pc_pool.pr_wchan, obj);
    it->constructed = false;
    it->cached = false;
  }
  pc->pc_ndtor++;
  pc->pc_dtor(pc->pc_arg, obj);
  pool_put(&pc->pc_pool, obj);
}

// Destructs every object of a chain of groups and frees the groups; returns
// how many groups there were.  => not at splvm.
int pool_cache_invalidate_groups(pool_cache* pc, pcg_t* pcg) {
  int n = 0;
  while (pcg != nullptr) {
    pcg_t* const next = pcg->pcg_next;
    for (unsigned i = 0; i < pcg->pcg_avail; i++) {
      const vaddr_t obj = pcg->pcg_objects[i].pcgo_va;
      pcg->pcg_objects[i] = pcgpair{};
      pool_cache_pre_destruct(pc);
      pool_cache_destruct_object_noflush(pc, obj);
    }
    pcg->pcg_avail = 0;
    pcg->pcg_next = nullptr;
    pcg_destroy(pcg);
    n++;
    pcg = next;
  }
  return n;
}

// pool_cache_transfer: this CPU gives up its two groups: full ones to
// pc_fullgroups, partial ones to pc_partgroups, empty ones to the global
// empty-group stack.  => runs on the CPU whose groups it moves.
void pool_cache_transfer(pool_cache* pc) {
  const int s = splvm();
  pool_cache_cpu_t* cc = cc_get(pc);
  pcg_t* const marker = dummy();
  pcg_t* const cur = cc->cc_current;
  pcg_t* const prev = cc->cc_previous;
  cc->cc_current = marker;
  cc->cc_previous = marker;
  pc->pc_transit++;
  pc->pc_ntransfer++;
  for (pcg_t* pcg : {cur, prev}) {
    if (pcg == marker) continue;
    uint64_t spins = 0;
    if (pcg->pcg_avail == pcg->pcg_size) {
      pool_pcg_put(&pc->pc_fullgroups, pcg, &spins);
      cc->cc_nfull++;
    } else if (pcg->pcg_avail == 0) {
      pool_pcg_put(pc->pc_pcgcache, pcg, &spins);
    } else {
      pool_pcg_put(&pc->pc_partgroups, pcg, &spins);
      cc->cc_npart++;
    }
    cc->cc_contended += spins;
  }
  pc->pc_transit--;
  splx(s);
}

void pool_cache_transfer_xc(void* arg1, void*) {
  pool_cache_transfer(static_cast<pool_cache*>(arg1));
}

// Destructs what a CPU's groups hold (pool_cache_destroy, the caller
// guaranteeing no one uses the cache).
void pool_cache_invalidate_cpu(pool_cache* pc, unsigned index) {
  pool_cache_cpu_t* cc = pc->pc_cpus[index].get();
  pcg_t* const marker = dummy();
  for (pcg_t** slot : {&cc->cc_current, &cc->cc_previous}) {
    pcg_t* const pcg = *slot;
    *slot = marker;
    if (pcg == marker) continue;
    pc->pc_transit++;
    pcg->pcg_next = nullptr;
    (void)pool_cache_invalidate_groups(pc, pcg);
    pc->pc_transit--;
  }
}

// get_slow: both groups are empty. Install a full group from pc_fullgroups,
// or fall back to pool_get + ctor. Returns true to retry the fast path, false
// when *objp is the answer (0 on failure).  => at splvm (s is the SPL to
// restore); returns at splvm when true, at s when false.
bool pool_cache_get_slow(pool_cache* pc, pool_cache_cpu_t* cc, int s, vaddr_t* objp,
                         paddr_t* pap, int flags) {
  KASSERT(cc->cc_current->pcg_avail == 0 && cc->cc_previous->pcg_avail == 0);
  if (cpu_intr_p()) kasim_mark("pool_cache_get_slow_intr");
  cc->cc_misses++;
  uint64_t spins = 0;
  pc->pc_transit++;
  pcg_t* const pcg = pool_pcg_get(&pc->pc_fullgroups, &spins);
  cc->cc_contended += spins;
  if (pcg != nullptr) {
    KASSERTMSG(pcg->pcg_avail == pcg->pcg_size, "pool_cache_get_slow: [%s] group not full",
               pc->pc_pool.pr_wchan);
    if (cc->cc_current != dummy()) {
      spins = 0;
      pool_pcg_put(cc->cc_pcgcache, cc->cc_current, &spins);
      cc->cc_contended += spins;
    }
    cc->cc_nfull--;
    cc->cc_current = pcg;
    pc->pc_transit--;
    return true;
  }
  pc->pc_transit--;

  // Nothing cached anywhere: construct a new object. Leave splvm first: the
  // pool and the ctor may sleep, and this LWP may come back on another CPU.
  cc->cc_pcmisses++;
  splx(s);
  const vaddr_t obj = pool_get(&pc->pc_pool, flags);
  *objp = obj;
  if (obj == 0) {
    KASSERT((flags & (PR_NOWAIT | PR_LIMITFAIL)) != 0);
    return false;
  }
  // Fault site "pool_cache_ctor": the cache's ctor fails (a cache without
  // one has the null ctor, which cannot fail).
  const bool ctor_fault = pc->pc_ctor != pool_cache_nullop_ctor && buggify("pool_cache_ctor");
  if (ctor_fault || pc->pc_ctor(pc->pc_arg, obj, flags) != 0) {
    // A failed ctor is no object: back to the pool, no dtor, even with PR_WAITOK.
    kasim_mark("pool_cache_ctor_fail");
    pc->pc_nctorfail++;
    pool_put(&pc->pc_pool, obj);
    *objp = 0;
    return false;
  }
  pc->pc_nctor++;
  if (pool_live_item* it = shadow(pc, obj)) it->constructed = true;
  if (pap != nullptr) {
    paddr_t pa = 0;
    *pap = pmap_extract(pmap_kernel(), obj, &pa) ? pa : POOL_PADDR_INVALID;
  }
  return false;
}

// put_slow: both groups are full. Find an empty group (the global empty
// cache, else a new one from the pcg pool) and retry, or destruct the object.
// Returns true to retry, false when the object was destructed.  => at splvm;
// returns at splvm when true, at s when false.
bool pool_cache_put_slow(pool_cache* pc, pool_cache_cpu_t* cc, int s, vaddr_t obj) {
  KASSERT(cc->cc_current->pcg_avail == cc->cc_current->pcg_size &&
          cc->cc_previous->pcg_avail == cc->cc_previous->pcg_size);
  cc->cc_misses++;
  pool_cache_globals& g = pool_cache_globals_get();
  uint64_t spins = 0;
  pcg_t* pcg = pool_pcg_get(cc->cc_pcgcache, &spins);
  cc->cc_contended += spins;
  if (pcg == nullptr && !g.pool_cache_disable) {
    // Still at splvm: the pcg pools are IPL_VM and this is PR_NOWAIT.
    const vaddr_t va = pool_get(pc->pc_pcgpool, PR_NOWAIT);
    if (va != 0) pcg = pcg_create(va, pc->pc_pcgsize);
  }
  if (pcg != nullptr) {
    KASSERT(pcg->pcg_avail == 0 && pcg->pcg_size == pc->pc_pcgsize);
    if (cc->cc_previous == dummy()) {
      cc->cc_previous = pcg;
    } else {
      pcg_t* const cur = cc->cc_current;
      if (cur != dummy()) {
        KASSERT(cur->pcg_avail == cur->pcg_size);
        spins = 0;
        pool_pcg_put(&pc->pc_fullgroups, cur, &spins);
        cc->cc_contended += spins;
        cc->cc_nfull++;
      }
      cc->cc_current = pcg;
    }
    return true;
  }
  // No group to be had: the object goes back to the pool.
  kasim_mark("pool_cache_put_destruct");
  cc->cc_pcmisses++;
  splx(s);
  pool_cache_destruct_object(pc, obj);
  return false;
}

// Planted bug "pool_cache_fast_path_no_splvm": pool_cache_get/put read
// pcg_avail, then write the slot and pcg_avail back, without splvm. The
// read-modify-write of the group takes time on a real CPU, and an interrupt
// arriving in it is taken at once (nothing masks it): kasim models that time
// as a busy wait, during which due interrupts are delivered. With splvm (the
// correct code) the same interrupt stays pending until splx.
constexpr uint64_t kFastPathWindowNs = 40;
void pool_cache_fast_path_window() { delay_ns(kFastPathWindowNs); }

void assert_cache_context(const pool_cache* pc, const char* fn) {
  KASSERTMSG(!(cpu_intr_p() || cpu_softintr_p()) || pc->pc_pool.pr_ipl != IPL_NONE,
             "%s: [%s] is IPL_NONE, but called from interrupt context", fn, pc->pc_pool.pr_wchan);
}

void pool_cache_bootstrap_globals() {
  pool_cache_globals& g = pool_cache_globals_get();
  if (g.inited) return;
  g.inited = true;
  pool_subsystem_init();
  // The dummy: avail = size = 0, always empty, yet always full.
  g.pcg_dummy.pcg_avail = 0;
  g.pcg_dummy.pcg_size = 0;
  g.pcg_normal_pool = kasim_pool_new();
  pool_init(g.pcg_normal_pool, pcg_sizeof(PCG_NOBJECTS_NORMAL), 0, 0, 0, "pcgnormal",
            pool_allocator_meta_get(), IPL_VM);
  g.pcg_large_pool = kasim_pool_new();
  pool_init(g.pcg_large_pool, pcg_sizeof(PCG_NOBJECTS_LARGE), 0, 0, 0, "pcglarge",
            pool_allocator_meta_get(), IPL_VM);
}

}  // namespace

pool_cache_globals& pool_cache_globals_get() { return machine_local<pool_cache_globals>(); }

// --- init / destroy ------------------------------------------------------------------

pool_cache_t pool_cache_init(size_t size, unsigned align, unsigned align_offset, int flags,
                             const char* wchan, pool_allocator* palloc, int ipl,
                             pool_cache_ctor_t ctor, pool_cache_dtor_t dtor, void* arg) {
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(), "pool_cache_init: [%s] from interrupt context",
             wchan);
  pool_cache_bootstrap_globals();
  pool_cache_globals& g = pool_cache_globals_get();
  g.storage.push_back(std::make_unique<pool_cache>());
  pool_cache* pc = g.storage.back().get();

  if (palloc == nullptr && ipl == IPL_NONE) {
    if (size > page_size()) {
      palloc = pool_allocator_big_get(pool_bigidx(size));
      flags |= PR_NOALIGN;
    } else {
      palloc = pool_allocator_nointr_get();
    }
  }
  pc->pc_ctor = ctor != nullptr ? ctor : pool_cache_nullop_ctor;
  pc->pc_dtor = dtor != nullptr ? dtor : pool_cache_nullop_dtor;
  pc->pc_arg = arg;
  pc->pc_roflags = flags;
  // With a dtor the cache runs the pserialize barrier itself, before the
  // dtor; the pool layer need not.
  const int pflags = dtor != nullptr ? flags & ~PR_PSERIALIZE : flags;
  pool_init(&pc->pc_pool, size, align, align_offset, pflags, wchan, palloc, ipl);

  if (flags & PR_LARGECACHE) {
    pc->pc_pcgsize = PCG_NOBJECTS_LARGE;
    pc->pc_pcgpool = g.pcg_large_pool;
    pc->pc_pcgcache = &g.pcg_large_cache;
  } else {
    pc->pc_pcgsize = PCG_NOBJECTS_NORMAL;
    pc->pc_pcgpool = g.pcg_normal_pool;
    pc->pc_pcgcache = &g.pcg_normal_cache;
  }
  pc->pc_fullgroups = nullptr;
  pc->pc_partgroups = nullptr;
  pc->pc_refcnt = 0;
  pc->pc_ncpu = ncpu();
  for (unsigned i = 0; i < pc->pc_ncpu; i++) {
    auto cc = std::make_unique<pool_cache_cpu_t>();
    cc->cc_current = &g.pcg_dummy;
    cc->cc_previous = &g.pcg_dummy;
    cc->cc_pcgcache = pc->pc_pcgcache;
    pc->pc_cpus.push_back(std::move(cc));
  }
  pc->pc_pool.pr_cache = pc;
  g.caches.push_back(pc);
  return pc;
}

void pool_cache_destroy(pool_cache_t pc) {
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(),
             "pool_cache_destroy: [%s] from interrupt context", pc->pc_pool.pr_wchan);
  pool_cache_globals& g = pool_cache_globals_get();
  auto it = std::find(g.caches.begin(), g.caches.end(), pc);
  KASSERTMSG(it != g.caches.end(), "pool_cache_destroy: not a live cache");
  KASSERTMSG(pc->pc_refcnt == 0, "pool_cache_destroy: [%s] still referenced",
             pc->pc_pool.pr_wchan);
  g.caches.erase(it);
  pool_cache_invalidate(pc);
  pc->pc_pool.pr_cache = nullptr;
  for (unsigned i = 0; i < pc->pc_ncpu; i++) pool_cache_invalidate_cpu(pc, i);
  // "pool busy: still out" if a client still holds an object.
  pool_destroy(&pc->pc_pool);
}

// --- get / put -------------------------------------------------------------------------

vaddr_t pool_cache_get_paddr(pool_cache_t pc, int flags, paddr_t* pap) {
  const int wn = flags & (PR_WAITOK | PR_NOWAIT);
  KASSERTMSG(wn == PR_WAITOK || wn == PR_NOWAIT,
             "pool_cache_get: [%s] flags 0x%x: exactly one of PR_WAITOK and PR_NOWAIT",
             pc->pc_pool.pr_wchan, flags);
  assert_cache_context(pc, "pool_cache_get");
  if (flags & PR_WAITOK)
    KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(),
               "pool_cache_get: [%s] PR_WAITOK from interrupt context (ASSERT_SLEEPABLE)",
               pc->pc_pool.pr_wchan);
  if ((flags & PR_NOWAIT) && buggify("pool_cache_get")) return 0;

  // Lock out interrupts and disable preemption. Planted bug
  // "pool_cache_fast_path_no_splvm": the fast path runs at the caller's SPL.
  const bool nospl = kasim_canary("pool_cache_fast_path_no_splvm");
  const int s = nospl ? curspl() : splvm();
  for (;;) {
    // Re-read each time round: a slow path may have slept elsewhere.
    pool_cache_cpu_t* cc = cc_get(pc);
    pcg_t* pcg = cc->cc_current;
    if (pcg->pcg_avail > 0) {
      const unsigned avail = pcg->pcg_avail;
      const pcgpair o = pcg->pcg_objects[avail - 1];
      if (nospl) pool_cache_fast_path_window();
      pcg->pcg_objects[avail - 1] = pcgpair{};
      pcg->pcg_avail = avail - 1;
      const vaddr_t obj = o.pcgo_va;
      if (pap != nullptr) *pap = o.pcgo_pa;
      cc->cc_hits++;
      if (pool_live_item* it = shadow(pc, obj)) it->cached = false;
      splx(s);
      return obj;
    }
    // current is empty: use previous if it has objects.
    if (cc->cc_previous->pcg_avail > 0) {
      cc->cc_current = cc->cc_previous;
      cc->cc_previous = pcg;
      continue;
    }
    vaddr_t obj = 0;
    // The slow paths run at splvm even with the planted bug (their group
    // stacks assert it): only the fast path goes without.
    if (nospl) (void)splvm();
    if (!pool_cache_get_slow(pc, cc, s, &obj, pap, flags)) return obj;
  }
}

vaddr_t pool_cache_get(pool_cache_t pc, int flags) {
  return pool_cache_get_paddr(pc, flags, nullptr);
}

void pool_cache_put_paddr(pool_cache_t pc, vaddr_t obj, paddr_t pa) {
  KASSERTMSG(obj != 0, "pool_cache_put_paddr: [%s] NULL object", pc->pc_pool.pr_wchan);
  assert_cache_context(pc, "pool_cache_put");
  if (pc->pc_pool.pr_roflags & PR_PHINPAGE) {
    // pc_phinpage_check: the page header in the object's page names this pool.
    const pool_item_header* ph = pool_find_page(&pc->pc_pool, obj);
    if (ph == nullptr || ph->ph_poolid != pc->pc_pool.pr_poolid)
      panic("pc_phinpage_check: [%s] 0x%" PRIx64 " is not part of pool", pc->pc_pool.pr_wchan,
            obj);
  }
  // kasim's shadow catches what a DIAGNOSTIC kernel finds only later, when
  // the object comes back out twice: it must be out of this pool, client-held.
  pool_live_item* it = shadow(pc, obj);
  if (it == nullptr)
    panic("pool_cache_put: [%s] 0x%" PRIx64 " is not out of this cache", pc->pc_pool.pr_wchan,
          obj);
  if (it->cached)
    panic("pool_cache_put: [%s] 0x%" PRIx64 " already in the cache (double put)",
          pc->pc_pool.pr_wchan, obj);

  // Planted bug "pool_cache_fast_path_no_splvm", as in pool_cache_get_paddr.
  const bool nospl = kasim_canary("pool_cache_fast_path_no_splvm");
  const int s = nospl ? curspl() : splvm();
  for (;;) {
    pool_cache_cpu_t* cc = cc_get(pc);
    pcg_t* pcg = cc->cc_current;
    if (pcg->pcg_avail < pcg->pcg_size) {
      const unsigned avail = pcg->pcg_avail;
      if (nospl) pool_cache_fast_path_window();
      pcg->pcg_objects[avail] = pcgpair{obj, pa};
      pcg->pcg_avail = avail + 1;
      cc->cc_hits++;
      it->cached = true;
      splx(s);
      return;
    }
    // current is full: use previous if it has room.
    if (cc->cc_previous->pcg_avail < cc->cc_previous->pcg_size) {
      cc->cc_current = cc->cc_previous;
      cc->cc_previous = pcg;
      continue;
    }
    if (nospl) (void)splvm();
    if (!pool_cache_put_slow(pc, cc, s, obj)) return;
  }
}

void pool_cache_put(pool_cache_t pc, vaddr_t obj) {
  pool_cache_put_paddr(pc, obj, POOL_PADDR_INVALID);
}

void pool_cache_destruct_object(pool_cache_t pc, vaddr_t obj) {
  pool_cache_pre_destruct(pc);
  pool_cache_destruct_object_noflush(pc, obj);
}

// --- invalidate / reclaim ---------------------------------------------------------------

void pool_cache_invalidate(pool_cache_t pc) {
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(),
             "pool_cache_invalidate: [%s] from interrupt context", pc->pc_pool.pr_wchan);
  pool_cache_globals& g = pool_cache_globals_get();
  pc->pc_ninvalidate++;
  // Every CPU gives its groups to the global lists, on its own CPU. Before
  // the secondary CPUs run (boot: vmem's qc_init destroys caches) only this
  // CPU can hold groups.
  if (ncpu() < 2 || !mp_online())
    pool_cache_transfer(pc);
  else {
    kasim_mark("pool_cache_invalidate_xcall");
    xc_wait(xc_broadcast(0, pool_cache_transfer_xc, pc, nullptr));
  }

  // The empty groups of every cache go back to their pools.
  for (pcg_t* volatile* head : {&g.pcg_normal_cache, &g.pcg_large_cache}) {
    pcg_t* pcg = pool_pcg_trunc(head);
    while (pcg != nullptr) {
      pcg_t* const next = pcg->pcg_next;
      pcg->pcg_next = nullptr;
      pcg_destroy(pcg);
      pcg = next;
    }
  }

  // Destruct every object of the full and partial groups.
  pc->pc_transit++;
  pcg_t* const full = pool_pcg_trunc(&pc->pc_fullgroups);
  pcg_t* const part = pool_pcg_trunc(&pc->pc_partgroups);
  const int n = pool_cache_invalidate_groups(pc, full);
  const int m = pool_cache_invalidate_groups(pc, part);
  const int s = splvm();
  pool_cache_cpu_t* cc = cc_get(pc);
  cc->cc_nfull -= n;
  cc->cc_npart -= m;
  pc->pc_transit--;
  splx(s);
}

int pool_cache_reclaim(pool_cache_t pc) { return pool_reclaim(&pc->pc_pool); }

// --- forwarded to the pool ----------------------------------------------------------------

void pool_cache_set_drain_hook(pool_cache_t pc, pool_drain_hook_t fn, void* arg) {
  pool_set_drain_hook(&pc->pc_pool, fn, arg);
}
void pool_cache_setlowat(pool_cache_t pc, int n) { pool_setlowat(&pc->pc_pool, n); }
void pool_cache_sethiwat(pool_cache_t pc, int n) { pool_sethiwat(&pc->pc_pool, n); }
void pool_cache_sethardlimit(pool_cache_t pc, int n, const char* warnmess, int ratecap) {
  (void)pool_sethardlimit(&pc->pc_pool, n, warnmess, ratecap);
}
void pool_cache_prime(pool_cache_t pc, int n) { pool_prime(&pc->pc_pool, n); }

}  // namespace kasim
