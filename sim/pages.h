// sim/pages.h: the physical page store and the kernel pmap.
//
// A fixed number of physical pages, each knowing its owner and the kernel VA
// it is mapped at. Free pages sit on one LIFO free list (uvm_pagealloc takes
// the most recently freed page first), so page choice is deterministic. When
// an allocation leaves fewer than free_target free pages, the page daemon is
// kicked; it runs the reclaim hooks allocators register and wakes uvm_wait
// sleepers. The pmap maps kernel VA page by page and refuses to map one
// physical page twice.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/waitq.h"

namespace kasim {

class Engine;
struct Finding;

using paddr_t = uint64_t;
using vaddr_t = uint64_t;

// Owner identity of a page (NetBSD passes a uvm_object or NULL).
struct uvm_object {
  const char* name;
};

struct vm_page {
  uint32_t index = 0;
  paddr_t phys_addr = 0;
  const uvm_object* owner = nullptr;
  vaddr_t va = 0;  // where it is mapped, valid if mapped
  bool mapped = false;
  bool free = true;
  uint32_t next_free = 0;  // free list link (index + 1; 0 = end)
};

class PageStore {
 public:
  void init(Engine* engine, uint64_t npages, uint64_t page_size, uint64_t free_target);

  // uvm_pagealloc: a scheduling point; nullptr when no page is free.
  vm_page* alloc(const uvm_object* owner);
  // uvm_pagefree: the page must not be mapped.
  void free(vm_page* pg);
  // uvm_wait: kick the page daemon and sleep until pages are freed.
  void wait(const char* wmesg);

  uint64_t npages() const { return pages_.size(); }
  uint64_t nfree() const { return nfree_; }
  uint64_t page_size() const { return page_size_; }
  uint64_t free_target() const { return free_target_; }
  vm_page* phys_to_page(paddr_t pa);
  vm_page& page(uint32_t index) { return pages_[index]; }

  // pmap_kernel() operations.
  void kenter(vaddr_t va, paddr_t pa);
  void kremove(vaddr_t va, uint64_t len);
  bool extract(vaddr_t va, paddr_t* pa) const;
  size_t nmapped() const { return pmap_.size(); }

  // Reclaim hooks run by the page daemon, in registration order.
  void add_reclaim_hook(std::string name, std::function<void()> hook);
  void run_reclaim_hooks();
  bool has_waiters() const;
  void wake_waiters();

  // Consistency of the store and the pmap; returns problems, one line each.
  // Without `full`, only the counters (constant time); with it, every page.
  std::vector<std::string> check(bool full = true) const;

  uint64_t nalloc = 0, nfreed = 0, nfail = 0, nwait = 0;

 private:
  Engine* engine_ = nullptr;
  std::vector<vm_page> pages_;
  uint32_t free_head_ = 0;  // index + 1; 0 = empty
  uint64_t nfree_ = 0;
  uint64_t page_size_ = 4096;
  uint64_t free_target_ = 0;
  std::map<vaddr_t, uint32_t> pmap_;  // page-aligned VA -> page index
  std::vector<std::pair<std::string, std::function<void()>>> hooks_;
  WaitQueue waitq_;  // uvm_wait sleepers
  friend class Engine;
};

}  // namespace kasim
