#include "sim/engine.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <utility>

#include "sim/fiber_stack.h"
#include "sim/sync.h"

#if KASIM_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

namespace kasim {

namespace {

thread_local Engine* t_engine = nullptr;

// Thrown inside a fiber to unwind it when the run is torn down.
struct FiberKill {};

// Any other exception that escapes a context (an InternalError, a host
// exception from the code under test): an exception leaving a fiber's entry
// function would std::terminate the process, so the fiber parks it here, ends
// the run, and run() rethrows it on the host stack. Runs on one host thread
// nest strictly, so one slot per thread suffices.
thread_local std::exception_ptr t_fiber_error;

}  // namespace

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::completed: return "completed";
    case Outcome::finding: return "finding";
    case Outcome::bound: return "bound";
    case Outcome::diverged: return "diverged";
  }
  return "?";
}

Engine* Engine::current() { return t_engine; }

Engine::Engine(const MachineConfig& machine, std::unique_ptr<Strategy> strategy, uint64_t seed,
               RunLimits limits, FaultConfig faults)
    : machine_(machine),
      limits_(limits),
      faults_(faults),
      seed_(seed),
      strategy_(std::move(strategy)),
      rng_workload_(seed, RngStream::workload),
      rng_faults_(seed, RngStream::faults),
      rng_intr_(seed, RngStream::interrupts) {
  if (machine_.cpus < 1 || machine_.cpus > 256) throw InternalError("cpus out of range");
  main_.kind = CtxKind::main;
  main_.name = "main";
  main_.id = 0;
  main_.started = true;  // main runs on the host thread's own stack
  by_id_.push_back(&main_);
  cpus_.resize(static_cast<size_t>(machine_.cpus));
  for (int i = 0; i < machine_.cpus; ++i) {
    Cpu& c = cpus_[static_cast<size_t>(i)];
    c.index = i;
    c.ci.ci_index = static_cast<unsigned>(i);
    c.idle.kind = CtxKind::lwp;
    c.idle.cpu = i;
    c.idle.system = true;
    c.idle.name = "idle/" + std::to_string(i);
    c.idle.state = CtxState::finished;
  }
  cur_ = &main_;
  pages_.init(this, machine_.phys_pages, machine_.page_size, machine_.free_target);
  pagedaemon_q_.name = "pagedaemon";
  pagedaemon_q_.id = next_object_id();
  if (machine_.pagedaemon) {
    // The daemon starts asleep; its fiber is created the first time it is kicked.
    pagedaemon_ = spawn_lwp("pagedaemon", 0, [this] { pagedaemon_main(); }, true);
    Cpu& c0 = cpus_[0];
    c0.runq.erase(std::find(c0.runq.begin(), c0.runq.end(), pagedaemon_));
    pagedaemon_->state = CtxState::sleeping;
    pagedaemon_->waiting_on = &pagedaemon_q_;
    pagedaemon_->wmesg = "pgdaemon";
    pagedaemon_q_.waiters.push_back(pagedaemon_);
  }
}

Engine::~Engine() {
  // run() tears the fibers down; an engine destroyed without running has none started.
  if (t_engine == this) t_engine = saved_current_;
  while (!locals_.empty()) locals_.pop_back();  // reverse order of creation
}

void* Engine::local(const std::type_info& type, void* (*create)(), void (*destroy)(void*)) {
  auto it = locals_index_.find(std::type_index(type));
  if (it != locals_index_.end()) return locals_[it->second].get();
  locals_index_.emplace(std::type_index(type), locals_.size());
  locals_.push_back(std::shared_ptr<void>(create(), destroy));
  return locals_.back().get();
}

Ctx* Engine::new_ctx(CtxKind kind, int cpu, std::string name) {
  auto c = std::make_unique<Ctx>();
  c->id = static_cast<uint32_t>(by_id_.size());
  c->kind = kind;
  c->cpu = cpu;
  c->name = std::move(name);
  Ctx* raw = c.get();
  by_id_.push_back(raw);
  (kind == CtxKind::intr ? frames_ : lwps_).push_back(std::move(c));
  return raw;
}

