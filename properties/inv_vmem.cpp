// Invariants of every vmem arena on the machine (NETBSD-ALLOCATORS.md §11):
// vmem_check on each arena of the machine's vmem_list. An arena whose lock
// is held is mid-update and is skipped by vmem_check. Between full walks only
// arenas with few busy segments are walked (a walk costs O(segments)).
#include "allocators/vmem/vmem.h"
#include "properties/invariants.h"
#include "sim/engine.h"

KASIM_INVARIANT(vmem) {
  const kasim::vmem_globals& g = engine.local<kasim::vmem_globals>();
  constexpr size_t kCheapBusy = 256;
  for (const kasim::vmem_t* vm : g.vmem_list) {
    if (!full && vm->vm_nbusytag > kCheapBusy) continue;
    for (std::string& p : kasim::vmem_check(vm)) out.push_back({"vmem", std::move(p)});
  }
}
