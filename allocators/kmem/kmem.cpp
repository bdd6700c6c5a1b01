// allocators/kmem/kmem.cpp: kmem(9) on the simulated machine — the size-class
// caches, routing, the KMEM_SIZE footer and the large-allocation path.
//
// Written from ../shared/docs/NETBSD-ALLOCATORS.md §5 (subr_kmem.c 1.87) as a
// DIAGNOSTIC kernel (KMEM_SIZE on, SIZE_SIZE = 8). Requests up to 1024 bytes
// (with the footer) go to the small caches, up to PAGE_SIZE to the big ones,
// anything larger to uvm_km_kmem_alloc on kmem_va_arena. kasim keeps no
// memory contents: the footer, and whether kmem_zalloc zeroed an object, are
// host-side records keyed by simulated address.
#include "allocators/kmem/kmem.h"

#include <cinttypes>
#include <cstdio>

#include "allocators/uvm_km/uvm_km.h"

namespace kasim {

namespace {

// KMEM_CACHE_SIZES and KMEM_CACHE_BIG_SIZES.
constexpr kmem_cache_info kmem_cache_sizes[] = {
    {8, "kmem-00008"},   {16, "kmem-00016"},   {24, "kmem-00024"},   {32, "kmem-00032"},
    {40, "kmem-00040"},  {48, "kmem-00048"},   {56, "kmem-00056"},   {64, "kmem-00064"},
    {80, "kmem-00080"},  {96, "kmem-00096"},   {112, "kmem-00112"},  {128, "kmem-00128"},
    {160, "kmem-00160"}, {192, "kmem-00192"},  {224, "kmem-00224"},  {256, "kmem-00256"},
    {320, "kmem-00320"}, {384, "kmem-00384"},  {448, "kmem-00448"},  {512, "kmem-00512"},
    {768, "kmem-00768"}, {1024, "kmem-01024"}, {0, nullptr}};
constexpr kmem_cache_info kmem_cache_big_sizes[] = {{2048, "kmem-02048"},
                                                    {4096, "kmem-04096"},
                                                    {8192, "kmem-08192"},
                                                    {16384, "kmem-16384"},
                                                    {0, nullptr}};

// kmem_create_caches' arithmetic: which sizes of `array` become caches, and
// the cumulative lookup table (a skipped size maps to the next created one).
//  => returns maxidx, the largest created size >> shift.
size_t kmem_plan_caches(const kmem_cache_info* array, std::vector<kmem_class>& classes,
                        int* table, size_t table_len, size_t maxsize, unsigned shift,
                        uint64_t cu, uint64_t pagesz) {
  size_t maxidx = 0;
  const size_t table_unit = size_t{1} << shift;
  size_t size = table_unit;
  for (size_t i = 0; i < table_len; i++) table[i] = -1;
  for (int i = 0; array[i].kc_size != 0; i++) {
    const size_t cache_size = array[i].kc_size;
    if (cache_size > maxsize || cache_size > pagesz) break;
    kmem_class c;
    c.kc_size = cache_size;
    c.kc_name = array[i].kc_name;
    // Only factors of the coherency unit below it, and multiples of it
    // above, so that no object straddles more cache lines than it must.
    if (cache_size < cu) {
      if (cu % cache_size != 0) continue;
      c.kc_flags = PR_NOTOUCH;
      c.kc_align = KMEM_ALIGN;
    } else if ((cache_size & (pagesz - 1)) == 0) {
      c.kc_align = pagesz;
    } else {
      if (cache_size % cu != 0) continue;
      c.kc_align = cu;
    }
    if ((cache_size >> shift) > maxidx) maxidx = cache_size >> shift;
    classes.push_back(c);
    while (size <= cache_size) {
      table[(size - 1) >> shift] = static_cast<int>(classes.size() - 1);
      size += table_unit;
    }
  }
  return maxidx;
}

// The interrupt-context rule of kmem_alloc, kmem_zalloc and kmem_free.
void kmem_assert_thread(const char* fn) {
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(),
             "%s from interrupt context: kmem(9) should not be used from the interrupt "
             "context (use pool_cache(9) or kmem_intr_*)",
             fn);
}

void kmem_assert_flags(const char* fn, km_flag_t kmflags) {
  KASSERTMSG(((kmflags & KM_SLEEP) != 0) != ((kmflags & KM_NOSLEEP) != 0),
             "%s: kmflags 0x%x need exactly one of KM_SLEEP and KM_NOSLEEP", fn, kmflags);
}

pool_cache_t kmem_route_cache(const kmem_globals& g, const kmem_route& r) {
  return r.kind == kmem_route_kind::small ? g.caches[static_cast<size_t>(r.cls)]
                                          : g.big_caches[static_cast<size_t>(r.cls)];
}

// kmem_size_set / kmem_size_check: the KMEM_SIZE footer at p + req.
void kmem_size_set(kmem_globals& g, vaddr_t p, size_t req, size_t span) {
  // The object's bytes are the caller's now: whatever stale footer lay in
  // them is just uninitialised contents.
  g.footers.erase(g.footers.lower_bound(p), g.footers.lower_bound(p + span));
  g.footers[p + req] = req;
}

void kmem_size_check(kmem_globals& g, vaddr_t p, size_t sz) {
  // NetBSD reads the size_t at p + sz. kasim knows the bytes there only if a
  // footer was written there; otherwise it reports the size the object was
  // allocated with (or, for an address kmem does not know, what a freed
  // footer holds).
  uint64_t hsz;
  auto f = g.footers.find(p + sz);
  if (f != g.footers.end()) {
    hsz = f->second;
  } else {
    auto l = g.live.find(p);
    hsz = l != g.live.end() ? l->second.req : KMEM_SIZE_FREED;
  }
  if (hsz != sz)
    panic("kmem_free(0x%" PRIx64 ", %zu) != allocated size %" PRIu64 "; overwrote?", p, sz, hsz);
  // Freed: the footer reads as all 0xff bytes from now on.
  g.footers[p + sz] = KMEM_SIZE_FREED;
}

// The route kmem_alloc and kmem_free take for a size.
// Planted bug "kmem_route_one_class_small": the lookup lands one class below
// the right one (an off-by-one in the table index), in both kmem_alloc and
// kmem_free, so the two agree; the object is then too small for the request
// and its footer.
kmem_route kmem_route_for(const kmem_layout& l, size_t requested_size) {
  kmem_route r = kmem_route_of(l, requested_size);
  if (r.kind != kmem_route_kind::page && r.cls > 0 && kasim_canary("kmem_route_one_class_small"))
    r.cls--;
  return r;
}

vaddr_t kmem_intr_alloc1(size_t requested_size, km_flag_t kmflags, bool zero, bool intr) {
  const char* fn = intr ? (zero ? "kmem_intr_zalloc" : "kmem_intr_alloc")
                        : (zero ? "kmem_zalloc" : "kmem_alloc");
  KASSERTMSG(requested_size > 0, "%s: size 0", fn);
  kmem_assert_flags(fn, kmflags);
  kmem_globals& g = kmem_globals_get();
  KASSERTMSG(g.inited, "%s: kmem_init has not run", fn);

  const kmem_route r = kmem_route_for(g.layout, requested_size);
  vaddr_t p = 0;
  kmem_live_rec rec;
  rec.req = requested_size;
  rec.kind = r.kind;
  rec.zeroed = zero;
  rec.intr = intr;
  if (r.kind == kmem_route_kind::page) {
    kasim_mark("kmem_page");
    uvm_km_globals& ug = uvm_km_globals_get();
    const vm_flag_t vmflags = ((kmflags & KM_SLEEP) ? VM_SLEEP : VM_NOSLEEP) | VM_INSTANTFIT;
    vmem_addr_t va = 0;
    if (uvm_km_kmem_alloc(ug.kmem_va_arena, r.pagesz, vmflags, &va) == 0) p = va;
    rec.span = r.pagesz;
    if (p != 0) g.npage++;
  } else {
    pool_cache_t pc = kmem_route_cache(g, r);
    // KM_SLEEP == PR_WAITOK and KM_NOSLEEP == PR_NOWAIT.
    p = pool_cache_get(pc, static_cast<int>(kmflags & (KM_SLEEP | KM_NOSLEEP)));
    rec.pc = pc;
    rec.span = pc->pc_pool.pr_size;
    if (p != 0) kmem_size_set(g, p, requested_size, rec.span);
  }
  if (p == 0) {
    g.nfail++;
    return 0;
  }
  auto [it, fresh] = g.live.emplace(p, rec);
  if (!fresh)
    kasim_finding("overlap", "%s(%zu) returned 0x%" PRIx64 ", which is a live kmem allocation of %zu bytes",
                  fn, requested_size, p, it->second.req);
  g.nalloc++;
  return p;
}

void kmem_intr_free1(vaddr_t p, size_t requested_size, bool intr) {
  const char* fn = intr ? "kmem_intr_free" : "kmem_free";
  KASSERTMSG(p != 0, "%s: NULL pointer (size %zu)", fn, requested_size);
  KASSERTMSG(requested_size > 0, "%s(0x%" PRIx64 "): size 0", fn, p);
  kmem_globals& g = kmem_globals_get();
  KASSERTMSG(g.inited, "%s: kmem_init has not run", fn);
  const kmem_route r = kmem_route_for(g.layout, requested_size);
  if (r.kind == kmem_route_kind::page) {
    // No footer on this path: uvm_km_kmem_free (and vmem) check the size.
    g.live.erase(p);
    g.nfree++;
    uvm_km_kmem_free(uvm_km_globals_get().kmem_va_arena, p, r.pagesz);
    return;
  }
  kmem_size_check(g, p, requested_size);
  g.live.erase(p);
  g.nfree++;
  pool_cache_put(kmem_route_cache(g, r), p);
}

}  // namespace