Ctx* Engine::spawn_lwp(std::string name, int cpu, std::function<void()> body, bool system) {
  if (cpu < 0 || cpu >= ncpu()) throw InternalError("spawn_lwp: cpu out of range");
  Ctx* c = new_ctx(CtxKind::lwp, cpu, std::move(name));
  c->body = std::move(body);
  c->system = system;
  c->state = CtxState::ready;
  cpus_[static_cast<size_t>(cpu)].runq.push_back(c);
  if (!system) ++unfinished_users_;
  return c;
}

IntrSource* Engine::add_interrupt(std::string name, int cpu, ipl_t ipl, std::vector<uint64_t> at,
                                  uint64_t every, uint64_t count,
                                  std::function<void()> handler) {
  if (cpu < 0 || cpu >= ncpu()) throw InternalError("add_interrupt: cpu out of range");
  auto s = std::make_unique<IntrSource>();
  s->id = static_cast<uint32_t>(intrs_.size());
  s->name = std::move(name);
  s->cpu = cpu;
  s->ipl = ipl;
  std::sort(at.begin(), at.end());
  s->at = std::move(at);
  s->every = every;
  s->count = count;
  s->handler = std::move(handler);
  intrs_.push_back(std::move(s));
  if (running_) schedule_next_firing(intrs_.back().get());  // added by a booting LWP
  return intrs_.back().get();
}

uint64_t Engine::sim_time() const {
  uint64_t t = 0;
  for (const Cpu& c : cpus_) t = std::max(t, c.clock);
  return t;
}

std::vector<std::string> Engine::context_names() const {
  std::vector<std::string> out;
  for (const Ctx* c : by_id_)
    out.push_back(c->kind == CtxKind::intr ? "intr/" + std::to_string(c->cpu) : c->name);
  return out;
}

Ctx* Engine::curlwp() {
  if (cur_->kind == CtxKind::lwp) return cur_;
  Cpu& c = curcpu();
  return c.onproc ? c.onproc : &c.idle;
}

// ---------------------------------------------------------------------------
// Running and switching

Outcome Engine::run() {
  saved_current_ = t_engine;
  t_engine = this;
  running_ = true;
  cur_ = &main_;
  track_ = strategy_->wants_every_point();
  step_fp_.clear();
  for (auto& s : intrs_) schedule_next_firing(s.get());
  schedule();  // returns in main when the run is over
  strategy_->run_ended(step_fp_);
  kill_all();
  t_engine = saved_current_;
  if (t_fiber_error) std::rethrow_exception(std::exchange(t_fiber_error, nullptr));
  return outcome_;
}

void Engine::schedule_next_firing(IntrSource* s) {
  uint64_t t;
  if (s->next_at < s->at.size()) {
    t = s->at[s->next_at++];
  } else if (s->every != 0) {
    if (s->count != 0 && s->periodic_fired >= s->count) return;
    uint64_t last = s->at.empty() ? 0 : s->at.back();
    t = sat_add(last, sat_mul(s->every, s->periodic_fired + 1));
    ++s->periodic_fired;
  } else {
    return;
  }
  events_.push(Event{t, event_seq_++, Event::interrupt, s->id, s->periodic_fired});
}

bool Engine::user_lwps_done() const { return unfinished_users_ == 0; }

void Engine::fire_events_until(uint64_t horizon) {
  while (!events_.empty() && events_.top().time <= horizon) {
    Event e = events_.top();
    events_.pop();
    if (e.kind == Event::interrupt) {
      IntrSource* s = intrs_[e.id].get();
      bool periodic = e.gen != 0;
      // An unbounded periodic source only lives as long as the user LWPs.
      if (periodic && s->count == 0 && user_lwps_done()) continue;
      ++s->fired;
      if (s->pending) {
        ++s->coalesced;  // one pending bit per source, as level-triggered hardware has
      } else {
        s->pending = true;
        s->arrived = e.time;
        cpus_[static_cast<size_t>(s->cpu)].pending.push_back(s);
      }
      schedule_next_firing(s);
    } else {
      Ctx* c = by_id_[e.id];
      if (c->state == CtxState::sleeping && c->wake_gen == e.gen) {
        if (c->waiting_on) c->waiting_on->remove(c);
        make_ready(c, kEWOULDBLOCK, e.time);
      }
    }
  }
}

