// tests/vmem/vmem_test.cpp: each vmem(9) rule of NETBSD-ALLOCATORS.md §2 and
// §12 items 28-39, on the simulated machine.
#include <algorithm>
#include <vector>

#include "tests/vmem/harness.h"

namespace kasim::test {
namespace {

constexpr vmem_size_t Q = 0x1000;
constexpr vmem_addr_t BASE = 0x100000;

vmem_t* arena(const char* name, vmem_size_t quanta, vm_flag_t flags = VM_NOSLEEP) {
  return vmem_create(name, BASE, quanta * Q, Q, nullptr, nullptr, nullptr, 0, flags, IPL_VM);
}

vmem_addr_t must_alloc(vmem_t* vm, vmem_size_t size, vm_flag_t flags = VM_NOSLEEP | VM_BESTFIT) {
  vmem_addr_t a = 0;
  int rc = vmem_alloc(vm, size, flags, &a);
  EXPECT_EQ(rc, 0) << "vmem_alloc(" << size << ")";
  return a;
}

// The free list holding a segment that starts at addr, or -1.
int freelist_of(const vmem_t* vm, vmem_addr_t addr) {
  for (int i = 0; i < VMEM_MAXORDER; i++)
    for (const bt_t* bt = vm->vm_freelist[i].lh_first; bt; bt = bt->bt_list_next)
      if (bt->bt_start == addr) return i;
  return -1;
}

// Segments (type, start, size) in seglist order.
struct Seg {
  short type;
  vmem_addr_t start;
  vmem_size_t size;
  bool operator==(const Seg&) const = default;
};
std::vector<Seg> segs(const vmem_t* vm) {
  std::vector<Seg> v;
  for (const bt_t* bt = vm->vm_seg_first; bt; bt = bt->bt_seg_next)
    v.push_back({bt->bt_type, bt->bt_start, bt->bt_size});
  return v;
}
std::ostream& operator<<(std::ostream& os, const Seg& s) {
  return os << "{" << s.type << ", 0x" << std::hex << s.start << ", 0x" << s.size << std::dec
            << "}";
}

TEST(Vmem, AllocRoundsUpToTheQuantumAndSplitsAtTheFront) {
  expect_clean([] {
    vmem_t* vm = arena("a", 16);
    vmem_addr_t a = must_alloc(vm, 1);
    EXPECT_EQ(a, BASE);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC), Q);
    EXPECT_EQ(vmem_size(vm, VMEM_FREE), 15 * Q);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC | VMEM_FREE), 16 * Q);
    EXPECT_EQ(vmem_roundup_size(vm, Q + 1), 2 * Q);
    // §12.32: the busy segment has exactly roundup(size) bytes, at the front.
    std::vector<Seg> want = {{BT_TYPE_SPAN_STATIC, BASE, 16 * Q},
                             {BT_TYPE_BUSY, BASE, Q},
                             {BT_TYPE_FREE, BASE + Q, 15 * Q}};
    EXPECT_EQ(segs(vm), want);
    EXPECT_EQ(problems(vm), "");
    vmem_free(vm, a, 1);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC), 0u);
    vmem_destroy(vm);
  });
}

TEST(Vmem, FreeSegmentsLiveOnFloorLog2Lists) {
  expect_clean([] {
    vmem_t* vm = arena("a", 64);
    // Carve free holes of 1, 2, 3, 4, 7 quanta separated by busy quanta.
    std::vector<vmem_addr_t> holes;
    for (vmem_size_t q : {1, 2, 3, 4, 7}) {
      holes.push_back(must_alloc(vm, q * Q));
      must_alloc(vm, Q);
    }
    size_t i = 0;
    for (vmem_size_t q : {1, 2, 3, 4, 7}) vmem_free(vm, holes[i++], q * Q);
    EXPECT_EQ(freelist_of(vm, holes[0]), 0);
    EXPECT_EQ(freelist_of(vm, holes[1]), 1);
    EXPECT_EQ(freelist_of(vm, holes[2]), 1);
    EXPECT_EQ(freelist_of(vm, holes[3]), 2);
    EXPECT_EQ(freelist_of(vm, holes[4]), 2);
    // LIFO: the 3-quantum hole was freed after the 2-quantum one, so it heads list 1.
    EXPECT_EQ(vm->vm_freelist[1].lh_first->bt_start, holes[2]);
    EXPECT_EQ(vm->vm_freelist[2].lh_first->bt_start, holes[4]);
    EXPECT_EQ(problems(vm), "");
  });
}

// Builds: list 1 = [3q hole (head), 2q hole], and a large free tail.
struct Holes {
  vmem_addr_t h2, h3, tail;
};
Holes make_holes(vmem_t* vm) {
  Holes h;
  h.h2 = must_alloc(vm, 2 * Q);
  must_alloc(vm, Q);
  h.h3 = must_alloc(vm, 3 * Q);
  must_alloc(vm, Q);
  h.tail = h.h3 + 4 * Q;
  vmem_free(vm, h.h2, 2 * Q);
  vmem_free(vm, h.h3, 3 * Q);
  return h;
}

