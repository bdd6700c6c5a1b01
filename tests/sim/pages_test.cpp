// Tests for the physical page store, the kernel pmap and the page daemon.
#include <gtest/gtest.h>

#include <set>

#include "tests/sim/sim_test_util.h"

namespace kasim {
namespace {

using namespace kasim::test;

constexpr vaddr_t kVa = 0x10000000;

TEST(Pages, AllocUntilExhaustionThenNull) {
  Engine e(machine(1, 8), make_strategy("timed", 1), 1);
  std::vector<vm_page*> got;
  vm_page* extra = reinterpret_cast<vm_page*>(1);
  uint64_t free_at_end = 99;
  uvm_object owner{"test"};
  e.spawn_lwp("t0", 0, [&] {
    for (int i = 0; i < 8; ++i) got.push_back(uvm_pagealloc(&owner, 0, nullptr, 0));
    extra = uvm_pagealloc(&owner, 0, nullptr, 0);
    free_at_end = uvm_free_pages();
    for (vm_page* pg : got) uvm_pagefree(pg);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  ASSERT_EQ(got.size(), 8u);
  std::set<vm_page*> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), 8u);
  EXPECT_EQ(distinct.count(nullptr), 0u);
  EXPECT_EQ(got[0]->index, 0u);  // a fresh store hands out pages in address order
  EXPECT_EQ(got[7]->index, 7u);
  EXPECT_EQ(VM_PAGE_TO_PHYS(got[3]), 3 * e.pages().page_size());
  EXPECT_EQ(extra, nullptr);
  EXPECT_EQ(free_at_end, 0u);
  EXPECT_EQ(e.pages().nfail, 1u);
  EXPECT_EQ(e.pages().nalloc, 8u);
  EXPECT_EQ(e.pages().nfreed, 8u);
  EXPECT_EQ(e.pages().nfree(), 8u);
  EXPECT_TRUE(e.pages().check().empty());
}

TEST(Pages, FreedPagesComeBackLifo) {
  Engine e(machine(1, 16), make_strategy("timed", 1), 1);
  vm_page *p1 = nullptr, *p2 = nullptr, *again1 = nullptr, *again2 = nullptr, *again3 = nullptr;
  const uvm_object* owner_after = nullptr;
  uvm_object obj{"obj"};
  e.spawn_lwp("t0", 0, [&] {
    p1 = uvm_pagealloc(&obj, 0, nullptr, 0);
    p2 = uvm_pagealloc(&obj, 0, nullptr, 0);
    uvm_pagefree(p1);
    again1 = uvm_pagealloc(nullptr, 0, nullptr, 0);  // the page just freed
    uvm_pagefree(p2);
    uvm_pagefree(again1);
    again2 = uvm_pagealloc(nullptr, 0, nullptr, 0);  // last freed first
    again3 = uvm_pagealloc(nullptr, 0, nullptr, 0);
    owner_after = again2->owner;
    uvm_pagefree(again2);
    uvm_pagefree(again3);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(again1, p1);
  EXPECT_EQ(again2, p1);
  EXPECT_EQ(again3, p2);
  EXPECT_EQ(owner_after, nullptr);  // the owner is the new allocation's
}

TEST(Pages, PhysToPage) {
  Engine e(machine(1, 4), make_strategy("timed", 1), 1);
  EXPECT_EQ(e.pages().phys_to_page(2 * 4096 + 17), &e.pages().page(2));
  EXPECT_EQ(e.pages().phys_to_page(4 * 4096), nullptr);
}

TEST(Pmap, EnterExtractRemove) {
  Engine e(machine(1), make_strategy("timed", 1), 1);
  bool mapped = false, after_remove = true;
  paddr_t pa = 0, page_pa = 0;
  size_t nmapped_inside = 0;
  e.spawn_lwp("t0", 0, [&] {
    vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0);
    vm_page* pg2 = uvm_pagealloc(nullptr, 0, nullptr, 0);
    page_pa = VM_PAGE_TO_PHYS(pg2);
    pmap_kenter_pa(kVa, VM_PAGE_TO_PHYS(pg), VM_PROT_READ | VM_PROT_WRITE, 0);
    pmap_kenter_pa(kVa + page_size(), page_pa, VM_PROT_READ, 0);
    pmap_update(pmap_kernel());
    mapped = pmap_extract(pmap_kernel(), kVa + page_size() + 123, &pa);
    nmapped_inside = Engine::current()->pages().nmapped();
    pmap_kremove(kVa, 2 * page_size());
    after_remove = pmap_extract(pmap_kernel(), kVa + page_size(), nullptr);
    uvm_pagefree(pg);
    uvm_pagefree(pg2);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_TRUE(mapped);
  EXPECT_EQ(pa, page_pa + 123);  // the offset within the page carries over
  EXPECT_EQ(nmapped_inside, 2u);
  EXPECT_FALSE(after_remove);
  EXPECT_EQ(e.pages().nmapped(), 0u);
  EXPECT_TRUE(e.pages().check().empty());
}

TEST(Pmap, MappingAPhysicalPageTwiceIsAFinding) {
  Finding f = expect_lwp_finding("pmap", [] {
    vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0);
    pmap_kenter_pa(kVa, VM_PAGE_TO_PHYS(pg), VM_PROT_READ, 0);
    pmap_kenter_pa(kVa + 0x4000, VM_PAGE_TO_PHYS(pg), VM_PROT_READ, 0);
  });
  EXPECT_TRUE(contains(f.message, "mapped twice (at 0x10000000 and 0x10004000)")) << f.message;
}

TEST(Pmap, MappingAVaTwiceIsAFinding) {
  Finding f = expect_lwp_finding("pmap", [] {
    vm_page* a = uvm_pagealloc(nullptr, 0, nullptr, 0);
    vm_page* b = uvm_pagealloc(nullptr, 0, nullptr, 0);
    pmap_kenter_pa(kVa, VM_PAGE_TO_PHYS(a), VM_PROT_READ, 0);
    pmap_kenter_pa(kVa, VM_PAGE_TO_PHYS(b), VM_PROT_READ, 0);
  });
  EXPECT_TRUE(contains(f.message, "va 0x10000000 is already mapped")) << f.message;
}

TEST(Pmap, MappingAFreePageIsAFinding) {
  Finding f = expect_lwp_finding("pmap", [] { pmap_kenter_pa(kVa, 0, VM_PROT_READ, 0); });
  EXPECT_TRUE(contains(f.message, "is not an allocated page")) << f.message;
}

TEST(Pages, FreeingAMappedPageIsAFinding) {
  Finding f = expect_lwp_finding("pages", [] {
    vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0);
    pmap_kenter_pa(kVa, VM_PAGE_TO_PHYS(pg), VM_PROT_READ, 0);
    uvm_pagefree(pg);
  });
  EXPECT_TRUE(contains(f.message, "page 0 is still mapped")) << f.message;
}

TEST(Pages, DoubleFreeIsAFinding) {
  Finding f = expect_lwp_finding("pages", [] {
    vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0);
    uvm_pagefree(pg);
    uvm_pagefree(pg);
  });
  EXPECT_TRUE(contains(f.message, "page 0 is already free")) << f.message;
}

TEST(Pages, CheckReportsInconsistencies) {
  Engine e(machine(1, 8), make_strategy("timed", 1), 1);
  EXPECT_TRUE(e.pages().check().empty());
  // A page that believes it is mapped, with no pmap entry behind it.
  e.pages().page(3).mapped = true;
  e.pages().page(3).va = kVa;
  auto problems = e.pages().check();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "page 3 is free but mapped");
  EXPECT_EQ(problems[1], "page 3 thinks it is mapped but the pmap disagrees");
  e.pages().page(3).mapped = false;
  e.pages().page(5).free = false;  // off the free list's count
  problems = e.pages().check();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "free page count 8 but 7 pages are free");
}

