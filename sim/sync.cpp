#include "sim/sync.h"

#include <algorithm>

#include "sim/engine.h"

namespace kasim {

namespace {

Engine& eng() {
  Engine* e = Engine::current();
  if (!e) throw InternalError("kernel primitive called outside a run");
  return *e;
}

// The step after a scheduling point in a mutex operation starts on the mutex.
Access on(const kmutex* m) { return {AccessKind::object, m->id}; }
Access on(const kcondvar* cv) { return {AccessKind::object, cv->id}; }

uint64_t mutex_cost(const Engine& e, const kmutex* m, int cpu) {
  return (m->last_cpu < 0 || m->last_cpu == cpu) ? e.costs().mutex_local : e.costs().mutex_remote;
}

void require_init(Engine& e, const kmutex* m, const char* fn) {
  if (!m->initialized)
    e.fail(e.make_finding("mutex", std::string(fn) + ": mutex not initialized"));
}

// Takes m for the current context; m must be free.
void take(Engine& e, kmutex* m) {
  Ctx* self = e.cur();
  m->owner = self;
  m->last_cpu = self->cpu;
  ++m->nenter;
  self->held.push_back(m);
}

// Raises the SPL for a spin mutex as NetBSD's MUTEX_SPIN_SPLRAISE does: the
// SPL before the first spin mutex on this CPU is kept in ci_mtx_oldspl.
void spin_raise(Engine& e, const kmutex* m) {
  Cpu& c = e.curcpu();
  ipl_t old = c.spl;
  if (m->ipl > c.spl) c.spl = m->ipl;
  if (c.mtx_count++ == 0) c.mtx_oldspl = old;
}

// Drops one spin mutex's hold on the SPL; the caller's scheduling point then
// lets any interrupt that was held off be delivered.
void spin_lower(Engine& e) {
  Cpu& c = e.curcpu();
  if (--c.mtx_count == 0 && c.spl != c.mtx_oldspl) {
    c.spl = c.mtx_oldspl;
    e.record(TraceKind::spl, static_cast<uint64_t>(c.spl));
  }
}

}  // namespace

void mutex_init(kmutex_t* m, kmutex_type_t type, ipl_t ipl) {
  Engine& e = eng();
  m->owner = nullptr;
  m->ipl = ipl;
  // MUTEX_DEFAULT/DRIVER: adaptive at IPL_NONE and soft levels, spin above.
  m->spin = type == MUTEX_SPIN || (type != MUTEX_ADAPTIVE && ipl >= IPL_VM);
  m->initialized = true;
  m->last_cpu = -1;
  m->id = e.next_object_id();
  m->waitq.id = m->id;
  m->waitq.waiters.clear();
}

void mutex_set_name(kmutex_t* m, std::string name) {
  m->name = std::move(name);
  m->waitq.name = m->name;
}

void mutex_destroy(kmutex_t* m) {
  Engine& e = eng();
  if (e.running() && m->owner)
    e.fail(e.make_finding("mutex", "mutex_destroy: " + e.mutex_label(m) + " is held by " +
                                       e.ctx_label(m->owner)));
  m->initialized = false;
}

void mutex_enter(kmutex_t* m) {
  Engine& e = eng();
  if (!e.running()) return;
  require_init(e, m, "mutex_enter");
  Ctx* self = e.cur();
  e.sched_point(mutex_cost(e, m, self->cpu), on(m));
  if (m->spin) spin_raise(e, m);
  bool contended = false;
  while (m->owner) {
    if (m->owner == self)
      e.fail(e.make_finding("mutex", "mutex_enter: locking against myself: " + e.mutex_label(m)));
    if (m->owner->cpu == self->cpu && (m->spin || e.in_intr()))
      // The holder is below us on this CPU's stack: it cannot run until we return.
      e.fail(e.make_finding("mutex", "mutex_enter: " + e.mutex_label(m) + " is held by " +
                                         e.ctx_label(m->owner) +
                                         ", which this context interrupted (spins forever)"));
    if (!contended) ++m->ncontended;
    contended = true;
    if (m->spin || e.in_intr()) {
      if (!m->spin && e.in_hardintr())
        e.fail(e.make_finding("mutex", "mutex_enter: adaptive " + e.mutex_label(m) +
                                           " taken in hard interrupt context"));
      e.spin_on(m, m->waitq);
    } else {
      self->lock_wait = m;
      e.sleep_on(m->waitq, "mutex", 0, false);
      self->lock_wait = nullptr;
    }
  }
  if (!m->spin && e.in_hardintr())
    e.fail(e.make_finding("mutex", "mutex_enter: adaptive " + e.mutex_label(m) +
                                       " taken in hard interrupt context"));
  take(e, m);
}

int mutex_tryenter(kmutex_t* m) {
  Engine& e = eng();
  if (!e.running()) return 1;
  require_init(e, m, "mutex_tryenter");
  e.sched_point(mutex_cost(e, m, e.cur()->cpu), on(m));
  if (m->owner) return 0;
  if (m->spin) spin_raise(e, m);
  take(e, m);
  return 1;
}

void mutex_exit(kmutex_t* m) {
  Engine& e = eng();
  if (!e.running()) return;
  require_init(e, m, "mutex_exit");
  Ctx* self = e.cur();
  if (m->owner != self)
    e.fail(e.make_finding("mutex", "mutex_exit: " + e.mutex_label(m) + " not held by " +
                                       e.ctx_label(self) +
                                       (m->owner ? " (held by " + e.ctx_label(m->owner) + ")"
                                                 : std::string(" (not held)"))));
  e.note_access(on(m));
  m->owner = nullptr;
  auto it = std::find(self->held.rbegin(), self->held.rend(), m);
  self->held.erase(std::next(it).base());
  e.wakeup_all(m->waitq);  // every waiter retries; the strategy decides who wins
  e.charge(mutex_cost(e, m, self->cpu));
  if (m->spin) spin_lower(e);
  // Under the lock discipline the caller's next code touches only what it
  // owns until its next primitive: the step after this point is private.
  e.sched_point(0, Access::none());
}

bool mutex_owned(const kmutex_t* m) {
  Engine* e = Engine::current();
  return e && m->owner == e->cur();
}

void cv_init(kcondvar_t* cv, const char* wmesg) {
  Engine& e = eng();
  cv->initialized = true;
  cv->id = e.next_object_id();
  cv->waitq.id = cv->id;
  cv->waitq.name = wmesg;
  cv->waitq.waiters.clear();
}

void cv_destroy(kcondvar_t* cv) {
  Engine& e = eng();
  if (e.running() && !cv->waitq.waiters.empty())
    e.fail(e.make_finding("contract", "cv_destroy: condvar " + cv->waitq.name + " has waiters"));
  cv->initialized = false;
}

int cv_timedwait_ns(kcondvar_t* cv, kmutex_t* m, uint64_t ns, bool intr) {
  Engine& e = eng();
  if (!e.running()) return 0;
  if (!cv->initialized) e.fail(e.make_finding("contract", "cv_wait: condvar not initialized"));
  if (!mutex_owned(m))
    e.fail(e.make_finding("mutex", "cv_wait on " + cv->waitq.name + ": interlock " +
                                       e.mutex_label(m) + " not held"));
  if (e.in_intr())
    e.fail(e.make_finding("sleep", "cv_wait on " + cv->waitq.name + " in " +
                                       e.ctx_label(e.cur())));
  ++cv->nwait;
  e.charge(e.costs().cv);
  // Release the interlock without a scheduling point in between: cv_wait
  // enqueues before it drops the lock, so no wakeup can be lost.
  Ctx* self = e.cur();
  e.note_access(on(m));
  e.note_access(on(cv));
  m->owner = nullptr;
  self->held.erase(std::find(self->held.begin(), self->held.end(), m));
  e.wakeup_all(m->waitq);
  if (m->spin) spin_lower(e);
  int r = e.sleep_on(cv->waitq, cv->waitq.name.c_str(), ns, intr, m);
  mutex_enter(m);
  return r;
}

void cv_wait(kcondvar_t* cv, kmutex_t* m) { cv_timedwait_ns(cv, m, 0, false); }
int cv_wait_sig(kcondvar_t* cv, kmutex_t* m) { return cv_timedwait_ns(cv, m, 0, true); }
int cv_timedwait(kcondvar_t* cv, kmutex_t* m, int ticks) {
  return cv_timedwait_ns(cv, m, static_cast<uint64_t>(ticks > 0 ? ticks : 1) * kNsPerTick, false);
}
int cv_timedwait_sig(kcondvar_t* cv, kmutex_t* m, int ticks) {
  return cv_timedwait_ns(cv, m, static_cast<uint64_t>(ticks > 0 ? ticks : 1) * kNsPerTick, true);
}

void cv_signal(kcondvar_t* cv) {
  Engine& e = eng();
  if (!e.running()) return;
  ++cv->nsignal;
  e.note_access(on(cv));
  e.wakeup_one(cv->waitq);
  e.sched_point(e.costs().cv, Access::none());
}

void cv_broadcast(kcondvar_t* cv) {
  Engine& e = eng();
  if (!e.running()) return;
  ++cv->nbroadcast;
  e.note_access(on(cv));
  e.wakeup_all(cv->waitq);
  e.sched_point(e.costs().cv, Access::none());
}

bool cv_has_waiters(const kcondvar_t* cv) { return !cv->waitq.waiters.empty(); }

int kpause_ns(const char* wmesg, bool intr, uint64_t ns, kmutex_t* mtx) {
  Engine& e = eng();
  if (!e.running()) return 0;
  if (mtx) mutex_exit(mtx);
  WaitQueue q;  // nobody else can find it: only the timeout or a signal ends the sleep
  q.name = wmesg;
  q.id = 0;
  int r = e.sleep_on(q, wmesg, ns == 0 ? 1 : ns, intr);
  if (mtx) mutex_enter(mtx);
  return r;
}

int kpause(const char* wmesg, bool intr, int ticks, kmutex_t* mtx) {
  return kpause_ns(wmesg, intr, static_cast<uint64_t>(ticks > 0 ? ticks : 1) * kNsPerTick, mtx);
}

}  // namespace kasim
