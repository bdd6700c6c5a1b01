#include "sim/kernel.h"

#include <cstdio>

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

vm_page* uvm_pagealloc(uvm_object* owner, voff_t, void*, int) {
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
bool buggify(const char* site) { return eng().buggify(site); }

void* machine_local_slot(const std::type_info& type, void* (*create)(), void (*destroy)(void*)) {
  return eng().local(type, create, destroy);
}

}  // namespace kasim