TEST(Vmem, InstantFitLooksAtHeadsOfListsAtLeastCeilLog2) {
  expect_clean([] {
    vmem_t* vm = arena("a", 64);
    Holes h = make_holes(vm);
    // 2 quanta is a power of 2: list 1's head (the 3q hole) is big enough.
    EXPECT_EQ(must_alloc(vm, 2 * Q, VM_NOSLEEP | VM_INSTANTFIT), h.h3);
    EXPECT_EQ(problems(vm), "");
  });
  expect_clean([] {
    vmem_t* vm = arena("a", 64);
    Holes h = make_holes(vm);
    // 3 quanta: instant-fit starts at list 2 and takes the tail, although the
    // 3q hole on list 1 would fit exactly.
    EXPECT_EQ(must_alloc(vm, 3 * Q, VM_NOSLEEP | VM_INSTANTFIT), h.tail);
  });
}

TEST(Vmem, BestFitScansFromFloorLog2InListOrder) {
  expect_clean([] {
    vmem_t* vm = arena("a", 64);
    Holes h = make_holes(vm);
    // Best-fit starts at list 1 and walks it: the 3q hole (head) fits first.
    EXPECT_EQ(must_alloc(vm, 3 * Q, VM_NOSLEEP | VM_BESTFIT), h.h3);
  });
  expect_clean([] {
    vmem_t* vm = arena("a", 64);
    Holes h = make_holes(vm);
    // For 2 quanta, list order wins over the smaller exact fit: the 3q head.
    EXPECT_EQ(must_alloc(vm, 2 * Q, VM_NOSLEEP | VM_BESTFIT), h.h3);
    EXPECT_EQ(must_alloc(vm, 2 * Q, VM_NOSLEEP | VM_BESTFIT), h.h2);
  });
}

TEST(Vmem, InstantFitFallsBackToBestFit) {
  expect_clean([] {
    vmem_t* vm = arena("a", 8);
    vmem_addr_t a = must_alloc(vm, 3 * Q);
    must_alloc(vm, 5 * Q);  // arena full except the hole we free next
    vmem_free(vm, a, 3 * Q);
    // Only list 1 holds a fitting block; instant-fit looks at lists >= 2,
    // finds nothing and retries as best-fit.
    EXPECT_EQ(must_alloc(vm, 3 * Q, VM_NOSLEEP | VM_INSTANTFIT), a);
  });
}

TEST(Vmem, AlignmentGapBecomesAFreeSegmentBeforeTheBusyOne) {
  expect_clean([] {
    vmem_t* vm = arena("a", 16);
    must_alloc(vm, Q);  // free block now starts at BASE + Q
    vmem_addr_t a = 0;
    ASSERT_EQ(vmem_xalloc(vm, 2 * Q, 4 * Q, 0, 0, VMEM_ADDR_MIN, VMEM_ADDR_MAX,
                          VM_NOSLEEP | VM_BESTFIT, &a),
              0);
    EXPECT_EQ(a, BASE + 4 * Q);  // BASE is 64 KiB aligned
    std::vector<Seg> want = {{BT_TYPE_SPAN_STATIC, BASE, 16 * Q},
                             {BT_TYPE_BUSY, BASE, Q},
                             {BT_TYPE_FREE, BASE + Q, 3 * Q},
                             {BT_TYPE_BUSY, BASE + 4 * Q, 2 * Q},
                             {BT_TYPE_FREE, BASE + 6 * Q, 10 * Q}};
    EXPECT_EQ(segs(vm), want);
    EXPECT_EQ(problems(vm), "");
  });
}

