// scenarios/world.h: the state of one scenario run beside the machine —
// named objects, labels, live allocations, thread contexts.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <functional>
#include <tuple>
#include <vector>

#include "scenarios/registry.h"
#include "scenarios/scenario.h"

namespace kasim::scn {

class World {
 public:
  World(Engine& engine, const Scenario& sc) : engine_(engine), sc_(sc) {}

  Engine& engine() { return engine_; }
  const Scenario& scenario() const { return sc_; }

  // Objects: scenario ones and the system ones boot creates (kmem_arena, ...).
  void add_object(const std::string& name, ObjectHandle h);
  ObjectHandle* find_object(const std::string& name);
  const std::map<std::string, ObjectHandle>& objects() const { return objects_; }

  // Labels ("as"/"ref"): the latest value each was bound to; nullopt = NULL.
  void bind(const std::string& label, std::optional<uint64_t> v) { labels_[label] = v; }
  // The value of a label; raises a "scenario" finding if it is unbound or NULL.
  uint64_t resolve(const std::string& label);

  // Live allocations by (kind, object, address) -> size.
  using AllocKey = std::tuple<std::string, std::string, uint64_t>;
  void track_alloc(const std::string& kind, const std::string& object, uint64_t addr,
                   uint64_t size);
  void track_free(const std::string& kind, const std::string& object, uint64_t addr);
  const std::map<AllocKey, uint64_t>& live() const { return live_; }

  // Thread contexts by scenario thread name (for lwp_signal).
  void add_thread(const std::string& name, Ctx* c) { threads_[name] = c; }
  Ctx* thread(const std::string& name) const;

  // The step each context is executing, for findings' locations.
  void set_current_step(const Ctx* c, const Step* s) { current_[c] = s; }
  const Step* current_step(const Ctx* c) const;

  // Runs every invariant now (the "check" op); set by the runner.
  std::function<void()> check_now;
  // SPL levels saved by "spl" steps, per context, for "splx".
  std::map<const Ctx*, std::vector<int>> spl_stack;

 private:
  Engine& engine_;
  const Scenario& sc_;
  std::map<std::string, ObjectHandle> objects_;
  std::map<std::string, std::optional<uint64_t>> labels_;
  std::map<AllocKey, uint64_t> live_;
  std::map<std::string, Ctx*> threads_;
  std::map<const Ctx*, const Step*> current_;  // looked up only, never iterated
};

template <class T>
T* OpEnv::object(const Step& s, const std::string& arg) {
  ObjectHandle* h = world_.find_object(s.str(arg));
  return h ? static_cast<T*>(h->ptr) : nullptr;
}

}  // namespace kasim::scn
