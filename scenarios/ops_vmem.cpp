// Scenario ops, objects, flags and boot for vmem(9) (SCENARIO-FORMAT.md):
// vmem_alloc, vmem_xalloc, vmem_free, vmem_xfree, vmem_add, vmem_size,
// vmem_dump; objects of type "vmem" (with "source" for an importing arena);
// the "VM" flag domain; and the boot step that builds kernel_map and the
// kmem arenas (kmem_arena, kmem_va_arena, kmem_meta_arena, kmem_va_meta_arena).
#include <map>
#include <string>

#include "allocators/boot.h"
#include "allocators/uvm_km/uvm_km.h"
#include "allocators/vmem/vmem.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"
#include "scenarios/world.h"
#include "sim/engine.h"
#include "sim/kernel.h"

namespace kasim::scn {
namespace {

std::vector<std::pair<std::string, std::string>> need_addr_or_ref(const Step& s) {
  if (!s.has("addr") && !s.has("ref")) return {{"", "needs \"addr\" or \"ref\""}};
  if (s.has("addr") && s.has("ref")) return {{"ref", "give \"addr\" or \"ref\", not both"}};
  return {};
}

ObjectHandle make_vmem(OpEnv& env, const ObjectDecl& d) {
  vmem_t* source = nullptr;
  if (d.has("source")) {
    ObjectHandle* h = env.world().find_object(d.str("source"));
    if (h == nullptr)
      kasim_finding("scenario", "vmem %s: source \"%s\" must be created before it",
                    d.name.c_str(), d.str("source").c_str());
    source = static_cast<vmem_t*>(h->ptr);
  }
  const uint64_t quantum = d.has("quantum") ? d.u64("quantum") : page_size();
  vmem_t* vm = vmem_create(d.name.c_str(), d.u64("base"), d.u64("size"), quantum,
                           source ? vmem_alloc : nullptr, source ? vmem_free : nullptr, source,
                           d.u64("qcache_max"), static_cast<vm_flag_t>(d.flags("flags")),
                           d.ipl("ipl"));
  if (vm == nullptr)
    kasim_finding("scenario", "vmem_create(%s) failed: its initial span could not be added",
                  d.name.c_str());
  // The arena belongs to the machine (vmem_globals frees it); no owner here.
  return {"vmem", vm, nullptr};
}

std::map<std::string, uint64_t> vmem_stats(void* p) {
  const vmem_t* vm = static_cast<const vmem_t*>(p);
  return {{"vm_size", vm->vm_size},
          {"vm_inuse", vm->vm_inuse},
          {"vm_nbusytag", vm->vm_nbusytag},
          {"vm_maxbusytag", vm->vm_maxbusytag},
          {"vm_hashsize", vm->vm_hashsize},
          {"vm_nfreetags", vm->vm_nfreetags},
          {"vm_quantum_mask", vm->vm_quantum_mask},
          {"vm_qcache_max", vm->vm_qcache_max},
          {"vm_flags", vm->vm_flags},
          // kasim's own counters
          {"vm_nimport", vm->vm_nimport},
          {"vm_nrelease", vm->vm_nrelease},
          {"vm_nrehash", vm->vm_nrehash},
          {"vm_nsleep", vm->vm_nsleep},
          {"vm_nbtfail", vm->vm_nbtfail},
          {"nspans", vmem_count_segments(vm, BT_TYPE_SPAN) +
                         vmem_count_segments(vm, BT_TYPE_SPAN_STATIC)},
          {"nfree", vmem_count_segments(vm, BT_TYPE_FREE)},
          {"nbusy", vmem_count_segments(vm, BT_TYPE_BUSY)}};
}

OpResult alloc_result(OpEnv& env, const Step& s, int rc, vmem_addr_t a, uint64_t size) {
  OpResult r = OpResult::with_error(rc);
  r.has_addr = true;
  if (rc == 0) {
    r.addr = a;
    env.track_alloc("vmem", s.str("arena"), a, size);
  }
  return r;
}

}  // namespace

KASIM_REGISTER(vmem_ops) {
  reg.flags("VM", {{"VM_SLEEP", VM_SLEEP},
                   {"VM_NOSLEEP", VM_NOSLEEP},
                   {"VM_INSTANTFIT", VM_INSTANTFIT},
                   {"VM_BESTFIT", VM_BESTFIT},
                   {"VM_BOOTSTRAP", VM_BOOTSTRAP},
                   {"VM_POPULATING", VM_POPULATING},
                   {"VM_LARGEIMPORT", VM_LARGEIMPORT},
                   {"VM_XIMPORT", VM_XIMPORT},
                   {"VM_PRIVTAGS", VM_PRIVTAGS}});

  reg.object({.type = "vmem",
              .fields = {arg_u64("base"), arg_u64("size"), arg_u64("quantum"),
                         arg_u64("qcache_max"), arg_object("source", {"vmem"}, false),
                         arg_flags("flags", "VM", VM_SLEEP), arg_ipl("ipl", IPL_VM)},
              .create = make_vmem,
              .stats = vmem_stats});

  reg.boot({.name = "vm",
            .order = 10,
            .run = [](OpEnv& env) {
              const MachineConfig& mc = env.engine().machine();
              vm_boot_params p;
              p.kva_base = mc.kva_base;
              p.kva_pages = mc.kva_pages;
              p.page_size = mc.page_size;
              p.phys_pages = mc.phys_pages;
              kasim_vm_boot(p);
              uvm_km_globals& g = uvm_km_globals_get();
              env.world().add_object("kmem_arena", {"vmem", g.kmem_arena, nullptr});
              env.world().add_object("kmem_va_arena", {"vmem", g.kmem_va_arena, nullptr});
              env.world().add_object("kmem_va_meta_arena",
                                     {"vmem", g.kmem_va_meta_arena, nullptr});
              env.world().add_object("kmem_meta_arena", {"vmem", g.kmem_meta_arena, nullptr});
              env.world().add_object("kernel_map", {"vm_map", g.kernel_map, nullptr});
            }});
  reg.system_object("kmem_arena", "vmem");
  reg.system_object("kmem_va_arena", "vmem");
  reg.system_object("kmem_va_meta_arena", "vmem");
  reg.system_object("kmem_meta_arena", "vmem");

  reg.op({.name = "vmem_alloc",
          .args = {arg_object("arena", {"vmem"}), arg_u64("size", true), arg_flags("flags", "VM")},
          .results = R_ERROR | R_ADDR,
          .run = [](OpEnv& env, const Step& s) {
            vmem_addr_t a = 0;
            const int rc = vmem_alloc(env.object<vmem_t>(s, "arena"), s.u64("size"),
                                      static_cast<vm_flag_t>(s.flags("flags")), &a);
            return alloc_result(env, s, rc, a, s.u64("size"));
          },
          .help = "vmem_alloc(arena, size, flags, &addr)",
          .allocates = "vmem",
          .object_arg = "arena"});

  reg.op({.name = "vmem_xalloc",
          .args = {arg_object("arena", {"vmem"}), arg_u64("size", true), arg_u64("align"),
                   arg_u64("phase"), arg_u64("nocross"), arg_u64("minaddr", false, VMEM_ADDR_MIN),
                   arg_u64("maxaddr", false, VMEM_ADDR_MAX), arg_flags("flags", "VM")},
          .results = R_ERROR | R_ADDR,
          .run = [](OpEnv& env, const Step& s) {
            vmem_addr_t a = 0;
            const int rc = vmem_xalloc(env.object<vmem_t>(s, "arena"), s.u64("size"),
                                       s.u64("align"), s.u64("phase"), s.u64("nocross"),
                                       s.u64("minaddr"), s.u64("maxaddr"),
                                       static_cast<vm_flag_t>(s.flags("flags")), &a);
            return alloc_result(env, s, rc, a, s.u64("size"));
          },
          .help = "vmem_xalloc(arena, size, align, phase, nocross, minaddr, maxaddr (inclusive), "
                  "flags, &addr)",
          .allocates = "vmem",
          .object_arg = "arena"});

  for (const char* name : {"vmem_free", "vmem_xfree"}) {
    const bool x = name[5] == 'x';
    reg.op({.name = name,
            .args = {arg_object("arena", {"vmem"}), arg_u64("addr"), arg_label("ref"),
                     arg_u64("size")},
            .validate = need_addr_or_ref,
            .run = [x](OpEnv& env, const Step& s) {
              vmem_t* vm = env.object<vmem_t>(s, "arena");
              const uint64_t addr = env.addr_or_ref(s, "addr");
              const uint64_t size = env.size_or_tracked(s, "vmem", s.str("arena"), addr);
              // Untracked before the free: once the segment is free another
              // CPU may allocate it again while this op is still running.
              env.track_free("vmem", s.str("arena"), addr);
              if (x)
                vmem_xfree(vm, addr, size);
              else
                vmem_free(vm, addr, size);
              return OpResult::none();
            },
            .help = x ? "vmem_xfree(arena, addr or ref, size)"
                      : "vmem_free(arena, addr or ref, size)",
            // vmem_free undoes vmem_alloc, vmem_xfree undoes vmem_xalloc.
            .frees = "vmem",
            .pairs_with = {x ? "vmem_xalloc" : "vmem_alloc"},
            .object_arg = "arena"});
  }

  reg.op({.name = "vmem_add",
          .args = {arg_object("arena", {"vmem"}), arg_u64("addr", true), arg_u64("size", true),
                   arg_flags("flags", "VM")},
          .results = R_ERROR,
          .run = [](OpEnv& env, const Step& s) {
            return OpResult::with_error(vmem_add(env.object<vmem_t>(s, "arena"), s.u64("addr"),
                                                 s.u64("size"),
                                                 static_cast<vm_flag_t>(s.flags("flags"))));
          },
          .help = "vmem_add(arena, addr, size, flags): add a static span"});

  reg.op({.name = "vmem_size",
          .args = {arg_object("arena", {"vmem"}), arg_choice("which", {"alloc", "free", "total"})},
          .results = R_VALUE,
          .run = [](OpEnv& env, const Step& s) {
            const std::string& w = s.str("which");
            const int mask = w == "alloc" ? VMEM_ALLOC : w == "free" ? VMEM_FREE
                                                                     : VMEM_ALLOC | VMEM_FREE;
            return OpResult::with_value(vmem_size(env.object<vmem_t>(s, "arena"), mask));
          },
          .help = "vmem_size(arena, VMEM_ALLOC / VMEM_FREE / both)"});

  reg.op({.name = "vmem_dump",
          .args = {arg_object("arena", {"vmem"})},
          .results = R_OUTPUT,
          .run = [](OpEnv& env, const Step& s) {
            vmem_t* vm = env.object<vmem_t>(s, "arena");
            // NetBSD's DDB dump reads without the lock; a running machine may
            // be mid-update on another CPU, so take it.
            mutex_enter(&vm->vm_lock);
            OpResult r;
            r.output = vmem_dump_string(vm);
            mutex_exit(&vm->vm_lock);
            return r;
          },
          .help = "vmem_dump: the arena's segments and free lists in NetBSD's format"});
}

}  // namespace kasim::scn
