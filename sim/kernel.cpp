#include "sim/kernel.h"

#include <cstdio>
#include <cstring>

#include "sim/engine.h"

namespace kasim {

namespace {

Engine& eng() {
  Engine* e = Engine::current();
  if (!e) throw InternalError("kernel function called outside a run");
  return *e;
}

std::string vformat(const char* fmt, va_list ap) {
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  return buf;
}

}  // namespace

void kassert_fail(const char* expr, const char* file, int line, const char* fmt, ...) {
  // NetBSD: kernel diagnostic assertion "expr" failed: file "f", line n <msg>
  const char* base = file;
  for (const char* p = file; *p; ++p)
    if (*p == '/') base = p + 1;
  std::string msg = std::string("kernel diagnostic assertion \"") + expr + "\" failed: file \"" +
                    base + "\", line " + std::to_string(line);
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    // Two appends, not `" " + vformat(...)`: GCC 12 at -O3 reports a false
    // -Wrestrict in operator+(const char*, string&&), which breaks Release builds.
    msg += ' ';
    msg += vformat(fmt, ap);
    va_end(ap);
  }
  Engine& e = eng();
  e.fail(e.make_finding("contract", msg));
}

void panic(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = vformat(fmt, ap);
  va_end(ap);
  Engine& e = eng();
  e.fail(e.make_finding("contract", msg));
}

void kasim_finding(const char* kind, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = vformat(fmt, ap);
  va_end(ap);
  Engine& e = eng();
  e.fail(e.make_finding(kind, msg));
}

cpu_info* curcpu() { return &eng().curcpu().ci; }
unsigned cpu_index(const cpu_info* ci) { return ci->ci_index; }
cpu_info* cpu_lookup(unsigned index) { return &eng().cpu(static_cast<int>(index)).ci; }
unsigned ncpu() { return static_cast<unsigned>(eng().ncpu()); }
lwp_t* curlwp() { return eng().curlwp(); }
uint64_t lwp_ncsw(const lwp_t* l) { return l->l_ncsw; }
bool mp_online() {
  Engine& e = eng();
  if (e.ncpu() < 2) return false;
  int users = 0;
  for (const auto& c : e.lwps())
    if (!c->system && ++users > 1) return true;
  return false;
}
bool cpu_intr_p() { return eng().in_hardintr(); }
bool cpu_softintr_p() { return eng().in_softintr(); }

int splraise(ipl_t ipl) {
  Engine& e = eng();
  ipl_t old = e.spl();
  if (ipl > old)
    e.set_spl(ipl);
  else
    e.charge(e.costs().spl);
  return old;
}

void splx(int s) { eng().set_spl(s); }
int spl0() {
  Engine& e = eng();
  ipl_t old = e.spl();
  e.set_spl(IPL_NONE);
  return old;
}
ipl_t curspl() { return eng().spl(); }

namespace {
// An atomic operation: a scheduling point costing a cache-line access, then
// `op` on the value, all at once (the machine is sequentially consistent).
template <class T, class Op>
T atomic_rmw(volatile T* ptr, Op op) {
  Engine& e = eng();
  // The step after the point is the atomic itself: it touches this word.
  e.sched_point(e.line_cost(const_cast<T*>(ptr)),
                {AccessKind::word, reinterpret_cast<uintptr_t>(const_cast<T*>(ptr))});
  T old = *ptr;
  *ptr = op(old);
  return old;
}
}  // namespace

void* atomic_cas_ptr(volatile void* ptr, void* expected, void* desired) {
  return atomic_rmw(static_cast<void* volatile*>(ptr),
                    [&](void* old) { return old == expected ? desired : old; });
}

unsigned atomic_cas_uint(volatile unsigned* ptr, unsigned expected, unsigned desired) {
  return atomic_rmw(ptr, [&](unsigned old) { return old == expected ? desired : old; });
}

uint64_t atomic_cas_64(volatile uint64_t* ptr, uint64_t expected, uint64_t desired) {
  return atomic_rmw(ptr, [&](uint64_t old) { return old == expected ? desired : old; });
}

void* atomic_swap_ptr(volatile void* ptr, void* desired) {
  return atomic_rmw(static_cast<void* volatile*>(ptr), [&](void*) { return desired; });
}

unsigned atomic_inc_uint_nv(volatile unsigned* ptr) {
  return atomic_rmw(ptr, [](unsigned v) { return v + 1; }) + 1;
}

unsigned atomic_dec_uint_nv(volatile unsigned* ptr) {
  return atomic_rmw(ptr, [](unsigned v) { return v - 1; }) - 1;
}

void atomic_inc_uint(volatile unsigned* ptr) { atomic_inc_uint_nv(ptr); }
void atomic_dec_uint(volatile unsigned* ptr) { atomic_dec_uint_nv(ptr); }

