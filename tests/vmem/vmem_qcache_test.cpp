// tests/vmem/vmem_qcache_test.cpp: vmem's quantum caches (NETBSD-ALLOCATORS.md
// §2.4, §12 items 38-39): which caches qc_init creates and which sizes it
// aliases, the pool page size, routing through qcache[(size+qmask)>>qshift - 1],
// a free that leaves the arena's busy accounting unchanged, the flag
// mapping, qc_destroy, and vmem_check's qcache rules.
#include <vector>

#include "allocators/pool_cache/pool_cache.h"
#include "tests/vmem/harness.h"

namespace kasim::test {
namespace {

constexpr vmem_size_t PS = 4096;

// Runs body after kasim_vm_boot on a machine with phys_pages pages.
void booted(uint64_t phys_pages, const std::function<void(uvm_km_globals&)>& body) {
  Sim s(1, phys_pages);
  s.lwp("t", 0, [&] {
    kasim_vm_boot(s.boot_params());
    body(uvm_km_globals_get());
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
}

const pool* qpool(const vmem_t* vm, unsigned quanta) {
  return &vm->vm_qcache[quanta - 1]->qc_cache->pc_pool;
}

// §2.4 example: kmem_va_arena on 4 KiB pages: qcache_max 64 KiB, pool page
// 256 KiB; items per page 64, 32, 21, 16, 12, 10, 9, 8, 7, 6, 5, 5, 4, 4, 4, 4,
// so 11 shares 12's cache and 13-15 share 16's.
TEST(VmemQcache, KmemVaArenaSizesAndAliasing) {
  booted(16384, [](uvm_km_globals& g) {  // 64 MiB of kmem: not "small"
    const vmem_t* va = g.kmem_va_arena;
    EXPECT_EQ(va->vm_qcache_max, 16 * PS);
    EXPECT_EQ(va->vm_qcache_pagesz, 256 * 1024u);
    const unsigned ipp[] = {64, 32, 21, 16, 12, 10, 9, 8, 7, 6, 5, 5, 4, 4, 4, 4};
    for (unsigned i = 1; i <= 16; i++) {
      EXPECT_EQ(qpool(va, i)->pr_itemsperpage, ipp[i - 1]) << i;
      EXPECT_STREQ(va->vm_qcache_store[i - 1].qc_name, ("kva-" + std::to_string(i * PS)).c_str());
    }
    for (unsigned i : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 16}) {
      EXPECT_EQ(va->vm_qcache[i - 1], &va->vm_qcache_store[i - 1]) << i;
      EXPECT_EQ(qpool(va, i)->pr_size, i * PS) << i;
    }
    EXPECT_EQ(va->vm_qcache[10], va->vm_qcache[11]);  // 11 -> 12
    for (unsigned i : {13, 14, 15}) EXPECT_EQ(va->vm_qcache[i - 1], va->vm_qcache[15]) << i;
    // The caches' pools: quantum-aligned items, no header or item touched,
    // pages from the arena's own allocator.
    const pool* pp = qpool(va, 3);
    EXPECT_STREQ(pp->pr_wchan, "kva-12288");
    EXPECT_EQ(pp->pr_align, PS);
    EXPECT_EQ(pp->pr_roflags & (PR_NOALIGN | PR_NOTOUCH | PR_RECURSIVE),
              PR_NOALIGN | PR_NOTOUCH | PR_RECURSIVE);
    EXPECT_EQ(pool_pagesz(pp), 256 * 1024u);
    EXPECT_EQ(pp->pr_ipl, IPL_VM);
    // The aliased sizes' caches were destroyed: not on pool_head.
    unsigned nkva = 0;
    for (const pool* p : pool_globals_get().pool_head)
      nkva += std::string(p->pr_wchan).rfind("kva-", 0) == 0;
    EXPECT_EQ(nkva, 12u);
  });
}

// Under 64 MiB of kmem, qcache_max is 4 pages; the pool page is the smallest
// power of 2 above 48 KiB (64 KiB): 16, 8, 5, 4 per page, none aliased.
TEST(VmemQcache, SmallKmemHasFourCaches) {
  booted(1024, [](uvm_km_globals& g) {
    const vmem_t* va = g.kmem_va_arena;
    EXPECT_EQ(va->vm_qcache_max, 4 * PS);
    EXPECT_EQ(va->vm_qcache_pagesz, 64 * 1024u);
    const unsigned ipp[] = {16, 8, 5, 4};
    for (unsigned i = 1; i <= 4; i++) {
      EXPECT_EQ(va->vm_qcache[i - 1], &va->vm_qcache_store[i - 1]);
      EXPECT_EQ(qpool(va, i)->pr_itemsperpage, ipp[i - 1]);
    }
    // The other arenas have no quantum cache.
    EXPECT_EQ(g.kmem_arena->vm_qcache_max, 0u);
    EXPECT_EQ(g.kmem_meta_arena->vm_qcache_max, 0u);
  });
}

// qc_init aliases by items per page, whatever the quantum: 1-quantum arena
// with qcache_max 5 quanta: page 16 quanta; 16, 8, 5, 4, 3 per page.
TEST(VmemQcache, AliasingOnAnotherArena) {
  booted(1024, [](uvm_km_globals&) {
    vmem_t* vm = vmem_create("a", 0x100000, 256 * 0x100, 0x100, nullptr, nullptr, nullptr,
                             7 * 0x100, VM_SLEEP, IPL_VM);
    // 7 quanta: page = smallest 2^k > 21 quanta = 32 quanta; 32, 16, 10, 8,
    // 6, 5, 4 per page: none equal, so 7 caches.
    EXPECT_EQ(vm->vm_qcache_pagesz, 32 * 0x100u);
    for (unsigned i = 1; i <= 7; i++) EXPECT_EQ(vm->vm_qcache[i - 1], &vm->vm_qcache_store[i - 1]);
    EXPECT_STREQ(vm->vm_qcache_store[6].qc_name, "a-1792");
    vmem_destroy(vm);
    // 12 quanta: page 64 quanta; ... 9 -> 7, 10 -> 6, 11 -> 5, 12 -> 5: 11 aliases 12.
    vmem_t* w = vmem_create("b", 0x100000, 256 * 0x100, 0x100, nullptr, nullptr, nullptr,
                            12 * 0x100, VM_SLEEP, IPL_VM);
    EXPECT_EQ(w->vm_qcache[10], w->vm_qcache[11]);
    EXPECT_NE(w->vm_qcache[9], w->vm_qcache[10]);
    vmem_destroy(w);
  });
}

// §12 item 38: a size <= qcache_max goes through the quantum cache of
// ceil(size / quantum) quanta; the item lies inside a busy pool page, and
// freeing it leaves vm_inuse unchanged. The next allocation of that size
// gets it back (LIFO).
TEST(VmemQcache, FreeLeavesTheArenaBusyAccountingUnchanged) {
  booted(1024, [](uvm_km_globals& g) {
    vmem_t* va = g.kmem_va_arena;
    const vmem_size_t inuse0 = vmem_size(va, VMEM_ALLOC);
    vmem_addr_t a = 0, b = 0;
    ASSERT_EQ(vmem_alloc(va, 3 * PS - 100, VM_SLEEP | VM_INSTANTFIT, &a), 0);
    EXPECT_EQ(a % PS, 0u);
    EXPECT_EQ(qpool(va, 3)->pr_nout, 1u);
    EXPECT_EQ(vmem_size(va, VMEM_ALLOC), inuse0 + va->vm_qcache_pagesz);
    EXPECT_EQ(vmem_busy_size(va, a), va->vm_qcache_pagesz);  // the page, not the item
    vmem_free(va, a, 3 * PS - 100);
    EXPECT_EQ(vmem_size(va, VMEM_ALLOC), inuse0 + va->vm_qcache_pagesz);
    EXPECT_EQ(qpool(va, 3)->pr_nout, 1u);  // the cache holds it
    ASSERT_EQ(vmem_alloc(va, 3 * PS, VM_NOSLEEP | VM_INSTANTFIT, &b), 0);
    EXPECT_EQ(b, a);
    vmem_free(va, b, 3 * PS);
    // Bigger than qcache_max: a plain segment, returned at once.
    ASSERT_EQ(vmem_alloc(va, 5 * PS, VM_SLEEP | VM_INSTANTFIT, &a), 0);
    EXPECT_EQ(vmem_busy_size(va, a), 5 * PS);
    vmem_free(va, a, 5 * PS);
    EXPECT_EQ(vmem_busy_size(va, a), 0u);
    EXPECT_EQ(problems(va), "");
  });
}

// The cache's pages come back to the arena when the pool frees them: after
// invalidate (the objects go back to the pool) and a reclaim 10 s later.
TEST(VmemQcache, ReclaimReturnsPoolPagesToTheArena) {
  booted(1024, [](uvm_km_globals& g) {
    vmem_t* va = g.kmem_va_arena;
    const vmem_size_t inuse0 = vmem_size(va, VMEM_ALLOC);
    vmem_addr_t a = 0;
    ASSERT_EQ(vmem_alloc(va, PS, VM_SLEEP | VM_INSTANTFIT, &a), 0);
    vmem_free(va, a, PS);
    pool_cache_t pc = va->vm_qcache[0]->qc_cache;
    pool_cache_invalidate(pc);
    kpause("idle", false, 11 * hz, nullptr);
    EXPECT_EQ(pool_reclaim(&pc->pc_pool), 1);
    EXPECT_EQ(vmem_size(va, VMEM_ALLOC), inuse0);
  });
}

// prf_to_vmf / vmf_to_prf: VM_NOSLEEP is PR_NOWAIT, so an arena with no
// room and no import fails the cache's page allocation: ENOMEM.
TEST(VmemQcache, NosleepFailsWhenThePoolCannotGrow) {
  booted(1024, [](uvm_km_globals&) {
    // 20 quanta of space; qcache pages of 16 quanta (qcache_max 4).
    vmem_t* vm = vmem_create("n", 0x100000, 20 * 0x100, 0x100, nullptr, nullptr, nullptr,
                             4 * 0x100, VM_SLEEP, IPL_VM);
    EXPECT_EQ(vm->vm_qcache_pagesz, 16 * 0x100u);
    std::vector<vmem_addr_t> got;
    vmem_addr_t a = 0;
    while (vmem_alloc(vm, 4 * 0x100, VM_NOSLEEP | VM_INSTANTFIT, &a) == 0) got.push_back(a);
    EXPECT_EQ(got.size(), 4u);  // one pool page of 4 items; a second page does not fit
    EXPECT_EQ(vmem_alloc(vm, 4 * 0x100, VM_NOSLEEP | VM_INSTANTFIT, &a), kENOMEM);
    for (vmem_addr_t x : got) vmem_free(vm, x, 4 * 0x100);
    EXPECT_EQ(problems(vm), "");
    vmem_destroy(vm);
  });
}

// qc_destroy: a qcache item still out is the pool's "still out" KASSERT.
TEST(VmemQcache, DestroyWithAnItemOutIsAContractFinding) {
  Sim s;
  s.lwp("t", 0, [&] {
    kasim_vm_boot(s.boot_params());
    vmem_t* vm = vmem_create("d", 0x100000, 64 * 0x100, 0x100, nullptr, nullptr, nullptr,
                             2 * 0x100, VM_SLEEP, IPL_VM);
    vmem_addr_t a = 0;
    ASSERT_EQ(vmem_alloc(vm, 0x100, VM_SLEEP | VM_INSTANTFIT, &a), 0);
    vmem_destroy(vm);
  });
  ASSERT_EQ(s.run(), Outcome::finding);
  EXPECT_EQ(s.e->findings().front().kind, "contract");
  EXPECT_NE(s.e->findings().front().message.find("still out"), std::string::npos)
      << s.e->findings().front().message;
}

// qc_init's KASSERT: qcache_max is a multiple of the quantum.
TEST(VmemQcache, QcacheMaxMustBeAQuantumMultiple) {
  expect_contract(
      [] {
        (void)vmem_create("m", 0x100000, 64 * 0x100, 0x100, nullptr, nullptr, nullptr, 0x180,
                          VM_SLEEP, IPL_VM);
      },
      {"qcache_max 0x180 is not a multiple of the quantum"});
}

TEST(VmemQcache, XfreeallOnAQcacheArenaIsAContractFinding) {
  Sim s;
  s.lwp("t", 0, [&] {
    kasim_vm_boot(s.boot_params());
    vmem_xfreeall(uvm_km_globals_get().kmem_va_arena);
  });
  ASSERT_EQ(s.run(), Outcome::finding);
  EXPECT_NE(s.e->findings().front().message.find("has a quantum cache"), std::string::npos);
}

// vmem_check knows the quantum caches: a pool page that is not a busy
// segment of the qcache page size, a missing cache, a wrong-sized alias.
TEST(VmemQcache, CheckFindsQcacheDamage) {
  booted(1024, [](uvm_km_globals& g) {
    vmem_t* va = g.kmem_va_arena;
    vmem_addr_t a = 0;
    ASSERT_EQ(vmem_alloc(va, PS, VM_SLEEP | VM_INSTANTFIT, &a), 0);
    ASSERT_EQ(problems(va), "");
    va->vm_qcache_pagesz /= 2;
    EXPECT_NE(problems(va).find("is not a busy segment"), std::string::npos) << problems(va);
    va->vm_qcache_pagesz *= 2;
    qcache_t* saved = va->vm_qcache[1];
    va->vm_qcache[1] = va->vm_qcache[0];  // 2 pages served by the 1-page cache
    EXPECT_NE(problems(va).find("kva-4096 holds 4096-byte items, not 0x2000"), std::string::npos)
        << problems(va);
    va->vm_qcache[1] = nullptr;
    EXPECT_NE(problems(va).find("is missing"), std::string::npos) << problems(va);
    va->vm_qcache[1] = saved;
    EXPECT_EQ(problems(va), "");
    vmem_free(va, a, PS);
  });
}

}  // namespace
}  // namespace kasim::test
