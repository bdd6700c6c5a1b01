// tests/vmem/vmem_model_test.cpp: a RapidCheck state-machine test of vmem
// against an exhaustive interval model.
//
// Commands: add a span, vmem_alloc, vmem_xalloc with random legal
// constraints, free. The rc::state model knows the spans (their placement
// is the command's) and how many allocations were attempted; where vmem put
// each allocation is only known when it runs, so the interval shadow lives
// beside the arena in the system under test. After each command:
//  - every result satisfies its constraints and lies in free space of one span;
//  - ENOMEM only if the model, trying every quantum-aligned start in every
//    free interval of every span, finds no fitting range;
//  - vm_inuse and vm_size agree with the shadow, and vmem_check holds.
// The commands run inside an LWP of the simulated machine (vmem needs one);
// failures are collected there and asserted after the run.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <map>
#include <sstream>

#include "tests/vmem/harness.h"

namespace kasim::test {
namespace {

constexpr vmem_size_t Q = 16;  // a small quantum keeps the exhaustive search cheap
constexpr vmem_addr_t REGION = 0x10000;
constexpr uint64_t REGION_QUANTA = 512;

struct Span {
  vmem_addr_t start;
  vmem_size_t size;
};

struct Model {
  std::vector<Span> spans;
  unsigned nallocs = 0;  // allocation commands issued (ids 0..nallocs-1)
};

struct Live {
  vmem_addr_t addr;
  vmem_size_t size0;  // as requested
  vmem_size_t size;   // rounded
};

struct Sut {
  vmem_t* vm = nullptr;
  std::map<unsigned, Live> live;  // allocation id -> where it went
  std::vector<std::string> errors;
  unsigned next_id = 0;

  void fail(const std::string& s) { errors.push_back(s); }

  bool overlaps_live(vmem_addr_t a, vmem_size_t size) const {
    for (const auto& [id, l] : live)
      if (a < l.addr + l.size && l.addr < a + size) return true;
    return false;
  }

  // Exhaustive search: is there a start in free space satisfying everything?
  bool fits_somewhere(const Model& m, vmem_size_t size, vmem_size_t align, vmem_size_t phase,
                      vmem_size_t nocross, vmem_addr_t minaddr, vmem_addr_t maxaddr) const {
    const vmem_size_t al = align ? align : Q;
    for (const Span& sp : m.spans) {
      for (vmem_addr_t s = sp.start; s + size <= sp.start + sp.size; s += Q) {
        if ((s - phase) % al != 0 || s % al != phase % al) continue;
        if (nocross && s / nocross != (s + size - 1) / nocross) continue;
        if (s < minaddr || s + size - 1 > maxaddr) continue;
        if (!overlaps_live(s, size)) return true;
      }
    }
    return false;
  }

  void check_after(const Model& m, const char* what) {
    vmem_size_t inuse = 0, total = 0;
    for (const auto& [id, l] : live) inuse += l.size;
    for (const Span& sp : m.spans) total += sp.size;
    if (vmem_size(vm, VMEM_ALLOC) != inuse)
      fail(std::string(what) + ": vm_inuse " + std::to_string(vmem_size(vm, VMEM_ALLOC)) +
           " but the model has " + std::to_string(inuse));
    if (vmem_size(vm, VMEM_ALLOC | VMEM_FREE) != total)
      fail(std::string(what) + ": vm_size disagrees with the model");
    for (const std::string& p : vmem_check(vm)) fail(std::string(what) + ": " + p);
  }
};

using Cmd = rc::state::Command<Model, Sut>;

struct AddSpan : Cmd {
  uint64_t first = *rc::gen::inRange<uint64_t>(0, REGION_QUANTA - 1);
  uint64_t quanta = *rc::gen::inRange<uint64_t>(1, 65);
  vmem_addr_t start() const { return REGION + first * Q; }
  vmem_size_t size() const { return std::min(quanta, REGION_QUANTA - first) * Q; }

  void checkPreconditions(const Model& m) const override {
    for (const Span& sp : m.spans)
      RC_PRE(start() + size() <= sp.start || sp.start + sp.size <= start());
  }
  void apply(Model& m) const override { m.spans.push_back({start(), size()}); }
  void run(const Model& m, Sut& sut) const override {
    if (!sut.errors.empty()) return;
    if (vmem_add(sut.vm, start(), size(), VM_NOSLEEP) != 0) sut.fail("vmem_add failed");
    Model next = m;
    apply(next);
    sut.check_after(next, "vmem_add");
  }
  void show(std::ostream& os) const override {
    os << "vmem_add(0x" << std::hex << start() << ", 0x" << size() << std::dec << ")";
  }
};

struct Alloc : Cmd {
  // Both plain allocations and constrained ones go through this command;
  // `constrained` picks vmem_xalloc.
  bool constrained = *rc::gen::arbitrary<bool>();
  bool instant = *rc::gen::arbitrary<bool>();
  vmem_size_t size0 = *rc::gen::inRange<vmem_size_t>(1, 24 * Q + 1);
  unsigned align_log = *rc::gen::inRange(0u, 7u);    // 0 = no align, else Q << (n-1)
  unsigned phase_q = *rc::gen::inRange(0u, 64u);     // reduced mod align below
  unsigned nocross_log = *rc::gen::inRange(0u, 9u);  // 0 = none, else Q << (n-1)
  bool use_min = *rc::gen::arbitrary<bool>();
  bool use_max = *rc::gen::arbitrary<bool>();
  uint64_t min_q = *rc::gen::inRange<uint64_t>(0, REGION_QUANTA);
  uint64_t max_q = *rc::gen::inRange<uint64_t>(0, REGION_QUANTA);

