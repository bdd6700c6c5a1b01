// sim/waitq.h: a queue of contexts waiting for something.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>
#include <string>

namespace kasim {

struct Ctx;

// FIFO: cv_signal and mutex hand-off wake the longest waiter first. Queues are
// short, so a vector beats a deque (which allocates even when empty).
struct WaitQueue {
  std::vector<Ctx*> waiters;
  std::string name;  // for wait-for reports
  uint32_t id = 0;
  void remove(Ctx* c) {
    auto it = std::find(waiters.begin(), waiters.end(), c);
    if (it != waiters.end()) waiters.erase(it);
  }
};

}  // namespace kasim
