// allocators/uvm_km/uvm_km.cpp: uvm_km(9) on the simulated page store.
//
// Written from ../shared/docs/NETBSD-ALLOCATORS.md §1 and §6 (uvm_km.c 1.165).
#include "allocators/uvm_km/uvm_km.h"

#include <cinttypes>
#include <cstdio>

namespace kasim {

namespace {

constexpr vm_prot_t kProtRW = VM_PROT_READ | VM_PROT_WRITE;
constexpr int kPgrmBatch = 16;  // __PGRM_BATCH

bool type_ok(uvm_flag_t flags) {
  const uvm_flag_t t = flags & UVM_KMF_TYPEMASK;
  return t == UVM_KMF_WIRED || t == UVM_KMF_PAGEABLE || t == UVM_KMF_VAONLY;
}

// uvm_km_pgremove_intrsafe: unmap [start, end) and free its pages, in
// batches of 16 as NetBSD does (unmapped pages are skipped).
void uvm_km_pgremove_intrsafe(vaddr_t start, vaddr_t end) {
  uvm_km_globals& g = uvm_km_globals_get();
  const uint64_t ps = page_size();
  paddr_t pa[kPgrmBatch];
  for (vaddr_t va = start; va < end;) {
    const vaddr_t batch_start = va;
    int n = 0;
    for (; n < kPgrmBatch && va < end; va += ps) {
      if (!pmap_extract(pmap_kernel(), va, &pa[n])) continue;
      n++;
    }
    pmap_kremove(batch_start, va - batch_start);
    for (int i = 0; i < n; i++) {
      vm_page* pg = PHYS_TO_VM_PAGE(pa[i]);
      KASSERTMSG(pg != nullptr, "uvm_km_pgremove_intrsafe: pa 0x%" PRIx64 " has no page", pa[i]);
      KASSERTMSG(pg->owner == &g.km_wired_object || pg->owner == &g.kmem_object,
                 "uvm_km_pgremove_intrsafe: page at pa 0x%" PRIx64 " belongs to %s", pa[i],
                 pg->owner ? pg->owner->name : "nobody");
      uvm_pagefree(pg);
    }
  }
}

// The map's VA: a best-fit vmem allocation, waiting for a free if WAITVA
// (and not NOWAIT) asks for it, as uvm_map sleeps with VM_MAP_WANTVA.
vaddr_t uvm_km_map_va(vm_map* map, vsize_t size, vsize_t align, uvm_flag_t flags) {
  if (flags & UVM_KMF_TRYLOCK) {
    if (!mutex_tryenter(&map->vmm_lock)) return 0;
  } else {
    mutex_enter(&map->vmm_lock);
  }
  vmem_addr_t va = 0;
  for (;;) {
    const int rc = vmem_xalloc(map->vmm_va, size, align, 0, 0, VMEM_ADDR_MIN, VMEM_ADDR_MAX,
                               VM_NOSLEEP | VM_BESTFIT, &va);
    if (rc == 0) break;
    if ((flags & UVM_KMF_WAITVA) == 0 || (flags & UVM_KMF_NOWAIT) != 0) {
      mutex_exit(&map->vmm_lock);
      return 0;
    }
    map->flags |= VM_MAP_WANTVA;
    map->nwaitva++;
    cv_wait(&map->vmm_cv, &map->vmm_lock);
  }
  map->entries[va] = uvm_km_entry{size, flags & UVM_KMF_TYPEMASK, true};
  mutex_exit(&map->vmm_lock);
  return va;
}

// uvm_unmap1 for kernel_map: drop the entry, give the VA back, wake VA waiters.
void uvm_km_unmap_va(vm_map* map, vaddr_t addr, vsize_t size) {
  mutex_enter(&map->vmm_lock);
  map->entries.erase(addr);
  vmem_xfree(map->vmm_va, addr, size);
  if (map->flags & VM_MAP_WANTVA) {
    map->flags &= ~VM_MAP_WANTVA;
    cv_broadcast(&map->vmm_cv);
  }
  mutex_exit(&map->vmm_lock);
}

void set_busy(vm_map* map, vaddr_t addr, bool busy) {
  auto it = map->entries.find(addr);
  if (it != map->entries.end()) it->second.busy = busy;
}

}  // namespace

uvm_km_globals& uvm_km_globals_get() { return machine_local<uvm_km_globals>(); }

uvm_km_globals::~uvm_km_globals() { delete kernel_map; }

bool uvm_reclaimable() { return false; }

bool uvm_km_va_starved_p() {
  uvm_km_globals& g = uvm_km_globals_get();
  if (g.kmem_arena == nullptr) return false;
  const vmem_size_t total = vmem_size(g.kmem_arena, VMEM_ALLOC | VMEM_FREE);
  const vmem_size_t free = vmem_size(g.kmem_arena, VMEM_FREE);
  return free < total / 10;
}

vaddr_t uvm_km_alloc(vm_map* map, vsize_t size, vsize_t align, uvm_flag_t flags) {
  const uint64_t ps = page_size();
  KASSERTMSG(map != nullptr, "uvm_km_alloc: no map");
  KASSERTMSG(type_ok(flags),
             "uvm_km_alloc: flags 0x%x need exactly one of UVM_KMF_WIRED, UVM_KMF_PAGEABLE and "
             "UVM_KMF_VAONLY",
             flags);
  KASSERTMSG((flags & UVM_KMF_COLORMATCH) == 0 || (flags & UVM_KMF_TYPEMASK) == UVM_KMF_VAONLY,
             "uvm_km_alloc: UVM_KMF_COLORMATCH is only for UVM_KMF_VAONLY");
  KASSERTMSG(align % ps == 0 && (align & (align - 1)) == 0,
             "uvm_km_alloc: align 0x%" PRIx64 " is not a power-of-2 multiple of PAGE_SIZE", align);
  size = round_page(size);
  KASSERTMSG(size > 0, "uvm_km_alloc: size 0");

  const vaddr_t kva = uvm_km_map_va(map, size, align, flags);
  if (kva == 0) return 0;  // NetBSD: uvm_map failed

  const uvm_flag_t type = flags & UVM_KMF_TYPEMASK;
  if (type == UVM_KMF_VAONLY || type == UVM_KMF_PAGEABLE) {
    // PAGEABLE memory is demand-zero; kasim never faults it in.
    mutex_enter(&map->vmm_lock);
    set_busy(map, kva, false);
    mutex_exit(&map->vmm_lock);
    return kva;
  }

  uvm_km_globals& g = uvm_km_globals_get();
  int pgaflags = 0;
  if (flags & UVM_KMF_NOWAIT) pgaflags |= UVM_PGA_USERESERVE;
  if (flags & UVM_KMF_ZERO) pgaflags |= UVM_PGA_ZERO;
  const vm_prot_t prot = kProtRW;
  voff_t offset = kva - vm_map_min(map);
  for (vaddr_t loopva = kva; loopva < kva + size;) {
    KASSERTMSG(!pmap_extract(pmap_kernel(), loopva, nullptr),
               "uvm_km_alloc: va 0x%" PRIx64 " is already mapped", loopva);
    vm_page* pg = uvm_pagealloc(&g.km_wired_object, offset, nullptr, pgaflags);
    if (pg == nullptr) {
      if ((flags & UVM_KMF_NOWAIT) || ((flags & UVM_KMF_CANFAIL) && !uvm_reclaimable())) {
        // Undo what is mapped so far and give the VA back.
        uvm_km_pgremove_intrsafe(kva, kva + size);
        uvm_km_unmap_va(map, kva, size);
        return 0;
      }
      g.npagewait++;
      kasim_mark("uvm_km_page_retry");
      uvm_wait("km_getwait2");
      continue;
    }
    pmap_kenter_pa(loopva, VM_PAGE_TO_PHYS(pg), prot, PMAP_KMPAGE);
    loopva += ps;
    offset += ps;
  }
  pmap_update(pmap_kernel());
  mutex_enter(&map->vmm_lock);
  set_busy(map, kva, false);
  mutex_exit(&map->vmm_lock);
  return kva;
}

void uvm_km_free(vm_map* map, vaddr_t addr, vsize_t size, uvm_flag_t flags) {
  const uint64_t ps = page_size();
  KASSERTMSG(map != nullptr, "uvm_km_free: no map");
  KASSERTMSG(type_ok(flags),
             "uvm_km_free: flags 0x%x need exactly one of UVM_KMF_WIRED, UVM_KMF_PAGEABLE and "
             "UVM_KMF_VAONLY",
             flags);
  KASSERTMSG((addr & (ps - 1)) == 0, "uvm_km_free: addr 0x%" PRIx64 " is not page-aligned", addr);
  KASSERTMSG(vm_map_min(map) <= addr && addr < vm_map_max(map),
             "uvm_km_free: addr 0x%" PRIx64 " is outside %s", addr, map->name);
  size = round_page(size);
  const uvm_flag_t type = flags & UVM_KMF_TYPEMASK;

  mutex_enter(&map->vmm_lock);
  auto it = map->entries.find(addr);
  KASSERTMSG(it != map->entries.end() && !it->second.busy && it->second.type != 0,
             "uvm_km_free: addr 0x%" PRIx64 " size 0x%" PRIx64
             " is not an allocation of uvm_km_alloc in %s",
             addr, size, map->name);
  KASSERTMSG(it->second.size == size,
             "uvm_km_free: addr 0x%" PRIx64 " size 0x%" PRIx64 " but it was allocated with size 0x%" PRIx64,
             addr, size, it->second.size);
  KASSERTMSG(it->second.type == type,
             "uvm_km_free: addr 0x%" PRIx64 " freed as type 0x%x but allocated as type 0x%x", addr,
             type, it->second.type);
  it->second.busy = true;
  mutex_exit(&map->vmm_lock);

  if (type == UVM_KMF_WIRED) uvm_km_pgremove_intrsafe(addr, addr + size);
  // PAGEABLE: uvm_km_pgremove would free the object's pages and swap slots;
  // kasim never faulted any in.
  for (vaddr_t va = addr; va < addr + size; va += ps)
    KASSERTMSG(!pmap_extract(pmap_kernel(), va, nullptr),
               "uvm_km_free: va 0x%" PRIx64 " is still mapped", va);
  uvm_km_unmap_va(map, addr, size);
}

int uvm_km_kmem_alloc(vmem_t* vm, vmem_size_t size, vm_flag_t flags, vmem_addr_t* addrp) {
  uvm_km_globals& g = uvm_km_globals_get();
  const uint64_t ps = page_size();
  size = round_page(size);
  vmem_addr_t va = 0;
  const int rc = vmem_alloc(vm, size, flags, &va);
  if (rc != 0) {
    g.nkmem_fail++;
    return rc;
  }
  g.kmem_live[va] = uvm_km_kmem_rec{size, vm, true};
  for (vaddr_t loopva = va; loopva < va + size;) {
    vm_page* pg = uvm_pagealloc(&g.kmem_object, loopva - va, nullptr,
                                (flags & VM_SLEEP) ? 0 : UVM_PGA_USERESERVE);
    if (pg == nullptr) {
      if (flags & VM_NOSLEEP) {
        uvm_km_pgremove_intrsafe(va, va + size);
        g.kmem_live.erase(va);
        vmem_free(vm, va, size);
        g.nkmem_fail++;
        return kENOMEM;
      }
      g.npagewait++;
      kasim_mark("uvm_km_page_retry");
      uvm_wait("plpg");
      continue;
    }
    pmap_kenter_pa(loopva, VM_PAGE_TO_PHYS(pg), kProtRW, PMAP_KMPAGE);
    loopva += ps;
  }
  pmap_update(pmap_kernel());
  g.kmem_live[va].busy = false;
  g.nkmem_alloc++;
  *addrp = va;
  return 0;
}

void uvm_km_kmem_free(vmem_t* vm, vmem_addr_t addr, vmem_size_t size) {
  uvm_km_globals& g = uvm_km_globals_get();
  size = round_page(size);
  auto it = g.kmem_live.find(addr);
  if (it != g.kmem_live.end()) it->second.busy = true;
  uvm_km_pgremove_intrsafe(addr, addr + size);
  pmap_update(pmap_kernel());
  g.kmem_live.erase(addr);
  g.nkmem_free++;
  vmem_free(vm, addr, size);
}

void uvm_km_bootstrap(vaddr_t start, vaddr_t end, vaddr_t kmembase, vsize_t kmemsize) {
  uvm_km_globals& g = uvm_km_globals_get();
  const uint64_t ps = page_size();
  KASSERTMSG(g.kernel_map == nullptr, "uvm_km_bootstrap: called twice");
  KASSERTMSG(start < end && start <= kmembase && kmembase + kmemsize <= end && kmemsize > 0,
             "uvm_km_bootstrap: kmem region outside kernel_map");

  // kernel_map: [start, end). Its VA arena is adaptive (IPL_NONE): the map
  // is not for interrupt context.
  vm_map* map = new vm_map();
  std::snprintf(map->name, sizeof map->name, "kernel_map");
  map->min_offset = start;
  map->max_offset = end;
  mutex_init(&map->vmm_lock, MUTEX_DEFAULT, IPL_NONE);
  mutex_set_name(&map->vmm_lock, "kernel_map lock");
  cv_init(&map->vmm_cv, "vm_map");
  map->vmm_va = vmem_create("kernel_map", start, end - start, ps, nullptr, nullptr, nullptr, 0,
                            VM_SLEEP, IPL_NONE);
  g.kernel_map = map;
  // The kmem region is a static entry of kernel_map.
  const int rc = vmem_xalloc_addr(map->vmm_va, kmembase, kmemsize, VM_NOSLEEP);
  KASSERTMSG(rc == 0, "uvm_km_bootstrap: cannot reserve the kmem region");
  map->entries[kmembase] = uvm_km_entry{kmemsize, 0, false};

  // kmem_init: the arenas of NETBSD-ALLOCATORS.md §1.
  g.kmem_arena = vmem_create("kmem", kmembase, kmemsize, ps, nullptr, nullptr, nullptr, 0,
                             VM_NOSLEEP | VM_BOOTSTRAP, IPL_VM);
  g.kmem_va_meta_arena = vmem_create("vmem-va", 0, 0, ps, vmem_alloc, vmem_free, g.kmem_arena, 0,
                                     VM_NOSLEEP | VM_BOOTSTRAP | VM_LARGEIMPORT, IPL_VM);
  g.kmem_meta_arena = vmem_create("vmem-meta", 0, 0, ps, uvm_km_kmem_alloc, uvm_km_kmem_free,
                                  g.kmem_va_meta_arena, 0, VM_NOSLEEP | VM_BOOTSTRAP, IPL_VM);
  const bool small = kmemsize < (64ULL << 20);
  g.kmem_va_arena = vmem_create("kva", 0, 0, ps, vmem_alloc, vmem_free, g.kmem_arena,
                                (small ? 4 : VMEM_QCACHE_IDX_MAX) * ps, VM_NOSLEEP, IPL_VM);
}

}  // namespace kasim
