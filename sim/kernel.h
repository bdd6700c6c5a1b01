// sim/kernel.h: the NetBSD kernel vocabulary, the only seam between the
// allocators and the simulated machine.
//
// Allocators include this file and nothing else from sim/. It offers what
// NetBSD's allocators call: KASSERT, locks and condition variables, SPL,
// curcpu/curlwp, atomics, the page store and pmap, kpause, log, and
// buggify() for fault injection. Every function acts on the run in progress
// on the calling host thread.
//
// Contract for code that uses it:
//  - No RAII guards that call these functions from destructors: a run is torn
//    down by unwinding every fiber, and the primitives are inert by then.
//  - Never catch(...): it would swallow the unwinding.
//  - Expected failures are return values (ENOMEM, NULL); a violated contract
//    is KASSERT/KASSERTMSG/panic, which ends the run with a finding.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <string>
#include <vector>

#include <typeinfo>

#include "sim/ipl.h"
#include "sim/pages.h"
#include "sim/sync.h"

namespace kasim {

struct Ctx;
struct cpu_info;
using lwp_t = Ctx;
using vsize_t = uint64_t;
using voff_t = uint64_t;
using vm_prot_t = int;
inline constexpr vm_prot_t VM_PROT_READ = 1, VM_PROT_WRITE = 2;
inline constexpr int UVM_PGA_USERESERVE = 0x0001, UVM_PGA_ZERO = 0x0002;

// --- assertions and findings ----------------------------------------------

[[noreturn]] void kassert_fail(const char* expr, const char* file, int line, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));
// panic(9): a contract finding with NetBSD's message.
[[noreturn]] void panic(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// A finding of a given kind ("hardlimit", "overlap", ...) raised by allocator code.
[[noreturn]] void kasim_finding(const char* kind, const char* fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define KASSERT(e) ((e) ? (void)0 : ::kasim::kassert_fail(#e, __FILE__, __LINE__, nullptr))
#define KASSERTMSG(e, ...) \
  ((e) ? (void)0 : ::kasim::kassert_fail(#e, __FILE__, __LINE__, __VA_ARGS__))

// --- CPUs, LWPs, context ----------------------------------------------------

cpu_info* curcpu();
unsigned cpu_index(const cpu_info* ci);
cpu_info* cpu_lookup(unsigned index);
unsigned ncpu();
lwp_t* curlwp();
uint64_t lwp_ncsw(const lwp_t* l);  // curlwp->l_ncsw
// mp_online: the secondary CPUs are running. False on a one-CPU machine and
// while the machine has run only one user LWP (a scenario's boot LWP runs
// alone, as NetBSD's lwp0 does before cpu_boot_secondary_processors).
bool mp_online();
bool cpu_intr_p();      // in a hard interrupt handler (IPL_VM and above)
bool cpu_softintr_p();  // in a soft interrupt handler

// --- SPL ---------------------------------------------------------------------

int splraise(ipl_t ipl);  // never lowers; returns the previous level
inline int splvm() { return splraise(IPL_VM); }
inline int splsched() { return splraise(IPL_SCHED); }
inline int splhigh() { return splraise(IPL_HIGH); }
void splx(int s);  // restores; lowering may deliver pending interrupts
int spl0();
ipl_t curspl();

// --- atomics: each is a scheduling point costing a cache-line access ---------

void* atomic_cas_ptr(volatile void* ptr, void* expected, void* desired);
unsigned atomic_cas_uint(volatile unsigned* ptr, unsigned expected, unsigned desired);
uint64_t atomic_cas_64(volatile uint64_t* ptr, uint64_t expected, uint64_t desired);
void* atomic_swap_ptr(volatile void* ptr, void* desired);
void atomic_inc_uint(volatile unsigned* ptr);
void atomic_dec_uint(volatile unsigned* ptr);
unsigned atomic_inc_uint_nv(volatile unsigned* ptr);
unsigned atomic_dec_uint_nv(volatile unsigned* ptr);
void atomic_add_64(volatile uint64_t* ptr, int64_t delta);
// atomic_load_relaxed / atomic_store_relaxed on a pointer word: scheduling
// points like the read-modify-write operations (a spin loop that reads a word
// lets the schedule run the writer between two reads).
void* atomic_load_ptr(const volatile void* ptr);
void atomic_store_ptr(volatile void* ptr, void* value);
// The machine is sequentially consistent, so barriers only cost time.
void membar_producer();
void membar_consumer();
void membar_sync();

// --- cross-calls: xcall(9) ---------------------------------------------------

// xc_broadcast runs func(arg1, arg2) once on every CPU, each in that CPU's
// "xcall/N" kernel thread (NetBSD's low-priority cross-calls), and returns a
// ticket; xc_wait(ticket) sleeps until every CPU has run it.
//  => from thread context only (both may sleep); flags must be 0 (XC_HIGHPRI,
//     which runs the function from a soft interrupt, is not modelled).
using xcfunc_t = void (*)(void* arg1, void* arg2);
inline constexpr unsigned XC_HIGHPRI = 0x01;
uint64_t xc_broadcast(unsigned flags, xcfunc_t func, void* arg1, void* arg2);
void xc_wait(uint64_t where);
// xc_barrier: a broadcast of nothing, waited for (pserialize's barrier).
void xc_barrier(unsigned flags);

// --- time --------------------------------------------------------------------

uint64_t kernel_now_ns();  // the current CPU's clock
uint64_t time_uptime();    // seconds, as NetBSD's time_uptime
uint64_t hardclock_ticks();
// Spends simulated time on the current CPU (a busy loop, like DELAY(9));
// interrupts arriving meanwhile are taken on time.
void delay_ns(uint64_t ns);

// --- pages and pmap ----------------------------------------------------------

uint64_t page_size();
inline uint64_t round_page(uint64_t x) { return (x + page_size() - 1) & ~(page_size() - 1); }
inline uint64_t trunc_page(uint64_t x) { return x & ~(page_size() - 1); }
vm_page* uvm_pagealloc(uvm_object* owner, voff_t off, void* anon, int flags);
void uvm_pagefree(vm_page* pg);
paddr_t VM_PAGE_TO_PHYS(const vm_page* pg);
vm_page* PHYS_TO_VM_PAGE(paddr_t pa);
void uvm_wait(const char* wmesg);
void uvm_kick_pagedaemon();
uint64_t uvm_free_pages();  // uvmexp.free
uint64_t uvm_phys_pages();
// Registers a hook the page daemon calls on each pass (pool_drain and friends).
void uvm_register_reclaim_hook(std::string name, void (*fn)(void*), void* arg);

struct pmap;
using pmap_t = pmap*;
pmap_t pmap_kernel();
void pmap_kenter_pa(vaddr_t va, paddr_t pa, vm_prot_t prot, unsigned flags);
void pmap_kremove(vaddr_t va, vsize_t size);
bool pmap_extract(pmap_t pm, vaddr_t va, paddr_t* pa);
inline void pmap_update(pmap_t) {}

// --- messages, trace, faults -------------------------------------------------

inline constexpr int LOG_ERR = 3, LOG_WARNING = 4, LOG_NOTICE = 5, LOG_INFO = 6;
void log(int level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// snprintf into a std::string, for checkers that build messages.
std::string kasim_format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void kprintf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
// An allocator-defined trace record (its values enter the trace hash).
void kasim_trace(uint64_t a, uint32_t b);
// FoundationDB's BUGGIFY: true when fault injection is on, this site was
// switched on for the run, and it fires this time. Every firing is traced.
bool buggify(const char* site);

// --- reachability marks and canaries (docs/fuzzing.md) ------------------------

// Every mark and canary is declared once, in sim/kernel.cpp (kasim_marks(),
// kasim_canaries()), so a campaign can report which marks were never reached
// and the command line can reject an unknown canary.
struct kasim_named {
  const char* name;
  const char* description;
};
const std::vector<kasim_named>& kasim_marks();
const std::vector<kasim_named>& kasim_canaries();
// The buggify() sites the allocators use (docs/fuzzing.md "Fault
// injection"), listed for users and tests.
const std::vector<kasim_named>& kasim_fault_sites();

// kasim_mark("pool_hardlimit"): this run reached a rare path. Costs nothing
// simulated and does not enter the trace. An undeclared name is an internal
// error (a typo would otherwise never be reached).
void kasim_mark(const char* name);
// kasim_canary("vmem_no_coalesce_prev"): true only in a run started with
// --canary of that name. Allocators guard each planted bug with it:
//   if (!kasim_canary("vmem_no_coalesce_prev")) { ...the correct code... }
// An undeclared name is an internal error.
bool kasim_canary(const char* name);

// For the runner: the canary of the run in progress ("" for none), and the
// marks it has reached so far, in declaration order.
void kasim_set_canary(const std::string& name);
std::vector<std::string> kasim_marks_reached();

// Per-machine storage for what NetBSD keeps in kernel globals (vmem_list,
// pool_head, kmem_arena ...): several machines may run at once on different
// host threads, so allocator globals live in the machine. T must be
// default-constructible; its destructor must not call kernel functions.
void* machine_local_slot(const std::type_info& type, void* (*create)(), void (*destroy)(void*));
template <class T>
T& machine_local() {
  return *static_cast<T*>(machine_local_slot(
      typeid(T), [] { return static_cast<void*>(new T()); },
      [](void* p) { delete static_cast<T*>(p); }));
}

}  // namespace kasim
