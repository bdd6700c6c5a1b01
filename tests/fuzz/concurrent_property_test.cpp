// tests/fuzz/concurrent_property_test.cpp: RapidCheck-generated concurrent
// programs on the allocators.
//
// A program is a machine (1..3 CPUs), an LWP per CPU with a list of pool and
// vmem ops, and IPL_VM interrupt handlers doing pool get/put pairs, written as
// a scenario; the schedule is a RapidCheck-generated list of choices that a
// strategy consumes (option index = choice mod the number of options, cycling),
// so RapidCheck's shrinking minimizes the schedule together with the program
// (a shorter list, smaller choices: the first option, i.e. the default order).
//
// Properties: on the correct allocators no program and schedule finds
// anything, and the same program and schedule give the same trace hash.
// Budget: RapidCheck's default of 100 programs per run (RC_PARAMS changes it).
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <nlohmann/json.hpp>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "sim/strategy.h"

namespace {

using namespace kasim;
using namespace kasim::scn;
using nlohmann::json;

// Options chosen by a generated list of numbers.
class ChoiceStrategy final : public Strategy {
 public:
  explicit ChoiceStrategy(std::vector<uint32_t> choices) : choices_(std::move(choices)) {}
  std::string name() const override { return "rapidcheck"; }
  std::optional<size_t> choose(const ChoicePoint& cp) override {
    if (choices_.empty()) return 0;
    const uint32_t c = choices_[next_++ % choices_.size()];
    return c % cp.options->size();
  }

