#include "sim/fiber_stack.h"

#include <sys/mman.h>
#include <unistd.h>

#include <new>
#include <vector>

namespace kasim {

namespace {

size_t guard_size() { return static_cast<size_t>(sysconf(_SC_PAGESIZE)); }

struct StackCache {
  std::vector<void*> free;  // base addresses (guard page included)
  ~StackCache() {
    for (void* base : free) munmap(base, kFiberStackSize + guard_size());
  }
};

thread_local StackCache t_cache;

}  // namespace

boost::context::stack_context PooledStack::allocate() {
  void* base;
  if (!t_cache.free.empty()) {
    base = t_cache.free.back();
    t_cache.free.pop_back();
  } else {
    base = mmap(nullptr, kFiberStackSize + guard_size(), PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) throw std::bad_alloc();
    mprotect(base, guard_size(), PROT_NONE);  // overflow faults instead of corrupting
  }
  boost::context::stack_context sc;
  sc.size = kFiberStackSize;
  sc.sp = static_cast<char*>(base) + guard_size() + kFiberStackSize;
  if (bottom_) *bottom_ = static_cast<char*>(base) + guard_size();
  if (size_) *size_ = kFiberStackSize;
  return sc;
}

void PooledStack::deallocate(boost::context::stack_context& sc) noexcept {
  void* base = static_cast<char*>(sc.sp) - kFiberStackSize - guard_size();
  t_cache.free.push_back(base);
}

size_t pooled_stack_count() { return t_cache.free.size(); }

}  // namespace kasim
