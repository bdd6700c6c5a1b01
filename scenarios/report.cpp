#include "scenarios/report.h"

#include "scenarios/files.h"
#include "sim/kernel.h"

#include <set>
#include <sstream>

namespace kasim::scn {

using nlohmann::json;

bool is_canary(const std::string& name) {
  for (const kasim_named& c : kasim_canaries())
    if (name == c.name) return true;
  return false;
}

std::string hex64(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

namespace {

json finding_json(const Finding& f) {
  json j = {{"kind", f.kind},   {"message", f.message}, {"step", f.step},
            {"time_ns", f.time}, {"cpu", f.cpu},         {"context", f.context},
            {"where", f.where}};
  if (!f.details.empty()) j["details"] = f.details;
  return j;
}

json machine_json(const MachineConfig& m) {
  const CostModel& c = m.costs;
  return {{"cpus", m.cpus},
          {"page_size", m.page_size},
          {"phys_pages", m.phys_pages},
          {"kva_pages", m.kva_pages},
          {"kva_base", hex64(m.kva_base)},
          {"coherency_unit", m.coherency_unit},
          {"pagedaemon", m.pagedaemon},
          {"free_target", m.free_target},
          {"preempt", m.preempt},
          {"costs",
           {{"op", c.op},
            {"mutex_local", c.mutex_local},
            {"mutex_remote", c.mutex_remote},
            {"atomic_local", c.atomic_local},
            {"atomic_remote", c.atomic_remote},
            {"spl", c.spl},
            {"cv", c.cv},
            {"context_switch", c.context_switch},
            {"intr_entry", c.intr_entry},
            {"intr_exit", c.intr_exit},
            {"page_alloc", c.page_alloc},
            {"page_free", c.page_free},
            {"pmap", c.pmap},
            {"spin_retry", c.spin_retry}}}};
}

json faults_json(const FaultConfig& f) {
  return {{"enabled", f.enabled}, {"site_percent", f.site_percent},
          {"fire_percent", f.fire_percent}};
}

}  // namespace

json report_json(const Scenario& sc, const RunReport& rep, double wall_seconds) {
  json cpus = json::array();
  for (const CpuReport& c : rep.cpus) {
    // Simulated throughput: ops per simulated second of this CPU's clock.
    uint64_t ops_per_s = c.clock ? c.ops * 1'000'000'000ULL / c.clock : 0;
    cpus.push_back({{"cpu", c.cpu},
                    {"clock_ns", c.clock},
                    {"busy_ns", c.busy_ns},
                    {"ops", c.ops},
                    {"interrupts", c.intrs},
                    {"ops_per_sim_second", ops_per_s}});
  }
  json findings = json::array();
  for (const Finding& f : rep.findings) findings.push_back(finding_json(f));
  json messages = json::array();
  for (const auto& m : rep.messages)
    messages.push_back({{"time_ns", m.time}, {"cpu", m.cpu}, {"text", m.text}});
  json tail = json::array();
  for (const TraceRecord& r : rep.trace_tail)
    tail.push_back({{"time_ns", r.time},
                    {"cpu", r.cpu},
                    {"ctx", r.ctx},
                    {"kind", trace_kind_name(r.kind)},
                    {"a", r.a},
                    {"b", r.b}});
  return {{"kasim_version", KASIM_VERSION},
          {"scenario", sc.name},
          {"file", sc.file},
          {"seed", rep.seed},
          {"strategy", rep.strategy},
          {"machine", machine_json(rep.drawn ? rep.drawn->machine : sc.machine)},
          {"swarm", rep.swarm},
          {"limits", {{"max_steps", rep.limits.max_steps}, {"max_time_ns", rep.limits.max_time_ns}}},
          {"outcome", outcome_name(rep.outcome)},
          {"verdict", rep.verdict},
          {"exit_status", rep.exit_code},
          {"expected_contract", rep.expected_contract},
          {"findings", findings},
          {"steps", rep.steps},
          {"ops", rep.ops},
          {"decisions", rep.decisions.size()},
          {"sim_time_ns", rep.sim_time},
          {"cpus", cpus},
          {"messages", messages},
          {"live_allocations", rep.live_allocations},
          {"trace_hash", hex64(rep.trace_hash)},
          {"trace_tail", tail},
          {"canary", rep.canary},
          {"marks", rep.marks},
          {"faults", faults_json(rep.faults)},
          {"wall_seconds", wall_seconds}};
}

json perfetto_json(const Scenario& sc, const RunReport& rep) {
  json events = json::array();
  std::set<std::pair<int, uint32_t>> tracks;
  for (const Span& sp : rep.spans) {
    tracks.insert({sp.cpu, sp.ctx});
    // Trace Event Format times are microseconds; simulated ns / 1000, for display only.
    events.push_back({{"name", sp.op->name},
                      {"cat", "op"},
                      {"ph", "X"},
                      {"ts", static_cast<double>(sp.begin) / 1000.0},
                      {"dur", static_cast<double>(sp.end - sp.begin) / 1000.0},
                      {"pid", sp.cpu},
                      {"tid", sp.ctx},
                      {"args", {{"where", sp.where}}}});
  }
  const int ncpus = rep.drawn ? rep.drawn->machine.cpus : sc.machine.cpus;
  for (int cpu = 0; cpu < ncpus; ++cpu)
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", cpu},
                      {"args", {{"name", "cpu" + std::to_string(cpu)}}}});
  for (const auto& [cpu, ctx] : tracks)
    events.push_back(
        {{"name", "thread_name"},
         {"ph", "M"},
         {"pid", cpu},
         {"tid", ctx},
         {"args", {{"name", ctx < rep.context_names.size() ? rep.context_names[ctx] : "?"}}}});
  for (const Finding& f : rep.findings)
    events.push_back({{"name", "FINDING " + f.kind},
                      {"ph", "i"},
                      {"s", "g"},
                      {"ts", static_cast<double>(f.time) / 1000.0},
                      {"pid", std::max(f.cpu, 0)},
                      {"tid", 0},
                      {"args", {{"message", f.message}}}});
  return {{"traceEvents", events}, {"displayTimeUnit", "ns"}};
}

