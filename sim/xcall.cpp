// sim/xcall.cpp: xcall(9) low-priority cross-calls on the simulated machine.
//
// NetBSD runs a low-priority cross-call in a kernel thread per CPU: the
// caller publishes the function under xc_lock, advances xc_headtime by the
// number of CPUs and wakes every CPU's thread; each thread runs the function
// on its CPU, advances xc_donetime and wakes the waiters when it reaches the
// head; xc_wait(where) sleeps until xc_donetime >= where. One low-priority
// call is in flight at a time: a second xc_broadcast waits for the first.
//
// Here each CPU gets an "xcall/N" system LWP, created at the first broadcast,
// bound to its CPU. It is an ordinary LWP on that CPU's run queue: it runs
// when the LWP on the CPU leaves it (sleeps or finishes) or at a preemption
// point when the machine allows preemption, interrupts arrive around it as
// around any LWP, and every lock and condition variable operation is a
// scheduling point recorded in the trace with its footprint (sim/sync.cpp),
// which keeps `kasim check` sound without anything new in the engine.
#include <string>
#include <vector>

#include "sim/engine.h"
#include "sim/kernel.h"

namespace kasim {

namespace {

struct xc_state {
  bool inited = false;
  kmutex_t xc_lock;
  kcondvar_t xc_cv;    // the threads wait here for a new call
  kcondvar_t xc_busy;  // callers wait here for the call in flight to finish
  uint64_t xc_headtime = 0, xc_donetime = 0;
  uint64_t xc_gen = 0;  // calls published so far
  xcfunc_t xc_func = nullptr;
  void* xc_arg1 = nullptr;
  void* xc_arg2 = nullptr;
  std::vector<uint64_t> xc_seen;  // per CPU: the last call its thread ran
};

xc_state& xc_get() { return machine_local<xc_state>(); }

void xc_thread(unsigned cpu) {
  xc_state& xc = xc_get();
  mutex_enter(&xc.xc_lock);
  for (;;) {
    while (xc.xc_seen[cpu] == xc.xc_gen) cv_wait(&xc.xc_cv, &xc.xc_lock);
    xc.xc_seen[cpu] = xc.xc_gen;
    const xcfunc_t func = xc.xc_func;
    void* const arg1 = xc.xc_arg1;
    void* const arg2 = xc.xc_arg2;
    mutex_exit(&xc.xc_lock);
    func(arg1, arg2);
    mutex_enter(&xc.xc_lock);
    xc.xc_donetime++;
    if (xc.xc_donetime == xc.xc_headtime) cv_broadcast(&xc.xc_busy);
  }
}

void xc_init(xc_state& xc) {
  if (xc.inited) return;
  xc.inited = true;
  mutex_init(&xc.xc_lock, MUTEX_DEFAULT, IPL_NONE);
  mutex_set_name(&xc.xc_lock, "xc_lock");
  cv_init(&xc.xc_cv, "xcall");
  cv_init(&xc.xc_busy, "xclocv");
  Engine* e = Engine::current();
  xc.xc_seen.assign(static_cast<size_t>(e->ncpu()), 0);
  for (int i = 0; i < e->ncpu(); ++i)
    e->spawn_lwp("xcall/" + std::to_string(i), i,
                 [i] { xc_thread(static_cast<unsigned>(i)); }, true);
}

void xc_nop(void*, void*) {}

}  // namespace

uint64_t xc_broadcast(unsigned flags, xcfunc_t func, void* arg1, void* arg2) {
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(), "xc_broadcast: from interrupt context");
  KASSERTMSG(flags == 0, "xc_broadcast: flags 0x%x (only low-priority cross-calls are modelled)",
             flags);
  xc_state& xc = xc_get();
  xc_init(xc);
  mutex_enter(&xc.xc_lock);
  while (xc.xc_headtime != xc.xc_donetime) cv_wait(&xc.xc_busy, &xc.xc_lock);
  xc.xc_func = func;
  xc.xc_arg1 = arg1;
  xc.xc_arg2 = arg2;
  xc.xc_gen++;
  xc.xc_headtime += ncpu();
  const uint64_t where = xc.xc_headtime;
  cv_broadcast(&xc.xc_cv);
  mutex_exit(&xc.xc_lock);
  return where;
}

void xc_wait(uint64_t where) {
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(), "xc_wait: from interrupt context");
  xc_state& xc = xc_get();
  xc_init(xc);
  mutex_enter(&xc.xc_lock);
  while (xc.xc_donetime < where) cv_wait(&xc.xc_busy, &xc.xc_lock);
  mutex_exit(&xc.xc_lock);
}

void xc_barrier(unsigned flags) { xc_wait(xc_broadcast(flags, xc_nop, nullptr, nullptr)); }

}  // namespace kasim
