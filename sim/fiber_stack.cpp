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
  size_t mapped = 0;        // stacks mapped, in use or in `free`; free.capacity() >= mapped
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
    // Room in the cache for this stack's return comes first: deallocate() is
    // noexcept and must never allocate. If there is no memory for it, this
    // allocation fails here, where failing is allowed.
    t_cache.free.reserve(t_cache.mapped + 1);
    base = mmap(nullptr, kFiberStackSize + guard_size(), PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) throw std::bad_alloc();
    ++t_cache.mapped;
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
  if (t_cache.free.size() < t_cache.free.capacity()) {
    t_cache.free.push_back(base);  // never reallocates: allocate() reserved the room
  } else {
    munmap(base, kFiberStackSize + guard_size());  // not reached while the contract holds
    --t_cache.mapped;
  }
}

size_t pooled_stack_count() { return t_cache.free.size(); }

}  // namespace kasim