void atomic_add_64(volatile uint64_t* ptr, int64_t delta) {
  atomic_rmw(ptr, [&](uint64_t v) { return v + static_cast<uint64_t>(delta); });
}

void* atomic_load_ptr(const volatile void* ptr) {
  return atomic_rmw(static_cast<void* volatile*>(const_cast<volatile void*>(ptr)),
                    [](void* old) { return old; });
}

void atomic_store_ptr(volatile void* ptr, void* value) {
  atomic_rmw(static_cast<void* volatile*>(ptr), [&](void*) { return value; });
}

void membar_producer() { eng().charge(1); }
void membar_consumer() { eng().charge(1); }
void membar_sync() { eng().charge(5); }

uint64_t kernel_now_ns() { return eng().now(); }
uint64_t time_uptime() { return eng().now() / 1'000'000'000ULL; }
uint64_t hardclock_ticks() { return eng().now() / kNsPerTick; }
void delay_ns(uint64_t ns) { eng().busy_wait(ns); }

uint64_t page_size() { return eng().pages().page_size(); }

vm_page* uvm_pagealloc(uvm_object* owner, voff_t, void*, int flags) {
  // Fault site "uvm_pagealloc": a caller that may not sleep (it asks for the
  // reserve) finds no page, as when the free list is below it; callers that
  // may sleep would uvm_wait and retry, so only these see the failure.
  if ((flags & UVM_PGA_USERESERVE) != 0 && buggify("uvm_pagealloc")) {
    Engine& e = eng();
    e.sched_point(e.costs().page_alloc, {AccessKind::pages, 0});
    return nullptr;
  }
  return eng().pages().alloc(owner);
}
void uvm_pagefree(vm_page* pg) { eng().pages().free(pg); }
paddr_t VM_PAGE_TO_PHYS(const vm_page* pg) { return pg->phys_addr; }
vm_page* PHYS_TO_VM_PAGE(paddr_t pa) { return eng().pages().phys_to_page(pa); }
void uvm_wait(const char* wmesg) { eng().pages().wait(wmesg); }
void uvm_kick_pagedaemon() { eng().kick_pagedaemon(); }
uint64_t uvm_free_pages() {
  Engine& e = eng();
  e.note_access({AccessKind::pages, 0});
  return e.pages().nfree();
}
uint64_t uvm_phys_pages() { return eng().pages().npages(); }

void uvm_register_reclaim_hook(std::string name, void (*fn)(void*), void* arg) {
  eng().pages().add_reclaim_hook(std::move(name), [fn, arg] { fn(arg); });
}

pmap_t pmap_kernel() {
  static int kernel_pmap_tag;
  return reinterpret_cast<pmap_t>(&kernel_pmap_tag);
}
void pmap_kenter_pa(vaddr_t va, paddr_t pa, vm_prot_t, unsigned) { eng().pages().kenter(va, pa); }
void pmap_kremove(vaddr_t va, vsize_t size) { eng().pages().kremove(va, size); }
bool pmap_extract(pmap_t, vaddr_t va, paddr_t* pa) { return eng().pages().extract(va, pa); }

void log(int, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = vformat(fmt, ap);
  va_end(ap);
  eng().log_message(std::move(msg));
}

std::string kasim_format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = vformat(fmt, ap);
  va_end(ap);
  return msg;
}

void kprintf(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = vformat(fmt, ap);
  va_end(ap);
  eng().log_message(std::move(msg));
}

void kasim_trace(uint64_t a, uint32_t b) { eng().record(TraceKind::user, a, b); }
bool buggify(const char* site) {
  const bool fired = eng().buggify(site);
  if (fired) kasim_mark("fault_injected");
  return fired;
}

// --- marks and canaries -------------------------------------------------------

const std::vector<kasim_named>& kasim_marks() {
  static const std::vector<kasim_named> marks = {
      {"pool_hardlimit", "pool_get found the pool at its hard limit"},
      {"pool_hardlimit_wait", "pool_get (PR_WAITOK) slept at the hard limit"},
      {"pool_grow_wait", "pool_grow found another grower at work and waited or backed off"},
      {"pool_grow_fail", "pool_grow could not get a page"},
      {"pool_page_release", "pool_put released an empty page (above the high-water mark)"},
      {"vmem_import", "vmem imported a span from its source"},
      {"vmem_release", "vmem released a wholly free imported span to its source"},
      {"vmem_btag_starved", "vmem found its boundary-tag reserve empty and could not refill it"},
      {"vmem_sleep", "vmem_xalloc (VM_SLEEP) slept for space"},
      {"uvm_km_page_retry", "uvm_km_alloc waited for a free page and retried"},
      {"pool_cache_get_slow_intr", "pool_cache_get took the slow path in an interrupt handler"},
      {"pool_cache_put_destruct",
       "pool_cache_put found no empty group and destructed the object back to the pool"},
      {"pool_cache_ctor_fail", "a pool_cache constructor failed (pool_cache_get returned NULL)"},
      {"pool_cache_invalidate_xcall",
       "pool_cache_invalidate cross-called every CPU (more than one) to give up its groups"},
      {"pool_cache_pcg_contended", "a pcg stack spinner saw the dummy marker (another CPU held it)"},
      {"kmem_page", "kmem_alloc took the page path (uvm_km_kmem_alloc on kmem_va_arena)"},
      {"vmem_qcache_import", "a vmem quantum cache imported a pool page from its arena"},
      {"extent_waitspace_wakeup", "an extent EX_WAITSPACE sleeper was woken and searched again"},
      {"extent_fixed_wait", "a fixed extent's allocation slept for a free region descriptor"},
      {"extent_mallocok_fallback",
       "a fixed extent's freelist was empty and EX_MALLOCOK took a descriptor from expool"},
      {"fault_injected", "a fault-injection site fired"},
  };
  return marks;
}