TEST(Vmem, XallocHonoursPhaseNocrossAndInclusiveMaxaddr) {
  expect_clean([] {
    vmem_t* vm = arena("a", 64);
    vmem_addr_t a = 0;
    // phase: start = k*align + phase
    ASSERT_EQ(vmem_xalloc(vm, Q, 8 * Q, 3 * Q, 0, 0, VMEM_ADDR_MAX, VM_NOSLEEP | VM_BESTFIT, &a),
              0);
    EXPECT_EQ(a, BASE + 3 * Q);
    // nocross: a 4q block may not straddle an 8q boundary; the free block
    // starts at BASE+4q, so [4q, 8q) fits exactly; the next one would cross.
    vmem_addr_t b = 0, c = 0;
    ASSERT_EQ(vmem_xalloc(vm, 4 * Q, 0, 0, 8 * Q, 0, VMEM_ADDR_MAX, VM_NOSLEEP | VM_BESTFIT, &b),
              0);
    EXPECT_EQ(b, BASE + 4 * Q);
    // Instant-fit skips the 3q gap at the front (list 1) for the tail.
    ASSERT_EQ(vmem_xalloc(vm, 3 * Q, 0, 0, 4 * Q, 0, VMEM_ADDR_MAX, VM_NOSLEEP | VM_INSTANTFIT,
                          &c),
              0);
    EXPECT_EQ(c, BASE + 8 * Q);
    vmem_addr_t d = 0;
    ASSERT_EQ(vmem_xalloc(vm, 2 * Q, 0, 0, 4 * Q, BASE + 11 * Q, VMEM_ADDR_MAX,
                          VM_NOSLEEP | VM_BESTFIT, &d),
              0);
    EXPECT_EQ(d, BASE + 12 * Q);  // BASE+11q would cross BASE+12q
    EXPECT_EQ(vmem_busy_size(vm, BASE + 11 * Q), 0u);  // the skipped quantum stays free
    // maxaddr is inclusive: exactly [BASE+40q, BASE+42q) with maxaddr = end-1.
    vmem_addr_t e = 0;
    ASSERT_EQ(vmem_xalloc(vm, 2 * Q, 0, 0, 0, BASE + 40 * Q, BASE + 42 * Q - 1,
                          VM_NOSLEEP | VM_BESTFIT, &e),
              0);
    EXPECT_EQ(e, BASE + 40 * Q);
    // One byte less and it no longer fits.
    EXPECT_EQ(vmem_xalloc(vm, 2 * Q, 0, 0, 0, BASE + 50 * Q, BASE + 52 * Q - 2,
                          VM_NOSLEEP | VM_BESTFIT, &e),
              kENOMEM);
    EXPECT_EQ(problems(vm), "");
  });
}

TEST(Vmem, XallocAddrTakesExactlyThatRange) {
  expect_clean([] {
    vmem_t* vm = arena("a", 16);
    EXPECT_EQ(vmem_xalloc_addr(vm, BASE + 5 * Q, 2 * Q, VM_NOSLEEP), 0);
    EXPECT_EQ(vmem_busy_size(vm, BASE + 5 * Q), 2 * Q);
    EXPECT_EQ(vmem_xalloc_addr(vm, BASE + 6 * Q, Q, VM_NOSLEEP), kENOMEM);
    vmem_xfree(vm, BASE + 5 * Q, 2 * Q);
    EXPECT_EQ(problems(vm), "");
  });
}

TEST(Vmem, FreeCoalescesWithBothNeighbours) {
  expect_clean([] {
    vmem_t* vm = arena("a", 8);
    vmem_addr_t a = must_alloc(vm, 2 * Q), b = must_alloc(vm, 2 * Q), c = must_alloc(vm, 2 * Q);
    must_alloc(vm, 2 * Q);
    vmem_free(vm, a, 2 * Q);
    vmem_free(vm, c, 2 * Q);
    EXPECT_EQ(vmem_count_segments(vm, BT_TYPE_FREE), 2u);
    vmem_free(vm, b, 2 * Q);
    EXPECT_EQ(vmem_count_segments(vm, BT_TYPE_FREE), 1u);
    std::vector<Seg> want = {{BT_TYPE_SPAN_STATIC, BASE, 8 * Q},
                             {BT_TYPE_FREE, BASE, 6 * Q},
                             {BT_TYPE_BUSY, BASE + 6 * Q, 2 * Q}};
    EXPECT_EQ(segs(vm), want);
    EXPECT_EQ(freelist_of(vm, BASE), 2);
    EXPECT_EQ(problems(vm), "");
  });
}

TEST(Vmem, CoalescingNeverCrossesASpan) {
  expect_clean([] {
    vmem_t* vm = arena("a", 4);
    ASSERT_EQ(vmem_add(vm, BASE + 4 * Q, 4 * Q, VM_NOSLEEP), 0);  // adjacent span
    vmem_addr_t a = must_alloc(vm, 4 * Q), b = must_alloc(vm, 4 * Q);
    EXPECT_EQ(a, BASE + 4 * Q);  // the newer span's free segment heads list 2
    EXPECT_EQ(b, BASE);
    vmem_addr_t none;
    EXPECT_EQ(vmem_alloc(vm, Q, VM_NOSLEEP | VM_BESTFIT, &none), kENOMEM);
    // 8 free quanta in two adjacent spans still cannot satisfy 5.
    vmem_free(vm, a, 4 * Q);
    vmem_free(vm, b, 4 * Q);
    EXPECT_EQ(vmem_count_segments(vm, BT_TYPE_FREE), 2u);
    vmem_addr_t c;
    EXPECT_EQ(vmem_alloc(vm, 5 * Q, VM_NOSLEEP | VM_BESTFIT, &c), kENOMEM);
    EXPECT_EQ(vmem_size(vm, VMEM_FREE), 8 * Q);
    EXPECT_EQ(problems(vm), "");
  });
}

TEST(Vmem, NosleepReturnsEnomemWhenFullAndWithoutImport) {
  expect_clean([] {
    vmem_t* vm = arena("a", 4);
    vmem_addr_t a;
    EXPECT_EQ(vmem_alloc(vm, 5 * Q, VM_NOSLEEP | VM_INSTANTFIT, &a), kENOMEM);
    EXPECT_EQ(vmem_alloc(vm, 4 * Q, VM_NOSLEEP | VM_INSTANTFIT, &a), 0);
    EXPECT_EQ(vmem_alloc(vm, Q, VM_NOSLEEP | VM_INSTANTFIT, &a), kENOMEM);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC), 4 * Q);
  });
}

