// sim/sync.h: kmutex and kcondvar, NetBSD's kernel locks, on the simulated machine.
//
// mutex_init(MUTEX_DEFAULT, ipl) gives an adaptive mutex for IPL_NONE and the
// soft IPLs (a contender sleeps) and a spin mutex for IPL_VM and above (the
// SPL is raised to ipl while held, a contender on another CPU spins), as
// kern_mutex.c does. Every enter, exit, signal and wait is a scheduling point.
#pragma once

#include <cstdint>
#include <string>

#include "sim/ipl.h"
#include "sim/waitq.h"

namespace kasim {

struct Ctx;

enum kmutex_type_t { MUTEX_DEFAULT = 0, MUTEX_DRIVER = 1, MUTEX_SPIN = 2, MUTEX_ADAPTIVE = 3 };

struct kmutex {
  Ctx* owner = nullptr;
  ipl_t ipl = IPL_NONE;
  bool spin = false;
  bool initialized = false;
  int last_cpu = -1;  // CPU that last held it: a lock moving between CPUs costs more
  uint32_t id = 0;
  WaitQueue waitq;  // spinners and sleepers; all retry when it is released
  std::string name;
  uint64_t nenter = 0, ncontended = 0;
};
using kmutex_t = kmutex;

struct kcondvar {
  WaitQueue waitq;
  bool initialized = false;
  uint32_t id = 0;
  uint64_t nsignal = 0, nbroadcast = 0, nwait = 0;
};
using kcondvar_t = kcondvar;

void mutex_init(kmutex_t* m, kmutex_type_t type, ipl_t ipl);
void mutex_destroy(kmutex_t* m);
void mutex_enter(kmutex_t* m);
void mutex_exit(kmutex_t* m);
int mutex_tryenter(kmutex_t* m);
// True if the current context holds m.
bool mutex_owned(const kmutex_t* m);
// kasim extension: a name for wait-for reports ("pr_lock of mbpl").
void mutex_set_name(kmutex_t* m, std::string name);
inline void mutex_spin_enter(kmutex_t* m) { mutex_enter(m); }
inline void mutex_spin_exit(kmutex_t* m) { mutex_exit(m); }

void cv_init(kcondvar_t* cv, const char* wmesg);
void cv_destroy(kcondvar_t* cv);
void cv_wait(kcondvar_t* cv, kmutex_t* m);
// Returns 0, or EINTR if the LWP was signalled (lwp_signal).
int cv_wait_sig(kcondvar_t* cv, kmutex_t* m);
// Timeouts in ticks of hz (100 per second, as NetBSD's default). Return
// EWOULDBLOCK on timeout.
int cv_timedwait(kcondvar_t* cv, kmutex_t* m, int ticks);
int cv_timedwait_sig(kcondvar_t* cv, kmutex_t* m, int ticks);
// kasim extension: timeout in simulated nanoseconds; interruptible if intr.
int cv_timedwait_ns(kcondvar_t* cv, kmutex_t* m, uint64_t ns, bool intr);
void cv_signal(kcondvar_t* cv);
void cv_broadcast(kcondvar_t* cv);
bool cv_has_waiters(const kcondvar_t* cv);

inline constexpr int hz = 100;
inline constexpr uint64_t kNsPerTick = 1'000'000'000ULL / hz;

// kpause: sleep for `ticks` (or ns with kpause_ns); releases mtx meanwhile if
// given. Returns EWOULDBLOCK when the time elapsed, EINTR if interrupted.
int kpause(const char* wmesg, bool intr, int ticks, kmutex_t* mtx);
int kpause_ns(const char* wmesg, bool intr, uint64_t ns, kmutex_t* mtx);

}  // namespace kasim