kmem_globals& kmem_globals_get() { return machine_local<kmem_globals>(); }

kmem_layout kmem_compute_layout(uint64_t coherency_unit, uint64_t page_size) {
  KASSERTMSG(coherency_unit > 0 && (coherency_unit & (coherency_unit - 1)) == 0,
             "kmem: COHERENCY_UNIT %" PRIu64 " is not a power of 2", coherency_unit);
  KASSERTMSG(page_size > 0 && (page_size & (page_size - 1)) == 0,
             "kmem: PAGE_SIZE %" PRIu64 " is not a power of 2", page_size);
  kmem_layout l;
  l.coherency_unit = coherency_unit;
  l.page_size = page_size;
  l.kmem_cache_maxidx = kmem_plan_caches(kmem_cache_sizes, l.small, l.small_table,
                                         KMEM_CACHE_COUNT, KMEM_MAXSIZE, KMEM_SHIFT,
                                         coherency_unit, page_size);
  l.kmem_cache_big_maxidx = kmem_plan_caches(kmem_cache_big_sizes, l.big, l.big_table,
                                             KMEM_CACHE_BIG_COUNT, page_size, KMEM_BIG_SHIFT,
                                             coherency_unit, page_size);
  return l;
}

kmem_route kmem_route_of(const kmem_layout& l, size_t requested_size) {
  kmem_route r;
  const size_t size = kmem_roundup_size(requested_size);
  const size_t allocsz = size + SIZE_SIZE;
  size_t index = (allocsz - 1) >> KMEM_SHIFT;
  if (index < l.kmem_cache_maxidx) {
    r.kind = kmem_route_kind::small;
    r.cls = l.small_table[index];
    r.allocsz = allocsz;
    return r;
  }
  index = (allocsz - 1) >> KMEM_BIG_SHIFT;
  if (index < l.kmem_cache_big_maxidx) {
    r.kind = kmem_route_kind::big;
    r.cls = l.big_table[index];
    r.allocsz = allocsz;
    return r;
  }
  // The page path takes round_page(size): no footer, so no SIZE_SIZE.
  r.kind = kmem_route_kind::page;
  r.pagesz = (size + l.page_size - 1) & ~(l.page_size - 1);
  return r;
}

