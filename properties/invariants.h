// properties/invariants.h: the invariant registry.
//
// Each invariant inspects the machine (and, through the allocators' own
// per-machine lists, every allocator object on it) and appends a Problem per
// violation. The scenario runner calls check_invariants() after every op (or
// as the scenario's "check" policy says) and at the end of a run; a problem
// becomes a finding of the problem's kind. Invariants register themselves
// from files in the kasim_invariants OBJECT library:
//
//   KASIM_INVARIANT(vmem) { for (vmem_t* vm : all arenas) ... out.push_back({"vmem", msg}); }
//
// An invariant must only look at structures whose lock is free (a structure
// mid-update under its lock is not yet consistent).
//
// `full` asks for the complete walk. Checks run after every step, so an
// invariant whose complete walk is costly (every page, every segment) may do
// only its cheap part when `full` is false; the runner asks for the full walk
// every kFullCheckEvery checks, on the "check" op, and at the end of a run.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace kasim {
class Engine;
}

namespace kasim::props {

struct Problem {
  std::string kind;     // the finding kind, e.g. "vmem", "pages", "hardlimit"
  std::string message;  // one line
};

using InvariantFn = std::function<void(Engine&, bool full, std::vector<Problem>&)>;
inline constexpr uint64_t kFullCheckEvery = 64;

struct Invariant {
  std::string name;
  InvariantFn check;
};

void register_invariant(std::string name, InvariantFn fn);
const std::vector<Invariant>& invariants();
// Runs every invariant; returns the problems found (empty if all hold).
std::vector<Problem> check_invariants(Engine& engine, bool full = true);

#define KASIM_INVARIANT(tag)                                                              \
  static void kasim_invariant_##tag(::kasim::Engine& engine, bool full,                   \
                                    std::vector<::kasim::props::Problem>& out);           \
  static const bool kasim_invariant_registered_##tag = [] {                               \
    ::kasim::props::register_invariant(#tag, kasim_invariant_##tag);                      \
    return true;                                                                          \
  }();                                                                                    \
  static void kasim_invariant_##tag([[maybe_unused]] ::kasim::Engine& engine,             \
                                    [[maybe_unused]] bool full,                           \
                                    [[maybe_unused]] std::vector<::kasim::props::Problem>& out)

}  // namespace kasim::props
