// sim/engine.h: the discrete-event multicore machine.
//
// Virtual CPUs each have an SPL, an LWP on the CPU (onproc), a run queue, a
// stack of active interrupt frames, pending interrupts and a clock in
// simulated nanoseconds. LWPs and interrupt frames are contexts; each runs on
// its own stackful fiber. Exactly one context runs at a time; control passes
// only at scheduling points (Engine::sched_point and the blocking
// primitives), where the strategy picks among the options the engine lists.
// Switches go directly from one fiber to the next; the main context only
// starts the run and receives it back when it ends.
//
// Allocators never include this file: they use sim/kernel.h.
#pragma once

#include <boost/context/fiber.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <string>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "sim/cost.h"
#include "sim/finding.h"
#include "sim/ipl.h"
#include "sim/pages.h"
#include "sim/rng.h"
#include "sim/strategy.h"
#include "sim/trace.h"
#include "sim/waitq.h"

namespace kasim {

struct kmutex;
struct kcondvar;
struct Ctx;

enum class CtxKind : uint8_t { main, lwp, intr };
enum class CtxState : uint8_t {
  ready,     // can run when chosen
  sleeping,  // blocked on a WaitQueue (LWP only)
  spinning,  // busy-waiting for a spin mutex (or an adaptive one in a softint)
  finished,  // LWP done
  idle,      // interrupt frame not in use
};

struct IntrSource {
  uint32_t id = 0;
  std::string name;
  int cpu = 0;
  ipl_t ipl = IPL_VM;
  std::vector<uint64_t> at;  // absolute simulated times, ascending
  uint64_t every = 0;        // then periodically, 0 = no
  uint64_t count = 0;        // periodic firings at most, 0 = while user LWPs run
  std::function<void()> handler;
  // state
  bool pending = false;
  uint64_t arrived = 0;
  uint64_t fired = 0, delivered = 0, coalesced = 0, periodic_fired = 0;
  size_t next_at = 0;
};

struct Ctx {
  uint32_t id = 0;
  CtxKind kind = CtxKind::lwp;
  int cpu = 0;
  std::string name;
  CtxState state = CtxState::ready;
  bool system = false;  // system LWPs (the page daemon) don't keep a run alive

  boost::context::fiber fib;
  bool started = false;
  bool killed = false;
  // AddressSanitizer fiber bookkeeping (unused in normal builds).
  const void* stack_bottom = nullptr;
  size_t stack_size = 0;
  void* asan_fake = nullptr;

  // Blocking.
  WaitQueue* waiting_on = nullptr;
  const kmutex* lock_wait = nullptr;  // the mutex it spins or sleeps for
  const kmutex* interlock = nullptr;  // cv_wait's mutex, for wait-for reports
  std::string wmesg;
  bool interruptible = false;
  bool sig_pending = false;
  int wake_result = 0;
  uint64_t wake_gen = 0;
  uint64_t ready_at = 0;
  // What the step this context starts when it next resumes touches first
  // (set at each scheduling point; see Access in sim/strategy.h).
  Access pending;

  // LWP.
  ipl_t lwp_spl = IPL_NONE;  // the SPL it had when it left the CPU, restored when it returns
  uint64_t l_ncsw = 0;  //: context switches (pool_cache's slow path reads it)
  std::function<void()> body;
  std::vector<kmutex*> held;  // mutexes this context holds, in acquisition order

