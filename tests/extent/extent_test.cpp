// tests/extent/extent_test.cpp: extent(9) rules and quirks, one test per
// rule (NETBSD-ALLOCATORS.md §7 and §12 items 48-54), the overflow paths
// near ULONG_MAX, the sleeping paths, and extent_check on damaged extents.
#include "tests/extent/extent_harness.h"

namespace kasim::test {
namespace {

constexpr u_long kTop = ~0UL;

extent* mk(u_long start, u_long end, int flags = 0, const char* name = "tx") {
  return extent_create(name, start, end, 0, 0, flags | EX_WAITOK);
}

u_long alloc(extent* ex, u_long size, u_long align = 1, u_long boundary = 0, int flags = 0,
             u_long substart = 0, u_long subend = kTop, u_long skew = 0) {
  if (substart == 0 && subend == kTop) {
    substart = ex->ex_start;
    subend = ex->ex_end;
  }
  u_long r = 0;
  const int e = extent_alloc_subregion1(ex, substart, subend, size, align, skew, boundary, flags, &r);
  EXPECT_EQ(e, 0) << "size " << size;
  return r;
}

// §12.48: a conflicting extent_alloc_region returns EAGAIN and changes nothing;
// outside the extent it returns EINVAL.
TEST(Extent, AllocRegionConflictIsEAGAINAndOutsideIsEINVAL) {
  extent_clean([] {
    extent* ex = mk(0x100, 0x1ff);
    ASSERT_EQ(extent_alloc_region(ex, 0x120, 0x10, 0), 0);
    const ranges before = regions(ex);
    EXPECT_EQ(extent_alloc_region(ex, 0x12f, 1, 0), kEAGAIN);
    EXPECT_EQ(extent_alloc_region(ex, 0x110, 0x11, 0), kEAGAIN);
    EXPECT_EQ(extent_alloc_region(ex, 0x100, 0x100, 0), kEAGAIN);
    EXPECT_EQ(regions(ex), before);
    EXPECT_EQ(extent_alloc_region(ex, 0xff, 2, 0), kEINVAL);
    EXPECT_EQ(extent_alloc_region(ex, 0x1f0, 0x11, 0), kEINVAL);
    EXPECT_EQ(regions(ex), before);
    EXPECT_EQ(ex->ex_neagain, 3u);
    EXPECT_EQ(echk(ex), "");
    EXPECT_EQ(extent_globals_get().expool->pr_nout, 1u);  // the failed calls gave theirs back
  });
}

// §12.49: coalescing merges with both neighbours and prepends at the head;
// EX_NOCOALESCE keeps adjacent allocations apart and ex_flags is 0x2.
TEST(Extent, CoalescingAndNoCoalesce) {
  extent_clean([] {
    extent* ex = mk(0, 0xff);
    ASSERT_EQ(extent_alloc_region(ex, 0x20, 0x10, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x00, 0x10, 0), 0);
    EXPECT_EQ(regions(ex), (ranges{{0x0, 0xf}, {0x20, 0x2f}}));
    ASSERT_EQ(extent_alloc_region(ex, 0x10, 0x10, 0), 0);  // fills the gap exactly
    EXPECT_EQ(regions(ex), (ranges{{0x0, 0x2f}}));
    ASSERT_EQ(extent_alloc_region(ex, 0x40, 0x10, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x30, 0x10, 0), 0);  // appended and then joins the next
    EXPECT_EQ(regions(ex), (ranges{{0x0, 0x4f}}));
    EXPECT_EQ(extent_globals_get().expool->pr_nout, 1u);
    EXPECT_EQ(ex->ex_flags, 0);

    extent* nc = mk(0, 0xff, EX_NOCOALESCE, "nc");
    EXPECT_EQ(nc->ex_flags, EXF_NOCOALESCE);
    ASSERT_EQ(extent_alloc_region(nc, 0x20, 0x10, 0), 0);
    ASSERT_EQ(extent_alloc_region(nc, 0x00, 0x10, 0), 0);
    ASSERT_EQ(extent_alloc_region(nc, 0x10, 0x10, 0), 0);
    EXPECT_EQ(regions(nc), (ranges{{0x0, 0xf}, {0x10, 0x1f}, {0x20, 0x2f}}));
    EXPECT_EQ(echk(ex) + echk(nc), "");
    // Only whole regions can be freed from it.
    EXPECT_EQ(extent_free(nc, 0x10, 0x10, 0), 0);
    EXPECT_EQ(regions(nc), (ranges{{0x0, 0xf}, {0x20, 0x2f}}));
  });
}

// §12.50: EX_BOUNDZERO at create is dropped; per call it moves the lines to 0.
TEST(Extent, BoundZeroOnlyPerCall) {
  extent_clean([] {
    extent* ex = mk(0x110, 0xfff, EX_BOUNDZERO);
    EXPECT_EQ(ex->ex_flags, 0);
    // Lines from ex_start (0x110, 0x210, ...): 0x1c0 + 0x80 crosses 0x210.
    EXPECT_EQ(alloc(ex, 0x80, 1, 0x100, 0, 0x1c0, 0xfff), 0x210u);
    // Lines from 0 (0x100, 0x200, ...): the same request in 0x3c0.. lands on 0x400.
    EXPECT_EQ(alloc(ex, 0x80, 1, 0x100, EX_BOUNDZERO, 0x3c0, 0xfff), 0x400u);
    // Lines from ex_start again: 0x5c0 + 0x80 crosses 0x610 and moves there.
    EXPECT_EQ(alloc(ex, 0x80, 1, 0x100, 0, 0x5c0, 0xfff), 0x610u);
    EXPECT_EQ(echk(ex), "");
  });
}

// §12.51: after a boundary bump the start is the line, not re-aligned.
TEST(Extent, BoundaryBumpIsNotRealigned) {
  extent_clean([] {
    extent* ex = mk(0x110, 0xfff);
    const u_long r = alloc(ex, 0xe0, 0x40, 0x100);
    EXPECT_EQ(r, 0x210u);
    EXPECT_NE(r % 0x40, 0u);
    // No bump, no surprise: aligned.
    EXPECT_EQ(alloc(ex, 0x20, 0x40, 0x100), 0x140u);
    // The end never touches the next line: 0x300 + 0x10 ends at 0x30f < 0x310.
    EXPECT_EQ(alloc(ex, 0x10, 0x100, 0x100, 0, 0x2f0, 0xfff), 0x300u);
    EXPECT_EQ(echk(ex), "");
  });
}

// A request whose end would touch the next line moves to that line.
TEST(Extent, BoundaryEndMayNotTouchTheLine) {
  extent_clean([] {
    extent* ex = mk(0, 0xfff);
    EXPECT_EQ(alloc(ex, 0x10, 1, 0x100, 0, 0xf0, 0xfff), 0xf0u);   // ends at 0xff
    EXPECT_EQ(alloc(ex, 0x10, 1, 0x100, 0, 0x1f1, 0xfff), 0x200u);  // 0x1f1..0x200 touches
  });
}

// §12.52: best fit measures the tail gap to exend (the next region or
// ex_end), not to subend.
TEST(Extent, TailOverheadIsMeasuredToExend) {
  extent_clean([] {
    extent* ex = mk(0, 0xff);
    ASSERT_EQ(extent_alloc_region(ex, 0x00, 0x10, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x30, 0x10, 0), 0);
    // Gap 0x10-0x2f: overhead 0x10. Tail 0x40-0x4f within subend 0x4f is an
    // exact fit against subend, but its overhead is measured to ex_end
    // (0xb0), so the inner gap wins.
    EXPECT_EQ(alloc(ex, 0x10, 1, 0, 0, 0, 0x4f), 0x10u);
    ASSERT_EQ(extent_free(ex, 0x10, 0x10, 0), 0);
    // With a region starting at 0x50 (past subend), exend is 0x50: the
    // tail's overhead is 0x50 - 0x40 - 0xf = 1 < 0x10.
    ASSERT_EQ(extent_alloc_region(ex, 0x50, 0x10, 0), 0);
    EXPECT_EQ(alloc(ex, 0x10, 1, 0, 0, 0, 0x4f), 0x40u);
    EXPECT_EQ(echk(ex), "");
  });
}

// §12.52: an exact fit is taken at once; ties keep the first; EX_FAST takes
// the first fit.
TEST(Extent, BestFitExactFitTiesAndFirstFit) {
  extent_clean([] {
    extent* ex = mk(0, 0xff, EX_NOCOALESCE);
    // Gaps: 0x10-0x2f (0x20), 0x40-0x47 (8), 0x50-0x6f (0x20), tail 0x80-0xff (0x80).
    ASSERT_EQ(extent_alloc_region(ex, 0x00, 0x10, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x30, 0x10, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x48, 0x08, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x70, 0x10, 0), 0);
    EXPECT_EQ(alloc(ex, 4, 1, 0, EX_FAST), 0x10u);  // first fit
    ASSERT_EQ(extent_free(ex, 0x10, 4, 0), 0);
    EXPECT_EQ(alloc(ex, 4), 0x40u);  // best fit: overhead 4 in the 8-unit gap
    ASSERT_EQ(extent_free(ex, 0x40, 4, 0), 0);
    EXPECT_EQ(alloc(ex, 8), 0x40u);  // exact fit
    ASSERT_EQ(extent_free(ex, 0x40, 8, 0), 0);
    EXPECT_EQ(alloc(ex, 0x18), 0x10u);  // ties (0x10-0x2f, 0x50-0x6f): the first
    EXPECT_EQ(alloc(ex, 0x20), 0x50u);  // exact
    EXPECT_EQ(alloc(ex, 0x80), 0x80u);  // the tail, exactly
    u_long r = 0;
    EXPECT_EQ(extent_alloc(ex, 0x9, 1, 0, EX_NOWAIT, &r), kEAGAIN);
    EXPECT_EQ(extent_alloc(ex, 0x9, 1, 0, EX_FAST, &r), kEAGAIN);
    EXPECT_EQ(echk(ex), "");
  });
}

// Skew: the candidates are skew + k * alignment.
TEST(Extent, SkewedAlignment) {
  extent_clean([] {
    extent* ex = mk(0, 0xfff);
    u_long r = 0;
    ASSERT_EQ(extent_alloc1(ex, 0x10, 0x100, 8, 0, 0, &r), 0);
    EXPECT_EQ(r, 0x8u);
    ASSERT_EQ(extent_alloc1(ex, 0x10, 0x100, 8, 0, 0, &r), 0);
    EXPECT_EQ(r, 0x108u);
    EXPECT_EQ(echk(ex), "");
  });
}

// The overflow paths near ULONG_MAX (§7.3).
TEST(Extent, OverflowNearTheTop) {
  extent_clean([] {
    const u_long base = kTop - 0xff;
    extent* ex = mk(base, kTop);
    // Alignment wraps past the top: EINVAL (the non-DIAGNOSTIC return).
    u_long r = 0;
    EXPECT_EQ(extent_alloc_subregion(ex, base + 1, kTop, 0x10, 0x1000, 0, 0, &r), kEINVAL);
    // The last unit can be allocated; LE_OV keeps the tail check exact.
    ASSERT_EQ(extent_alloc_region(ex, kTop, 1, 0), 0);
    EXPECT_EQ(alloc(ex, 0xff), base);
    // Full: skipping past the region that ends at ULONG_MAX wraps: EAGAIN.
    EXPECT_EQ(extent_alloc(ex, 1, 1, 0, 0, &r), kEAGAIN);
    EXPECT_EQ(extent_alloc_region(ex, kTop, 1, 0), kEAGAIN);
    EXPECT_EQ(regions(ex), (ranges{{base, kTop}}));
    ASSERT_EQ(extent_free(ex, base + 0x10, 0xf0, 0), 0);  // case 3 up to the top
    EXPECT_EQ(regions(ex), (ranges{{base, base + 0xf}}));
    EXPECT_EQ(echk(ex), "");

    // The next boundary line beyond the top wraps below ex_start: treated as
    // no line at all (dontcross = ex_end).
    extent* top = mk(kTop - 0xfff, kTop, 0, "top");
    EXPECT_EQ(alloc(top, 0x800, 1, 0x2000), kTop - 0xfff);
    EXPECT_EQ(echk(top), "");
  });
}

// NetBSD's relocation past the region that contains substart has no
// overflow check: when that region ends at ULONG_MAX, the candidate wraps to
// 0, is returned, and is "appended" to that region, whose end becomes 3.
// kasim reproduces it and extent_check reports the broken map.
TEST(Extent, RelocationPastTheTopWrapsAsNetBSDDoes) {
  extent_clean([] {
    const u_long base = kTop - 0xff;
    extent* ex = mk(base, kTop);
    ASSERT_EQ(extent_alloc_region(ex, base + 0x10, 0xf0, 0), 0);
    u_long r = 1;
    ASSERT_EQ(extent_alloc_subregion(ex, base + 0x20, kTop, 4, 1, 0, 0, &r), 0);
    EXPECT_EQ(r, 0u);
    EXPECT_EQ(regions(ex), (ranges{{base + 0x10, 3}}));
    EXPECT_NE(echk(ex).find("region ends before it starts"), std::string::npos) << echk(ex);
  });
}

// §12.53: the four cases of extent_free.
TEST(Extent, FreeTrimsAndSplits) {
  extent_clean([] {
    extent* ex = mk(0, 0xff);
    ASSERT_EQ(extent_alloc_region(ex, 0x10, 0x40, 0), 0);  // 0x10-0x4f
    ASSERT_EQ(extent_free(ex, 0x10, 0x8, 0), 0);            // case 2
    EXPECT_EQ(regions(ex), (ranges{{0x18, 0x4f}}));
    ASSERT_EQ(extent_free(ex, 0x48, 0x8, 0), 0);  // case 3
    EXPECT_EQ(regions(ex), (ranges{{0x18, 0x47}}));
    ASSERT_EQ(extent_free(ex, 0x20, 0x8, 0), 0);  // case 4: split
    EXPECT_EQ(regions(ex), (ranges{{0x18, 0x1f}, {0x28, 0x47}}));
    ASSERT_EQ(extent_free(ex, 0x18, 0x8, 0), 0);  // case 1
    EXPECT_EQ(regions(ex), (ranges{{0x28, 0x47}}));
    EXPECT_EQ(echk(ex), "");
    EXPECT_EQ(extent_globals_get().expool->pr_nout, 1u);  // every spare went back
  });
}

// §12.53: a split needs a descriptor first: ENOMEM under EX_NOWAIT before
// any change (a fixed extent with none left).
TEST(Extent, SplitWithoutADescriptorIsENOMEMBeforeAnyChange) {
  extent_clean([] {
    extent* ex = extent_create("fx", 0, 0xff, 0x7000, EXTENT_FIXED_STORAGE_SIZE(1), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x10, 0x40, 0), 0);
    EXPECT_EQ(extent_free(ex, 0x20, 0x8, EX_NOWAIT), kENOMEM);
    EXPECT_EQ(regions(ex), (ranges{{0x10, 0x4f}}));
    ASSERT_EQ(extent_free(ex, 0x20, 0x8, EX_MALLOCOK), 0);
    EXPECT_EQ(regions(ex), (ranges{{0x10, 0x1f}, {0x28, 0x4f}}));
    EXPECT_EQ(echk(ex), "");
  });
}

// §12.54: a fixed extent's descriptors: the storage's slots, the last one
// first; EX_NOWAIT ENOMEM when they run out; EX_MALLOCOK falls back to expool.
TEST(Extent, FixedExtentDescriptors) {
  extent_clean([] {
    const vaddr_t storage = 0x9000;
    extent* ex = extent_create("fx", 0, 0xfff, storage, EXTENT_FIXED_STORAGE_SIZE(3) + 39, 0);
    EXPECT_EQ(ex->ex_flags, EXF_FIXED);
    EXPECT_EQ(ex->ex_addr, storage);
    EXPECT_EQ(ex->ex_fixed->fex_capacity, 3u);  // 39 spare bytes make no fourth
    EXPECT_EQ(EXTENT_FIXED_STORAGE_SIZE(3), 88u + 3 * 40u);
    ASSERT_EQ(extent_alloc_region(ex, 0x100, 1, 0), 0);
    EXPECT_EQ(ex->ex_regions.lh_first->er_addr, storage + 88 + 2 * 40);
    EXPECT_EQ(ex->ex_regions.lh_first->er_flags, 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x200, 1, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x300, 1, 0), 0);
    EXPECT_EQ(extent_nfreedesc(ex), 0u);
    EXPECT_EQ(extent_alloc_region(ex, 0x400, 1, EX_NOWAIT), kENOMEM);
    u_long r = 0;
    EXPECT_EQ(extent_alloc(ex, 1, 1, 0, EX_NOWAIT, &r), kENOMEM);
    const unsigned nout = extent_globals_get().expool->pr_nout;
    ASSERT_EQ(extent_alloc_region(ex, 0x400, 1, EX_MALLOCOK), 0);
    EXPECT_EQ(extent_globals_get().expool->pr_nout, nout + 1);
    EXPECT_EQ(regions(ex).back(), (std::pair<u_long, u_long>{0x400, 0x400}));
    EXPECT_EQ(ex->ex_nenomem, 2u);
    EXPECT_EQ(echk(ex), "");
    // Freeing the expool descriptor with nobody waiting returns it to the pool.
    ASSERT_EQ(extent_free(ex, 0x400, 1, EX_MALLOCOK), 0);
    EXPECT_EQ(extent_globals_get().expool->pr_nout, nout);
    EXPECT_EQ(echk(ex), "");
    extent_destroy(ex);
    EXPECT_EQ(extent_globals_get().descriptors.size(), 0u);
  });
}

