// allocators/boot.cpp: kasim_vm_boot — uvm_km_bootstrap and kmem_init's arenas.
#include "allocators/boot.h"

#include <cinttypes>

#include "allocators/uvm_km/uvm_km.h"
#include "sim/kernel.h"

namespace kasim {

void kasim_vm_boot(const vm_boot_params& p) {
  KASSERTMSG(p.page_size == page_size(), "kasim_vm_boot: page size %" PRIu64
             " differs from the page store's %" PRIu64, p.page_size, page_size());
  KASSERTMSG(p.kva_pages > 0, "kasim_vm_boot: kva_pages is 0");
  const uint64_t kmemsize = p.kva_pages * p.page_size;
  KASSERTMSG(kmemsize / p.page_size == p.kva_pages && p.kva_base + 2 * kmemsize - 1 > p.kva_base &&
                 (p.kva_base & (p.page_size - 1)) == 0,
             "kasim_vm_boot: kernel VA [0x%" PRIx64 ", +2 * %" PRIu64
             " pages) wraps or is not page-aligned",
             p.kva_base, p.kva_pages);
  uvm_km_bootstrap(p.kva_base, p.kva_base + 2 * kmemsize, p.kva_base, kmemsize);
}

}  // namespace kasim