// flatten: on the hot path (every scheduling point) GCC would otherwise call
// vector<Option>::emplace_back out of line, which halves the scheduling
// points per second of a single-CPU run (tools/bench, results/bench/check.md).
[[gnu::flatten]] void Engine::build_options() {
  options_.clear();
  for (Cpu& c : cpus_) {
    const uint16_t ci = static_cast<uint16_t>(c.index);
    if (!c.intr_stack.empty()) {
      Ctx* top = c.intr_stack.back();
      if (top->state == CtxState::ready)
        options_.push_back({{OptionKind::run, ci, top->id}, std::max(c.clock, top->ready_at), 0,
                            false, top->pending});
    } else if (c.onproc) {
      Ctx* l = c.onproc;
      if (l->state == CtxState::ready) {
        options_.push_back({{OptionKind::run, ci, l->id}, std::max(c.clock, l->ready_at), 0,
                            false, l->pending});
        if (machine_.preempt && c.spl == IPL_NONE && c.mtx_count == 0)
          for (Ctx* r : c.runq)
            options_.push_back({{OptionKind::run, ci, r->id}, std::max(c.clock, r->ready_at), 0,
                                true, r->pending});
      }
    } else if (!c.runq.empty()) {
      bool first = true;
      for (Ctx* r : c.runq) {
        options_.push_back({{OptionKind::run, ci, r->id}, std::max(c.clock, r->ready_at), 0,
                            !first, r->pending});
        first = false;
        if (!machine_.preempt) break;
      }
    }
    for (IntrSource* s : c.pending)
      if (s->ipl > c.spl)
        // A delivery first touches the CPU it interrupts (its SPL and stack).
        options_.push_back({{OptionKind::deliver, ci, s->id}, std::max(c.clock, s->arrived),
                            s->ipl, false, {AccessKind::cpu, ci}});
  }
}

void Engine::schedule() {
  Ctx* self = cur_;
  for (;;) {
    if (!running_) {
      if (self == &main_) return;
      switch_to(&main_);  // only a teardown resumes us, and that throws in switch_to
      throw InternalError("context resumed after the run ended");
    }
    build_options();
    uint64_t horizon = UINT64_MAX;
    for (const Option& o : options_) horizon = std::min(horizon, o.time);
    if (!events_.empty() && events_.top().time <= horizon) {
      fire_events_until(options_.empty() ? events_.top().time : horizon);
      continue;
    }
    if (options_.empty()) {
      bool frames_active = false;
      for (const Cpu& c : cpus_) frames_active |= !c.intr_stack.empty();
      if (user_lwps_done() && !frames_active) {
        stop(Outcome::completed, nullptr);
      } else {
        Finding f = make_finding("deadlock", "deadlock: every context is asleep or spinning and "
                                             "nothing is pending");
        f.details = wait_for_report();
        stop(Outcome::finding, &f);
      }
      continue;
    }
    if (horizon > limits_.max_time_ns) {
      Finding f = make_finding("bound", "simulated time limit of " +
                                            std::to_string(limits_.max_time_ns) +
                                            " ns reached");
      stop(Outcome::bound, &f);
      continue;
    }
    size_t idx = 0;
    // A single option is no decision; a model checker still sees it (track_)
    // to follow step footprints and to cut a run whose only step is asleep.
    if (options_.size() > 1 || track_) {
      ChoicePoint cp{steps_, decisions_.size(), &options_, self->id, &step_fp_};
      std::optional<size_t> pick = strategy_->choose(cp);
      if (!pick || *pick >= options_.size()) {
        stop_reason_ = strategy_->stop_reason();
        stop(Outcome::diverged, nullptr);
        continue;
      }
      idx = *pick;
      if (options_.size() > 1) decisions_.push_back(options_[idx].what);
    }
    Ctx* target = apply(options_[idx]);
    if (track_) {
      // A new step begins. Its first access is options_[idx].next, which the
      // strategy has; the footprint collects the rest, whose keys must mean
      // the same thing in every run (ids, not host addresses).
      step_fp_.clear();
      step_fp_.add({AccessKind::ctx, target->id});
      step_fp_.add({AccessKind::cpu, static_cast<uint64_t>(target->cpu)});
    }
    if (target != self) {
      trace_.append(TraceKind::run, static_cast<uint16_t>(target->cpu), target->id,
                    cpus_[static_cast<size_t>(target->cpu)].clock, self->id);
      switch_to(target);
    }
    return;
  }
}