const std::vector<kasim_named>& kasim_canaries() {
  static const std::vector<kasim_named> canaries = {
      {"vmem_no_coalesce_prev",
       "vmem_xfree forgets to coalesce a freed segment with the free segment before it"},
      {"vmem_inuse_unlocked",
       "vmem_xfree drops vm_lock between reading and writing vm_inuse (a lost update when "
       "another CPU frees in the window)"},
      {"pool_nowait_hardlimit", "pool_get(PR_NOWAIT) ignores the hard limit"},
      {"pool_put_below_lowat",
       "pool_put releases an empty page even when that leaves fewer free items than the "
       "low-water mark"},
      {"pool_nout_spl_window",
       "pool_put updates pr_nout in two halves with the lock released (and the SPL lowered) "
       "between them, so an interrupt handler's pool_get/pool_put in the window is lost"},
      {"pool_cache_fast_path_no_splvm",
       "pool_cache_get/put update this CPU's group without splvm, so an IPL_VM interrupt on "
       "the same CPU can interleave with the slot and pcg_avail update"},
      {"kmem_route_one_class_small",
       "kmem_alloc and kmem_free route a size to the cache one class too small"},
      {"extent_boundary_off_by_one",
       "extent_alloc's boundary test lets a region end on the boundary line"},
  };
  return canaries;
}

const std::vector<kasim_named>& kasim_fault_sites() {
  static const std::vector<kasim_named> sites = {
      {"vmem_btag", "the boundary-tag pool cannot refill vmem's reserve (pool_get PR_NOWAIT)"},
      {"pool_cache_get",
       "pool_cache_get(PR_NOWAIT) fails at once, as when the pool cannot get a page"},
      {"pool_cache_ctor", "a pool_cache constructor (one the cache was given) fails"},
      {"uvm_pagealloc", "uvm_pagealloc finds no free page and returns NULL"},
      {"cv_wait_sig", "an interruptible sleep (cv_wait_sig) is interrupted by a signal: EINTR"},
  };
  return sites;
}

namespace {

const kasim_named* find_named(const std::vector<kasim_named>& v, const char* name) {
  for (const kasim_named& n : v)
    if (std::strcmp(n.name, name) == 0) return &n;
  return nullptr;
}

// Per machine: the run's canary and the marks reached (indexes into kasim_marks()).
struct run_marks {
  std::string canary;
  std::vector<bool> reached;
};

}  // namespace

void kasim_mark(const char* name) {
  const auto& marks = kasim_marks();
  const kasim_named* m = find_named(marks, name);
  if (!m) throw InternalError(std::string("kasim_mark: undeclared mark \"") + name + "\"");
  run_marks& r = machine_local<run_marks>();
  r.reached.resize(marks.size());
  r.reached[static_cast<size_t>(m - marks.data())] = true;
}

bool kasim_canary(const char* name) {
  if (!find_named(kasim_canaries(), name))
    throw InternalError(std::string("kasim_canary: undeclared canary \"") + name + "\"");
  const std::string& active = machine_local<run_marks>().canary;
  return !active.empty() && active == name;
}

void kasim_set_canary(const std::string& name) {
  if (!name.empty() && !find_named(kasim_canaries(), name.c_str()))
    throw InternalError("unknown canary \"" + name + "\"");
  machine_local<run_marks>().canary = name;
}

std::vector<std::string> kasim_marks_reached() {
  std::vector<std::string> out;
  const run_marks& r = machine_local<run_marks>();
  for (size_t i = 0; i < r.reached.size(); ++i)
    if (r.reached[i]) out.push_back(kasim_marks()[i].name);
  return out;
}

void* machine_local_slot(const std::type_info& type, void* (*create)(), void (*destroy)(void*)) {
  return eng().local(type, create, destroy);
}

}  // namespace kasim
