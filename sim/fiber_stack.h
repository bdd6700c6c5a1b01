// sim/fiber_stack.h: reusable fiber stacks, and AddressSanitizer's fiber hooks.
//
// Touching a fresh page costs about 10 us here, and a fuzz campaign runs
// thousands of machines, so stacks are mmap'ed once (with a guard page below
// them) and kept on a per-host-thread free list.
#pragma once

#include <boost/context/stack_context.hpp>
#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define KASIM_ASAN 1
#else
#define KASIM_ASAN 0
#endif

namespace kasim {

#if KASIM_ASAN
inline constexpr size_t kFiberStackSize = 1024 * 1024;
#else
inline constexpr size_t kFiberStackSize = 256 * 1024;
#endif

// A StackAllocator for boost::context::fiber that draws from the pool and
// reports the stack's bounds to *bottom / *size (for ASan's switch hooks).
class PooledStack {
 public:
  PooledStack(const void** bottom, size_t* size) : bottom_(bottom), size_(size) {}
  boost::context::stack_context allocate();
  void deallocate(boost::context::stack_context& sc) noexcept;

 private:
  const void** bottom_;
  size_t* size_;
};

// Stacks currently cached on this host thread (for tests).
size_t pooled_stack_count();

}  // namespace kasim