 private:
  std::vector<uint32_t> choices_;
  size_t next_ = 0;
};

enum class OpKind { pool_get_waitok, pool_get_nowait, pool_put, vmem_alloc, vmem_free };

struct ThreadProgram {
  std::vector<std::pair<OpKind, unsigned>> ops;  // (op, size in pages for vmem_alloc)
};

struct Program {
  int cpus = 1;
  std::vector<ThreadProgram> threads;  // one per CPU
  std::vector<int> intr_cpus;          // an IPL_VM handler on each
  std::vector<uint32_t> schedule;
};

rc::Gen<Program> gen_program() {
  return rc::gen::exec([] {
    Program p;
    p.cpus = *rc::gen::inRange(1, 4);
    for (int c = 0; c < p.cpus; ++c) {
      ThreadProgram t;
      const auto ops = *rc::gen::container<std::vector<std::pair<int, unsigned>>>(
          rc::gen::pair(rc::gen::inRange(0, 5), rc::gen::inRange(1u, 5u)));
      for (const auto& [k, pages] : ops) t.ops.push_back({static_cast<OpKind>(k), pages});
      if (t.ops.size() > 24) t.ops.resize(24);
      p.threads.push_back(std::move(t));
    }
    for (int c = 0; c < p.cpus; ++c)
      if (*rc::gen::arbitrary<bool>()) p.intr_cpus.push_back(c);
    p.schedule = *rc::gen::container<std::vector<uint32_t>>(rc::gen::inRange(0u, 8u));
    return p;
  });
}

// The program as a scenario: a thread's frees free its own latest allocation
// still held (labels are per thread), so every free is of a live object.
json to_scenario(const Program& p) {
  json threads = json::array();
  for (size_t c = 0; c < p.threads.size(); ++c) {
    json steps = json::array();
    std::vector<std::string> pool_held, vmem_held;
    unsigned n = 0;
    for (const auto& [kind, pages] : p.threads[c].ops) {
      const std::string label = "t" + std::to_string(c) + "_" + std::to_string(n++);
      switch (kind) {
        case OpKind::pool_get_waitok:
        case OpKind::pool_get_nowait:
          steps.push_back({{"op", "pool_get"}, {"pool", "p"},
                           {"flags", {kind == OpKind::pool_get_waitok ? "PR_WAITOK" : "PR_NOWAIT"}},
                           {"as", label}});
          // The pool is primed with more items than a program gets, so a
          // NOWAIT get never needs a page and never fails.
          pool_held.push_back(label);
          break;
        case OpKind::pool_put:
          if (pool_held.empty()) break;
          steps.push_back({{"op", "pool_put"}, {"pool", "p"}, {"ref", pool_held.back()}});
          pool_held.pop_back();
          break;
        case OpKind::vmem_alloc:
          steps.push_back({{"op", "vmem_alloc"}, {"arena", "va"}, {"size", pages * 4096},
                           {"flags", {"VM_SLEEP", "VM_INSTANTFIT"}}, {"as", label}});
          vmem_held.push_back(label);
          break;
        case OpKind::vmem_free:
          if (vmem_held.empty()) break;
          steps.push_back({{"op", "vmem_free"}, {"arena", "va"}, {"ref", vmem_held.back()}});
          vmem_held.pop_back();
          break;
      }
    }
    for (const std::string& l : pool_held)
      steps.push_back({{"op", "pool_put"}, {"pool", "p"}, {"ref", l}});
    for (const std::string& l : vmem_held)
      steps.push_back({{"op", "vmem_free"}, {"arena", "va"}, {"ref", l}});
    if (steps.empty()) steps.push_back({{"op", "delay"}, {"ns", 100}});
    threads.push_back({{"name", "t" + std::to_string(c)}, {"cpu", c}, {"steps", steps}});
  }
  json interrupts = json::array();
  for (int c : p.intr_cpus) {
    const std::string label = "i" + std::to_string(c);
    interrupts.push_back(
        {{"name", "nic" + std::to_string(c)}, {"cpu", c}, {"ipl", "IPL_VM"},
         {"at", {500, 1500, 4000}},
         {"steps", {{{"op", "pool_get"}, {"pool", "p"}, {"flags", {"PR_WAITOK"}}, {"as", label}},
                    {{"op", "pool_put"}, {"pool", "p"}, {"ref", label}}}}});
  }
  // Handlers use PR_NOWAIT: WAITOK from an interrupt is a contract finding.
  for (json& i : interrupts) i["steps"][0]["flags"] = {"PR_NOWAIT"};
  // Handlers' NOWAIT gets come from the primed items too. Everything is
  // freed, so the end-of-run leak check is part of the property.
  return {{"kasim", 1},
          {"name", "rc"},
          {"machine", {{"cpus", p.cpus}, {"phys_pages", 1024}}},
          {"objects",
           {{{"name", "p"}, {"type", "pool"}, {"size", 128}, {"ipl", "IPL_VM"}, {"prime", 256}},
            {{"name", "va"}, {"type", "vmem"}, {"base", "0x100000"}, {"size", "0x1000000"},
             {"quantum", 4096}}}},
          {"threads", threads},
          {"interrupts", interrupts}};
}

RunReport run(const Scenario& sc, const std::vector<uint32_t>& schedule) {
  RunOptions opt;
  opt.strategy_factory = [&] { return std::make_unique<ChoiceStrategy>(schedule); };
  return run_scenario(sc, opt);
}

RC_GTEST_PROP(ConcurrentPrograms, CorrectAllocatorsFindNothingAndRunsRepeat, ()) {
  const Program p = *gen_program();
  const json doc = to_scenario(p);
  const Scenario sc = parse_scenario(doc, "rc.json");
  const RunReport a = run(sc, p.schedule);
  RC_TAG(p.cpus, p.intr_cpus.empty() ? "no interrupts" : "interrupts");
  if (!a.findings.empty())
    RC_FAIL(a.findings.front().kind + ": " + a.findings.front().message + " at " +
            a.findings.front().where + "\n" + doc.dump());
  RC_ASSERT(a.verdict == std::string("all held"));
  const RunReport b = run(sc, p.schedule);
  RC_ASSERT(a.trace_hash == b.trace_hash);
  RC_ASSERT(a.steps == b.steps);
}

}  // namespace