// --- import and release ------------------------------------------------------

TEST(Vmem, ImportFromSourceAndReleaseAWhollyFreeSpanAtOnce) {
  expect_clean([] {
    vmem_t* src = arena("src", 64);
    vmem_t* vm = vmem_create("child", 0, 0, Q, vmem_alloc, vmem_free, src, 0, VM_NOSLEEP, IPL_VM);
    ASSERT_NE(vm, nullptr);
    vmem_addr_t a = must_alloc(vm, 2 * Q, VM_NOSLEEP | VM_INSTANTFIT);
    EXPECT_EQ(vmem_size(src, VMEM_ALLOC), 2 * Q);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC | VMEM_FREE), 2 * Q);
    EXPECT_EQ(vm->vm_nimport, 1u);
    EXPECT_EQ(segs(vm).front().type, BT_TYPE_SPAN);
    vmem_addr_t b = must_alloc(vm, Q, VM_NOSLEEP | VM_INSTANTFIT);  // a second import
    EXPECT_EQ(vm->vm_nimport, 2u);
    vmem_free(vm, a, 2 * Q);
    // The first span is wholly free: released to the source immediately.
    EXPECT_EQ(vm->vm_nrelease, 1u);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC | VMEM_FREE), Q);
    EXPECT_EQ(vmem_size(src, VMEM_ALLOC), Q);
    vmem_free(vm, b, Q);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC | VMEM_FREE), 0u);
    EXPECT_EQ(vmem_size(src, VMEM_ALLOC), 0u);
    EXPECT_EQ(problems(vm) + problems(src), "");
    vmem_destroy(vm);
    vmem_destroy(src);
  });
}

TEST(Vmem, StaticSpansAndSpansWithoutReleasefnStay) {
  expect_clean([] {
    vmem_t* src = arena("src", 64);
    vmem_t* vm = vmem_create("child", 0, 0, Q, vmem_alloc, vmem_free, src, 0, VM_NOSLEEP, IPL_VM);
    ASSERT_EQ(vmem_add(vm, 0x900000, 4 * Q, VM_NOSLEEP), 0);
    vmem_addr_t a = must_alloc(vm, 4 * Q);
    EXPECT_EQ(a, 0x900000u);
    vmem_free(vm, a, 4 * Q);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC | VMEM_FREE), 4 * Q);  // static: kept
    EXPECT_EQ(vm->vm_nrelease, 0u);

    vmem_t* norel = vmem_create("norel", 0, 0, Q, vmem_alloc, nullptr, src, 0, VM_NOSLEEP, IPL_VM);
    vmem_addr_t b = must_alloc(norel, 2 * Q);
    vmem_free(norel, b, 2 * Q);
    EXPECT_EQ(vmem_size(norel, VMEM_ALLOC | VMEM_FREE), 2 * Q);  // no releasefn: kept
    EXPECT_EQ(vmem_size(src, VMEM_ALLOC), 2 * Q);
    EXPECT_EQ(problems(vm) + problems(norel) + problems(src), "");
  });
}

TEST(Vmem, LargeImportMultipliesTheImportBy16) {
  expect_clean([] {
    vmem_t* src = arena("src", 64);
    vmem_t* vm = vmem_create("big", 0, 0, Q, vmem_alloc, vmem_free, src, 0,
                             VM_NOSLEEP | VM_LARGEIMPORT, IPL_VM);
    vmem_addr_t a = must_alloc(vm, Q);
    EXPECT_EQ(vmem_size(src, VMEM_ALLOC), 16 * Q);
    EXPECT_EQ(vmem_size(vm, VMEM_FREE), 15 * Q);
    vmem_free(vm, a, Q);
    EXPECT_EQ(vmem_size(src, VMEM_ALLOC), 0u);
  });
}

struct XImportLog {
  int calls = 0;
  bool lock_held_in_import = false;
};
XImportLog* g_xlog = nullptr;  // only touched inside one single-threaded test run
vmem_t* g_child = nullptr;

int ximport_double(vmem_t* src, vmem_size_t size, vmem_size_t* actual, vm_flag_t flags,
                   vmem_addr_t* addrp) {
  g_xlog->calls++;
  g_xlog->lock_held_in_import = mutex_owned(&g_child->vm_lock);
  *actual = 2 * size;
  return vmem_alloc(src, 2 * size, flags, addrp);
}

