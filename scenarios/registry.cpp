#include "scenarios/registry.h"

#include "sim/finding.h"

namespace kasim::scn {

namespace {
ArgSpec make_arg(std::string name, ArgType type, bool required = false) {
  ArgSpec a;
  a.name = std::move(name);
  a.type = type;
  a.required = required;
  return a;
}
}  // namespace

ArgSpec arg_u64(std::string name, bool required, uint64_t def, uint64_t max) {
  ArgSpec a = make_arg(std::move(name), ArgType::u64, required);
  a.default_u64 = def;
  a.max_u64 = max;
  return a;
}

ArgSpec arg_flags(std::string name, std::string domain, uint64_t def) {
  ArgSpec a = make_arg(std::move(name), ArgType::flags);
  a.flag_domain = std::move(domain);
  a.default_u64 = def;
  return a;
}

ArgSpec arg_ipl(std::string name, ipl_t def) {
  ArgSpec a = make_arg(std::move(name), ArgType::ipl);
  a.default_u64 = static_cast<uint64_t>(def);
  return a;
}

ArgSpec arg_object(std::string name, std::vector<std::string> types, bool required) {
  ArgSpec a = make_arg(std::move(name), ArgType::object, required);
  a.object_types = std::move(types);
  return a;
}

ArgSpec arg_label(std::string name, bool required) {
  return make_arg(std::move(name), ArgType::label, required);
}

ArgSpec arg_thread(std::string name, bool required) {
  return make_arg(std::move(name), ArgType::thread, required);
}

ArgSpec arg_choice(std::string name, std::vector<std::string> choices, std::string def) {
  ArgSpec a = make_arg(std::move(name), ArgType::choice, def.empty());
  a.choices = std::move(choices);
  a.default_str = std::move(def);
  return a;
}

ArgSpec arg_bool(std::string name, bool def) {
  ArgSpec a = make_arg(std::move(name), ArgType::boolean);
  a.default_u64 = def ? 1 : 0;
  return a;
}

ArgSpec arg_string(std::string name, bool required, std::string def) {
  ArgSpec a = make_arg(std::move(name), ArgType::string, required);
  a.default_str = std::move(def);
  return a;
}

Registry& Registry::get() {
  static Registry r;
  return r;
}

void Registry::op(OpSpec spec) {
  std::string name = spec.name;
  if (!ops_.emplace(name, std::move(spec)).second)
    throw InternalError("op registered twice: " + name);
}

void Registry::object(ObjectSpec spec) {
  std::string type = spec.type;
  if (!objects_.emplace(type, std::move(spec)).second)
    throw InternalError("object type registered twice: " + type);
}

void Registry::flags(const std::string& domain,
                     std::vector<std::pair<std::string, uint64_t>> names) {
  auto& d = flags_[domain];
  for (auto& n : names) d.push_back(std::move(n));
}

void Registry::boot(BootStep step) {
  auto pos = boot_.begin();
  while (pos != boot_.end() && pos->order <= step.order) ++pos;  // stable by order
  boot_.insert(pos, std::move(step));
}

void Registry::system_object(std::string name, std::string type) {
  system_.push_back({std::move(name), std::move(type)});
}

const OpSpec* Registry::find_op(const std::string& name) const {
  auto it = ops_.find(name);
  return it == ops_.end() ? nullptr : &it->second;
}

const ObjectSpec* Registry::find_object(const std::string& type) const {
  auto it = objects_.find(type);
  return it == objects_.end() ? nullptr : &it->second;
}

std::optional<uint64_t> Registry::flag(const std::string& domain, const std::string& name) const {
  auto d = flags_.find(domain);
  if (d == flags_.end()) return std::nullopt;
  for (const auto& [n, v] : d->second)
    if (n == name) return v;
  return std::nullopt;
}

const std::vector<std::pair<std::string, uint64_t>>* Registry::flag_domain(
    const std::string& d) const {
  auto it = flags_.find(d);
  return it == flags_.end() ? nullptr : &it->second;
}

std::vector<std::string> Registry::op_names() const {
  std::vector<std::string> out;
  for (const auto& [n, _] : ops_) out.push_back(n);
  return out;
}

std::vector<std::string> Registry::object_types() const {
  std::vector<std::string> out;
  for (const auto& [n, _] : objects_) out.push_back(n);
  return out;
}

}  // namespace kasim::scn