Ctx* Engine::apply(const Option& o) {
  Cpu& c = cpus_[o.what.cpu];
  c.clock = std::max(c.clock, o.time);
  if (o.what.kind == OptionKind::run) {
    Ctx* t = by_id_[o.what.target];
    if (t->kind == CtxKind::lwp && c.onproc != t) {
      if (c.onproc) {  // preemption: the current LWP goes to the back of the queue
        ++c.onproc->l_ncsw;
        c.onproc->lwp_spl = c.spl;
        c.runq.push_back(c.onproc);
      }
      c.runq.erase(std::find(c.runq.begin(), c.runq.end(), t));
      c.onproc = t;
      c.spl = t->lwp_spl;  // as on return from mi_switch
      c.clock += machine_.costs.context_switch;
      c.busy_ns += machine_.costs.context_switch;
    }
    return t;
  }
  IntrSource* s = intrs_[o.what.target].get();
  s->pending = false;
  c.pending.erase(std::find(c.pending.begin(), c.pending.end(), s));
  Ctx* f;
  if (!c.frame_pool.empty()) {
    f = c.frame_pool.back();
    c.frame_pool.pop_back();
  } else {
    f = new_ctx(CtxKind::intr, c.index, "intr/" + std::to_string(c.index));
  }
  f->src = s;
  f->name = s->name;
  f->pending = Access::none();  // the handler starts with code private to it
  f->saved_spl = c.spl;
  f->state = CtxState::ready;
  f->ready_at = 0;
  c.spl = s->ipl;
  c.intr_stack.push_back(f);
  c.clock += machine_.costs.intr_entry;
  c.busy_ns += machine_.costs.intr_entry;
  ++s->delivered;
  ++c.intrs;
  trace_.append(TraceKind::intr_enter, static_cast<uint16_t>(c.index), f->id, c.clock, s->id,
                static_cast<uint32_t>(s->ipl));
  return f;
}

#if KASIM_ASAN
#define ASAN_START(fake, to) __sanitizer_start_switch_fiber((fake), (to)->stack_bottom, (to)->stack_size)
#define ASAN_FINISH(self)                                               \
  do {                                                                  \
    const void* from_bottom;                                            \
    size_t from_size;                                                   \
    __sanitizer_finish_switch_fiber((self)->asan_fake, &from_bottom, &from_size); \
    prev_->stack_bottom = from_bottom;                                  \
    prev_->stack_size = from_size;                                      \
  } while (0)
#else
#define ASAN_START(fake, to) (void)0
#define ASAN_FINISH(self) (void)0
#endif

