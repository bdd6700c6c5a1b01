// allocators/boot.h: what the kernel builds at boot for the allocators —
// kernel_map and the kmem arenas, kmem_va_arena with its quantum caches
// (NETBSD-ALLOCATORS.md §1, §2.4, §6). kmem's size-class caches follow
// (kmem_init, allocators/kmem/kmem.h).
#pragma once

#include <cstdint>

namespace kasim {

// Sizes from the scenario's `machine` (MachineConfig): allocators cannot see
// the engine, so the caller passes them.
struct vm_boot_params {
  uint64_t kva_base = 0xffff800000000000ULL;  // where kernel VA starts
  uint64_t kva_pages = 2 * 16384;             // kmem_arena's size in pages
  uint64_t page_size = 4096;
  uint64_t phys_pages = 16384;
};

// kasim_vm_boot: kernel_map over [kva_base, kva_base + 2 * kva_pages pages):
// the first half is the kmem region (a static entry holding kmem_arena,
// vmem-va, vmem-meta and kva), the second half is VA for uvm_km_alloc.
//  => runs in an LWP of the machine (it takes locks); once per machine.
void kasim_vm_boot(const vm_boot_params& p);

}  // namespace kasim
