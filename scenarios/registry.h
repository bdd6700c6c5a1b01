// scenarios/registry.h: how ops, object types, flag names and boot steps plug
// into the scenario runner.
//
// An allocator module registers its ops (name, argument schema, how to run
// them), its object types, its flag names and what it builds at boot, from a
// .cpp file in the kasim_ops object library:
//
//   KASIM_REGISTER(vmem_ops) {
//     reg.flags("VM", {{"VM_SLEEP", 0x1}, {"VM_NOSLEEP", 0x2}, ...});
//     reg.op({.name = "vmem_alloc",
//             .args = {arg_object("arena", {"vmem"}), arg_u64("size", true), arg_flags("flags", "VM")},
//             .results = R_ERROR | R_ADDR,
//             .run = [](OpEnv& env, const Step& s) { ... return OpResult{...}; },
//             .allocates = "vmem",
//             .object_arg = "arena"});
//   }
//
// The runner and the validator only ever look ops up here, so adding an
// allocator never touches them. A Step (scenario.h) gives typed access to the
// arguments: s.u64("size"), s.flags("flags"), s.str("arena"), s.has("ref").
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/ipl.h"

namespace kasim {
class Engine;
struct MachineConfig;
}

namespace kasim::scn {

class World;
struct Step;

enum class ArgType {
  u64,       // JSON integer or C-notation string ("0x4f", "4096"); non-negative
  flags,     // array of flag names of one domain; value = OR of their bits
  ipl,       // IPL name
  object,    // name of an object (scenario or system) of one of `object_types`
  label,     // a label some step defines with "as"
  thread,    // name of a thread
  choice,    // one of `choices`
  boolean,
  string,
};

struct ArgSpec {
  std::string name;
  ArgType type = ArgType::u64;
  bool required = false;
  std::string flag_domain;                // flags
  std::vector<std::string> object_types;  // object
  std::vector<std::string> choices;       // choice
  uint64_t default_u64 = 0;               // u64, boolean, ipl (value), flags (bits)
  uint64_t max_u64 = UINT64_MAX;          // u64: the largest the API's type holds
  std::string default_str;                // choice, string, object
};

ArgSpec arg_u64(std::string name, bool required = false, uint64_t def = 0, uint64_t max = UINT64_MAX);
// The largest values of the C types NetBSD's prototypes take (u_int, int):
// a scenario value wider than its parameter is refused, never truncated.
inline constexpr uint64_t kMaxUInt = 0xffffffffULL;
inline constexpr uint64_t kMaxInt = 0x7fffffffULL;
ArgSpec arg_flags(std::string name, std::string domain, uint64_t def = 0);
ArgSpec arg_ipl(std::string name, ipl_t def = IPL_NONE);
ArgSpec arg_object(std::string name, std::vector<std::string> types, bool required = true);
ArgSpec arg_label(std::string name, bool required = false);
ArgSpec arg_thread(std::string name, bool required = true);
ArgSpec arg_choice(std::string name, std::vector<std::string> choices, std::string def = {});
ArgSpec arg_bool(std::string name, bool def = false);
ArgSpec arg_string(std::string name, bool required = false, std::string def = {});

// A parsed argument value.
struct ArgValue {
  bool present = false;  // given in the file (otherwise the default is in u/s)
  uint64_t u = 0;        // u64, flags bits, ipl, boolean
  std::string s;         // object, label, thread, choice, string
};

// Which result fields an op produces (what "expect" may check).
enum ResultBits : unsigned {
  R_NONE = 0,
  R_ERROR = 1,
  R_ADDR = 2,  // addr, null, same_as; "as" labels it
  R_VALUE = 4,
  R_OUTPUT = 8,
  R_STATS = 16,
};

struct OpResult {
  std::optional<int> error;
  bool has_addr = false;
  std::optional<uint64_t> addr;  // nullopt with has_addr = NULL
  std::optional<uint64_t> value;
  std::optional<std::string> output;
  std::map<std::string, uint64_t> stats;

  static OpResult none() { return {}; }
  static OpResult with_error(int e) {
    OpResult r;
    r.error = e;
    return r;
  }
  static OpResult with_addr(std::optional<uint64_t> a) {
    OpResult r;
    r.has_addr = true;
    r.addr = a;
    return r;
  }
  static OpResult with_value(uint64_t v) {
    OpResult r;
    r.value = v;
    return r;
  }
};

// What an op's run function sees.
class OpEnv {
 public:
  OpEnv(World& world, Engine& engine) : world_(world), engine_(engine) {}
  World& world() { return world_; }
  Engine& engine() { return engine_; }
  // The object an "object" argument names, as the type its module created.
  template <class T>
  T* object(const Step& s, const std::string& arg);
  // An address: the "ref" label's current value if the step has one, else
  // the u64 argument `arg` (e.g. "addr" or "start").
  uint64_t addr_or_ref(const Step& s, const std::string& arg);
  // Allocation tracking: leaks at the end, and workloads' random frees.
  void track_alloc(const std::string& kind, const std::string& object, uint64_t addr,
                   uint64_t size);
  void track_free(const std::string& kind, const std::string& object, uint64_t addr);
  // The size a free op passes: the step's `size`, or else the size the
  // allocation at `addr` was tracked with (a workload's free has none of its
  // own). No size and nothing tracked there is a `scenario` finding.
  uint64_t size_or_tracked(const Step& s, const std::string& kind, const std::string& object,
                           uint64_t addr);

