#include "sim/pages.h"

#include "sim/engine.h"

namespace kasim {

void PageStore::init(Engine* engine, uint64_t npages, uint64_t page_size, uint64_t free_target) {
  engine_ = engine;
  page_size_ = page_size;
  free_target_ = free_target;
  pages_.assign(npages, vm_page{});
  // Free list in ascending address order: the first allocation gets page 0.
  for (uint64_t i = 0; i < npages; ++i) {
    vm_page& p = pages_[i];
    p.index = static_cast<uint32_t>(i);
    p.phys_addr = i * page_size;
    p.next_free = i + 1 < npages ? static_cast<uint32_t>(i + 2) : 0;
  }
  free_head_ = npages ? 1 : 0;
  nfree_ = npages;
  waitq_.name = "uvm_wait (free pages)";
  waitq_.id = engine->next_object_id();
}

vm_page* PageStore::alloc(const uvm_object* owner) {
  engine_->sched_point(engine_->costs().page_alloc, {AccessKind::pages, 0});
  if (free_head_ == 0) {
    ++nfail;
    engine_->kick_pagedaemon();
    return nullptr;
  }
  vm_page* pg = &pages_[free_head_ - 1];
  free_head_ = pg->next_free;
  pg->next_free = 0;
  pg->free = false;
  pg->owner = owner;
  --nfree_;
  ++nalloc;
  engine_->record(TraceKind::page_alloc, pg->index);
  if (nfree_ < free_target_) engine_->kick_pagedaemon();
  return pg;
}

void PageStore::free(vm_page* pg) {
  if (pg->free)
    engine_->fail(engine_->make_finding(
        "pages", "uvm_pagefree: page " + std::to_string(pg->index) + " is already free"));
  if (pg->mapped)
    engine_->fail(engine_->make_finding(
        "pages", "uvm_pagefree: page " + std::to_string(pg->index) + " is still mapped"));
  engine_->note_access({AccessKind::pages, 0});
  pg->free = true;
  pg->owner = nullptr;
  pg->next_free = free_head_;
  free_head_ = pg->index + 1;
  ++nfree_;
  ++nfreed;
  engine_->record(TraceKind::page_free, pg->index);
  // kasim wakes uvm_wait sleepers on every free (see docs/fidelity.md).
  if (!waitq_.waiters.empty()) engine_->wakeup_all(waitq_);
  engine_->sched_point(engine_->costs().page_free, Access::none());
}

void PageStore::wait(const char* wmesg) {
  ++nwait;
  engine_->kick_pagedaemon();
  if (nfree_ > 0) {  // pages came back already: no need to sleep
    engine_->sched_point(0, {AccessKind::pages, 0});
    return;
  }
  engine_->sleep_on(waitq_, wmesg, 0, false);
}

vm_page* PageStore::phys_to_page(paddr_t pa) {
  uint64_t i = pa / page_size_;
  return i < pages_.size() ? &pages_[i] : nullptr;
}

void PageStore::kenter(vaddr_t va, paddr_t pa) {
  engine_->note_access({AccessKind::pages, 0});  // the kernel pmap
  vm_page* pg = phys_to_page(pa);
  auto hex = [](uint64_t v) {
    char buf[24];
    snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  if (!pg || pg->free)
    engine_->fail(engine_->make_finding("pmap", "pmap_kenter_pa: pa " + hex(pa) +
                                                     " is not an allocated page"));
  if (va % page_size_ != 0)
    engine_->fail(engine_->make_finding("pmap", "pmap_kenter_pa: va " + hex(va) +
                                                     " is not page-aligned"));
  if (pg->mapped)
    engine_->fail(engine_->make_finding("pmap", "pmap_kenter_pa: physical page " + hex(pa) +
                                                     " mapped twice (at " + hex(pg->va) +
                                                     " and " + hex(va) + ")"));
  auto [it, inserted] = pmap_.try_emplace(va, pg->index);
  if (!inserted)
    engine_->fail(engine_->make_finding("pmap", "pmap_kenter_pa: va " + hex(va) +
                                                     " is already mapped"));
  pg->mapped = true;
  pg->va = va;
  engine_->charge(engine_->costs().pmap);
}

void PageStore::kremove(vaddr_t va, uint64_t len) {
  engine_->note_access({AccessKind::pages, 0});  // the kernel pmap
  for (vaddr_t v = va; v < va + len; v += page_size_) {
    auto it = pmap_.find(v);
    if (it == pmap_.end()) continue;  // like pmap_kremove, unmapped pages are skipped
    vm_page& pg = pages_[it->second];
    pg.mapped = false;
    pg.va = 0;
    pmap_.erase(it);
    engine_->charge(engine_->costs().pmap);
  }
}

bool PageStore::extract(vaddr_t va, paddr_t* pa) const {
  engine_->note_access({AccessKind::pages, 0});  // the kernel pmap
  auto it = pmap_.find(va - va % page_size_);
  if (it == pmap_.end()) return false;
  if (pa) *pa = pages_[it->second].phys_addr + va % page_size_;
  return true;
}

void PageStore::add_reclaim_hook(std::string name, std::function<void()> hook) {
  hooks_.emplace_back(std::move(name), std::move(hook));
}

void PageStore::run_reclaim_hooks() {
  for (auto& h : hooks_) h.second();
}

bool PageStore::has_waiters() const { return !waitq_.waiters.empty(); }

void PageStore::wake_waiters() {
  if (!waitq_.waiters.empty()) engine_->wakeup_all(waitq_);
}

std::vector<std::string> PageStore::check(bool full) const {
  std::vector<std::string> out;
  if (nfree_ > pages_.size())
    out.push_back("free page count " + std::to_string(nfree_) + " exceeds the store");
  if (pmap_.size() + nfree_ > pages_.size())
    out.push_back(std::to_string(pmap_.size()) + " mapped pages and " + std::to_string(nfree_) +
                  " free pages exceed the store (a free page is mapped)");
  if (!full) return out;
  uint64_t free_count = 0;
  for (const vm_page& p : pages_) {
    if (p.free) {
      ++free_count;
      if (p.mapped) out.push_back("page " + std::to_string(p.index) + " is free but mapped");
      if (p.owner) out.push_back("page " + std::to_string(p.index) + " is free but owned");
    }
    if (p.mapped) {
      auto it = pmap_.find(p.va);
      if (it == pmap_.end() || it->second != p.index)
        out.push_back("page " + std::to_string(p.index) + " thinks it is mapped but the pmap "
                                                            "disagrees");
    }
  }
  if (free_count != nfree_)
    out.push_back("free page count " + std::to_string(nfree_) + " but " +
                  std::to_string(free_count) + " pages are free");
  for (const auto& [va, idx] : pmap_)
    if (!pages_[idx].mapped || pages_[idx].va != va)
      out.push_back("pmap entry for page " + std::to_string(idx) + " is stale");
  return out;
}

}  // namespace kasim