TEST(Vmem, XcreateImportMayReturnMoreAndTheLockIsDroppedAroundIt) {
  XImportLog log;
  g_xlog = &log;
  expect_clean([] {
    vmem_t* src = arena("src", 64);
    g_child = vmem_xcreate("x", 0, 0, Q, ximport_double, vmem_free, src, 0, VM_NOSLEEP, IPL_VM);
    EXPECT_NE(g_child->vm_flags & VM_XIMPORT, 0u);
    vmem_addr_t a = must_alloc(g_child, 3 * Q);
    EXPECT_EQ(vmem_size(g_child, VMEM_ALLOC | VMEM_FREE), 6 * Q);
    must_alloc(g_child, 3 * Q);
    EXPECT_EQ(g_xlog->calls, 1);  // the second fit came from the extra 3 quanta
    vmem_free(g_child, a, 3 * Q);
  });
  EXPECT_EQ(log.calls, 1);
  EXPECT_FALSE(log.lock_held_in_import);
  g_xlog = nullptr;
  g_child = nullptr;
}

TEST(Vmem, ConstrainedXallocNeverImports) {
  expect_clean([] {
    vmem_t* src = arena("src", 64);
    vmem_t* vm = vmem_create("child", 0, 0, Q, vmem_alloc, vmem_free, src, 0, VM_NOSLEEP, IPL_VM);
    vmem_addr_t a;
    EXPECT_EQ(vmem_xalloc(vm, Q, 2 * Q, 0, 0, 0, VMEM_ADDR_MAX, VM_NOSLEEP | VM_BESTFIT, &a),
              kENOMEM);
    EXPECT_EQ(vmem_xalloc(vm, Q, 2 * Q, Q, 0, 0, VMEM_ADDR_MAX, VM_NOSLEEP | VM_BESTFIT, &a),
              kENOMEM);
    EXPECT_EQ(vmem_xalloc(vm, Q, 0, 0, 4 * Q, 0, VMEM_ADDR_MAX, VM_NOSLEEP | VM_BESTFIT, &a),
              kENOMEM);
    // Even VM_SLEEP: a constrained xalloc fails instead of importing or sleeping.
    EXPECT_EQ(vmem_xalloc(vm, Q, 2 * Q, 0, 0, 0, VMEM_ADDR_MAX, VM_SLEEP | VM_BESTFIT, &a),
              kENOMEM);
    EXPECT_EQ(vm->vm_nimport, 0u);
    EXPECT_EQ(vmem_size(src, VMEM_ALLOC), 0u);
    // align == quantum is not a constraint: it imports.
    EXPECT_EQ(vmem_xalloc(vm, Q, Q, 0, 0, 0, VMEM_ADDR_MAX, VM_NOSLEEP | VM_BESTFIT, &a), 0);
    EXPECT_EQ(vm->vm_nimport, 1u);
  });
}

TEST(Vmem, ImportIgnoresMinaddrAndLeavesTheSpansBehind) {
  // NetBSD's "XXX eeek": import does not respect minaddr/maxaddr, so an
  // unconstrained xalloc with an address window imports until the source is
  // exhausted, leaving wholly free imported spans (vmem_check reports them).
  Sim s;
  s.lwp("t", 0, [] {
    vmem_t* src = arena("src", 8);
    vmem_t* vm = vmem_create("child", 0, 0, Q, vmem_alloc, vmem_free, src, 0, VM_NOSLEEP, IPL_VM);
    vmem_addr_t a;
    EXPECT_EQ(vmem_xalloc(vm, Q, 0, 0, 0, 0x10, 0x20 + 2 * Q, VM_NOSLEEP | VM_BESTFIT, &a),
              kENOMEM);
    EXPECT_EQ(vm->vm_nimport, 8u);
    EXPECT_EQ(vmem_size(src, VMEM_FREE), 0u);
    std::vector<std::string> p = vmem_check(vm);
    ASSERT_FALSE(p.empty());
    EXPECT_NE(p[0].find("wholly free but was not released"), std::string::npos) << p[0];
  });
  EXPECT_EQ(s.run(), Outcome::completed) << s.finding();
}

// --- VM_SLEEP --------------------------------------------------------------------