 private:
  World& world_;
  Engine& engine_;
};

enum class Context : unsigned { thread = 1, interrupt = 2, any = 3 };

struct OpSpec {
  std::string name;
  std::vector<ArgSpec> args;
  unsigned results = R_NONE;
  // Optional cross-argument rules beyond the schema (e.g. "addr or ref"): each
  // problem is (argument or "" for the step, message).
  std::function<std::vector<std::pair<std::string, std::string>>(const Step&)> validate;
  std::function<OpResult(OpEnv&, const Step&)> run;
  std::string help;

  // What randomized workloads (docs/fuzzing.md) need to pair allocations with
  // frees. An op that allocates names the kind it passes to
  // OpEnv::track_alloc; an op that frees names the kind it passes to
  // track_free and the ops whose results it frees (empty: every op that
  // allocates `frees`). `object_arg` is the argument naming the arena, pool,
  // cache or map the allocation belongs to (empty: objects of the kind carry
  // no owner, as kmem's). A workload step of a freeing op with neither "ref"
  // nor `addr_arg` gets `addr_arg` set to a random live allocation of that
  // kind, owner and producing op; the op must then find the size itself from
  // env.world().live() when its size argument is absent.
  std::string allocates;
  std::string frees;
  std::vector<std::string> pairs_with;
  std::string object_arg;
  std::string addr_arg = "addr";
};

// An allocator object created at boot from an "objects" entry.
struct ObjectHandle {
  std::string type;
  void* ptr = nullptr;
  std::shared_ptr<void> owner;  // keeps it alive for the run; destroyed with the world
};

struct ObjectDecl;  // parsed "objects" entry (scenario.h)

struct ObjectSpec {
  std::string type;
  std::vector<ArgSpec> fields;  // beyond "name" and "type"
  // Creates the object; runs in the boot LWP on CPU 0, so it may use kernel.h.
  // Empty for types only boot makes (system objects): files cannot declare them.
  std::function<ObjectHandle(OpEnv&, const ObjectDecl&)> create;
  // NetBSD's counters under NetBSD's names, for the "stats" op.
  std::function<std::map<std::string, uint64_t>(void*)> stats;
  // Optional rules between fields and the machine that `create` would
  // otherwise fail on at boot (an item larger than a pool page): each problem
  // is (field or "" for the object, message). What validation accepts boots.
  std::function<std::vector<std::pair<std::string, std::string>>(const ObjectDecl&,
                                                                  const MachineConfig&)>
      validate;
};

// What allocator modules build at boot before scenario objects (kmem_arena,
// kernel_map, ...): runs in the boot LWP, in ascending `order`.
struct BootStep {
  std::string name;
  int order = 0;
  std::function<void(OpEnv&)> run;
};

// A system object boot creates, so that validation can resolve its name.
struct SystemObject {
  std::string name;
  std::string type;
};

class Registry {
 public:
  static Registry& get();

  void op(OpSpec spec);
  void object(ObjectSpec spec);
  void flags(const std::string& domain, std::vector<std::pair<std::string, uint64_t>> names);
  void boot(BootStep step);
  void system_object(std::string name, std::string type);

  const OpSpec* find_op(const std::string& name) const;
  const ObjectSpec* find_object(const std::string& type) const;
  // Bit value of a flag name in a domain, if any.
  std::optional<uint64_t> flag(const std::string& domain, const std::string& name) const;
  const std::vector<std::pair<std::string, uint64_t>>* flag_domain(const std::string& d) const;
  const std::vector<BootStep>& boot_steps() const { return boot_; }
  const std::vector<SystemObject>& system_objects() const { return system_; }
  std::vector<std::string> op_names() const;
  std::vector<std::string> object_types() const;
  const std::map<std::string, OpSpec>& ops() const { return ops_; }

 private:
  std::map<std::string, OpSpec> ops_;
  std::map<std::string, ObjectSpec> objects_;
  std::map<std::string, std::vector<std::pair<std::string, uint64_t>>> flags_;
  std::vector<BootStep> boot_;
  std::vector<SystemObject> system_;
};

// Registers at static-initialisation time. Files using it must be in the
// kasim_ops OBJECT library (scenarios/CMakeLists.txt) so the linker keeps them.
#define KASIM_REGISTER(tag)                                          \
  static void kasim_register_##tag(::kasim::scn::Registry& reg);    \
  static const bool kasim_registered_##tag = [] {                    \
    kasim_register_##tag(::kasim::scn::Registry::get());             \
    return true;                                                     \
  }();                                                               \
  static void kasim_register_##tag([[maybe_unused]] ::kasim::scn::Registry& reg)

}  // namespace kasim::scn