  vmem_size_t size() const { return (size0 + Q - 1) / Q * Q; }
  vmem_size_t align() const { return constrained && align_log ? Q << (align_log - 1) : 0; }
  vmem_size_t phase() const {
    return align() ? (phase_q * Q) % align() : 0;
  }
  vmem_size_t nocross() const {
    return constrained && nocross_log ? Q << (nocross_log - 1) : 0;
  }
  vmem_addr_t minaddr() const {
    return constrained && use_min ? REGION + min_q * Q + (min_q % 3) : VMEM_ADDR_MIN;
  }
  vmem_addr_t maxaddr() const {
    return constrained && use_max ? REGION + max_q * Q + (max_q % 5) : VMEM_ADDR_MAX;
  }

  // The preconditions NetBSD asserts in vmem_xalloc.
  void checkPreconditions(const Model&) const override {
    if (!constrained) return;
    const vmem_size_t n = nocross(), s = size(), p = phase();
    RC_PRE(n == 0 || n >= s);
    RC_PRE(minaddr() <= maxaddr());
    RC_PRE(n == 0 || ((p ^ (p + s - 1)) & -n) == 0);
  }
  void apply(Model& m) const override { m.nallocs++; }
  void run(const Model& m, Sut& sut) const override {
    if (!sut.errors.empty()) return;
    const vm_flag_t flags = VM_NOSLEEP | (instant ? VM_INSTANTFIT : VM_BESTFIT);
    vmem_addr_t a = 0;
    const int rc = constrained ? vmem_xalloc(sut.vm, size0, align(), phase(), nocross(), minaddr(),
                                             maxaddr(), flags, &a)
                               : vmem_alloc(sut.vm, size0, flags, &a);
    const unsigned id = m.nallocs;
    std::ostringstream what;
    show(what);
    if (rc == 0) {
      const vmem_size_t s = size(), al = align() ? align() : Q;
      if (a % Q != 0) sut.fail(what.str() + ": result not quantum-aligned");
      if (a % al != phase() % al) sut.fail(what.str() + ": result breaks align/phase");
      if (nocross() && a / nocross() != (a + s - 1) / nocross())
        sut.fail(what.str() + ": result crosses nocross");
      if (a < minaddr() || a + s - 1 > maxaddr()) sut.fail(what.str() + ": result outside window");
      bool in_span = false;
      for (const Span& sp : m.spans) in_span |= sp.start <= a && a + s <= sp.start + sp.size;
      if (!in_span) sut.fail(what.str() + ": result not inside one span");
      if (sut.overlaps_live(a, s)) sut.fail(what.str() + ": result overlaps a live allocation");
      sut.live[id] = Live{a, size0, s};
    } else if (rc == kENOMEM) {
      if (sut.fits_somewhere(m, size(), align(), phase(), nocross(), minaddr(), maxaddr()))
        sut.fail(what.str() + ": ENOMEM although a fitting free range exists");
    } else {
      sut.fail(what.str() + ": returned " + std::to_string(rc));
    }
    Model next = m;
    apply(next);
    sut.check_after(next, what.str().c_str());
  }
  void show(std::ostream& os) const override {
    if (constrained)
      os << "vmem_xalloc(size 0x" << std::hex << size0 << ", align 0x" << align() << ", phase 0x"
         << phase() << ", nocross 0x" << nocross() << ", min 0x" << minaddr() << ", max 0x"
         << maxaddr() << std::dec << (instant ? ", INSTANTFIT)" : ", BESTFIT)");
    else
      os << "vmem_alloc(size 0x" << std::hex << size0 << std::dec
         << (instant ? ", INSTANTFIT)" : ", BESTFIT)");
  }
};

struct Free : Cmd {
  unsigned pick = *rc::gen::inRange(0u, 1u << 20);
  void checkPreconditions(const Model& m) const override { RC_PRE(m.nallocs > 0); }
  void run(const Model& m, Sut& sut) const override {
    if (!sut.errors.empty()) return;
    auto it = sut.live.find(pick % m.nallocs);
    if (it == sut.live.end()) return;  // that allocation failed or is already free
    vmem_xfree(sut.vm, it->second.addr, it->second.size0);
    sut.live.erase(it);
    sut.check_after(m, "free");
  }
  void show(std::ostream& os) const override { os << "free(#" << pick << " mod n)"; }
};

RC_GTEST_PROP(VmemModel, AllocXallocFreeAgainstAnIntervalModel, ()) {
  const Model initial;
  const auto cmds = *rc::state::gen::commands(initial, [](const Model& m) {
    return m.spans.empty()
               ? rc::state::gen::execOneOfWithArgs<AddSpan>()()
               : rc::state::gen::execOneOfWithArgs<AddSpan, Alloc, Alloc, Alloc, Free, Free>()();
  });
  Sut sut;
  Sim s;
  s.lwp("model", 0, [&] {
    sut.vm = vmem_create("model", 0, 0, Q, nullptr, nullptr, nullptr, 0, VM_NOSLEEP, IPL_VM);
    Model m = initial;
    for (const auto& c : cmds) {  // preconditions hold: commands() generated a valid sequence
      c->run(m, sut);
      c->apply(m);
      if (!sut.errors.empty()) break;
    }
  });
  const Outcome o = s.run();
  RC_ASSERT(o == Outcome::completed);  // a KASSERT would be a finding
  if (!sut.errors.empty()) RC_FAIL(sut.errors.front());
}

}  // namespace
}  // namespace kasim::test
