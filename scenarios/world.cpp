#include "scenarios/world.h"

#include "scenarios/scenario.h"
#include "sim/engine.h"
#include "sim/kernel.h"

namespace kasim::scn {

void World::add_object(const std::string& name, ObjectHandle h) { objects_[name] = std::move(h); }

ObjectHandle* World::find_object(const std::string& name) {
  auto it = objects_.find(name);
  return it == objects_.end() ? nullptr : &it->second;
}

uint64_t World::resolve(const std::string& label) {
  auto it = labels_.find(label);
  if (it == labels_.end())
    engine_.fail(engine_.make_finding(
        "scenario", "ref \"" + label + "\" has no value yet: the step that labels it has not run"));
  if (!it->second)
    engine_.fail(engine_.make_finding("scenario", "ref \"" + label +
                                                      "\" is NULL: the step that labels it failed"));
  return *it->second;
}

void World::track_alloc(const std::string& kind, const std::string& object, uint64_t addr,
                        uint64_t size) {
  live_[{kind, object, addr}] = size;
}

void World::track_free(const std::string& kind, const std::string& object, uint64_t addr) {
  live_.erase({kind, object, addr});
}

Ctx* World::thread(const std::string& name) const {
  auto it = threads_.find(name);
  return it == threads_.end() ? nullptr : it->second;
}

const Step* World::current_step(const Ctx* c) const {
  auto it = current_.find(c);
  return it == current_.end() ? nullptr : it->second;
}

uint64_t OpEnv::addr_or_ref(const Step& s, const std::string& arg) {
  for (size_t i = 0; i < s.specs->size(); ++i)
    if ((*s.specs)[i].name == "ref" && s.values[i].present) return world_.resolve(s.values[i].s);
  return s.u64(arg);
}

void OpEnv::track_alloc(const std::string& kind, const std::string& object, uint64_t addr,
                        uint64_t size) {
  world_.track_alloc(kind, object, addr, size);
}

void OpEnv::track_free(const std::string& kind, const std::string& object, uint64_t addr) {
  world_.track_free(kind, object, addr);
}

uint64_t OpEnv::size_or_tracked(const Step& s, const std::string& kind, const std::string& object,
                                uint64_t addr) {
  if (s.has("size")) return s.u64("size");
  auto it = world_.live().find({kind, object, addr});
  if (it == world_.live().end())
    kasim_finding("scenario", "%s: no \"size\" given and 0x%llx is not a live allocation of %s",
                  s.op->name.c_str(), static_cast<unsigned long long>(addr), object.c_str());
  return it->second;
}

}  // namespace kasim::scn