std::string encode_decisions(const std::vector<Decision>& ds) {
  std::string out;
  for (size_t i = 0; i < ds.size();) {
    size_t j = i + 1;
    while (j < ds.size() && ds[j] == ds[i]) ++j;
    if (!out.empty()) out += ' ';
    // Appended piece by piece: GCC 12 at -O3 warns falsely (-Wrestrict) on
    // "*" + std::to_string(...) here.
    out += ds[i].kind == OptionKind::run ? 'r' : 'd';
    out += std::to_string(ds[i].cpu);
    out += '.';
    out += std::to_string(ds[i].target);
    if (j - i > 1) {
      out += '*';
      out += std::to_string(j - i);
    }
    i = j;
  }
  return out;
}

std::optional<std::vector<Decision>> decode_decisions(const std::string& text, std::string* why,
                                                      uint64_t max_decisions) {
  std::vector<Decision> out;
  std::istringstream in(text);
  std::string tok;
  while (in >> tok) {
    unsigned cpu = 0, target = 0;
    unsigned long long count = 1;
    char kind = 0;
    int n = 0;
    int fields = sscanf(tok.c_str(), "%c%u.%u%n", &kind, &cpu, &target, &n);
    if (fields != 3 || (kind != 'r' && kind != 'd') || cpu > 65535) {
      if (why) *why = "bad decision \"" + tok + "\"";
      return std::nullopt;
    }
    if (static_cast<size_t>(n) < tok.size()) {
      if (tok[static_cast<size_t>(n)] != '*' ||
          sscanf(tok.c_str() + n + 1, "%llu", &count) != 1 || count == 0 || count > (1ULL << 32)) {
        if (why) *why = "bad repeat in \"" + tok + "\"";
        return std::nullopt;
      }
    }
    // A run records at most one decision per step: more than the step limit
    // allows is a corrupt trace, not a reason to allocate gigabytes.
    if (count > max_decisions - out.size()) {
      if (why)
        *why = "more than " + std::to_string(max_decisions) + " decisions (at most one per step)";
      return std::nullopt;
    }
    Decision d{kind == 'r' ? OptionKind::run : OptionKind::deliver, static_cast<uint16_t>(cpu),
               target};
    out.insert(out.end(), count, d);
  }
  return out;
}

json trace_json(const Scenario& sc, const RunReport& rep) {
  json j = {{"kasim_trace", kTraceFormat},
            {"kasim_version", KASIM_VERSION},
            {"file", sc.file},
            {"seed", rep.seed},
            {"strategy", rep.strategy},
            {"max_steps", rep.limits.max_steps},
            {"trace_hash", hex64(rep.trace_hash)},
            {"steps", rep.steps},
            {"outcome", outcome_name(rep.outcome)},
            {"decisions", encode_decisions(rep.decisions)},
            {"scenario", sc.doc}};
  // A replay must run with the same planted bug and fault injection.
  if (!rep.canary.empty()) j["canary"] = rep.canary;
  // Informational: a replay draws the same values again from the seed.
  if (!rep.swarm.empty()) j["swarm"] = rep.swarm;
  if (rep.faults.enabled) j["faults"] = faults_json(rep.faults);
  if (!rep.findings.empty()) j["finding"] = finding_json(rep.findings.front());
  return j;
}

LoadedTrace load_trace(const std::string& path) { return parse_trace(read_input_file(path), path); }

