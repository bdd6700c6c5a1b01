// RapidCheck property: random programs on random machines terminate, run
// deterministically, and replay exactly from their recorded decisions.
//
// A program is a few CPUs, LWPs bound to random CPUs running short lists of
// kernel operations on shared mutexes, condition variables and pages, and up
// to two interrupt sources taking a spin mutex. The programs honour every
// kernel contract except one they may break on purpose: an interrupt may take
// a spin mutex whose IPL is below its own, which is the "mutex" finding
// "held by ..., which this context interrupted", and which can also close a
// cycle between two CPUs (a "deadlock" finding). Anything else is a bug in sim/.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <ostream>

#include "tests/sim/sim_test_util.h"

namespace kasim {
namespace {

using namespace kasim::test;

enum class OpKind { delay, mutex, spl, broadcast, timedwait, kpause, page };
constexpr int kOpKinds = 7;
const char* const kOpNames[kOpKinds] = {"delay",     "mutex",  "spl", "broadcast",
                                        "timedwait", "kpause", "page"};

struct Op {
  OpKind kind = OpKind::delay;
  uint64_t ns = 1;  // delay; time held (mutex, spl); timeout / 20 (timedwait); pause / 10 (kpause)
  int mutex = 0;    // mutex and condvar index (mutex, broadcast, timedwait)
};

struct LwpSpec {
  int cpu = 0;
  std::vector<Op> ops;
};

struct IntrSpec {
  int cpu = 0;
  ipl_t ipl = IPL_VM;
  std::vector<uint64_t> at;
  uint64_t every = 0, count = 0;  // a bounded periodic tail, so runs still end
  int mutex = 0;                  // always a spin mutex
};

struct Program {
  int cpus = 1;
  std::vector<ipl_t> mutexes;  // IPL_NONE: adaptive; IPL_VM and above: spin
  std::vector<LwpSpec> lwps;
  std::vector<IntrSpec> intrs;
  uint64_t seed = 0;
  bool random = false;
  bool preempt = false;  // MachineConfig::preempt: lets the random strategy preempt LWPs
  std::string strategy() const { return random ? "random" : "timed"; }
};

void showValue(const Program& p, std::ostream& os) {
  os << "cpus=" << p.cpus << " strategy=" << p.strategy() << " seed=" << p.seed
     << " preempt=" << p.preempt << "\n  mutexes:";
  for (ipl_t ipl : p.mutexes) os << " " << ipl_name(ipl);
  for (size_t i = 0; i < p.lwps.size(); ++i) {
    os << "\n  lwp" << i << " cpu" << p.lwps[i].cpu << ":";
    for (const Op& op : p.lwps[i].ops)
      os << " " << kOpNames[static_cast<int>(op.kind)] << "(" << op.ns << "," << op.mutex << ")";
  }
  for (size_t i = 0; i < p.intrs.size(); ++i) {
    const IntrSpec& s = p.intrs[i];
    os << "\n  intr" << i << " cpu" << s.cpu << " " << ipl_name(s.ipl) << " mutex " << s.mutex
       << " at";
    for (uint64_t t : s.at) os << " " << t;
    if (s.every) os << " every " << s.every << " x" << s.count;
  }
}

// RapidCheck scales inRange by the test's size, which starts at 0: most
// programs would be a single LWP with one op. A fixed size makes every count
// uniform over its range; shrinking still reduces a failure to a small program.
rc::Gen<Program> gen_program() {
  return rc::gen::resize(100, rc::gen::exec([] {
    Program p;
    p.cpus = *rc::gen::inRange(1, 5);
    const int nmutex = *rc::gen::inRange(1, 4);
    for (int k = 0; k < nmutex; ++k)
      p.mutexes.push_back(*rc::gen::element(IPL_NONE, IPL_VM, IPL_SCHED, IPL_HIGH));
    const int nlwp = *rc::gen::inRange(1, 4 * p.cpus + 1);
    for (int i = 0; i < nlwp; ++i) {
      LwpSpec l;
      l.cpu = *rc::gen::inRange(0, p.cpus);
      const int nops = *rc::gen::inRange(1, 21);
      for (int j = 0; j < nops; ++j) {
        Op op;
        op.kind = static_cast<OpKind>(*rc::gen::inRange(0, kOpKinds));
        op.ns = *rc::gen::inRange<uint64_t>(1, 5001);
        op.mutex = *rc::gen::inRange(0, nmutex);
        l.ops.push_back(op);
      }
      p.lwps.push_back(std::move(l));
    }
    const int nintr = *rc::gen::inRange(0, 3);
    if (nintr > 0 && std::none_of(p.mutexes.begin(), p.mutexes.end(),
                                  [](ipl_t ipl) { return ipl >= IPL_VM; }))
      p.mutexes[0] = IPL_VM;  // handlers need a spin mutex
    std::vector<int> spin;
    for (int k = 0; k < nmutex; ++k)
      if (p.mutexes[static_cast<size_t>(k)] >= IPL_VM) spin.push_back(k);
    for (int i = 0; i < nintr; ++i) {
      IntrSpec s;
      s.cpu = *rc::gen::inRange(0, p.cpus);
      s.ipl = *rc::gen::element(IPL_SOFTNET, IPL_VM, IPL_SCHED);
      s.mutex = *rc::gen::elementOf(spin);
      const int nat = *rc::gen::inRange(1, 4);
      for (int j = 0; j < nat; ++j) s.at.push_back(*rc::gen::inRange<uint64_t>(0, 200'000));
      std::sort(s.at.begin(), s.at.end());
      if (*rc::gen::inRange(0, 4) == 0) {
        s.every = *rc::gen::inRange<uint64_t>(1000, 50'000);
        s.count = *rc::gen::inRange<uint64_t>(1, 6);
      }
      p.intrs.push_back(std::move(s));
    }
    p.seed = *rc::gen::arbitrary<uint64_t>();
    p.random = *rc::gen::arbitrary<bool>();
    p.preempt = *rc::gen::arbitrary<bool>();
    return p;
  }));
}

// The kernel objects of one run.
struct World {
  explicit World(const std::vector<ipl_t>& ipls)
      : m(ipls.size()), cv(ipls.size()), init([this, ipls] {
          for (size_t k = 0; k < ipls.size(); ++k) {
            mutex_init(&m[k], MUTEX_DEFAULT, ipls[k]);
            mutex_set_name(&m[k], numbered("m", k));
            cv_init(&cv[k], "cv");
          }
        }) {}
  std::vector<kmutex> m;  // sized once: kernel objects must not move
  std::vector<kcondvar> cv;
  Once init;
};

void run_op(World& w, const Op& op) {
  kmutex* m = &w.m[static_cast<size_t>(op.mutex)];
  kcondvar* cv = &w.cv[static_cast<size_t>(op.mutex)];
  switch (op.kind) {
    case OpKind::delay:
      delay_ns(op.ns);
      break;
    case OpKind::mutex:
      mutex_enter(m);
      delay_ns(op.ns);
      mutex_exit(m);
      break;
    case OpKind::spl: {
      int s = splvm();
      delay_ns(op.ns);
      splx(s);
      break;
    }
    case OpKind::broadcast:
      mutex_enter(m);
      cv_broadcast(cv);
      mutex_exit(m);
      break;
    case OpKind::timedwait:
      mutex_enter(m);
      cv_timedwait_ns(cv, m, op.ns * 20, false);
      mutex_exit(m);
      break;
    case OpKind::kpause:
      kpause_ns("kpause", false, op.ns * 10, nullptr);
      break;
    case OpKind::page:
      if (vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0)) uvm_pagefree(pg);
      break;
  }
}

Setup program_setup(const Program& p) {
  return [p](Engine& e) {
    auto w = std::make_shared<World>(p.mutexes);
    for (size_t i = 0; i < p.lwps.size(); ++i)
      e.spawn_lwp(numbered("lwp", i), p.lwps[i].cpu, [w, ops = p.lwps[i].ops] {
        w->init();
        for (const Op& op : ops) run_op(*w, op);
      });
    for (size_t i = 0; i < p.intrs.size(); ++i) {
      const IntrSpec& s = p.intrs[i];
      e.add_interrupt(numbered("intr", i), s.cpu, s.ipl, s.at, s.every, s.count,
                      [w, k = static_cast<size_t>(s.mutex)] {
                        w->init();
                        mutex_enter(&w->m[k]);
                        mutex_exit(&w->m[k]);
                      });
    }
  };
}

MachineConfig program_machine(const Program& p) {
  MachineConfig mc = machine(p.cpus, 64);
  mc.pagedaemon = true;  // kicked when pages run low: part of what may happen
  mc.preempt = p.preempt;
  return mc;
}

RC_GTEST_PROP(SimProperty, RandomProgramsEndDeterministicallyAndReplay, ()) {
  const Program p = *gen_program();
  const MachineConfig mc = program_machine(p);
  const Setup setup = program_setup(p);

  Engine e(mc, make_strategy(p.strategy(), p.seed), p.seed);
  setup(e);
  const Outcome outcome = e.run();
  RC_TAG(outcome_name(outcome));
  RC_ASSERT(outcome == Outcome::completed || outcome == Outcome::finding);
  if (outcome == Outcome::completed) {
    RC_ASSERT(e.findings().empty());
    for (const auto& l : e.lwps()) RC_ASSERT(l->system || l->state == CtxState::finished);
    for (const Cpu& c : e.cpus()) {
      RC_ASSERT(c.spl == IPL_NONE);
      RC_ASSERT(c.mtx_count == 0);
      RC_ASSERT(c.intr_stack.empty());
    }
    RC_ASSERT(e.pages().nfree() == e.pages().npages());
  } else {
    // The only contract these programs may break (see the top of the file):
    // without an interrupt above its mutex's IPL, every program completes.
    RC_ASSERT(std::any_of(p.intrs.begin(), p.intrs.end(), [&](const IntrSpec& s) {
      return s.ipl > p.mutexes[static_cast<size_t>(s.mutex)];
    }));
    RC_ASSERT(e.findings().size() == 1u);
    const Finding& f = e.findings()[0];
    RC_ASSERT(f.kind == "deadlock" ||
              (f.kind == "mutex" && contains(f.message, "which this context interrupted")));
  }
  RC_ASSERT(e.pages().check().empty());

  // Same program, same seed: same run.
  RunResult again = run_program(mc, p.strategy(), p.seed, setup);
  RC_ASSERT(again.outcome == outcome);
  RC_ASSERT(again.hash == e.trace_hash());
  RC_ASSERT(again.decisions == e.decisions());

  // The recorded decisions alone reproduce it.
  RunResult replay = replay_program(mc, e.decisions(), p.seed, setup);
  RC_ASSERT(replay.outcome == outcome);
  RC_ASSERT(replay.hash == e.trace_hash());
  RC_ASSERT(replay.steps == e.steps());
}

}  // namespace
}  // namespace kasim
