// allocators/vmem/vmem.h: vmem(9), the general resource allocator — its
// public interface, as NetBSD's sys/sys/vmem.h declares it.
//
// kasim follows subr_vmem.c 1.118 (see ../shared/docs/NETBSD-ALLOCATORS.md §2
// and docs/fidelity.md, section "vmem"). Addresses are simulated: a
// vmem_addr_t is a plain number, and every boundary tag lives in host memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/kernel.h"

namespace kasim {

using vmem_addr_t = uint64_t;
using vmem_size_t = uint64_t;
using vm_flag_t = uint32_t;

struct vmem;
using vmem_t = vmem;
struct vmem_btag;

// Flags (sys/sys/vmem.h).
inline constexpr vm_flag_t VM_SLEEP = 0x00000001;
inline constexpr vm_flag_t VM_NOSLEEP = 0x00000002;
inline constexpr vm_flag_t VM_INSTANTFIT = 0x00001000;
inline constexpr vm_flag_t VM_BESTFIT = 0x00002000;
inline constexpr vm_flag_t VM_BOOTSTRAP = 0x00010000;
inline constexpr vm_flag_t VM_POPULATING = 0x00040000;
inline constexpr vm_flag_t VM_LARGEIMPORT = 0x00080000;
inline constexpr vm_flag_t VM_XIMPORT = 0x00100000;
inline constexpr vm_flag_t VM_PRIVTAGS = 0x00200000;  // value not verified (docs/fidelity.md)
inline constexpr vm_flag_t VM_FITMASK = VM_BESTFIT | VM_INSTANTFIT;

// vmem_size() type mask.
inline constexpr int VMEM_ALLOC = 1;
inline constexpr int VMEM_FREE = 2;

inline constexpr vmem_addr_t VMEM_ADDR_MIN = 0;
inline constexpr vmem_addr_t VMEM_ADDR_MAX = ~static_cast<vmem_addr_t>(0);

// The import and release callbacks take the source arena (vm_arg), so that
// vmem_alloc/vmem_free themselves can be passed, as NetBSD does.
using vmem_import_t = int(vmem_t* arg, vmem_size_t size, vm_flag_t flags, vmem_addr_t* addrp);
using vmem_ximport_t = int(vmem_t* arg, vmem_size_t size, vmem_size_t* actualsize,
                           vm_flag_t flags, vmem_addr_t* addrp);
using vmem_release_t = void(vmem_t* arg, vmem_addr_t addr, vmem_size_t size);

// vmem_create: create an arena.
//  => must not be called from interrupt context.
//  => exactly one of VM_SLEEP/VM_NOSLEEP; quantum a power of 2; VM_XIMPORT not set.
//  => returns NULL only if the initial span cannot be added (VM_NOSLEEP).
vmem_t* vmem_create(const char* name, vmem_addr_t base, vmem_size_t size, vmem_size_t quantum,
                    vmem_import_t* importfn, vmem_release_t* releasefn, vmem_t* source,
                    vmem_size_t qcache_max, vm_flag_t flags, int ipl);
// vmem_xcreate: as vmem_create, with an import function that may return more.
vmem_t* vmem_xcreate(const char* name, vmem_addr_t base, vmem_size_t size, vmem_size_t quantum,
                     vmem_ximport_t* importfn, vmem_release_t* releasefn, vmem_t* source,
                     vmem_size_t qcache_max, vm_flag_t flags, int ipl);
// vmem_destroy: destroy an arena.
//  => the arena must have no busy segments (KASSERT).
void vmem_destroy(vmem_t* vm);

// vmem_alloc: allocate size bytes (rounded up to the quantum).
//  => VM_SLEEP never fails: it waits on the arena's condvar until room appears.
int vmem_alloc(vmem_t* vm, vmem_size_t size, vm_flag_t flags, vmem_addr_t* addrp);
void vmem_free(vmem_t* vm, vmem_addr_t addr, vmem_size_t size);
// vmem_xalloc: allocate with constraints; maxaddr is inclusive.
//  => a constrained request (align, phase or nocross) never imports.
int vmem_xalloc(vmem_t* vm, vmem_size_t size, vmem_size_t align, vmem_size_t phase,
                vmem_size_t nocross, vmem_addr_t minaddr, vmem_addr_t maxaddr, vm_flag_t flags,
                vmem_addr_t* addrp);
// vmem_xalloc_addr: allocate exactly [addr, addr+size).
int vmem_xalloc_addr(vmem_t* vm, vmem_addr_t addr, vmem_size_t size, vm_flag_t flags);
void vmem_xfree(vmem_t* vm, vmem_addr_t addr, vmem_size_t size);
// vmem_xfreeall: free every busy segment.  => the arena has no quantum cache.
void vmem_xfreeall(vmem_t* vm);
// vmem_add: add the static span [addr, addr+size).
int vmem_add(vmem_t* vm, vmem_addr_t addr, vmem_size_t size, vm_flag_t flags);
// vmem_add_bts: give a VM_PRIVTAGS arena n caller-owned boundary tags.
void vmem_add_bts(vmem_t* vm, vmem_btag* bts, unsigned n);
vmem_size_t vmem_roundup_size(const vmem_t* vm, vmem_size_t size);
// vmem_size: VMEM_ALLOC, VMEM_FREE or both; anything else panics.
vmem_size_t vmem_size(const vmem_t* vm, int typemask);

// vmem_rehash: resize the busy-tag hash to 1 << (ilog2(newhashsize) + 1)
// buckets. NetBSD keeps it static and calls it from its 10 s rehash
// callout; kasim also exports it so a benchmark can grow the hash up front.
int vmem_rehash(vmem_t* vm, size_t newhashsize, vm_flag_t flags);

// vmem_dump: NetBSD's format (§2.5); %p becomes a deterministic id (fidelity.md).
void vmem_dump(const vmem_t* vm, void (*pr)(const char*, ...));
std::string vmem_dump_string(const vmem_t* vm);

// vmem_check: every §11 invariant of one arena; one line per problem, empty
// if all hold. An arena whose vm_lock is held is mid-update and is skipped.
// Pure: calls no kernel function, so it may run outside any context.
std::vector<std::string> vmem_check(const vmem_t* vm);
// kasim: the size of the busy segment starting at addr, 0 if there is none
// (a pure hash lookup, for shadow checks).
vmem_size_t vmem_busy_size(const vmem_t* vm, vmem_addr_t addr);

}  // namespace kasim

#include "allocators/vmem/vmem_impl.h"
