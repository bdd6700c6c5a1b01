// sim/finding.h: a broken contract or invariant that stops a run.
//
// Expected failures (ENOMEM, EAGAIN, NULL) are return values, never findings.
// A finding is what NetBSD would panic on, what an invariant checker rejects,
// or what the machine itself catches (sleeping in interrupt context, a
// deadlock). kasim's own bugs are neither: they are InternalError (exit 3).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace kasim {

struct Finding {
  std::string kind;     // "contract", "deadlock", "mutex", "sleep", "expect", "bound", ...
  std::string message;  // one line, NetBSD's wording where NetBSD has one
  uint64_t step = 0;    // engine step (scheduling point count) at which it was found
  uint64_t time = 0;    // simulated ns on the CPU that found it
  int cpu = -1;
  std::string context;  // LWP or interrupt name
  std::string where;    // scenario location, e.g. /threads/0/steps/3 (set by the runner)
  std::vector<std::string> details;  // e.g. the wait-for relation of a deadlock
};

// kasim's own bug or an impossible state: exit status 3, never a finding.
class InternalError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace kasim