  // Interrupt frame.
  IntrSource* src = nullptr;
  ipl_t saved_spl = IPL_NONE;
};

struct cpu_info {
  unsigned ci_index = 0;
};

struct Cpu {
  int index = 0;
  cpu_info ci;
  ipl_t spl = IPL_NONE;
  Ctx* onproc = nullptr;              // the LWP on this CPU, if any
  std::deque<Ctx*> runq;              // runnable LWPs not on the CPU
  std::vector<Ctx*> intr_stack;       // active interrupt frames, innermost last
  std::vector<Ctx*> frame_pool;       // idle interrupt frames for reuse
  std::vector<IntrSource*> pending;   // arrived, not yet delivered (arrival order)
  uint64_t clock = 0;
  uint64_t busy_ns = 0;
  uint64_t ops = 0;
  uint64_t intrs = 0;
  int mtx_count = 0;                  // spin mutexes held (NetBSD ci_mtx_count)
  ipl_t mtx_oldspl = IPL_NONE;        // SPL before the first spin mutex
  Ctx idle;                           // curlwp when no LWP is on the CPU
};

struct MachineConfig {
  int cpus = 1;
  uint64_t page_size = 4096;
  uint64_t phys_pages = 16384;
  uint64_t kva_pages = 2 * 16384;                // kmem_arena's size in pages
  uint64_t kva_base = 0xffff800000000000ULL;     // where kernel VA starts
  uint64_t coherency_unit = 64;                  // COHERENCY_UNIT for kmem size classes
  bool pagedaemon = true;
  uint64_t free_target = 16384 / 32;
  bool preempt = false;  // may strategies preempt an LWP at IPL_NONE for another on its CPU?
  CostModel costs;
};

struct RunLimits {
  uint64_t max_steps = 20'000'000;
  uint64_t max_time_ns = 60'000'000'000ULL;  // one simulated minute
};

struct FaultConfig {
  bool enabled = false;
  uint32_t site_percent = 25;  // chance a site is switched on for the run
  uint32_t fire_percent = 10;  // chance a switched-on site fires at each call
};

enum class Outcome { completed, finding, bound, diverged };
const char* outcome_name(Outcome o);

class Engine {
 public:
  Engine(const MachineConfig& machine, std::unique_ptr<Strategy> strategy, uint64_t seed,
         RunLimits limits = {}, FaultConfig faults = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // The engine of the run in progress on this host thread (kernel.h uses it).
  static Engine* current();

  // --- set-up, before run() ---
  Ctx* spawn_lwp(std::string name, int cpu, std::function<void()> body, bool system = false);
  IntrSource* add_interrupt(std::string name, int cpu, ipl_t ipl, std::vector<uint64_t> at,
                            uint64_t every, uint64_t count, std::function<void()> handler);
  PageStore& pages() { return pages_; }

  // Called on the host every kPollSteps scheduling steps with the step count;
  // returning true stops the run there. kasim uses it for wall-clock limits
  // and progress lines: nothing the machine does depends on it. A run it
  // stops ends with a "bound" finding at that step, and limits().max_steps
  // becomes that step, so the trace replays to the same end.
  static constexpr uint64_t kPollSteps = 4096;
  void set_poll(std::function<bool(uint64_t steps)> poll) { poll_ = std::move(poll); }
  // True when the poll, not a limit of the scenario, ended the run.
  bool stopped_by_poll() const { return stopped_by_poll_; }

  // Runs until every user LWP has finished and nothing is left to deliver, a
  // finding, a bound, or a replay divergence.
  Outcome run();

  // Runs fn with this engine current but no context running: for end-of-run
  // checks that read allocator state (findings there go through note_finding).
  void with_current(const std::function<void()>& fn);

  // --- results ---
  const std::vector<Finding>& findings() const { return findings_; }
  const std::vector<Decision>& decisions() const { return decisions_; }
  uint64_t trace_hash() const { return trace_.hash(); }
  const Trace& trace() const { return trace_; }
  uint64_t steps() const { return steps_; }
  uint64_t sim_time() const;  // the latest CPU clock
  const std::string& stop_reason() const { return stop_reason_; }
  const RunLimits& limits() const { return limits_; }
  const std::vector<Cpu>& cpus() const { return cpus_; }
  const std::vector<std::unique_ptr<Ctx>>& lwps() const { return lwps_; }
  const std::vector<std::unique_ptr<IntrSource>>& interrupts() const { return intrs_; }
  const MachineConfig& machine() const { return machine_; }
  // Name of every context by id (interrupt frames by their last source).
  std::vector<std::string> context_names() const;
  Strategy& strategy() { return *strategy_; }
  uint64_t seed() const { return seed_; }

  // --- the running machine (called from contexts) ---
  Ctx* cur() const { return cur_; }
  Cpu& curcpu() { return cpus_[static_cast<size_t>(cur_->cpu)]; }
  Cpu& cpu(int i) { return cpus_[static_cast<size_t>(i)]; }
  int ncpu() const { return static_cast<int>(cpus_.size()); }
  Ctx* curlwp();  // the LWP whose context we are in (the interrupted one in an interrupt)
  bool in_intr() const { return cur_->kind == CtxKind::intr; }
  bool in_hardintr() const { return in_intr() && !ipl_is_soft(cur_->src->ipl); }
  bool in_softintr() const { return in_intr() && ipl_is_soft(cur_->src->ipl); }
  bool running() const { return running_; }
  uint64_t now() const { return cpus_[static_cast<size_t>(cur_->cpu)].clock; }
  const CostModel& costs() const { return machine_.costs; }

  // Charges simulated time to the current CPU without yielding.
  void charge(uint64_t ns);
  // A scheduling point: charges `cost`, then lets the strategy pick what runs
  // next. `next` names the first shared object the code after it touches
  // (unknown by default, which makes the step dependent with every other).
  void sched_point(uint64_t cost, Access next = Access::any());
  // The running step also touches `a` (for partial-order reduction; free
  // unless the strategy asked for footprints). A step's footprint is compared
  // with steps of later runs, which rebuild every object at new host
  // addresses, so it may only hold keys that mean the same in every run: an
  // atomic word (keyed by address) is allowed only as a step's first access
  // (Option::next, recomputed in each run), and widens to "any" here.
  void note_access(Access a) {
    if (track_) step_fp_.add(a.kind == AccessKind::word ? Access::any() : a);
  }
  // Spends ns of simulated time on the current CPU as a busy loop would (the
  // CPU stays with this context). Interrupts that arrive meanwhile are taken
  // at their arrival time, and their handling counts towards the ns, as it
  // does for NetBSD's DELAY().
  void busy_wait(uint64_t ns);
  // Cost of an atomic on the word at addr: local if this CPU was the last to
  // touch that word, remote otherwise; records the toucher. Every simulated
  // word is its own cache line (no false sharing): see docs/cost-model.md.
  //  => addr must stay the same word for the whole run (allocator words that
  //     atomics touch live as long as the machine).
  uint64_t line_cost(const void* addr);

  // Blocks the current LWP on q until woken; returns the wake result
  // (0, kEWOULDBLOCK on timeout, kEINTR if interruptible and signalled).
  // timeout_ns 0 means none. Sleeping in interrupt context or holding a spin
  // mutex other than `interlock` (already released by the caller) is a finding.
  int sleep_on(WaitQueue& q, const char* wmesg, uint64_t timeout_ns, bool interruptible,
               const kmutex* interlock = nullptr);
  void wakeup_one(WaitQueue& q);
  void wakeup_all(WaitQueue& q);
  // Busy-waits until `m` is released (the waiter is queued on m's queue).
  void spin_on(const kmutex* m, WaitQueue& q);
  // Delivers a signal to an LWP: interrupts an interruptible sleep with EINTR.
  void signal_lwp(Ctx* lwp);

  void set_spl(ipl_t spl);  // may deliver pending interrupts (a scheduling point when lowering)
  ipl_t spl() const { return cpus_[static_cast<size_t>(cur_->cpu)].spl; }

  // Records a finding and stops the run. From a context it never returns.
  [[noreturn]] void fail(Finding f);
  // Records a finding from outside any context (end-of-run checks).
  void note_finding(Finding f);
  // Called on every finding as it is recorded, in the context that raised it
  // (the scenario runner adds the scenario location).
  void set_finding_annotator(std::function<void(Finding&)> fn) { annotate_ = std::move(fn); }
  Finding make_finding(std::string kind, std::string message) const;

  void record(TraceKind kind, uint64_t a = 0, uint32_t b = 0);
  // Kernel messages (log(9), printf) with the simulated time they were printed at.
  struct Message {
    uint64_t time;
    int cpu;
    std::string text;
  };
  void log_message(std::string text);
  const std::vector<Message>& messages() const { return messages_; }
  Rng& rng(RngStream s);
  bool buggify(const char* site);
  uint32_t next_object_id() { return ++object_ids_; }
  // Wait-for relation of every blocked context, one line each.
  std::vector<std::string> wait_for_report() const;
  std::string ctx_label(const Ctx* c) const;

  // Per-machine storage for allocator globals (kernel.h machine_local<T>()).
  // Created on first use; destroyed in reverse order of creation.
  void* local(const std::type_info& type, void* (*create)(), void (*destroy)(void*));
  template <class T>
  T& local() {
    return *static_cast<T*>(local(
        typeid(T), [] { return static_cast<void*>(new T()); },
        [](void* p) { delete static_cast<T*>(p); }));
  }

  // Wakes the page daemon (pages.h decides when).
  void kick_pagedaemon();
  std::string mutex_label(const kmutex* m) const;

 private:
  struct Event {
    uint64_t time;
    uint64_t seq;
    enum Kind : uint8_t { interrupt, timeout } kind;
    uint32_t id;
    uint64_t gen;
    bool operator>(const Event& o) const {
      return time != o.time ? time > o.time : seq > o.seq;
    }
  };

  void schedule();  // pick the next option and switch to it; returns when cur is chosen again
  void build_options();
  void fire_events_until(uint64_t horizon);
  void schedule_next_firing(IntrSource* s);
  Ctx* apply(const Option& o);
  void switch_to(Ctx* to);
  void start_fiber(Ctx* c);
  Ctx* new_ctx(CtxKind kind, int cpu, std::string name);
  void stop(Outcome o, Finding* f);
  void lwp_main(Ctx* c);
  void intr_main(Ctx* frame);
  void finish_intr(Ctx* frame);
  void make_ready(Ctx* c, int result, uint64_t time);
  [[noreturn]] void end_run(Outcome o);
  void kill_all();
  bool user_lwps_done() const;
  void check_context_exit(Ctx* c, const char* what);
  void pagedaemon_main();

  MachineConfig machine_;
  RunLimits limits_;
  std::function<bool(uint64_t)> poll_;
  bool stopped_by_poll_ = false;
  FaultConfig faults_;
  uint64_t seed_;
  std::unique_ptr<Strategy> strategy_;
  std::vector<Cpu> cpus_;
  std::vector<std::unique_ptr<Ctx>> lwps_;
  std::vector<std::unique_ptr<Ctx>> frames_;
  std::vector<Ctx*> by_id_;  // every context by id (id 0 is main)
  size_t unfinished_users_ = 0;
  std::vector<std::unique_ptr<IntrSource>> intrs_;
  Ctx main_;
  Ctx* cur_ = nullptr;
  Ctx* prev_ = nullptr;  // the context that switched to cur_ (holds its continuation)
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t event_seq_ = 0;
  std::vector<Option> options_;
  std::vector<Decision> decisions_;
  std::vector<Finding> findings_;
  std::vector<Message> messages_;
  Trace trace_;
  PageStore pages_;
  Rng rng_workload_, rng_faults_, rng_intr_;
  std::map<std::string, bool> fault_sites_;
  std::unordered_map<uintptr_t, int> line_owner_;  // looked up only, never iterated
  uint64_t steps_ = 0;
  uint32_t ctx_ids_ = 0;
  uint32_t object_ids_ = 0;
  bool running_ = false;
  bool stopping_ = false;
  Outcome outcome_ = Outcome::completed;
  std::string stop_reason_;
  Engine* saved_current_ = nullptr;
  std::function<void(Finding&)> annotate_;
  std::unordered_map<std::type_index, size_t> locals_index_;  // looked up only, never iterated
  std::vector<std::shared_ptr<void>> locals_;
  bool track_ = false;   // the strategy wants every point and step footprints
  Footprint step_fp_;    // what the step in progress touched (with track_)
  Ctx* pagedaemon_ = nullptr;
  WaitQueue pagedaemon_q_;
  bool pagedaemon_kicked_ = false;
};

}  // namespace kasim