void Engine::start_fiber(Ctx* c) {
  c->started = true;
  c->fib = boost::context::fiber(
      std::allocator_arg, PooledStack(&c->stack_bottom, &c->stack_size),
      [this, c](boost::context::fiber&& caller) {
        ASAN_FINISH(c);
        prev_->fib = std::move(caller);
        try {
          if (c->kind == CtxKind::intr)
            intr_main(c);
          else
            lwp_main(c);
        } catch (const FiberKill&) {
        } catch (...) {
          if (!t_fiber_error) t_fiber_error = std::current_exception();
          running_ = false;
        }
        // Dying: hand control back to main, which is tearing the run down.
        prev_ = c;
        cur_ = &main_;
        ASAN_START(nullptr, &main_);
        return std::move(main_.fib);
      });
}

void Engine::switch_to(Ctx* to) {
  Ctx* from = cur_;
  if (to == from) return;
  if (!to->started) start_fiber(to);
  prev_ = from;
  cur_ = to;
  ASAN_START(&from->asan_fake, to);
  boost::context::fiber back = std::move(to->fib).resume();
  ASAN_FINISH(from);
  // We run again: prev_ is whoever switched to us; keep its continuation.
  prev_->fib = std::move(back);
  if (from->killed) throw FiberKill{};
}

void Engine::kill_all() {
  stopping_ = true;
  for (Ctx* c : by_id_) {
    if (c == &main_ || !c->started || !c->fib) continue;
    c->killed = true;
    switch_to(c);
  }
}

void Engine::stop(Outcome o, Finding* f) {
  if (!running_) return;
  running_ = false;
  outcome_ = o;
  if (f) {
    if (annotate_) annotate_(*f);
    trace_.append(TraceKind::finding, static_cast<uint16_t>(std::max(f->cpu, 0)),
                  cur_->id, f->time, hash_name(f->kind));
    findings_.push_back(std::move(*f));
  }
}

void Engine::lwp_main(Ctx* c) {
  c->body();
  check_context_exit(c, "exited");
  c->state = CtxState::finished;
  Cpu& cpu = cpus_[static_cast<size_t>(c->cpu)];
  cpu.onproc = nullptr;
  if (!c->system) --unfinished_users_;
  schedule();  // never chosen again
  throw InternalError("finished LWP resumed");
}

void Engine::intr_main(Ctx* frame) {
  for (;;) {
    frame->src->handler();
    finish_intr(frame);
    schedule();  // idle until this frame is reused for another delivery
  }
}

void Engine::check_context_exit(Ctx* c, const char* what) {
  if (!c->held.empty()) {
    Finding f = make_finding("mutex", ctx_label(c) + " " + what + " holding " +
                                          mutex_label(c->held.back()));
    fail(std::move(f));
  }
  Cpu& cpu = cpus_[static_cast<size_t>(c->cpu)];
  ipl_t expect = c->kind == CtxKind::intr ? c->src->ipl : IPL_NONE;
  // A handler that took a spin mutex above its IPL while the contexts it
  // interrupted hold spin mutexes (ci_mtx_count still > 0 after its release)
  // legitimately returns at that higher SPL, as with NetBSD's
  // MUTEX_SPIN_SPLRESTORE; finish_intr restores the interrupted SPL.
  bool raised_by_spin = c->kind == CtxKind::intr && cpu.mtx_count > 0;
  if (raised_by_spin ? cpu.spl < expect : cpu.spl != expect)
    fail(make_finding("spl", ctx_label(c) + " " + what + " at " + std::string(ipl_name(cpu.spl)) +
                                 ", expected " + std::string(ipl_name(expect))));
}

void Engine::finish_intr(Ctx* frame) {
  check_context_exit(frame, "returned");
  Cpu& c = cpus_[static_cast<size_t>(frame->cpu)];
  c.intr_stack.pop_back();
  c.spl = frame->saved_spl;
  frame->state = CtxState::idle;
  c.frame_pool.push_back(frame);
  c.clock += machine_.costs.intr_exit;
  c.busy_ns += machine_.costs.intr_exit;
  trace_.append(TraceKind::intr_exit, static_cast<uint16_t>(c.index), frame->id, c.clock,
                frame->src->id);
}

// ---------------------------------------------------------------------------
// Primitives used by sync.cpp, pages.cpp and kernel.h