LoadedTrace parse_trace(const std::string& text, const std::string& path) {
  const json j = parse_json_strict(text, path);
  std::vector<std::string> errs;
  auto bad = [&](const std::string& ptr, const std::string& why) {
    errs.push_back(path + ": " + ptr + ": " + why);
  };
  // Fields of the right JSON type, or a problem line; nothing below calls a
  // typed accessor on a value it has not checked.
  auto field = [&](const json& obj, const std::string& ptr, const char* key, auto is_type,
                   const char* type, bool required) -> const json* {
    if (!obj.contains(key)) {
      if (required) bad(ptr + "/" + key, "required field is missing");
      return nullptr;
    }
    const json& v = obj[key];
    if (!(v.*is_type)()) {
      bad(ptr + "/" + key, std::string("expected ") + type + ", got " + dump_json(v, -1));
      return nullptr;
    }
    return &v;
  };
  const auto is_uint = &json::is_number_unsigned;
  const auto is_str = &json::is_string;
  if (!j.is_object() || !j.contains("kasim_trace"))
    throw ScenarioError({path + ": not a kasim trace (no \"kasim_trace\" field)"});
  if (!(j["kasim_trace"].is_number_unsigned() && j["kasim_trace"].get<uint64_t>() == kTraceFormat))
    throw ScenarioError({path + ": /kasim_trace: trace format " + dump_json(j["kasim_trace"], -1) +
                         " is not one this kasim reads (" + std::to_string(kTraceFormat) + ")"});
  LoadedTrace t;
  if (auto* v = field(j, "", "seed", is_uint, "a non-negative integer", true)) t.seed = v->get<uint64_t>();
  if (auto* v = field(j, "", "max_steps", is_uint, "a non-negative integer", true)) {
    t.max_steps = v->get<uint64_t>();
    if (t.max_steps < 1 || t.max_steps > kMaxStepsLimit)
      bad("/max_steps", "must be in [1, " + std::to_string(kMaxStepsLimit) + "], got " +
                            std::to_string(t.max_steps));
  }
  if (auto* v = field(j, "", "strategy", is_str, "a string", true)) t.strategy = v->get<std::string>();
  if (auto* v = field(j, "", "kasim_version", is_str, "a string", true))
    t.version = v->get<std::string>();
  if (auto* v = field(j, "", "trace_hash", is_str, "a string", true)) {
    auto h = parse_c_number(*v, nullptr);
    if (h)
      t.trace_hash = *h;
    else
      bad("/trace_hash", "expected a 64-bit number such as \"0x0123456789abcdef\"");
  }
  if (auto* v = field(j, "", "decisions", is_str, "a string", true)) {
    // A run records at most one decision per step: a trace that claims more
    // than its own step limit is refused before anything is allocated.
    std::string why;
    auto d = decode_decisions(v->get<std::string>(), &why, std::max<uint64_t>(t.max_steps, 1));
    if (!d)
      bad("/decisions", why);
    else
      t.decisions = std::move(*d);
  }
  if (auto* v = field(j, "", "canary", is_str, "a string", false)) {
    if (is_canary(v->get<std::string>()))
      t.canary = v->get<std::string>();
    else
      bad("/canary", "not a canary this kasim knows: " + dump_json(*v, -1));
  }
  if (auto* f = field(j, "", "faults", &json::is_object, "an object", false)) {
    if (auto* e = field(*f, "/faults", "enabled", &json::is_boolean, "true or false", true))
      t.faults.enabled = e->get<bool>();
    for (auto [key, member] : {std::pair{"site_percent", &FaultConfig::site_percent},
                               std::pair{"fire_percent", &FaultConfig::fire_percent}}) {
      auto* p = field(*f, "/faults", key, is_uint, "an integer in [0, 100]", t.faults.enabled);
      if (!p) continue;
      if (p->get<uint64_t>() > 100)
        bad(std::string("/faults/") + key, "must be in [0, 100], got " + dump_json(*p, -1));
      else
        t.faults.*member = p->get<uint32_t>();
    }
  }
  if (auto* f = field(j, "", "finding", &json::is_object, "an object", false)) {
    if (auto* k = field(*f, "/finding", "kind", is_str, "a string", true))
      t.finding_kind = k->get<std::string>();
    if (auto* m = field(*f, "/finding", "message", is_str, "a string", false))
      t.finding_message = m->get<std::string>();
  }
  if (auto* v = field(j, "", "file", is_str, "a string", false)) t.scenario.file = v->get<std::string>();
  const json* sc = field(j, "", "scenario", &json::is_object, "an object", true);
  if (!errs.empty()) throw ScenarioError(errs);
  const std::string file = t.scenario.file;
  t.scenario = parse_scenario(*sc, path + " (embedded scenario)");
  if (!file.empty()) t.scenario.file = file;
  return t;
}

}  // namespace kasim::scn
