#include "properties/invariants.h"

namespace kasim::props {

namespace {
std::vector<Invariant>& registry() {
  static std::vector<Invariant> r;
  return r;
}
}  // namespace

void register_invariant(std::string name, InvariantFn fn) {
  registry().push_back({std::move(name), std::move(fn)});
}

const std::vector<Invariant>& invariants() { return registry(); }

std::vector<Problem> check_invariants(Engine& engine, bool full) {
  std::vector<Problem> out;
  for (const Invariant& inv : registry()) inv.check(engine, full, out);
  return out;
}

}  // namespace kasim::props