void Engine::charge(uint64_t ns) {
  Cpu& c = curcpu();
  c.clock = sat_add(c.clock, ns);
  c.busy_ns = sat_add(c.busy_ns, ns);
}

void Engine::sched_point(uint64_t cost, Access next) {
  if (stopping_ || !running_) return;
  cur_->pending = next;
  charge(cost);
  ++steps_;
  if (steps_ % kPollSteps == 0 && poll_ && steps_ <= limits_.max_steps && poll_(steps_)) {
    // The host asked to stop (a wall-clock limit). Recorded as a step limit
    // here, it replays to this very step; the trace hash covers the finding's
    // kind, not its text.
    limits_.max_steps = steps_ - 1;
    stopped_by_poll_ = true;
  }
  if (steps_ > limits_.max_steps) {
    // A bound is Outcome::bound, like the time limit, not a finding about the
    // code under test (fail() would report Outcome::finding).
    Finding f = make_finding("bound", "step limit of " + std::to_string(limits_.max_steps) +
                                          " reached");
    if (stopped_by_poll_)
      f.details.push_back("kasim's wall-clock limit stopped the run here; the trace records "
                          "that as this step limit");
    stop(Outcome::bound, &f);
    schedule();  // switches to main; only a teardown resumes us, and that throws
    throw InternalError("bounded context resumed");
  }
  schedule();
}

void Engine::busy_wait(uint64_t ns) {
  const uint64_t end = sat_add(now(), ns);
  do {
    const uint64_t t = now();
    const uint64_t next = events_.empty() ? UINT64_MAX : events_.top().time;
    // Stop at the next event so that an interrupt can be taken on time.
    const uint64_t until = (next > t && next < end) ? next : end;
    sched_point(until - t, Access::none());
  } while (running_ && !stopping_ && now() < end);
}

uint64_t Engine::line_cost(const void* addr) {
  int here = cur_->cpu;
  // Keyed by the word itself, not its host cache line: which words share a
  // host line depends on the host heap's layout, and the price of an atomic
  // must not (the same seed gives the same simulated time in every process).
  auto [it, inserted] = line_owner_.try_emplace(reinterpret_cast<uintptr_t>(addr), here);
  bool remote = !inserted && it->second != here;
  it->second = here;
  return remote ? machine_.costs.atomic_remote : machine_.costs.atomic_local;
}

int Engine::sleep_on(WaitQueue& q, const char* wmesg, uint64_t timeout_ns, bool interruptible,
                     const kmutex* interlock) {
  if (stopping_ || !running_) return 0;
  Ctx* self = cur_;
  if (self->kind == CtxKind::intr)
    fail(make_finding("sleep", std::string("sleeping in interrupt context (") + wmesg + ") in " +
                                   ctx_label(self)));
  Cpu& c = curcpu();
  if (c.mtx_count > 0) {
    std::string held;
    for (const kmutex* m : self->held)
      if (m->spin) held = mutex_label(m);
    fail(make_finding("sleep", std::string("sleeping (") + wmesg + ") with spin mutex " + held +
                                   " held"));
  }
  if (interruptible && self->sig_pending) {
    self->sig_pending = false;
    return kEINTR;
  }
  self->state = CtxState::sleeping;
  self->waiting_on = &q;
  self->wmesg = wmesg;
  self->interruptible = interruptible;
  self->interlock = interlock;
  q.waiters.push_back(self);
  self->pending = {AccessKind::object, q.id};  // it resumes by reading its wake result
  c.onproc = nullptr;
  self->lwp_spl = c.spl;
  c.spl = IPL_NONE;  // the CPU goes on at the next LWP's level (see apply)
  ++self->l_ncsw;
  if (timeout_ns != 0)
    events_.push(Event{sat_add(c.clock, timeout_ns), event_seq_++, Event::timeout, self->id, self->wake_gen});
  trace_.append(TraceKind::sleep, static_cast<uint16_t>(c.index), self->id, c.clock, q.id);
  c.clock += machine_.costs.context_switch;
  c.busy_ns += machine_.costs.context_switch;
  schedule();
  self->interlock = nullptr;
  return self->wake_result;
}

