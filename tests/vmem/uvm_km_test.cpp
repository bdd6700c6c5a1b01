// tests/vmem/uvm_km_test.cpp: uvm_km(9) and the kernel's arenas
// (NETBSD-ALLOCATORS.md §1, §6; §12 items 45-47), with the shadow-ownership
// invariants of properties/inv_uvm_km.cpp checked after each run.
#include <set>

#include "properties/invariants.h"
#include "tests/vmem/harness.h"

namespace kasim::test {
namespace {

constexpr uint64_t PS = 4096;

std::string invariant_problems(Engine& e) {
  std::string out;
  for (const props::Problem& p : props::check_invariants(e)) out += p.kind + ": " + p.message + "\n";
  return out;
}

// Boots, then runs body; requires a clean run and clean invariants.
void booted(Sim& s, const std::function<void(uvm_km_globals&)>& body) {
  s.lwp("t", 0, [&] {
    kasim_vm_boot(s.boot_params());
    body(uvm_km_globals_get());
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_EQ(invariant_problems(*s.e), "");
}

TEST(UvmKm, BootBuildsTheKernelsArenas) {
  Sim s(1, 1024);
  booted(s, [&](uvm_km_globals& g) {
    const uint64_t kmem = s.mc.kva_pages * PS;
    ASSERT_NE(g.kernel_map, nullptr);
    EXPECT_EQ(vm_map_min(g.kernel_map), s.mc.kva_base);
    EXPECT_EQ(vm_map_max(g.kernel_map), s.mc.kva_base + 2 * kmem);
    EXPECT_STREQ(g.kmem_arena->vm_name, "kmem");
    EXPECT_EQ(vmem_size(g.kmem_arena, VMEM_ALLOC | VMEM_FREE), kmem);
    EXPECT_EQ(g.kmem_arena->vm_quantum_mask + 1, PS);
    EXPECT_TRUE(g.kmem_arena->vm_lock.spin);  // IPL_VM
    EXPECT_NE(g.kmem_arena->vm_flags & VM_BOOTSTRAP, 0u);
    EXPECT_GT(g.kmem_arena->vm_nfreetags, BT_MINRESERVE);
    EXPECT_STREQ(g.kmem_va_arena->vm_name, "kva");
    EXPECT_EQ(g.kmem_va_arena->vm_arg, g.kmem_arena);
    EXPECT_EQ(g.kmem_va_arena->vm_importfn, &vmem_alloc);
    EXPECT_EQ(g.kmem_va_arena->vm_releasefn, &vmem_free);
    EXPECT_EQ(g.kmem_va_arena->vm_qcache_max, 4 * PS);  // 8 MiB of kmem is "small"
    EXPECT_STREQ(g.kmem_va_meta_arena->vm_name, "vmem-va");
    EXPECT_NE(g.kmem_va_meta_arena->vm_flags & VM_LARGEIMPORT, 0u);
    EXPECT_STREQ(g.kmem_meta_arena->vm_name, "vmem-meta");
    EXPECT_EQ(g.kmem_meta_arena->vm_importfn, &uvm_km_kmem_alloc);
    EXPECT_EQ(g.kmem_meta_arena->vm_arg, g.kmem_va_meta_arena);
    // The kmem region is a static entry of kernel_map.
    EXPECT_EQ(vmem_busy_size(g.kernel_map->vmm_va, s.mc.kva_base), kmem);
    EXPECT_FALSE(uvm_km_va_starved_p());
  });
}

TEST(UvmKm, LargeKmemGets16PagesOfQcacheMax) {
  Sim s(1, 16384);
  booted(s, [](uvm_km_globals& g) { EXPECT_EQ(g.kmem_va_arena->vm_qcache_max, 16 * PS); });
}

TEST(UvmKm, WiredAllocationMapsEveryPageToItsOwnPage) {
  Sim s(1, 256);
  booted(s, [](uvm_km_globals& g) {
    const uint64_t free0 = uvm_free_pages();
    vaddr_t va = uvm_km_alloc(g.kernel_map, 5 * PS - 100, 0, UVM_KMF_WIRED | UVM_KMF_ZERO);
    ASSERT_NE(va, 0u);
    EXPECT_EQ(va % PS, 0u);
    EXPECT_GE(va, vm_map_min(g.kernel_map));
    EXPECT_EQ(uvm_free_pages(), free0 - 5);
    std::set<paddr_t> pas;
    for (int i = 0; i < 5; i++) {
      paddr_t pa;
      ASSERT_TRUE(pmap_extract(pmap_kernel(), va + i * PS, &pa));
      pas.insert(pa);
      EXPECT_EQ(PHYS_TO_VM_PAGE(pa)->owner, &g.km_wired_object);
    }
    EXPECT_EQ(pas.size(), 5u);
    EXPECT_FALSE(pmap_extract(pmap_kernel(), va + 5 * PS, nullptr));
    uvm_km_free(g.kernel_map, va, 5 * PS, UVM_KMF_WIRED);
    for (int i = 0; i < 5; i++) EXPECT_FALSE(pmap_extract(pmap_kernel(), va + i * PS, nullptr));
    EXPECT_EQ(uvm_free_pages(), free0);
  });
}

TEST(UvmKm, PageableAndVaonlyTakeNoPages) {
  Sim s(1, 256);
  booted(s, [](uvm_km_globals& g) {
    const uint64_t free0 = uvm_free_pages();
    vaddr_t a = uvm_km_alloc(g.kernel_map, 3 * PS, 0, UVM_KMF_PAGEABLE);
    vaddr_t b = uvm_km_alloc(g.kernel_map, 3 * PS, 0, UVM_KMF_VAONLY | UVM_KMF_COLORMATCH);
    ASSERT_NE(a, 0u);
    ASSERT_NE(b, 0u);
    EXPECT_TRUE(b >= a + 3 * PS || a >= b + 3 * PS);
    EXPECT_EQ(uvm_free_pages(), free0);
    EXPECT_FALSE(pmap_extract(pmap_kernel(), a, nullptr));
    uvm_km_free(g.kernel_map, a, 3 * PS, UVM_KMF_PAGEABLE);
    uvm_km_free(g.kernel_map, b, 3 * PS, UVM_KMF_VAONLY);
  });
}

TEST(UvmKm, AlignIsHonoured) {
  Sim s(1, 256);
  booted(s, [](uvm_km_globals& g) {
    vaddr_t first = uvm_km_alloc(g.kernel_map, PS, 0, UVM_KMF_VAONLY);
    vaddr_t va = uvm_km_alloc(g.kernel_map, 2 * PS, 64 * PS, UVM_KMF_WIRED);
    ASSERT_NE(va, 0u);
    EXPECT_EQ(va % (64 * PS), 0u);
    uvm_km_free(g.kernel_map, va, 2 * PS, UVM_KMF_WIRED);
    uvm_km_free(g.kernel_map, first, PS, UVM_KMF_VAONLY);
  });
}

TEST(UvmKm, NowaitPageShortageUndoesThePartialAllocation) {
  Sim s(1, 64);
  booted(s, [&](uvm_km_globals& g) {
    vaddr_t hold = uvm_km_alloc(g.kernel_map, 40 * PS, 0, UVM_KMF_WIRED);
    ASSERT_NE(hold, 0u);
    const uint64_t free0 = uvm_free_pages();
    const vmem_size_t va0 = vmem_size(g.kernel_map->vmm_va, VMEM_ALLOC);
    EXPECT_EQ(uvm_km_alloc(g.kernel_map, 40 * PS, 0, UVM_KMF_WIRED | UVM_KMF_NOWAIT), 0u);
    EXPECT_EQ(uvm_free_pages(), free0);  // the 24 pages it mapped came back
    EXPECT_EQ(vmem_size(g.kernel_map->vmm_va, VMEM_ALLOC), va0);
    EXPECT_EQ(s.e->pages().nmapped(), 40u);
    // CANFAIL: nothing is reclaimable in kasim, so it fails the same way.
    EXPECT_EQ(uvm_km_alloc(g.kernel_map, 40 * PS, 0, UVM_KMF_WIRED | UVM_KMF_CANFAIL), 0u);
    EXPECT_EQ(uvm_free_pages(), free0);
    uvm_km_free(g.kernel_map, hold, 40 * PS, UVM_KMF_WIRED);
    EXPECT_EQ(s.e->pages().nmapped(), 0u);
  });
}

TEST(UvmKm, WaitingAllocationCompletesAfterAFreeOnAnotherCpu) {
  Sim s(2, 64);
  vaddr_t held = 0, got = 0;
  bool booted_ = false;
  s.lwp("holder", 0, [&] {
    kasim_vm_boot(s.boot_params());
    booted_ = true;
    uvm_km_globals& g = uvm_km_globals_get();
    held = uvm_km_alloc(g.kernel_map, 50 * PS, 0, UVM_KMF_WIRED);
    delay_ns(5'000'000);
    uvm_km_free(g.kernel_map, held, 50 * PS, UVM_KMF_WIRED);
  });
  s.lwp("waiter", 1, [&] {
    delay_ns(1'000'000);
    ASSERT_TRUE(booted_);
    uvm_km_globals& g = uvm_km_globals_get();
    got = uvm_km_alloc(g.kernel_map, 30 * PS, 0, UVM_KMF_WIRED);
    EXPECT_GT(g.npagewait, 0u);
    uvm_km_free(g.kernel_map, got, 30 * PS, UVM_KMF_WIRED);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_NE(held, 0u);
  EXPECT_NE(got, 0u);
  EXPECT_EQ(s.e->pages().nfree(), 64u);
  EXPECT_EQ(invariant_problems(*s.e), "");
}

TEST(UvmKm, WaitvaWaitsForVaAndOtherwiseFails) {
  Sim s(2, 64);
  vaddr_t all = 0, late = 0;
  bool ready = false;
  s.lwp("hog", 0, [&] {
    kasim_vm_boot(s.boot_params());
    uvm_km_globals& g = uvm_km_globals_get();
    const uint64_t npages = s.mc.kva_pages;  // kernel_map's VA beside the kmem region
    all = uvm_km_alloc(g.kernel_map, npages * PS, 0, UVM_KMF_VAONLY);
    EXPECT_NE(all, 0u);
    EXPECT_EQ(uvm_km_alloc(g.kernel_map, PS, 0, UVM_KMF_VAONLY), 0u);  // no WAITVA: fails
    ready = true;
    delay_ns(5'000'000);
    EXPECT_GT(g.kernel_map->nwaitva, 0u);
    uvm_km_free(g.kernel_map, all, npages * PS, UVM_KMF_VAONLY);
  });
  s.lwp("waiter", 1, [&] {
    delay_ns(1'000'000);
    ASSERT_TRUE(ready);
    uvm_km_globals& g = uvm_km_globals_get();
    late = uvm_km_alloc(g.kernel_map, PS, 0, UVM_KMF_VAONLY | UVM_KMF_WAITVA);
    EXPECT_EQ(late, all);
    uvm_km_free(g.kernel_map, late, PS, UVM_KMF_VAONLY);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_NE(late, 0u);
}

TEST(UvmKm, KmemAllocNosleepShortageReturnsEnomemAndTheVa) {
  Sim s(1, 64);
  booted(s, [&](uvm_km_globals& g) {
    vmem_addr_t va = 0;
    EXPECT_EQ(uvm_km_kmem_alloc(g.kmem_va_arena, 100 * PS, VM_NOSLEEP | VM_INSTANTFIT, &va),
              kENOMEM);
    EXPECT_EQ(vmem_size(g.kmem_va_arena, VMEM_ALLOC), 0u);
    EXPECT_EQ(vmem_size(g.kmem_arena, VMEM_ALLOC), 0u);  // the imported span went back
    EXPECT_EQ(uvm_free_pages(), 64u);
    EXPECT_EQ(s.e->pages().nmapped(), 0u);
    // A fitting one is page-backed, every page. Three pages are within this
    // small kmem's qcache_max (4 pages): the VA is an item of the kva-12288
    // quantum cache, inside a busy pool page of 64 KiB.
    ASSERT_EQ(uvm_km_kmem_alloc(g.kmem_va_arena, 3 * PS - 1, VM_NOSLEEP | VM_INSTANTFIT, &va), 0);
    for (int i = 0; i < 3; i++) EXPECT_TRUE(pmap_extract(pmap_kernel(), va + i * PS, nullptr));
    EXPECT_EQ(vmem_busy_size(g.kmem_va_arena, va), 16 * PS);
    uvm_km_kmem_free(g.kmem_va_arena, va, 3 * PS);
    // The VA stays in the cache; the only pages still mapped are the
    // caches' metadata (pool header and group) in kmem_meta_arena.
    EXPECT_EQ(vmem_size(g.kmem_va_arena, VMEM_ALLOC), 16 * PS);
    const uint64_t meta_pages = vmem_size(g.kmem_meta_arena, VMEM_ALLOC | VMEM_FREE) / PS;
    EXPECT_EQ(s.e->pages().nmapped(), meta_pages);
    EXPECT_EQ(uvm_free_pages(), 64u - meta_pages);
  });
}

TEST(UvmKm, KmemAllocSleepWaitsForPages) {
  Sim s(2, 64);
  bool ready = false;
  vmem_addr_t got = 0;
  s.lwp("hog", 0, [&] {
    kasim_vm_boot(s.boot_params());
    uvm_km_globals& g = uvm_km_globals_get();
    vaddr_t va = uvm_km_alloc(g.kernel_map, 60 * PS, 0, UVM_KMF_WIRED);
    ready = true;
    delay_ns(5'000'000);
    uvm_km_free(g.kernel_map, va, 60 * PS, UVM_KMF_WIRED);
  });
  s.lwp("kmem", 1, [&] {
    delay_ns(1'000'000);
    ASSERT_TRUE(ready);
    uvm_km_globals& g = uvm_km_globals_get();
    ASSERT_EQ(uvm_km_kmem_alloc(g.kmem_va_arena, 10 * PS, VM_SLEEP | VM_INSTANTFIT, &got), 0);
    EXPECT_GT(g.npagewait, 0u);
    uvm_km_kmem_free(g.kmem_va_arena, got, 10 * PS);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_NE(got, 0u);
  EXPECT_EQ(invariant_problems(*s.e), "");
}

TEST(UvmKm, MetaArenaImportsPageBackedSpansThroughVmemVa) {
  Sim s(1, 256);
  booted(s, [&](uvm_km_globals& g) {
    vmem_addr_t a = 0;
    ASSERT_EQ(vmem_alloc(g.kmem_meta_arena, PS, VM_NOSLEEP | VM_INSTANTFIT, &a), 0);
    EXPECT_EQ(vmem_size(g.kmem_arena, VMEM_ALLOC), 16 * PS);        // LARGEIMPORT x16
    EXPECT_EQ(vmem_size(g.kmem_va_meta_arena, VMEM_ALLOC), PS);     // one page of it
    EXPECT_TRUE(pmap_extract(pmap_kernel(), a, nullptr));           // page-backed
    EXPECT_EQ(uvm_free_pages(), 255u);
    vmem_free(g.kmem_meta_arena, a, PS);
    // Released all the way down the chain.
    EXPECT_EQ(vmem_size(g.kmem_meta_arena, VMEM_ALLOC | VMEM_FREE), 0u);
    EXPECT_EQ(vmem_size(g.kmem_va_meta_arena, VMEM_ALLOC | VMEM_FREE), 0u);
    EXPECT_EQ(vmem_size(g.kmem_arena, VMEM_ALLOC), 0u);
    EXPECT_EQ(uvm_free_pages(), 256u);
  });
}

TEST(UvmKm, VaStarvedWhenKmemHasLessThanATenthFree) {
  Sim s(1, 64);
  booted(s, [&](uvm_km_globals& g) {
    const vmem_size_t total = vmem_size(g.kmem_arena, VMEM_ALLOC | VMEM_FREE);
    vmem_addr_t a;
    ASSERT_EQ(vmem_alloc(g.kmem_arena, total - total / 20, VM_NOSLEEP | VM_BESTFIT, &a), 0);
    EXPECT_TRUE(uvm_km_va_starved_p());
    vmem_free(g.kmem_arena, a, total - total / 20);
    EXPECT_FALSE(uvm_km_va_starved_p());
  });
}

// The shadow-ownership invariant must be able to fail.
TEST(UvmKmInvariant, CatchesAPageLeftMappedAfterAFree) {
  Sim s(1, 64);
  s.lwp("t", 0, [&] {
    kasim_vm_boot(s.boot_params());
    uvm_km_globals& g = uvm_km_globals_get();
    vaddr_t va = uvm_km_alloc(g.kernel_map, 2 * PS, 0, UVM_KMF_WIRED);
    uvm_km_free(g.kernel_map, va, 2 * PS, UVM_KMF_WIRED);
    // A buggy free would leave this behind: a uvm_km page mapped in freed VA.
    vm_page* pg = uvm_pagealloc(&g.km_wired_object, 0, nullptr, 0);
    pmap_kenter_pa(va, VM_PAGE_TO_PHYS(pg), VM_PROT_READ, 0);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_NE(invariant_problems(*s.e).find("outside every wired allocation"), std::string::npos)
      << invariant_problems(*s.e);
}

TEST(UvmKmInvariant, CatchesAWiredPageThatWasNeverMapped) {
  Sim s(1, 64);
  s.lwp("t", 0, [&] {
    kasim_vm_boot(s.boot_params());
    uvm_km_globals& g = uvm_km_globals_get();
    vaddr_t va = uvm_km_alloc(g.kernel_map, 2 * PS, 0, UVM_KMF_WIRED);
    pmap_kremove(va + PS, PS);  // a bug: one page of the allocation lost its mapping
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  const std::string p = invariant_problems(*s.e);
  EXPECT_NE(p.find("is not mapped"), std::string::npos) << p;
  EXPECT_NE(p.find("leaked"), std::string::npos) << p;
}

TEST(VmemInvariant, RunsVmemCheckOnEveryArena) {
  Sim s(1, 64);
  s.lwp("t", 0, [&] {
    kasim_vm_boot(s.boot_params());
    vmem_t* vm = vmem_create("bad", 0x1000, 0x4000, 0x1000, nullptr, nullptr, nullptr, 0,
                             VM_NOSLEEP, IPL_VM);
    vm->vm_inuse = 0x1000;  // corrupt it
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  const std::string p = invariant_problems(*s.e);
  EXPECT_NE(p.find("vmem: vmem bad: vm_inuse"), std::string::npos) << p;
}

}  // namespace
}  // namespace kasim::test