std::string kmem_route_name(const kmem_layout& l, size_t requested_size) {
  const kmem_route r = kmem_route_of(l, requested_size);
  switch (r.kind) {
    case kmem_route_kind::small: return l.small[static_cast<size_t>(r.cls)].kc_name;
    case kmem_route_kind::big: return l.big[static_cast<size_t>(r.cls)].kc_name;
    case kmem_route_kind::page: break;
  }
  return "kmem_va_arena";
}

void kmem_init(uint64_t coherency_unit) {
  kmem_globals& g = kmem_globals_get();
  KASSERTMSG(!g.inited, "kmem_init: called twice");
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(), "kmem_init: from interrupt context");
  KASSERTMSG(uvm_km_globals_get().kmem_va_arena != nullptr,
             "kmem_init: no kmem_va_arena (kasim_vm_boot has not run)");
  g.layout = kmem_compute_layout(coherency_unit, page_size());
  pool_allocator* pa = pool_allocator_kmem_get();
  for (const kmem_class& c : g.layout.small)
    g.caches.push_back(pool_cache_init(c.kc_size, static_cast<unsigned>(c.kc_align), 0,
                                       c.kc_flags, c.kc_name, pa, IPL_VM, nullptr, nullptr,
                                       nullptr));
  for (const kmem_class& c : g.layout.big)
    g.big_caches.push_back(pool_cache_init(c.kc_size, static_cast<unsigned>(c.kc_align), 0,
                                           c.kc_flags, c.kc_name, pa, IPL_VM, nullptr, nullptr,
                                           nullptr));
  for (unsigned i = 0; i < KMEM_CACHE_COUNT; i++)
    g.kmem_cache[i] = g.layout.small_table[i] < 0
                          ? nullptr
                          : g.caches[static_cast<size_t>(g.layout.small_table[i])];
  for (unsigned i = 0; i < KMEM_CACHE_BIG_COUNT; i++)
    g.kmem_cache_big[i] = g.layout.big_table[i] < 0
                              ? nullptr
                              : g.big_caches[static_cast<size_t>(g.layout.big_table[i])];
  g.kmem_cache_maxidx = g.layout.kmem_cache_maxidx;
  g.kmem_cache_big_maxidx = g.layout.kmem_cache_big_maxidx;
  g.inited = true;
}