void Engine::make_ready(Ctx* c, int result, uint64_t time) {
  c->wake_result = result;
  c->waiting_on = nullptr;
  ++c->wake_gen;
  c->ready_at = std::max(c->ready_at, time);
  if (c->state == CtxState::sleeping) {
    c->state = CtxState::ready;
    cpus_[static_cast<size_t>(c->cpu)].runq.push_back(c);
  } else if (c->state == CtxState::spinning) {
    c->state = CtxState::ready;  // still on its CPU (or its frame still on the stack)
  }
  trace_.append(TraceKind::wakeup, static_cast<uint16_t>(c->cpu), c->id, time, c->id);
}

void Engine::wakeup_one(WaitQueue& q) {
  note_access({AccessKind::object, q.id});
  if (q.waiters.empty()) return;
  Ctx* c = q.waiters.front();
  q.waiters.erase(q.waiters.begin());
  make_ready(c, 0, now());
}

void Engine::wakeup_all(WaitQueue& q) {
  note_access({AccessKind::object, q.id});
  if (q.waiters.empty()) return;
  std::vector<Ctx*> woken;
  woken.swap(q.waiters);
  uint64_t t = now();
  for (Ctx* c : woken) make_ready(c, 0, t);
}

void Engine::spin_on(const kmutex* m, WaitQueue& q) {
  if (stopping_ || !running_) return;
  Ctx* self = cur_;
  self->state = CtxState::spinning;
  self->lock_wait = m;
  self->waiting_on = &q;
  q.waiters.push_back(self);
  self->pending = {AccessKind::object, q.id};
  schedule();
  self->lock_wait = nullptr;
  charge(machine_.costs.spin_retry);
}

void Engine::signal_lwp(Ctx* l) {
  note_access({AccessKind::ctx, l->id});
  if (l->state == CtxState::sleeping && l->interruptible) {
    if (l->waiting_on) l->waiting_on->remove(l);
    make_ready(l, kEINTR, now());
  } else {
    l->sig_pending = true;
  }
}

void Engine::set_spl(ipl_t spl) {
  Cpu& c = curcpu();
  bool lowering = spl < c.spl;
  c.spl = spl;
  trace_.append(TraceKind::spl, static_cast<uint16_t>(c.index), cur_->id, c.clock,
                static_cast<uint64_t>(spl));
  if (lowering)  // a pending interrupt may be delivered now; the code after is private
    sched_point(machine_.costs.spl, Access::none());
  else
    charge(machine_.costs.spl);
}

// ---------------------------------------------------------------------------
// Findings, trace, messages, faults

Finding Engine::make_finding(std::string kind, std::string message) const {
  Finding f;
  f.kind = std::move(kind);
  f.message = std::move(message);
  f.step = steps_;
  f.cpu = cur_ == &main_ ? -1 : cur_->cpu;
  f.time = cur_ == &main_ ? sim_time() : cpus_[static_cast<size_t>(cur_->cpu)].clock;
  f.context = cur_ == &main_ ? "" : ctx_label(cur_);
  return f;
}

void Engine::fail(Finding f) {
  if (stopping_) throw FiberKill{};
  stop(Outcome::finding, &f);
  if (cur_ == &main_) throw InternalError("finding raised outside any context: " + f.message);
  schedule();  // switches to main; only a teardown resumes us, and that throws
  throw InternalError("failed context resumed");
}

void Engine::with_current(const std::function<void()>& fn) {
  Engine* saved = t_engine;
  t_engine = this;
  fn();
  t_engine = saved;
}

void Engine::note_finding(Finding f) {
  if (f.cpu < 0) f.time = sim_time();
  if (annotate_) annotate_(f);
  trace_.append(TraceKind::finding, 0, 0, f.time, hash_name(f.kind));
  findings_.push_back(std::move(f));
  if (outcome_ == Outcome::completed) outcome_ = Outcome::finding;
}

