// tests/vmem/vmem_contract_test.cpp: every KASSERT of NETBSD-ALLOCATORS.md
// §2.3 (and §12 items 28, 36, 37, 45, 46) is a "contract" finding that names
// the call.
#include "tests/vmem/harness.h"

namespace kasim::test {
namespace {

constexpr vmem_size_t Q = 0x1000;
constexpr vmem_addr_t BASE = 0x100000;

vmem_t* arena(vmem_size_t quanta = 16) {
  return vmem_create("c", BASE, quanta * Q, Q, nullptr, nullptr, nullptr, 0, VM_NOSLEEP, IPL_VM);
}

void xalloc(vmem_size_t size, vmem_size_t align, vmem_size_t phase, vmem_size_t nocross,
            vmem_addr_t minaddr = VMEM_ADDR_MIN, vmem_addr_t maxaddr = VMEM_ADDR_MAX) {
  vmem_addr_t a;
  (void)vmem_xalloc(arena(), size, align, phase, nocross, minaddr, maxaddr,
                    VM_NOSLEEP | VM_BESTFIT, &a);
}

// Each legal call first, so that the finding is not an accident of the setup.
TEST(VmemContract, LegalCallsAreClean) {
  expect_clean([] {
    vmem_addr_t a;
    EXPECT_EQ(vmem_xalloc(arena(), Q, 2 * Q, Q, 4 * Q, 0, VMEM_ADDR_MAX, VM_NOSLEEP | VM_BESTFIT,
                          &a),
              0);
  });
}

TEST(VmemContract, AllocSizeZero) {
  expect_contract(
      [] {
        vmem_addr_t a;
        vmem_alloc(arena(), 0, VM_NOSLEEP | VM_BESTFIT, &a);
      },
      {"vmem_alloc", "size 0"});
}

TEST(VmemContract, XallocSizeZero) {
  expect_contract([] { xalloc(0, 0, 0, 0); }, {"vmem_xalloc", "size 0x0"});
}

TEST(VmemContract, AllocNeitherSleepFlag) {
  expect_contract(
      [] {
        vmem_addr_t a;
        vmem_alloc(arena(), Q, VM_BESTFIT, &a);
      },
      {"vmem_alloc", "exactly one of VM_SLEEP and VM_NOSLEEP"});
}

TEST(VmemContract, AllocBothSleepFlags) {
  expect_contract(
      [] {
        vmem_addr_t a;
        vmem_alloc(arena(), Q, VM_SLEEP | VM_NOSLEEP | VM_BESTFIT, &a);
      },
      {"vmem_alloc", "exactly one of VM_SLEEP and VM_NOSLEEP"});
}

TEST(VmemContract, XallocBothSleepFlags) {
  expect_contract(
      [] {
        vmem_addr_t a;
        vmem_xalloc(arena(), Q, 0, 0, 0, 0, VMEM_ADDR_MAX, VM_SLEEP | VM_NOSLEEP | VM_BESTFIT, &a);
      },
      {"vmem_xalloc", "exactly one of VM_SLEEP and VM_NOSLEEP"});
}

TEST(VmemContract, AllocNoStrategy) {
  expect_contract(
      [] {
        vmem_addr_t a;
        vmem_alloc(arena(), Q, VM_NOSLEEP, &a);
      },
      {"vmem_alloc", "exactly one of VM_BESTFIT and VM_INSTANTFIT"});
}

TEST(VmemContract, AllocBothStrategies) {
  expect_contract(
      [] {
        vmem_addr_t a;
        vmem_alloc(arena(), Q, VM_NOSLEEP | VM_BESTFIT | VM_INSTANTFIT, &a);
      },
      {"vmem_alloc", "exactly one of VM_BESTFIT and VM_INSTANTFIT"});
}

TEST(VmemContract, XallocNoStrategy) {
  expect_contract(
      [] {
        vmem_addr_t a;
        vmem_xalloc(arena(), Q, 0, 0, 0, 0, VMEM_ADDR_MAX, VM_NOSLEEP, &a);
      },
      {"vmem_xalloc", "exactly one of VM_BESTFIT and VM_INSTANTFIT"});
}

TEST(VmemContract, AlignNotAPowerOf2) {
  expect_contract([] { xalloc(Q, 3 * Q, 0, 0); }, {"vmem_xalloc", "align 0x3000"});
}

TEST(VmemContract, AlignNotAQuantumMultiple) {
  expect_contract([] { xalloc(Q, 0x800, 0, 0); }, {"vmem_xalloc", "align 0x800"});
}

TEST(VmemContract, PhaseNotAQuantumMultiple) {
  expect_contract([] { xalloc(Q, 4 * Q, 0x800, 0); }, {"vmem_xalloc", "phase 0x800"});
}

TEST(VmemContract, PhaseNotBelowAlign) {
  expect_contract([] { xalloc(Q, 2 * Q, 2 * Q, 0); }, {"vmem_xalloc", "phase 0x2000 not below"});
}

TEST(VmemContract, PhaseWithoutAlign) {
  expect_contract([] { xalloc(Q, 0, Q, 0); }, {"vmem_xalloc", "phase 0x1000 not below align 0x0"});
}

TEST(VmemContract, NocrossNotAPowerOf2) {
  expect_contract([] { xalloc(Q, 0, 0, 3 * Q); }, {"vmem_xalloc", "nocross 0x3000"});
}

TEST(VmemContract, NocrossSmallerThanSize) {
  expect_contract([] { xalloc(4 * Q, 0, 0, 2 * Q); },
                  {"vmem_xalloc", "nocross 0x2000 smaller than size 0x4000"});
}

TEST(VmemContract, PhaseAndSizeAlwaysCross) {
  expect_contract([] { xalloc(2 * Q, 8 * Q, 3 * Q, 4 * Q); }, {"vmem_xalloc", "always cross"});
}

TEST(VmemContract, MinaddrAboveMaxaddr) {
  expect_contract([] { xalloc(Q, 0, 0, 0, BASE + Q, BASE); }, {"vmem_xalloc", "above maxaddr"});
}

TEST(VmemContract, FreeOfAnAddressNeverAllocated) {
  expect_contract([] { vmem_free(arena(), BASE + 2 * Q, Q); },
                  {"vmem_xfree", "vmem c addr 0x102000 size 0x1000", "not allocated"});
}

TEST(VmemContract, FreeOfAnInteriorAddress) {
  expect_contract(
      [] {
        vmem_t* vm = arena();
        vmem_addr_t a;
        vmem_alloc(vm, 4 * Q, VM_NOSLEEP | VM_BESTFIT, &a);
        vmem_free(vm, a + Q, Q);
      },
      {"vmem_xfree", "not allocated"});
}

TEST(VmemContract, FreeWithTheWrongSize) {
  expect_contract(
      [] {
        vmem_t* vm = arena();
        vmem_addr_t a;
        vmem_alloc(vm, 4 * Q, VM_NOSLEEP | VM_BESTFIT, &a);
        vmem_free(vm, a, 2 * Q);
      },
      {"vmem_xfree", "allocated size is 0x4000"});
}

TEST(VmemContract, FreeWithALargerSize) {
  expect_contract(
      [] {
        vmem_t* vm = arena();
        vmem_addr_t a;
        vmem_alloc(vm, 2 * Q, VM_NOSLEEP | VM_BESTFIT, &a);
        vmem_xfree(vm, a, 3 * Q);
      },
      {"vmem_xfree", "allocated size is 0x2000"});
}

TEST(VmemContract, SizeRoundingToTheSameQuantaIsAccepted) {
  expect_clean([] {
    vmem_t* vm = arena();
    vmem_addr_t a;
    vmem_alloc(vm, Q + 1, VM_NOSLEEP | VM_BESTFIT, &a);
    vmem_free(vm, a, 2 * Q - 7);
  });
}

TEST(VmemContract, DoubleFree) {
  expect_contract(
      [] {
        vmem_t* vm = arena();
        vmem_addr_t a;
        vmem_alloc(vm, Q, VM_NOSLEEP | VM_BESTFIT, &a);
        vmem_free(vm, a, Q);
        vmem_free(vm, a, Q);
      },
      {"vmem_xfree", "not allocated"});
}

TEST(VmemContract, FreeOfAnUnalignedAddress) {
  expect_contract([] { vmem_free(arena(), BASE + 8, Q); }, {"vmem_free", "not quantum-aligned"});
}

TEST(VmemContract, FreeSizeZero) {
  expect_contract([] { vmem_free(arena(), BASE, 0); }, {"vmem_free", "size 0"});
}

TEST(VmemContract, DestroyWithBusySegments) {
  expect_contract(
      [] {
        vmem_t* vm = arena();
        vmem_addr_t a;
        vmem_alloc(vm, Q, VM_NOSLEEP | VM_BESTFIT, &a);
        vmem_destroy(vm);
      },
      {"vmem_destroy", "vmem c still has busy segment addr 0x100000"});
}

TEST(VmemContract, CreateWithANonPowerOf2Quantum) {
  expect_contract(
      [] { vmem_create("q3", 0, 0, 3, nullptr, nullptr, nullptr, 0, VM_NOSLEEP, IPL_VM); },
      {"vmem_create", "quantum 0x3 is not a power of 2"});
}

TEST(VmemContract, CreateWithBothSleepFlags) {
  expect_contract(
      [] {
        vmem_create("s", 0, 0, Q, nullptr, nullptr, nullptr, 0, VM_SLEEP | VM_NOSLEEP, IPL_VM);
      },
      {"vmem_create", "exactly one of VM_SLEEP and VM_NOSLEEP"});
}

TEST(VmemContract, CreateWithXimportFlag) {
  expect_contract(
      [] {
        vmem_create("x", 0, 0, Q, nullptr, nullptr, nullptr, 0, VM_NOSLEEP | VM_XIMPORT, IPL_VM);
      },
      {"vmem_create", "VM_XIMPORT"});
}

TEST(VmemContract, PrivtagsNeedSizeZero) {
  expect_contract(
      [] {
        vmem_create("p", BASE, Q, Q, nullptr, nullptr, nullptr, 0, VM_NOSLEEP | VM_PRIVTAGS,
                    IPL_VM);
      },
      {"vmem_create", "VM_PRIVTAGS"});
}

TEST(VmemContract, SizeWithABadMaskPanics) {
  expect_contract([] { (void)vmem_size(arena(), 4); }, {"vmem_size", "bad typemask 4"});
}

TEST(VmemContract, XfreeallWithAQuantumCache) {
  expect_contract(
      [] {
        vmem_t* vm = vmem_create("qc", BASE, 64 * Q, Q, nullptr, nullptr, nullptr, 4 * Q,
                                 VM_NOSLEEP, IPL_VM);
        vmem_xfreeall(vm);
      },
      {"vmem_xfreeall", "quantum cache"});
}

TEST(VmemContract, AddOfAnUnalignedSpan) {
  expect_contract([] { vmem_add(arena(), 0x900800, Q, VM_NOSLEEP); },
                  {"vmem_add", "not quantum-aligned"});
}

TEST(VmemContract, CreateFromInterrupt) {
  Sim s;
  s.lwp("t", 0, [] { delay_ns(10'000); });
  s.e->add_interrupt("nic", 0, IPL_VM, {1'000}, 0, 0, [] { arena(); });
  EXPECT_EQ(s.run(), Outcome::finding);
  EXPECT_NE(s.finding().find("vmem_create: c: called from interrupt context"), std::string::npos)
      << s.finding();
}

// --- uvm_km ---------------------------------------------------------------------

void boot_and(const std::function<void(uvm_km_globals&)>& body,
              std::initializer_list<const char*> needles) {
  Sim s;
  s.lwp("t", 0, [&] {
    kasim_vm_boot(s.boot_params());
    body(uvm_km_globals_get());
  });
  ASSERT_EQ(s.run(), Outcome::finding);
  const Finding& f = s.e->findings().front();
  EXPECT_EQ(f.kind, "contract") << f.message;
  for (const char* n : needles) EXPECT_NE(f.message.find(n), std::string::npos) << f.message;
}

TEST(UvmKmContract, AllocWithoutAType) {
  boot_and([](uvm_km_globals& g) { uvm_km_alloc(g.kernel_map, 4096, 0, UVM_KMF_CANFAIL); },
           {"uvm_km_alloc", "exactly one of UVM_KMF_WIRED"});
}

TEST(UvmKmContract, AllocWithTwoTypes) {
  boot_and(
      [](uvm_km_globals& g) {
        uvm_km_alloc(g.kernel_map, 4096, 0, UVM_KMF_WIRED | UVM_KMF_VAONLY);
      },
      {"uvm_km_alloc", "exactly one of UVM_KMF_WIRED"});
}

TEST(UvmKmContract, AllocWithAnAlignThatIsNotAPageMultiple) {
  boot_and([](uvm_km_globals& g) { uvm_km_alloc(g.kernel_map, 4096, 512, UVM_KMF_VAONLY); },
           {"uvm_km_alloc", "align 0x200"});
}

TEST(UvmKmContract, FreeWithAnotherType) {
  boot_and(
      [](uvm_km_globals& g) {
        vaddr_t va = uvm_km_alloc(g.kernel_map, 8192, 0, UVM_KMF_WIRED);
        uvm_km_free(g.kernel_map, va, 8192, UVM_KMF_VAONLY);
      },
      {"uvm_km_free", "freed as type 0x4 but allocated as type 0x1"});
}

TEST(UvmKmContract, FreeOfAnUnalignedAddress) {
  boot_and(
      [](uvm_km_globals& g) {
        vaddr_t va = uvm_km_alloc(g.kernel_map, 8192, 0, UVM_KMF_WIRED);
        uvm_km_free(g.kernel_map, va + 16, 8192, UVM_KMF_WIRED);
      },
      {"uvm_km_free", "is not page-aligned"});
}

TEST(UvmKmContract, FreeWithTheWrongSize) {
  boot_and(
      [](uvm_km_globals& g) {
        vaddr_t va = uvm_km_alloc(g.kernel_map, 8192, 0, UVM_KMF_WIRED);
        uvm_km_free(g.kernel_map, va, 4096, UVM_KMF_WIRED);
      },
      {"uvm_km_free", "allocated with size 0x2000"});
}

TEST(UvmKmContract, FreeOfWhatWasNeverAllocated) {
  boot_and(
      [](uvm_km_globals& g) {
        uvm_km_free(g.kernel_map, vm_map_max(g.kernel_map) - 4096, 4096, UVM_KMF_WIRED);
      },
      {"uvm_km_free", "is not an allocation of uvm_km_alloc"});
}

TEST(UvmKmContract, FreeOfTheStaticKmemEntry) {
  boot_and(
      [](uvm_km_globals& g) {
        uvm_km_free(g.kernel_map, vm_map_min(g.kernel_map),
                    vmem_size(g.kmem_arena, VMEM_ALLOC | VMEM_FREE), UVM_KMF_VAONLY);
      },
      {"uvm_km_free", "is not an allocation of uvm_km_alloc"});
}

}  // namespace
}  // namespace kasim::test