// §12.54: EX_WAITOK on a fixed extent with no descriptor sleeps until a free;
// the freed expool descriptor is handed to the waiter, not to the pool.
TEST(Extent, FixedExtentWaiterGetsTheHandedOffDescriptor) {
  Sim s(2, 1024);
  extent* ex = nullptr;
  int got = -1;
  bool handed_off = false;
  s.lwp("owner", 0, [&] {
    extent_boot(s);
    ex = extent_create("fx", 0, 0xff, 0x7000, EXTENT_FIXED_STORAGE_SIZE(1), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x00, 0x10, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x40, 0x10, EX_MALLOCOK), 0);
    delay_ns(1'000'000);
    EXPECT_TRUE(ex->ex_flwanted);
    EXPECT_EQ(ex->ex_nwaitdesc, 1u);
    ASSERT_EQ(extent_free(ex, 0x40, 0x10, EX_MALLOCOK), 0);
  });
  s.lwp("waiter", 1, [&] {
    delay_ns(100'000);
    got = extent_alloc_region(ex, 0x80, 0x10, EX_WAITOK);
    for (const extent_region* rp = ex->ex_regions.lh_first; rp; rp = rp->er_next)
      if (rp->er_start == 0x80) handed_off = (rp->er_flags & ER_ALLOC) != 0;
    EXPECT_EQ(echk(ex), "");
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_EQ(got, 0);
  EXPECT_TRUE(handed_off);
  EXPECT_FALSE(ex->ex_flwanted);
}

// EX_WAITSPACE sleeps until a free makes room; EX_CATCH makes the sleep
// interruptible and a signal returns EINTR.
TEST(Extent, WaitSpaceAndCatch) {
  Sim s(3, 1024);
  extent* ex = nullptr;
  u_long r = 0;
  int e_space = -1, e_catch = -1;
  Ctx* catcher = nullptr;
  s.lwp("owner", 0, [&] {
    extent_boot(s);
    ex = mk(0, 0xff);
    ASSERT_EQ(extent_alloc_region(ex, 0, 0x100, 0), 0);
    delay_ns(1'000'000);
    Engine::current()->signal_lwp(catcher);
    delay_ns(1'000'000);
    ASSERT_EQ(extent_free(ex, 0x80, 0x80, 0), 0);
  });
  s.lwp("space", 1, [&] {
    delay_ns(100'000);
    e_space = extent_alloc(ex, 0x40, 0x40, 0, EX_WAITSPACE | EX_WAITOK, &r);
  });
  catcher = s.e->spawn_lwp("catch", 2, [&] {
    delay_ns(100'000);
    e_catch = extent_alloc_region(ex, 0x10, 1, EX_WAITSPACE | EX_CATCH);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_EQ(e_space, 0);
  EXPECT_EQ(r, 0x80u);
  EXPECT_EQ(e_catch, kEINTR);
  EXPECT_EQ(ex->ex_nintr, 1u);
  EXPECT_GE(ex->ex_nwaitspace, 2u);
}

// A signal while waiting for a fixed descriptor (EX_WAITOK | EX_CATCH) makes
// the descriptor allocation fail, and the call returns ENOMEM, not EINTR.
TEST(Extent, SignalWhileWaitingForADescriptorIsENOMEM) {
  Sim s(2, 1024);
  extent* ex = nullptr;
  int e = -1;
  Ctx* waiter = nullptr;
  s.lwp("owner", 0, [&] {
    extent_boot(s);
    ex = extent_create("fx", 0, 0xff, 0x7000, EXTENT_FIXED_STORAGE_SIZE(1), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0, 1, 0), 0);
    delay_ns(1'000'000);
    EXPECT_TRUE(ex->ex_flwanted);
    Engine::current()->signal_lwp(waiter);
  });
  waiter = s.e->spawn_lwp("waiter", 1, [&] {
    delay_ns(100'000);
    e = extent_alloc_region(ex, 0x10, 1, EX_WAITOK | EX_CATCH);
  });
  ASSERT_EQ(s.run(), Outcome::completed) << s.finding();
  EXPECT_EQ(e, kENOMEM);
  EXPECT_EQ(ex->ex_nintr, 1u);
  EXPECT_EQ(ex->ex_nenomem, 1u);
  EXPECT_EQ(regions(ex), (ranges{{0, 0}}));
}

// extent_print: NetBSD's exact text.
TEST(Extent, PrintFormat) {
  extent_clean([] {
    extent* ex = mk(0x10, 0xffff, EX_NOCOALESCE, "isa");
    ASSERT_EQ(extent_alloc_region(ex, 0x20, 0x10, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x30, 0x1, 0), 0);
    EXPECT_EQ(extent_print(ex),
              "extent `isa' (0x10 - 0xffff), flags = 0x2\n     0x20 - 0x2f\n     0x30 - 0x30\n");
  });
}

// The struct extent of a non-fixed extent comes from kmem_alloc (the cache
// kmem routes 64 bytes to), which fails for real under EX_NOWAIT;
// extent_destroy gives it and every descriptor back.
TEST(Extent, StructMemoryAndDestroy) {
  extent_clean([] {
    extent_globals& g = extent_globals_get();
    kmem_globals& kg = kmem_globals_get();
    const kmem_route r = kmem_route_of(kg.layout, EXTENT_SIZE);
    ASSERT_EQ(r.kind, kmem_route_kind::small);
    pool* structs = &kg.caches[r.cls]->pc_pool;
    const uint64_t live0 = kg.live.size();
    extent* ex = mk(0, 0xff);
    EXPECT_EQ(kg.live.size(), live0 + 1);
    EXPECT_EQ(kg.live.count(ex->ex_addr), 1u);
    ASSERT_EQ(extent_alloc_region(ex, 0, 1, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 4, 1, 0), 0);
    EXPECT_EQ(g.expool->pr_nout, 2u);
    extent_destroy(ex);
    EXPECT_EQ(g.expool->pr_nout, 0u);
    EXPECT_EQ(kg.live.size(), live0);
    EXPECT_TRUE(g.extent_list.empty());
    // Nothing cached, so a hard limit of what is out now leaves no room.
    pool_cache_invalidate(kg.caches[r.cls]);
    ASSERT_EQ(pool_sethardlimit(structs, static_cast<int>(structs->pr_nout) + 1, nullptr, 0), 0);
    extent* a = extent_create("a", 0, 1, 0, 0, EX_NOWAIT);
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(extent_create("b", 0, 1, 0, 0, EX_NOWAIT), nullptr);
    extent_destroy(a);
  });
}

// EX_EARLY: no lock and no cv; ex_flags 0x4.
TEST(Extent, EarlyExtentHasNoLock) {
  extent_clean([] {
    extent* ex = extent_create("early", 0, 0xff, 0x5000, EXTENT_FIXED_STORAGE_SIZE(4),
                               EX_EARLY);
    EXPECT_EQ(ex->ex_flags, EXF_FIXED | EXF_EARLY);
    EXPECT_FALSE(ex->ex_lock.initialized);
    EXPECT_EQ(alloc(ex, 0x10), 0u);
    EXPECT_EQ(extent_free(ex, 0, 0x10, 0), 0);
    EXPECT_EQ(echk(ex), "");
  });
}

// --- contract findings -------------------------------------------------------------

TEST(ExtentContract, FreeOfAnUnallocatedRangeCarriesTheMap) {
  extent_contract(
      [] {
        extent* ex = mk(0, 0xff, 0, "ex");
        ASSERT_EQ(extent_alloc_region(ex, 0, 8, 0), 0);
        (void)extent_free(ex, 0x10, 0x10, 0);
      },
      {"extent_free: region not found", "extent `ex' (0x0 - 0xff), flags = 0x0\n     0x0 - 0x7\n",
       "extent_free: start 0x10, end 0x1f"});
}

TEST(ExtentContract, PartialFreeOfANoCoalesceExtent) {
  extent_contract(
      [] {
        extent* ex = mk(0, 0xff, EX_NOCOALESCE);
        ASSERT_EQ(extent_alloc_region(ex, 0, 8, 0), 0);
        (void)extent_free(ex, 0, 4, 0);
      },
      {"extent_free: region not found"});
}

TEST(ExtentContract, FreeOutsideTheExtent) {
  extent_contract([] { (void)extent_free(mk(0x10, 0xff), 0, 0x20, 0); },
                  {"region not within extent"});
}

TEST(ExtentContract, BadArguments) {
  extent_contract([] { (void)mk(0x10, 0xf); }, {"extent_create: end < start"});
  extent_contract([] { (void)extent_create("f", 0, 1, 0x1000, 87, 0); },
                  {"extent_create: fixed extent, bad storagesize 0x57"});
  extent_contract([] { (void)extent_create("f", 0, 1, 0, 64, 0); },
                  {"storage provided for non-fixed"});
  extent_contract([] { (void)extent_alloc_region(mk(0, 0xff), 0, 0, 0); },
                  {"extent_alloc_region: extent `tx', size 0x0"});
  extent_contract([] { (void)extent_alloc_region(mk(0, kTop), kTop, 2, 0); },
                  {"extent_alloc_region: overflow"});
  u_long r;
  extent_contract([&] { (void)extent_alloc(mk(0, 0xff), 0x10, 0, 0, 0, &r); },
                  {"extent_alloc_subregion: bad alignment"});
  extent_contract([&] { (void)extent_alloc(mk(0, 0xff), 0x10, 1, 8, 0, &r); },
                  {"extent_alloc_subregion: bad boundary"});
  extent_contract([&] { (void)extent_alloc_subregion(mk(0, 0xff), 0, 0xf, 0x11, 1, 0, 0, &r); },
                  {"extent_alloc_subregion: bad size"});
  extent_contract([&] { (void)extent_alloc_subregion(mk(0x10, 0xff), 0, 0xff, 1, 1, 0, 0, &r); },
                  {"extent_alloc_subregion: bad subregion"});
  extent_contract([&] { (void)extent_alloc(mk(0, 0xff), 1, 1, 0, 0, nullptr); },
                  {"NULL result pointer"});
}

TEST(ExtentContract, SleepingFlagsFromAnInterrupt) {
  Sim s(1, 1024);
  extent* ex = nullptr;
  s.lwp("t", 0, [&] {
    extent_boot(s);
    ex = mk(0, 0xff);
    delay_ns(100'000);
  });
  s.e->add_interrupt("nic0", 0, IPL_VM, {50'000}, 0, 1, [&] {
    u_long r;
    (void)extent_alloc(ex, 1, 1, 0, EX_WAITSPACE, &r);
  });
  ASSERT_EQ(s.run(), Outcome::finding);
  const Finding& f = s.e->findings().front();
  EXPECT_EQ(f.kind, "contract");
  EXPECT_NE(f.message.find("EX_WAITOK or EX_WAITSPACE from interrupt context"), std::string::npos)
      << f.message;
}

TEST(ExtentContract, SleepingOnAnEarlyExtent) {
  extent_contract(
      [] {
        extent* ex = extent_create("early", 0, 0xff, 0x5000, EXTENT_FIXED_STORAGE_SIZE(1),
                                   EX_EARLY);
        ASSERT_EQ(extent_alloc_region(ex, 0, 1, 0), 0);
        (void)extent_alloc_region(ex, 2, 1, EX_WAITOK);
      },
      {"sleeping without ex_lock"});
}

// --- extent_check on damaged extents ---------------------------------------------

TEST(ExtentCheck, FindsEachKindOfDamage) {
  extent_clean([] {
    extent* ex = mk(0, 0xff);
    ASSERT_EQ(extent_alloc_region(ex, 0x10, 0x10, 0), 0);
    ASSERT_EQ(extent_alloc_region(ex, 0x40, 0x10, 0), 0);
    ASSERT_EQ(echk(ex), "");
    extent_region* a = ex->ex_regions.lh_first;
    extent_region* b = a->er_next;
    b->er_start = 0x20;  // adjacent to a in a coalescing extent
    EXPECT_NE(echk(ex).find("adjacent regions not coalesced"), std::string::npos) << echk(ex);
    EXPECT_NE(echk(ex).find("covered units differ"), std::string::npos) << echk(ex);
    b->er_start = 0x18;  // overlapping
    EXPECT_NE(echk(ex).find("overlapping"), std::string::npos) << echk(ex);
    b->er_start = 0x40;
    b->er_end = 0x100;  // past ex_end
    EXPECT_NE(echk(ex).find("outside the extent"), std::string::npos) << echk(ex);
    b->er_end = 0x4f;
    ex->ex_flags |= 0x8;
    EXPECT_NE(echk(ex).find("ex_flags 0x8 outside"), std::string::npos) << echk(ex);
    ex->ex_flags = 0;
    ASSERT_EQ(echk(ex), "");

    extent* fx = extent_create("fx", 0, 0xff, 0x7000, EXTENT_FIXED_STORAGE_SIZE(2), 0);
    ASSERT_EQ(extent_alloc_region(fx, 0x10, 0x10, 0), 0);
    ASSERT_EQ(echk(fx), "");
    fx->ex_fixed->fex_freelist.lh_first = nullptr;  // lose a descriptor
    EXPECT_NE(echk(fx).find("descriptors: 0 free + 1 in use"), std::string::npos) << echk(fx);
  });
}

TEST(ExtentCheck, ShadowCatchesABoundaryCrossingAndMisalignment) {
  extent_clean([] {
    extent* ex = mk(0, 0xfff, EX_NOCOALESCE);
    extent_shadow_alloc(ex, 0xf8, 0x10, 1, 0, 0x100, 0);  // crosses the line at 0x100
    extent_shadow_alloc(ex, 0x204, 4, 8, 0, 0x100, 0);    // misaligned, not on a line
    const std::string p = echk(ex);
    EXPECT_NE(p.find("crosses a boundary line"), std::string::npos) << p;
    EXPECT_NE(p.find("misaligned"), std::string::npos) << p;
    EXPECT_NE(p.find("regions differ from the allocations given"), std::string::npos) << p;
  });
}

}  // namespace
}  // namespace kasim::test
