// Invariants of the machine itself: the page store and the pmap agree.
#include "properties/invariants.h"
#include "sim/engine.h"

KASIM_INVARIANT(pages) {
  for (std::string& line : engine.pages().check(full)) out.push_back({"pages", std::move(line)});
}
