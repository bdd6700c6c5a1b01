// Scenario ops for uvm_km(9) (SCENARIO-FORMAT.md): uvm_km_alloc and
// uvm_km_free on kernel_map, the "UVM_KMF" flag domain, and the "vm_map"
// object type (kernel_map is the only one; boot creates it, see ops_vmem.cpp).
#include <map>
#include <string>

#include "allocators/uvm_km/uvm_km.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"
#include "scenarios/world.h"
#include "sim/engine.h"
#include "sim/kernel.h"

namespace kasim::scn {

KASIM_REGISTER(uvm_km_ops) {
  reg.flags("UVM_KMF", {{"UVM_KMF_WIRED", UVM_KMF_WIRED},
                        {"UVM_KMF_PAGEABLE", UVM_KMF_PAGEABLE},
                        {"UVM_KMF_VAONLY", UVM_KMF_VAONLY},
                        {"UVM_KMF_CANFAIL", UVM_KMF_CANFAIL},
                        {"UVM_KMF_ZERO", UVM_KMF_ZERO},
                        {"UVM_KMF_EXEC", UVM_KMF_EXEC},
                        {"UVM_KMF_TRYLOCK", UVM_KMF_TRYLOCK},
                        {"UVM_KMF_NOWAIT", UVM_KMF_NOWAIT},
                        {"UVM_KMF_WAITVA", UVM_KMF_WAITVA},
                        {"UVM_KMF_COLORMATCH", UVM_KMF_COLORMATCH}});

  // No create: kernel_map is the only vm_map, and boot makes it.
  reg.object({.type = "vm_map",
              .fields = {},
              .stats = [](void* p) -> std::map<std::string, uint64_t> {
                const vm_map* m = static_cast<const vm_map*>(p);
                return {{"nentries", m->entries.size()},
                        {"nwaitva", m->nwaitva},
                        {"va_inuse", m->vmm_va->vm_inuse},
                        {"va_size", m->vmm_va->vm_size}};
              }});
  reg.system_object("kernel_map", "vm_map");

  reg.op({.name = "uvm_km_alloc",
          .args = {arg_object("map", {"vm_map"}), arg_u64("size", true), arg_u64("align"),
                   arg_flags("flags", "UVM_KMF")},
          .results = R_ADDR,
          .run = [](OpEnv& env, const Step& s) {
            const vaddr_t va = uvm_km_alloc(env.object<vm_map>(s, "map"), s.u64("size"),
                                            s.u64("align"),
                                            static_cast<uvm_flag_t>(s.flags("flags")));
            // NetBSD returns 0 on failure, and SCENARIO-FORMAT.md says the
            // result is addr 0 then (check it with "addr": 0).
            if (va != 0) env.track_alloc("uvm_km", s.str("map"), va, s.u64("size"));
            return OpResult::with_addr(va);
          },
          .help = "uvm_km_alloc(map, size, align, flags): the address, or 0 on failure",
          .allocates = "uvm_km",
          .object_arg = "map"});

  reg.op({.name = "uvm_km_free",
          .args = {arg_object("map", {"vm_map"}), arg_u64("addr"), arg_label("ref"),
                   arg_u64("size"), arg_flags("flags", "UVM_KMF")},
          .validate = [](const Step& s) -> std::vector<std::pair<std::string, std::string>> {
            if (!s.has("addr") && !s.has("ref")) return {{"", "needs \"addr\" or \"ref\""}};
            if (s.has("addr") && s.has("ref")) return {{"ref", "give \"addr\" or \"ref\", not both"}};
            return {};
          },
          .run = [](OpEnv& env, const Step& s) {
            const uint64_t addr = env.addr_or_ref(s, "addr");
            const uint64_t size = env.size_or_tracked(s, "uvm_km", s.str("map"), addr);
            // Untracked before the free: the range may be allocated again
            // before uvm_km_free returns.
            env.track_free("uvm_km", s.str("map"), addr);
            uvm_km_free(env.object<vm_map>(s, "map"), addr, size,
                        static_cast<uvm_flag_t>(s.flags("flags")));
            return OpResult::none();
          },
          .help = "uvm_km_free(map, addr or ref, size, flags): same size and type as allocated",
          .frees = "uvm_km",
          .pairs_with = {"uvm_km_alloc"},
          .object_arg = "map"});
}

}  // namespace kasim::scn