// --- uvm_wait and the page daemon -------------------------------------------

TEST(Pages, UvmWaitSleeperWakesWhenAnotherLwpFrees) {
  Engine e(machine(1, 4), make_strategy("timed", 1), 1);
  std::vector<vm_page*> held;
  vm_page *first_try = reinterpret_cast<vm_page*>(1), *after_wait = nullptr, *given_back = nullptr;
  Log log;
  e.spawn_lwp("hungry", 0, [&] {
    while (vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0)) held.push_back(pg);
    first_try = uvm_pagealloc(nullptr, 0, nullptr, 0);
    log.push_back("waiting");
    uvm_wait("pgwait");
    log.push_back("woken");
    after_wait = uvm_pagealloc(nullptr, 0, nullptr, 0);
  });
  e.spawn_lwp("giver", 0, [&] {
    log.push_back("giving");
    given_back = held.back();
    held.pop_back();
    uvm_pagefree(given_back);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(held.size(), 3u);
  EXPECT_EQ(first_try, nullptr);
  EXPECT_EQ(log, (Log{"waiting", "giving", "woken"}));
  EXPECT_EQ(after_wait, given_back);
  EXPECT_EQ(e.pages().nwait, 1u);
}

TEST(Pages, UvmWaitDoesNotSleepWhenPagesAreFree) {
  Engine e(machine(1, 4), make_strategy("timed", 1), 1);
  Ctx* t = e.spawn_lwp("t0", 0, [] { uvm_wait("nosleep"); });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(t->l_ncsw, 0u);
}

TEST(PageDaemon, ReclaimHookRunsBelowFreeTarget) {
  MachineConfig mc = machine(2, 16);
  mc.pagedaemon = true;
  mc.free_target = 4;
  Engine e(mc, make_strategy("timed", 1), 1);
  std::vector<uint64_t> free_at_hook;
  e.pages().add_reclaim_hook("probe", [&] { free_at_hook.push_back(uvm_free_pages()); });
  std::vector<vm_page*> held;
  uint64_t hooks_before_target = 99;
  e.spawn_lwp("eater", 1, [&] {
    for (int i = 0; i < 12; ++i) held.push_back(uvm_pagealloc(nullptr, 0, nullptr, 0));
    delay_ns(100'000);  // free is 4: not below the target yet
    hooks_before_target = free_at_hook.size();
    held.push_back(uvm_pagealloc(nullptr, 0, nullptr, 0));  // free 3 < 4: kicks the daemon
    delay_ns(100'000);  // the daemon runs on cpu0 meanwhile
    for (vm_page* pg : held) uvm_pagefree(pg);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(hooks_before_target, 0u);
  ASSERT_GE(free_at_hook.size(), 1u);
  EXPECT_EQ(free_at_hook[0], 3u);
}

TEST(PageDaemon, ReclaimedPagesWakeUvmWaitSleepers) {
  // A pool-like cache holds two pages; the daemon's reclaim hook gives them
  // back (pool_drain), which lets an LWP stuck in uvm_wait continue.
  MachineConfig mc = machine(1, 8);
  mc.pagedaemon = true;
  mc.free_target = 2;
  Engine e(mc, make_strategy("timed", 1), 1);
  std::vector<vm_page*> cache, mine;
  int hook_calls = 0;
  vm_page* after_wait = nullptr;
  e.pages().add_reclaim_hook("drain", [&] {
    ++hook_calls;
    while (!cache.empty()) {
      uvm_pagefree(cache.back());
      cache.pop_back();
    }
  });
  vm_page* last_drained = nullptr;
  e.spawn_lwp("hungry", 0, [&] {
    cache.push_back(uvm_pagealloc(nullptr, 0, nullptr, 0));
    cache.push_back(uvm_pagealloc(nullptr, 0, nullptr, 0));
    last_drained = cache.front();  // freed last by the hook, so handed out first
    while (vm_page* pg = uvm_pagealloc(nullptr, 0, nullptr, 0)) mine.push_back(pg);
    uvm_wait("pgwait");
    after_wait = uvm_pagealloc(nullptr, 0, nullptr, 0);
    if (after_wait) uvm_pagefree(after_wait);
    for (vm_page* pg : mine) uvm_pagefree(pg);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(mine.size(), 6u);
  EXPECT_GE(hook_calls, 1);
  EXPECT_TRUE(cache.empty());
  EXPECT_EQ(after_wait, last_drained);
}

TEST(PageDaemon, KernelHookRegistrationCallsThrough) {
  MachineConfig mc = machine(1, 4);
  mc.pagedaemon = true;
  mc.free_target = 4;
  Engine e(mc, make_strategy("timed", 1), 1);
  int calls = 0;
  vm_page* pg = nullptr;
  e.spawn_lwp("t0", 0, [&] {
    uvm_register_reclaim_hook("counter", [](void* arg) { ++*static_cast<int*>(arg); }, &calls);
    pg = uvm_pagealloc(nullptr, 0, nullptr, 0);  // 3 free < 4: kick
    uvm_pagefree(pg);
  });
  ASSERT_EQ(e.run(), Outcome::completed) << describe_findings(e.findings());
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace kasim
