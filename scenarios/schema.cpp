#include "scenarios/schema.h"

#include <set>

#include "scenarios/registry.h"
#include "sim/ipl.h"

namespace kasim::scn {

using nlohmann::json;

namespace {

json def_ref(const std::string& def) { return {{"$ref", "#/$defs/" + def}}; }

json arg_schema(const ArgSpec& a) {
  switch (a.type) {
    case ArgType::u64: {
      json s = def_ref("number");
      // "maximum" constrains the integer form; the validator checks both.
      if (a.max_u64 != UINT64_MAX) s["maximum"] = a.max_u64;
      return s;
    }
    case ArgType::flags: return def_ref("flags_" + a.flag_domain);
    case ArgType::ipl: return def_ref("ipl");
    case ArgType::object:
    case ArgType::label:
    case ArgType::thread:
    case ArgType::string: return {{"type", "string"}};
    case ArgType::choice: return {{"enum", a.choices}};
    case ArgType::boolean: return {{"type", "boolean"}};
  }
  return json::object();
}

json expect_schema(unsigned results) {
  json props = {{"contract", {{"type", "string"}}}};
  if (results & R_ERROR) props["error"] = def_ref("errno");
  if (results & R_ADDR) {
    props["addr"] = def_ref("number");
    props["null"] = {{"type", "boolean"}};
    props["same_as"] = {{"type", "string"}};
  }
  if (results & R_VALUE) props["value"] = def_ref("number");
  if (results & R_OUTPUT) props["output"] = {{"type", "string"}};
  if (results & R_STATS)
    props["stats"] = {{"type", "object"}, {"additionalProperties", def_ref("number")}};
  return {{"type", "object"}, {"properties", props}, {"additionalProperties", false}};
}

json step_schema(const OpSpec& op) {
  json props = {{"op", {{"const", op.name}}}};
  json required = json::array({"op"});
  for (const ArgSpec& a : op.args) {
    props[a.name] = arg_schema(a);
    if (a.required) required.push_back(a.name);
  }
  if (op.results & R_ADDR) props["as"] = {{"type", "string"}};
  props["expect"] = expect_schema(op.results);
  json s = {{"type", "object"},
            {"properties", props},
            {"required", required},
            {"additionalProperties", false}};
  if (!op.help.empty()) s["description"] = op.help;
  return s;
}

json object_schema(const ObjectSpec& spec) {
  json props = {{"name", {{"type", "string"}}}, {"type", {{"const", spec.type}}}};
  json required = json::array({"name", "type"});
  for (const ArgSpec& a : spec.fields) {
    props[a.name] = arg_schema(a);
    if (a.required) required.push_back(a.name);
  }
  return {{"type", "object"},
          {"properties", props},
          {"required", required},
          {"additionalProperties", false}};
}

json closed_object(json props, json required = json::array()) {
  json o = {{"type", "object"}, {"properties", std::move(props)}, {"additionalProperties", false}};
  if (!required.empty()) o["required"] = std::move(required);
  return o;
}

}  // namespace

json scenario_schema() {
  const Registry& reg = Registry::get();
  json defs;
  defs["number"] = {
      {"description", "a non-negative integer, or a string in C notation (\"0x4f\", \"4096\", \"017\")"},
      {"anyOf",
       json::array({{{"type", "integer"}, {"minimum", 0}},
                    {{"type", "string"}, {"pattern", "^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$"}}})}};
  json ipls = json::array();
  for (int i = 0; i < kIplCount; ++i) ipls.push_back(std::string(ipl_name(i)));
  defs["ipl"] = {{"enum", ipls}};
  defs["errno"] = {{"enum", json::array({0, "0", "ENOMEM", "EAGAIN", "EINVAL", "EINTR",
                                         "EWOULDBLOCK"})}};
  std::set<std::string> domains;
  for (const auto& [name, op] : reg.ops())
    for (const ArgSpec& a : op.args)
      if (a.type == ArgType::flags) domains.insert(a.flag_domain);
  for (const std::string& t : reg.object_types())
    for (const ArgSpec& a : reg.find_object(t)->fields)
      if (a.type == ArgType::flags) domains.insert(a.flag_domain);
  for (const std::string& d : domains) {
    json names = json::array();
    if (auto* fl = reg.flag_domain(d))
      for (const auto& [n, _] : *fl) names.push_back(n);
    defs["flags_" + d] = {{"type", "array"}, {"items", {{"enum", names}}}};
  }
  json steps = json::array();
  for (const auto& [name, op] : reg.ops()) steps.push_back(step_schema(op));
  defs["step"] = {{"oneOf", steps}};
  json objects = json::array();
  for (const std::string& t : reg.object_types())
    if (reg.find_object(t)->create) objects.push_back(object_schema(*reg.find_object(t)));
  defs["object"] = {{"oneOf", objects}};

  json costs = json::object();
  for (const char* c : {"op", "mutex_local", "mutex_remote", "atomic_local", "atomic_remote",
                        "spl", "cv", "context_switch", "intr_entry", "intr_exit", "page_alloc",
                        "page_free", "pmap", "spin_retry"})
    costs[c] = def_ref("number");
  json machine = closed_object({{"cpus", def_ref("number")},
                                {"page_size", def_ref("number")},
                                {"phys_pages", def_ref("number")},
                                {"kva_pages", def_ref("number")},
                                {"kva_base", def_ref("number")},
                                {"coherency_unit", def_ref("number")},
                                {"pagedaemon", {{"type", "boolean"}}},
                                {"free_target", def_ref("number")},
                                {"preempt", {{"type", "boolean"}}},
                                {"costs", closed_object(costs)}});
  json steps_array = {{"type", "array"}, {"items", def_ref("step")}};
  json thread = closed_object({{"name", {{"type", "string"}}},
                               {"cpu", def_ref("number")},
                               {"repeat", def_ref("number")},
                               {"steps", steps_array}},
                              json::array({"steps"}));
  json interrupt = closed_object({{"name", {{"type", "string"}}},
                                  {"cpu", def_ref("number")},
                                  {"ipl", def_ref("ipl")},
                                  {"at", {{"type", "array"}, {"items", def_ref("number")}}},
                                  {"every", def_ref("number")},
                                  {"count", def_ref("number")},
                                  {"steps", steps_array}},
                                 json::array({"steps"}));
  json check = closed_object(
      {{"every", {{"anyOf", json::array({{{"enum", json::array({"step", "end"})}}, def_ref("number")})}}},
       {"leaks", {{"type", "boolean"}}}});
  json expect = closed_object({{"result", {{"enum", json::array({"pass", "finding"})}}},
                               {"kind", {{"type", "string"}}}});
  json limits = closed_object({{"max_steps", def_ref("number")}, {"max_time_ns", def_ref("number")}});
  // Workload mixes: an op's arguments (checked by kasim itself against the
  // op), where a number may be a range {"min", "max"}, plus a weight.
  json op_names = json::array();
  for (const auto& [name, op] : reg.ops()) op_names.push_back(name);
  defs["range"] = closed_object({{"min", def_ref("number")}, {"max", def_ref("number")}},
                                json::array({"min", "max"}));
  defs["mix"] = {{"type", "array"},
                 {"minItems", 1},
                 {"items",
                  {{"type", "object"},
                   {"properties", {{"op", {{"enum", op_names}}}, {"weight", def_ref("number")}}},
                   {"required", json::array({"op"})},
                   {"not", {{"anyOf", json::array({{{"required", json::array({"as"})}},
                                                    {{"required", json::array({"expect"})}}})}}}}}};
  json workload_intr = closed_object(
      {{"cpus", {{"anyOf", json::array({{{"const", "all"}},
                                        {{"type", "array"}, {"items", def_ref("number")}}})}}},
       {"ipl", def_ref("ipl")},
       {"mean_interval_ns", def_ref("number")},
       {"count", def_ref("number")},
       {"mix", def_ref("mix")}},
      json::array({"mean_interval_ns", "mix"}));
  json workload = closed_object({{"threads_per_cpu", def_ref("number")},
                                 {"ops_per_thread", def_ref("number")},
                                 {"mix", def_ref("mix")},
                                 {"interrupts", workload_intr}});
  json faults = closed_object({{"site_percent", def_ref("number")},
                               {"fire_percent", def_ref("number")}});

  json top = closed_object({{"kasim", {{"const", 1}}},
                            {"name", {{"type", "string"}, {"pattern", "^[A-Za-z0-9_-][A-Za-z0-9._-]*$"}}},
                            {"description", {{"type", "string"}}},
                            {"seed", def_ref("number")},
                            {"machine", machine},
                            {"objects", {{"type", "array"}, {"items", def_ref("object")}}},
                            {"threads", {{"type", "array"}, {"items", thread}}},
                            {"interrupts", {{"type", "array"}, {"items", interrupt}}},
                            {"workload", workload},
                            {"faults", faults},
                            {"check", check},
                            {"expect", expect},
                            {"limits", limits}},
                           json::array({"kasim", "name"}));
  top["$schema"] = "https://json-schema.org/draft/2020-12/schema";
  top["title"] = "kasim scenario";
  top["anyOf"] = json::array({{{"required", json::array({"threads"})}},
                              {{"required", json::array({"interrupts"})}},
                              {{"required", json::array({"workload"})}}});
  top["$defs"] = defs;
  return top;
}

}  // namespace kasim::scn
