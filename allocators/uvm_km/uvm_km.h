// allocators/uvm_km/uvm_km.h: uvm_km(9) — kernel memory on kernel_map, and
// the page-backed vmem import function behind kmem and pool pages.
//
// kasim follows uvm_km.c 1.165 (NETBSD-ALLOCATORS.md §6). kernel_map's VA is
// managed by a vmem arena instead of UVM's map-entry tree, with a small
// entry table beside it for the allocation types (docs/fidelity.md, "uvm_km").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "allocators/vmem/vmem.h"
#include "sim/kernel.h"

namespace kasim {

using uvm_flag_t = uint32_t;

// sys/uvm/uvm_extern.h
inline constexpr uvm_flag_t UVM_KMF_WIRED = 0x1;
inline constexpr uvm_flag_t UVM_KMF_PAGEABLE = 0x2;
inline constexpr uvm_flag_t UVM_KMF_VAONLY = 0x4;
inline constexpr uvm_flag_t UVM_KMF_TYPEMASK = 0x7;
inline constexpr uvm_flag_t UVM_KMF_CANFAIL = 0x8;
inline constexpr uvm_flag_t UVM_KMF_ZERO = 0x10;
inline constexpr uvm_flag_t UVM_KMF_EXEC = 0x20;
inline constexpr uvm_flag_t UVM_KMF_TRYLOCK = 0x00200000;     // UVM_FLAG_TRYLOCK
inline constexpr uvm_flag_t UVM_KMF_NOWAIT = 0x00400000;      // UVM_FLAG_NOWAIT
inline constexpr uvm_flag_t UVM_KMF_WAITVA = 0x00800000;      // UVM_FLAG_WAITVA
inline constexpr uvm_flag_t UVM_KMF_COLORMATCH = 0x04000000;  // UVM_FLAG_COLORMATCH

inline constexpr int VM_MAP_WANTVA = 0x100;
inline constexpr unsigned PMAP_KMPAGE = 0x1;

// One allocation in a map (kasim's stand-in for a vm_map_entry).
struct uvm_km_entry {
  vsize_t size = 0;
  uvm_flag_t type = 0;  // UVM_KMF_WIRED / PAGEABLE / VAONLY, or 0 for a static entry
  bool busy = false;    // being filled or torn down: its pages are in flux
};

struct vm_map {
  char name[24] = {};
  vaddr_t min_offset = 0, max_offset = 0;  // vm_map_min / vm_map_max
  vmem_t* vmm_va = nullptr;                // the map's VA (kasim: a vmem arena)
  kmutex_t vmm_lock;                       // the map lock
  kcondvar_t vmm_cv;                       // VA waiters (VM_MAP_WANTVA)
  int flags = 0;
  std::map<vaddr_t, uvm_km_entry> entries;  // by start address
  uint64_t nwaitva = 0;
};

inline vaddr_t vm_map_min(const vm_map* m) { return m->min_offset; }
inline vaddr_t vm_map_max(const vm_map* m) { return m->max_offset; }

// A uvm_km_kmem_alloc range, as kasim's shadow records it.
struct uvm_km_kmem_rec {
  vsize_t size = 0;
  const vmem_t* vm = nullptr;
  bool busy = false;
};

// Per-machine uvm_km state: the kernel's map and arenas, the owners kasim
// gives to the pages uvm_km maps, and the shadow of page-backed ranges.
struct uvm_km_globals {
  vm_map* kernel_map = nullptr;
  vmem_t* kmem_arena = nullptr;          // "kmem"
  vmem_t* kmem_va_arena = nullptr;       // "kva"
  vmem_t* kmem_va_meta_arena = nullptr;  // "vmem-va"
  vmem_t* kmem_meta_arena = nullptr;     // "vmem-meta"
  uvm_object km_wired_object{"uvm_km wired"};
  uvm_object kmem_object{"uvm_km_kmem"};
  std::map<vaddr_t, uvm_km_kmem_rec> kmem_live;
  uint64_t nkmem_alloc = 0, nkmem_free = 0, nkmem_fail = 0, npagewait = 0;
  uvm_km_globals() = default;
  uvm_km_globals(const uvm_km_globals&) = delete;
  uvm_km_globals& operator=(const uvm_km_globals&) = delete;
  ~uvm_km_globals();  // frees host memory only
};
uvm_km_globals& uvm_km_globals_get();

// uvm_km_alloc: allocate wired, pageable or VA-only kernel memory.
//  => returns 0 on failure; without NOWAIT/CANFAIL and with WAITVA it never fails.
//  => not for interrupt context (the map lock is adaptive; WIRED may uvm_wait).
vaddr_t uvm_km_alloc(vm_map* map, vsize_t size, vsize_t align, uvm_flag_t flags);
// uvm_km_free: free what uvm_km_alloc returned, with the same map, size and type.
void uvm_km_free(vm_map* map, vaddr_t addr, vsize_t size, uvm_flag_t flags);

// uvm_km_kmem_alloc: vmem VA plus a wired page per page (the import function
// of kmem_meta_arena and the pool page back end).
//  => VM_NOSLEEP undoes a partial allocation and returns ENOMEM.
int uvm_km_kmem_alloc(vmem_t* vm, vmem_size_t size, vm_flag_t flags, vmem_addr_t* addrp);
void uvm_km_kmem_free(vmem_t* vm, vmem_addr_t addr, vmem_size_t size);

// uvm_km_va_starved_p: kmem_arena has less than a tenth of its VA free.
bool uvm_km_va_starved_p();
// uvm_reclaimable: could the page daemon free anything? kasim has neither
// swap nor file pages, so: no (docs/fidelity.md).
bool uvm_reclaimable();

// uvm_km_bootstrap: create kernel_map over [start, end) and reserve the kmem
// region [kmembase, kmembase+kmemsize) in it as a static entry; then build
// kmem_arena, vmem-va, vmem-meta and kva over that region (kmem_init).
void uvm_km_bootstrap(vaddr_t start, vaddr_t end, vaddr_t kmembase, vsize_t kmemsize);

}  // namespace kasim