TEST(Vmem, SleepingAllocationOnOneCpuIsWokenByAFreeOnAnother) {
  Sim s(2);
  vmem_t* vm = nullptr;
  vmem_addr_t held = 0, got = 0;
  uint64_t freed_at = 0, woke_at = 0;
  int rc = -1;
  s.lwp("filler", 0, [&] {
    vm = arena("a", 4, VM_SLEEP);
    held = must_alloc(vm, 4 * Q, VM_SLEEP | VM_INSTANTFIT);
    delay_ns(1'000'000);  // let the other CPU block
    freed_at = kernel_now_ns();
    vmem_free(vm, held, 4 * Q);
  });
  s.lwp("sleeper", 1, [&] {
    delay_ns(100'000);  // after the filler
    rc = vmem_alloc(vm, 2 * Q, VM_SLEEP | VM_INSTANTFIT, &got);
    woke_at = kernel_now_ns();
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(got, BASE);
  EXPECT_GE(vm->vm_nsleep, 1u);
  EXPECT_GE(woke_at, freed_at);
  EXPECT_GT(freed_at, 0u);
  EXPECT_EQ(problems(vm), "");
}

TEST(Vmem, SleepWithNothingToFreeIsADeadlockNotAFailure) {
  Sim s;
  s.lwp("t", 0, [] {
    vmem_t* vm = arena("a", 1, VM_SLEEP);
    vmem_addr_t a;
    must_alloc(vm, Q);
    (void)vmem_alloc(vm, Q, VM_SLEEP | VM_BESTFIT, &a);  // never returns
    ADD_FAILURE() << "VM_SLEEP returned";
  });
  EXPECT_EQ(s.run(), Outcome::finding);
  EXPECT_EQ(s.e->findings().front().kind, "deadlock");
}

TEST(Vmem, SleepFromInterruptIsAContractFinding) {
  Sim s;
  vmem_t* vm = nullptr;
  s.lwp("t", 0, [&] {
    vm = arena("a", 4);
    delay_ns(10'000);
  });
  s.e->add_interrupt("nic", 0, IPL_VM, {5'000}, 0, 0, [&] {
    vmem_addr_t a;
    (void)vmem_alloc(vm, Q, VM_SLEEP | VM_BESTFIT, &a);
  });
  EXPECT_EQ(s.run(), Outcome::finding);
  EXPECT_EQ(s.e->findings().front().kind, "contract");
  EXPECT_NE(s.finding().find("vmem_alloc: VM_SLEEP from interrupt context"), std::string::npos)
      << s.finding();
}

TEST(Vmem, NosleepFromInterruptIsFine) {
  Sim s;
  vmem_t* vm = nullptr;
  int rc = -1;
  s.lwp("t", 0, [&] {
    vm = arena("a", 4);
    delay_ns(10'000);
  });
  s.e->add_interrupt("nic", 0, IPL_VM, {5'000}, 0, 0, [&] {
    vmem_addr_t a;
    rc = vmem_alloc(vm, Q, VM_NOSLEEP | VM_BESTFIT, &a);
    vmem_free(vm, a, Q);
  });
  EXPECT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_EQ(rc, 0);
}

TEST(Vmem, LockIsSpinAtIplVmAndAdaptiveAtIplNone) {
  expect_clean([] {
    vmem_t* a = vmem_create("vm", BASE, Q, Q, nullptr, nullptr, nullptr, 0, VM_SLEEP, IPL_VM);
    vmem_t* b = vmem_create("none", BASE, Q, Q, nullptr, nullptr, nullptr, 0, VM_SLEEP, IPL_NONE);
    EXPECT_TRUE(a->vm_lock.spin);
    EXPECT_FALSE(b->vm_lock.spin);
  });
}

// --- boundary tags ------------------------------------------------------------------

TEST(Vmem, TagExhaustionUnderNosleepIsEnomemWithSpaceLeft) {
  FaultConfig fc;
  fc.enabled = true;
  fc.site_percent = 100;
  fc.fire_percent = 50;
  Sim s(1, 1024, fc);
  int enomem_with_space = 0;
  s.lwp("t", 0, [&] {
    vmem_t* vm = nullptr;
    // VM_SLEEP at create: adding the span waits for tags instead of failing.
    vm = vmem_create("a", BASE, 4096 * Q, Q, nullptr, nullptr, nullptr, 0, VM_SLEEP, IPL_VM);
    ASSERT_NE(vm, nullptr);
    for (int i = 0; i < 400; i++) {
      vmem_addr_t a;
      int rc = vmem_alloc(vm, Q, VM_NOSLEEP | VM_INSTANTFIT, &a);
      if (rc == kENOMEM) {
        EXPECT_GT(vmem_size(vm, VMEM_FREE), 0u);
        enomem_with_space++;
      }
    }
    EXPECT_GT(vm->vm_nbtfail, 0u);
    EXPECT_EQ(problems(vm), "");
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_GT(enomem_with_space, 0);
}

TEST(Vmem, TagExhaustionUnderSleepWaitsAndRetries) {
  FaultConfig fc;
  fc.enabled = true;
  fc.site_percent = 100;
  fc.fire_percent = 50;
  Sim s(1, 1024, fc);
  s.lwp("t", 0, [&] {
    vmem_t* vm = vmem_create("a", BASE, 4096 * Q, Q, nullptr, nullptr, nullptr, 0, VM_SLEEP, IPL_VM);
    ASSERT_NE(vm, nullptr);
    for (int i = 0; i < 400; i++) must_alloc(vm, Q, VM_SLEEP | VM_INSTANTFIT);
    EXPECT_GT(vm->vm_nbtfail, 0u);  // it had to kpause at least once
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC), 400 * Q);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
}

TEST(Vmem, PrivateTagsOnlyArenaRunsOutOfTags) {
  std::vector<vmem_btag> tags(3);  // caller-owned: must outlive the machine
  expect_clean([&] {
    vmem_t* vm = vmem_create("priv", 0, 0, Q, nullptr, nullptr, nullptr, 0,
                             VM_NOSLEEP | VM_PRIVTAGS, IPL_VM);
    vmem_add_bts(vm, tags.data(), 3);
    ASSERT_EQ(vmem_add(vm, BASE, 8 * Q, VM_NOSLEEP), 0);  // uses 2
    vmem_addr_t a;
    // xalloc reserves two tags up front: only one is left.
    EXPECT_EQ(vmem_alloc(vm, Q, VM_NOSLEEP | VM_BESTFIT, &a), kENOMEM);
    EXPECT_EQ(vmem_size(vm, VMEM_FREE), 8 * Q);
    EXPECT_EQ(problems(vm), "");
  });
}

TEST(Vmem, ReserveIsTrimmedToBtMaxfreeAfterAFree) {
  expect_clean([] {
    vmem_t* vm = arena("a", 1024);
    std::vector<vmem_addr_t> v;
    for (int i = 0; i < 300; i++) v.push_back(must_alloc(vm, Q));
    for (int i = 0; i < 300; i += 2) vmem_free(vm, v[i], Q);  // no coalescing: no tags back
    for (int i = 1; i < 300; i += 2) vmem_free(vm, v[i], Q);  // each merges 2 neighbours
    EXPECT_LE(vm->vm_nfreetags, BT_MAXFREE);
    EXPECT_GT(vm->vm_nfreetags, BT_MINRESERVE);
    EXPECT_EQ(vmem_count_segments(vm, BT_TYPE_FREE), 1u);
    EXPECT_EQ(problems(vm), "");
  });
}

// --- busy hash --------------------------------------------------------------------

TEST(Vmem, BusyHashGrowsAndShrinksEveryTenSeconds) {
  expect_clean([] {
    vmem_t* vm = arena("a", 1024);
    EXPECT_EQ(vm->vm_hashsize, 1u);
    std::vector<vmem_addr_t> v;
    for (int i = 0; i < 100; i++) v.push_back(must_alloc(vm, Q));
    EXPECT_EQ(vm->vm_hashsize, 1u);  // no rehash before the period ends
    EXPECT_EQ(vm->vm_maxbusytag, 100u);
    for (int i = 0; i < 90; i++) vmem_free(vm, v[i], Q);
    v.erase(v.begin(), v.begin() + 90);
    delay_ns(VMEM_REHASH_INTERVAL_NS);
    v.push_back(must_alloc(vm, Q));
    EXPECT_EQ(vm->vm_hashsize, 128u);  // 1 << (ilog2(100) + 1)
    EXPECT_EQ(vm->vm_maxbusytag, 49u);  // decayed to max/2 - 1
    EXPECT_EQ(problems(vm), "");
    for (vmem_addr_t a : v) vmem_free(vm, a, Q);
    // The high-water mark decays on each rehash until the table shrinks.
    for (int period = 0; period < 8 && vm->vm_hashsize > 4; period++) {
      delay_ns(VMEM_REHASH_INTERVAL_NS);
      vmem_addr_t a = must_alloc(vm, Q);
      vmem_free(vm, a, Q);
    }
    EXPECT_LE(vm->vm_hashsize, 4u);
    EXPECT_GE(vm->vm_nrehash, 2u);
    EXPECT_EQ(problems(vm), "");
  });
}

TEST(Vmem, HashIsNetbsdHash32Buf) {
  // hash32_buf of the 8 little-endian bytes, seed 5381, multiplier 257.
  auto ref = [](uint64_t a) {
    uint32_t h = 5381;
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = static_cast<unsigned char>(a >> (8 * i));
    for (unsigned char c : b) h = h * 257u + c;
    return h * 257u;
  };
  for (uint64_t a : {0ULL, 0x1000ULL, 0xffff800000123000ULL, 0x123456789abcdefULL})
    EXPECT_EQ(vmem_hash_addr(a), ref(a));
}

// --- misc API ----------------------------------------------------------------------

TEST(Vmem, XfreeallFreesEverythingAndReleasesImportedSpans) {
  expect_clean([] {
    vmem_t* src = arena("src", 64);
    vmem_t* vm = vmem_create("child", 0, 0, Q, vmem_alloc, vmem_free, src, 0, VM_NOSLEEP, IPL_VM);
    for (int i = 0; i < 10; i++) must_alloc(vm, (i % 3 + 1) * Q);
    vmem_xfreeall(vm);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC), 0u);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC | VMEM_FREE), 0u);
    EXPECT_EQ(vmem_size(src, VMEM_ALLOC), 0u);
    EXPECT_EQ(problems(vm) + problems(src), "");
    vmem_destroy(vm);
  });
}

TEST(Vmem, DumpUsesNetbsdFormat) {
  Sim s;
  std::string out;
  s.lwp("t", 0, [&] {
    vmem_t* vm = vmem_create("dumpme", 0x10000, 0x8000, 0x1000, nullptr, nullptr, nullptr, 0,
                             VM_NOSLEEP, IPL_VM);
    vmem_addr_t a;
    vmem_alloc(vm, 0x2000, VM_NOSLEEP | VM_BESTFIT, &a);
    out = vmem_dump_string(vm);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  // The first refill made tags 1..5 and the reserve is LIFO, so the span
  // took 5; every later bt_alloc found the reserve at BT_MINRESERVE and
  // refilled one: 6 is the free segment, 7 the busy one split off it.
  EXPECT_EQ(out,
            "vmem 0x1 'dumpme'\n"
            "\t0x5: 10000, 8000, 2(static span)\n"
            "\t0x7: 10000, 2000, 4(busy)\n"
            "\t0x6: 12000, 6000, 3(free)\n"
            "freelist[2]\n"
            "\t0x6: 12000, 6000, 3(free)\n");
}

TEST(Vmem, NameIsTruncatedTo16Characters) {
  expect_clean([] {
    vmem_t* vm = arena("abcdefghijklmnopqrstuvwxyz", 1);
    EXPECT_STREQ(vm->vm_name, "abcdefghijklmnop");
  });
}

// §2.4: qcache_max is clamped to 16 quanta, and a small vmem_alloc is an
// item of a quantum cache whose pool page (the smallest power of 2 above
// 3 * 16 quanta: 64 quanta) is the busy segment.
TEST(Vmem, QcacheMaxIsClampedTo16Quanta) {
  Sim s;
  s.lwp("t", 0, [&] {
    kasim_vm_boot(s.boot_params());  // the caches' metadata lives in kmem_meta_arena
    vmem_t* vm = vmem_create("q", BASE, 128 * Q, Q, nullptr, nullptr, nullptr, 100 * Q,
                             VM_NOSLEEP, IPL_VM);
    EXPECT_EQ(vm->vm_qcache_max, 16 * Q);
    EXPECT_EQ(vm->vm_qcache_pagesz, 64 * Q);
    vmem_addr_t a = must_alloc(vm, Q);
    EXPECT_EQ(vmem_busy_size(vm, a), 64 * Q);  // the first item starts the pool page
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC), 64 * Q);
    vmem_free(vm, a, Q);
    EXPECT_EQ(vmem_size(vm, VMEM_ALLOC), 64 * Q);  // back in the cache, still busy
    EXPECT_EQ(problems(vm), "");
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
}

TEST(Vmem, DestroyWithoutBusySegmentsIsClean) {
  expect_clean([] {
    vmem_t* vm = arena("a", 8);
    vmem_addr_t a = must_alloc(vm, Q);
    vmem_free(vm, a, Q);
    vmem_destroy(vm);
    EXPECT_TRUE(std::find(vmem_globals_get().vmem_list.begin(), vmem_globals_get().vmem_list.end(),
                          vm) == vmem_globals_get().vmem_list.end());
  });
}

// --- vmem_check catches what it claims to ---------------------------------------------

TEST(VmemCheck, FindsEachKindOfCorruption) {
  expect_clean([] {
    vmem_t* vm = arena("a", 16);
    vmem_addr_t a = must_alloc(vm, 2 * Q);
    must_alloc(vm, Q);
    ASSERT_EQ(problems(vm), "");
    auto has = [&](const char* needle) {
      std::string p = problems(vm);
      EXPECT_NE(p.find(needle), std::string::npos) << "wanted \"" << needle << "\" in:\n" << p;
    };
    vm->vm_inuse += Q;
    has("vm_inuse");
    vm->vm_inuse -= Q;
    vm->vm_size += Q;
    has("vm_size");
    vm->vm_size -= Q;
    vm->vm_nbusytag++;
    has("vm_nbusytag");
    vm->vm_nbusytag--;
    bt_t* busy = vm->vm_seg_first->bt_seg_next;  // [a, +2q)
    busy->bt_size += Q;                          // overlaps the next busy segment
    has("should start at");
    busy->bt_size -= Q;
    // A free segment on the wrong list.
    bt_t* tail = vm->vm_seg_last;
    vmem_btag_list* right = &vm->vm_freelist[3];
    ASSERT_EQ(right->lh_first, tail);
    right->lh_first = nullptr;
    vm->vm_freelist[0].lh_first = tail;
    tail->bt_list_prevp = &vm->vm_freelist[0].lh_first;
    has("not freelist[3]");
    vm->vm_freelist[0].lh_first = nullptr;
    right->lh_first = tail;
    tail->bt_list_prevp = &right->lh_first;
    ASSERT_EQ(problems(vm), "");
    // Two adjacent free segments (a coalescing bug).
    bt_t* mid = busy->bt_seg_next;  // the busy quantum before the free tail
    mid->bt_type = BT_TYPE_FREE;
    has("consecutive free");
    mid->bt_type = BT_TYPE_BUSY;
    (void)a;
    // Spans overlapping.
    ASSERT_EQ(vmem_add(vm, BASE + 8 * Q, 16 * Q, VM_NOSLEEP), 0);
    has("overwrapped spans");
  });
}

}  // namespace
}  // namespace kasim::test