vaddr_t kmem_intr_alloc(size_t size, km_flag_t kmflags) {
  return kmem_intr_alloc1(size, kmflags, false, true);
}

vaddr_t kmem_intr_zalloc(size_t size, km_flag_t kmflags) {
  return kmem_intr_alloc1(size, kmflags, true, true);
}

void kmem_intr_free(vaddr_t p, size_t size) { kmem_intr_free1(p, size, true); }

namespace {

// kmem_alloc and kmem_zalloc: the thread-context entry points, which never
// return NULL with KM_SLEEP.
vaddr_t kmem_thread_alloc(const char* fn, size_t size, km_flag_t kmflags, bool zero) {
  kmem_assert_thread(fn);
  const vaddr_t v = kmem_intr_alloc1(size, kmflags, zero, false);
  KASSERTMSG(v != 0 || (kmflags & KM_NOSLEEP) != 0, "%s(%zu, KM_SLEEP) returned NULL", fn, size);
  return v;
}

}  // namespace

vaddr_t kmem_alloc(size_t size, km_flag_t kmflags) {
  return kmem_thread_alloc("kmem_alloc", size, kmflags, false);
}

vaddr_t kmem_zalloc(size_t size, km_flag_t kmflags) {
  return kmem_thread_alloc("kmem_zalloc", size, kmflags, true);
}

void kmem_free(vaddr_t p, size_t size) {
  kmem_assert_thread("kmem_free");
  kmem_intr_free1(p, size, false);
}

}  // namespace kasim