void Engine::record(TraceKind kind, uint64_t a, uint32_t b) {
  trace_.append(kind, static_cast<uint16_t>(cur_->cpu), cur_->id, now(), a, b);
}

void Engine::log_message(std::string text) {
  messages_.push_back({now(), cur_ == &main_ ? -1 : cur_->cpu, std::move(text)});
}

Rng& Engine::rng(RngStream s) {
  switch (s) {
    case RngStream::workload: return rng_workload_;
    case RngStream::faults: return rng_faults_;
    case RngStream::interrupts: return rng_intr_;
    case RngStream::schedule: break;
  }
  throw InternalError("the schedule stream belongs to the strategy");
}

bool Engine::buggify(const char* site) {
  if (!faults_.enabled) return false;
  auto [it, inserted] = fault_sites_.try_emplace(site, false);
  if (inserted) it->second = rng_faults_.chance(faults_.site_percent, 100);
  if (!it->second || !rng_faults_.chance(faults_.fire_percent, 100)) return false;
  record(TraceKind::fault, hash_name(site));
  return true;
}

std::string Engine::ctx_label(const Ctx* c) const {
  if (c->kind == CtxKind::intr)
    return "interrupt " + c->name + " (cpu" + std::to_string(c->cpu) + ", " +
           std::string(ipl_name(c->src->ipl)) + ")";
  if (c->kind == CtxKind::main) return "main";
  return "lwp " + c->name + " (cpu" + std::to_string(c->cpu) + ")";
}

std::string Engine::mutex_label(const kmutex* m) const {
  std::string n = m->name.empty() ? "mutex#" + std::to_string(m->id) : m->name;
  return n + (m->spin ? " (spin, " : " (adaptive, ") + std::string(ipl_name(m->ipl)) + ")";
}

std::vector<std::string> Engine::wait_for_report() const {
  std::vector<std::string> out;
  auto describe_ctx = [&](const Ctx* c) {
    std::string line = ctx_label(c);
    if (c->lock_wait) {
      const kmutex* m = c->lock_wait;
      line += (c->state == CtxState::spinning ? " spins on " : " sleeps for ") + mutex_label(m) +
              ", held by " + (m->owner ? ctx_label(m->owner) : std::string("nobody"));
    } else if (c->state == CtxState::sleeping) {
      line += " sleeps on " + (c->waiting_on ? c->waiting_on->name : std::string("?")) + " (" +
              c->wmesg + ")";
      if (c->interlock) line += " with interlock " + mutex_label(c->interlock);
    } else {
      return;
    }
    if (!c->held.empty()) {
      line += "; holds";
      for (const kmutex* m : c->held) line += " " + mutex_label(m);
    }
    out.push_back(line);
  };
  for (const Ctx* c : by_id_) {
    if (c == pagedaemon_ && c->waiting_on == &pagedaemon_q_) continue;  // idle, not waiting
    if (c->kind == CtxKind::lwp && c->state != CtxState::finished) describe_ctx(c);
  }
  for (const Cpu& cpu : cpus_)
    for (const Ctx* f : cpu.intr_stack) describe_ctx(f);
  return out;
}

// ---------------------------------------------------------------------------
// Page daemon

void Engine::kick_pagedaemon() {
  if (!pagedaemon_ || cur_ == pagedaemon_) return;  // its own pass needs no second one
  pagedaemon_kicked_ = true;
  if (pagedaemon_->state == CtxState::sleeping) wakeup_one(pagedaemon_q_);
}

void Engine::pagedaemon_main() {
  for (;;) {
    pagedaemon_kicked_ = false;
    pages_.run_reclaim_hooks();
    pages_.wake_waiters();
    if (!pagedaemon_kicked_) sleep_on(pagedaemon_q_, "pgdaemon", 0, false);
  }
}

}  // namespace kasim
