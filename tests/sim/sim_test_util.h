// tests/sim/sim_test_util.h: helpers shared by the sim/ unit tests.
//
// A test builds a program with a Setup (spawns LWPs and interrupts on a fresh
// Engine), runs it, and asserts on what the machine did. The Setup is called
// once per Engine, so state the bodies share must be created inside it (a
// shared_ptr captured by the bodies): determinism and replay tests run the
// same Setup on several engines.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sim/engine.h"
#include "sim/kernel.h"

namespace kasim {

// gtest prints enums as integers; names make failures readable.
inline void PrintTo(Outcome o, std::ostream* os) { *os << outcome_name(o); }

namespace test {

// A small machine. No page daemon unless a test asks for one, so the first
// LWP a test spawns is context 1 and nothing runs that the test did not start.
inline MachineConfig machine(int cpus, uint64_t phys_pages = 64) {
  MachineConfig mc;
  mc.cpus = cpus;
  mc.phys_pages = phys_pages;
  mc.free_target = 4;
  mc.pagedaemon = false;
  return mc;
}

using Setup = std::function<void(Engine&)>;

// What a finished run leaves behind, detached from its Engine.
struct RunResult {
  Outcome outcome = Outcome::completed;
  uint64_t hash = 0;
  uint64_t steps = 0;
  uint64_t sim_time = 0;
  std::vector<uint64_t> cpu_clocks;
  std::vector<Decision> decisions;
  std::vector<Finding> findings;
  std::string stop_reason;
};

inline RunResult run_program(const MachineConfig& mc, std::unique_ptr<Strategy> strategy,
                             uint64_t seed, const Setup& setup, RunLimits limits = {},
                             FaultConfig faults = {}) {
  Engine e(mc, std::move(strategy), seed, limits, faults);
  setup(e);
  RunResult r;
  r.outcome = e.run();
  r.hash = e.trace_hash();
  r.steps = e.steps();
  r.sim_time = e.sim_time();
  for (const Cpu& c : e.cpus()) r.cpu_clocks.push_back(c.clock);
  r.decisions = e.decisions();
  r.findings = e.findings();
  r.stop_reason = e.stop_reason();
  return r;
}

inline RunResult run_program(const MachineConfig& mc, const std::string& strategy, uint64_t seed,
                             const Setup& setup, RunLimits limits = {}) {
  return run_program(mc, make_strategy(strategy, seed), seed, setup, limits);
}

// Feeds a run's recorded decisions back with no strategy at all.
inline RunResult replay_program(const MachineConfig& mc, std::vector<Decision> decisions,
                                uint64_t seed, const Setup& setup, RunLimits limits = {}) {
  return run_program(mc, std::make_unique<ReplayStrategy>(std::move(decisions)), seed, setup,
                     limits);
}

// The first finding of `kind`, or nullptr.
inline const Finding* find_finding(const std::vector<Finding>& fs, std::string_view kind) {
  for (const Finding& f : fs)
    if (f.kind == kind) return &f;
  return nullptr;
}

// Every finding with its details, for assertion messages.
inline std::string describe_findings(const std::vector<Finding>& fs) {
  std::string s;
  for (const Finding& f : fs) {
    s += '[';
    s += f.kind + "] " + f.message + " (step " + std::to_string(f.step) + ", " + f.context + ")\n";
    for (const std::string& d : f.details) s += "    " + d + "\n";
  }
  return s.empty() ? "no findings" : s;
}

// Runs `setup` on a `cpus`-CPU machine under the timed strategy. The run must
// end with a finding of `kind`; returns it (an empty Finding if there is none,
// after recording the test failure).
inline Finding expect_finding(std::string_view kind, const Setup& setup, int cpus = 1) {
  Engine e(machine(cpus), make_strategy("timed", 1), 1);
  setup(e);
  EXPECT_EQ(e.run(), Outcome::finding) << describe_findings(e.findings());
  const Finding* f = find_finding(e.findings(), kind);
  EXPECT_NE(f, nullptr) << "no " << kind << " finding: " << describe_findings(e.findings());
  return f ? *f : Finding{};
}

// The same for a single LWP "t0" on cpu0 running `body`.
inline Finding expect_lwp_finding(std::string_view kind, std::function<void()> body) {
  return expect_finding(kind, [&body](Engine& e) { e.spawn_lwp("t0", 0, std::move(body)); });
}

// prefix followed by n ("w0", "lwp12"). Not `"w" + std::to_string(n)`: GCC 12
// at -O3 reports a false -Wrestrict in operator+(const char*, std::string&&).
inline std::string numbered(std::string prefix, uint64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

inline bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// Runs `init` the first time any context calls it. Kernel objects can only be
// initialized inside a run, and on a machine with several CPUs no LWP (or
// interrupt) is guaranteed to run first; mutex_init and cv_init are not
// scheduling points, so the first caller finishes before anyone else runs.
class Once {
 public:
  explicit Once(std::function<void()> init) : init_(std::move(init)) {}
  void operator()() {
    if (done_) return;
    done_ = true;
    init_();
  }

 private:
  std::function<void()> init_;
  bool done_ = false;
};

// An ordered record of what the contexts of one run did. Contexts run one at
// a time on the host thread, so it needs no locking.
using Log = std::vector<std::string>;

// Index of `entry` in `log`, or -1.
inline int index_of(const Log& log, std::string_view entry) {
  for (size_t i = 0; i < log.size(); ++i)
    if (log[i] == entry) return static_cast<int>(i);
  return -1;
}

}  // namespace test
}  // namespace kasim
