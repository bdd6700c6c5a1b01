// Shadow ownership for uvm_km (NETBSD-ALLOCATORS.md §11 "uvm_km"):
//  - kernel_map's allocations are page-aligned, inside the map, disjoint, and
//    each is exactly one busy segment of the map's VA arena;
//  - every WIRED allocation and every uvm_km_kmem_alloc range is mapped page
//    by page, each to its own physical page owned by uvm_km;
//  - no page uvm_km owns is mapped outside a live allocation, and none is
//    allocated but unmapped (a page leaked by a free), except while some
//    allocation is being filled or torn down.
// The page-by-page parts run on full walks only (they cost O(pages)).
#include <cinttypes>
#include <cstdio>

#include "allocators/uvm_km/uvm_km.h"
#include "properties/invariants.h"
#include "sim/engine.h"

namespace {

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "0x%" PRIx64, v);
  return b;
}

// The live range of `ranges` (start -> record with .size) containing va.
template <class Map>
const typename Map::mapped_type* containing(const Map& ranges, uint64_t va) {
  auto it = ranges.upper_bound(va);
  if (it == ranges.begin()) return nullptr;
  --it;
  return va < it->first + it->second.size ? &it->second : nullptr;
}

}  // namespace

KASIM_INVARIANT(uvm_km) {
  using namespace kasim;
  uvm_km_globals& g = engine.local<uvm_km_globals>();
  if (g.kernel_map == nullptr) return;
  PageStore& store = engine.pages();
  const uint64_t ps = store.page_size();
  const vm_map* map = g.kernel_map;
  auto problem = [&](std::string s) { out.push_back({"uvm_km", std::move(s)}); };
  bool in_flux = false;

  auto check_mapped = [&](uint64_t start, uint64_t size, const uvm_object* owner,
                          const char* what) {
    if (!full) return;
    for (uint64_t va = start; va < start + size; va += ps) {
      paddr_t pa = 0;
      if (!store.extract(va, &pa)) {
        problem(std::string(what) + " [" + hex(start) + ", +" + hex(size) + "): va " + hex(va) +
                " is not mapped");
        return;
      }
      vm_page* pg = store.phys_to_page(pa);
      if (pg == nullptr || pg->owner != owner || pg->va != va) {
        problem(std::string(what) + " [" + hex(start) + ", +" + hex(size) + "): va " + hex(va) +
                " is mapped to a page that is not its own");
        return;
      }
    }
  };

  uint64_t prev_end = map->min_offset;
  const bool va_quiet = map->vmm_va->vm_lock.owner == nullptr;
  for (const auto& [va, e] : map->entries) {
    if (va < prev_end)
      problem("kernel_map entry " + hex(va) + " overlaps the previous one (ends " +
              hex(prev_end) + ")");
    prev_end = va + e.size;
    if (va % ps != 0 || e.size % ps != 0 || e.size == 0 || va < map->min_offset ||
        va + e.size > map->max_offset)
      problem("kernel_map entry [" + hex(va) + ", +" + hex(e.size) +
              ") is not page-aligned or lies outside the map");
    if (va_quiet && vmem_busy_size(map->vmm_va, va) != e.size)
      problem("kernel_map entry [" + hex(va) + ", +" + hex(e.size) +
              ") is not a busy segment of the map's VA arena");
    if (e.busy) {
      in_flux = true;
      continue;
    }
    if (e.type == UVM_KMF_WIRED) check_mapped(va, e.size, &g.km_wired_object, "wired allocation");
  }
  for (const auto& [va, r] : g.kmem_live) {
    if (r.busy) {
      in_flux = true;
      continue;
    }
    check_mapped(va, r.size, &g.kmem_object, "uvm_km_kmem_alloc range");
  }

  if (!full) return;
  for (uint64_t i = 0; i < store.npages(); i++) {
    const vm_page& pg = store.page(static_cast<uint32_t>(i));
    if (pg.free) continue;
    const bool wired = pg.owner == &g.km_wired_object, kmem = pg.owner == &g.kmem_object;
    if (!wired && !kmem) continue;
    if (!pg.mapped) {
      if (!in_flux)
        problem("page " + std::to_string(i) + " of " + pg.owner->name +
                " is allocated but not mapped (leaked)");
      continue;
    }
    if (wired) {
      const uvm_km_entry* e = containing(map->entries, pg.va);
      if (e == nullptr || e->type != UVM_KMF_WIRED)
        problem("page " + std::to_string(i) + " is mapped at " + hex(pg.va) +
                ", outside every wired allocation");
    } else if (containing(g.kmem_live, pg.va) == nullptr) {
      problem("page " + std::to_string(i) + " is mapped at " + hex(pg.va) +
              ", outside every uvm_km_kmem_alloc range");
    }
  }
}
