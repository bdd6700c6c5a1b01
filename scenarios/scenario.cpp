#include "scenarios/scenario.h"

#include "scenarios/files.h"
#include "sim/rng.h"

#include <algorithm>
#include <set>

namespace kasim::scn {

using nlohmann::json;

const ArgValue& Args::arg(const std::string& name) const {
  for (size_t i = 0; i < specs->size(); ++i)
    if ((*specs)[i].name == name) return values[i];
  throw InternalError("no argument \"" + name + "\" in this schema");
}

namespace {
// Problem lines quote the user's keys and values, which may hold control
// characters; a line must print whole.
std::vector<std::string> printable_lines(std::vector<std::string> lines) {
  for (std::string& l : lines) l = printable(l);
  return lines;
}
}  // namespace

ScenarioError::ScenarioError(std::vector<std::string> l)
    : std::runtime_error(l.empty() ? "invalid scenario" : printable(l.front())),
      lines(printable_lines(std::move(l))) {}

std::optional<uint64_t> parse_c_number(const json& v, std::string* why) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer()) {
    if (v.get<int64_t>() >= 0) return static_cast<uint64_t>(v.get<int64_t>());
    if (why) *why = "negative";
    return std::nullopt;
  }
  if (!v.is_string()) return std::nullopt;
  const std::string& s = v.get_ref<const std::string&>();
  if (s.empty()) return std::nullopt;
  int base = 10;
  size_t i = 0;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    i = 2;
  } else if (s.size() > 1 && s[0] == '0') {
    base = 8;
    i = 1;
  }
  unsigned __int128 acc = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (base == 16 && c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (base == 16 && c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return std::nullopt;
    if (d >= base) return std::nullopt;
    acc = acc * static_cast<unsigned>(base) + static_cast<unsigned>(d);
    if (acc > UINT64_MAX) {
      if (why) *why = "too large for 64 bits";
      return std::nullopt;
    }
  }
  return static_cast<uint64_t>(acc);
}

namespace {

bool is_pow2(uint64_t x) { return x != 0 && (x & (x - 1)) == 0; }

std::string show(const json& v) {
  std::string s = v.dump();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// RFC 6901: "~" and "/" in a key are escaped.
std::string child(const std::string& ptr, const std::string& key) {
  return ptr + (json::json_pointer() / key).to_string();
}

std::string child(const std::string& ptr, size_t index) {
  return ptr + "/" + std::to_string(index);
}

class Validator {
 public:
  explicit Validator(std::string file) : file_(std::move(file)) {}

  Scenario run(const json& doc);

 private:
  void err(const std::string& ptr, const std::string& msg) {
    errors_.push_back(file_ + ": " + (ptr.empty() ? "/" : ptr) + ": " + msg);
  }

  // Reports every key of obj not in `allowed`.
  void check_keys(const json& obj, const std::string& ptr, const std::set<std::string>& allowed) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
      if (!allowed.count(it.key())) {
        std::vector<std::string> names(allowed.begin(), allowed.end());
        err(child(ptr, it.key()), "unknown field (expected one of: " + join(names) + ")");
      }
  }

  bool is_object(const json& v, const std::string& ptr) {
    if (v.is_object()) return true;
    err(ptr, "expected an object, got " + show(v));
    return false;
  }

  bool is_array(const json& v, const std::string& ptr) {
    if (v.is_array()) return true;
    err(ptr, "expected an array, got " + show(v));
    return false;
  }

  std::optional<uint64_t> u64(const json& v, const std::string& ptr) {
    std::string why;
    auto r = parse_c_number(v, &why);
    if (!r)
      err(ptr, "expected a non-negative integer (or a C-notation string like \"0x1000\"), got " +
                   show(v) + (why.empty() ? "" : " (" + why + ")"));
    return r;
  }

  // An optional u64 field of obj, checked against [lo, hi].
  uint64_t u64_field(const json& obj, const std::string& ptr, const std::string& key, uint64_t def,
                     uint64_t lo = 0, uint64_t hi = UINT64_MAX) {
    if (!obj.contains(key)) return def;
    auto v = u64(obj[key], child(ptr, key));
    if (!v) return def;
    if (*v < lo || *v > hi) {
      err(child(ptr, key), "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                               "], got " + std::to_string(*v));
      return def;
    }
    return *v;
  }

  bool bool_field(const json& obj, const std::string& ptr, const std::string& key, bool def) {
    if (!obj.contains(key)) return def;
    if (!obj[key].is_boolean()) {
      err(child(ptr, key), "expected true or false, got " + show(obj[key]));
      return def;
    }
    return obj[key].get<bool>();
  }

  std::optional<std::string> string_field(const json& obj, const std::string& ptr,
                                          const std::string& key, bool required) {
    if (!obj.contains(key)) {
      if (required) err(child(ptr, key), "required field is missing");
      return std::nullopt;
    }
    if (!obj[key].is_string()) {
      err(child(ptr, key), "expected a string, got " + show(obj[key]));
      return std::nullopt;
    }
    return obj[key].get<std::string>();
  }

  std::optional<ipl_t> ipl_value(const json& v, const std::string& ptr) {
    if (v.is_string())
      if (auto i = ipl_from_name(v.get<std::string>())) return i;
    err(ptr, "expected an IPL name (IPL_NONE, IPL_SOFTCLOCK, IPL_SOFTBIO, IPL_SOFTNET, "
             "IPL_SOFTSERIAL, IPL_VM, IPL_SCHED, IPL_HIGH), got " +
                 show(v));
    return std::nullopt;
  }

  void parse_machine(const json& m, const std::string& ptr, MachineConfig& mc);
  void parse_costs(const json& c, const std::string& ptr, CostModel& cm);
  // Returns false if any argument was missing or malformed.
  bool parse_args(const json& obj, const std::string& ptr, const std::vector<ArgSpec>& specs,
                  const std::string& owner, Args& out);
  bool parse_arg(const json& v, const std::string& ptr, const ArgSpec& spec, ArgValue& out);
  void parse_steps(const json& arr, const std::string& ptr, std::vector<Step>& out);
  // `mix`: a workload mix entry (no "as"/"expect"; a freeing op may omit its
  // address, see MixEntry::pick_live).
  void parse_step(const json& s, const std::string& ptr, Step& out, MixEntry* mix = nullptr);
  void parse_mix(const json& arr, const std::string& ptr, Mix& out);
  void parse_workload(const json& w, const std::string& ptr, Workload& out);
  void parse_expect(const json& e, const std::string& ptr, const OpSpec& op, Expect& out);
  void collect_labels(const json& doc);

  std::string file_;
  std::vector<std::string> errors_;
  int cpus_ = 1;
  std::set<std::string> labels_;
  std::set<std::string> thread_names_;
  std::map<std::string, std::string> object_types_;  // name -> type, system objects included
  uint32_t step_index_ = 0;
};

void Validator::parse_costs(const json& c, const std::string& ptr, CostModel& cm) {
  if (!is_object(c, ptr)) return;
  struct Field {
    const char* name;
    uint64_t CostModel::*member;
  };
  static const Field fields[] = {
      {"op", &CostModel::op},
      {"mutex_local", &CostModel::mutex_local},
      {"mutex_remote", &CostModel::mutex_remote},
      {"atomic_local", &CostModel::atomic_local},
      {"atomic_remote", &CostModel::atomic_remote},
      {"spl", &CostModel::spl},
      {"cv", &CostModel::cv},
      {"context_switch", &CostModel::context_switch},
      {"intr_entry", &CostModel::intr_entry},
      {"intr_exit", &CostModel::intr_exit},
      {"page_alloc", &CostModel::page_alloc},
      {"page_free", &CostModel::page_free},
      {"pmap", &CostModel::pmap},
      {"spin_retry", &CostModel::spin_retry},
  };
  std::set<std::string> allowed;
  for (const Field& f : fields) {
    allowed.insert(f.name);
    cm.*f.member = u64_field(c, ptr, f.name, cm.*f.member, 0, 1'000'000'000);
  }
  check_keys(c, ptr, allowed);
}

void Validator::parse_machine(const json& m, const std::string& ptr, MachineConfig& mc) {
  if (!is_object(m, ptr)) return;
  check_keys(m, ptr,
             {"cpus", "page_size", "phys_pages", "kva_pages", "kva_base", "coherency_unit",
              "pagedaemon", "free_target", "preempt", "costs"});
  mc.cpus = static_cast<int>(u64_field(m, ptr, "cpus", 1, 1, 256));
  // Below 1 KiB pool's page headers (phpool) no longer fit in a page: boot fails.
  mc.page_size = u64_field(m, ptr, "page_size", 4096, 1024, 1 << 21);
  if (!is_pow2(mc.page_size)) {
    err(child(ptr, "page_size"), "must be a power of two, got " + std::to_string(mc.page_size));
    mc.page_size = 4096;
  }
  mc.phys_pages = u64_field(m, ptr, "phys_pages", 16384, 1, 1 << 24);
  mc.kva_pages = u64_field(m, ptr, "kva_pages", 2 * mc.phys_pages, 1, 1ULL << 36);
  mc.kva_base = u64_field(m, ptr, "kva_base", 0xffff800000000000ULL);
  if (mc.kva_base % mc.page_size != 0)
    err(child(ptr, "kva_base"), "must be a multiple of page_size");
  else if (2 * static_cast<unsigned __int128>(mc.kva_pages) * mc.page_size >
           static_cast<unsigned __int128>(UINT64_MAX - mc.kva_base) + 1)
    // Boot maps kernel_map over twice kva_pages: kmem's span and as much again.
    err(child(ptr, "kva_pages"), "kernel VA (twice kva_pages x page_size from kva_base) would run "
                                 "past the top of the address space");
  mc.coherency_unit = u64_field(m, ptr, "coherency_unit", 64, 8, mc.page_size);
  if (!is_pow2(mc.coherency_unit))
    err(child(ptr, "coherency_unit"),
        "must be a power of two, got " + std::to_string(mc.coherency_unit));
  mc.pagedaemon = bool_field(m, ptr, "pagedaemon", true);
  mc.free_target = u64_field(m, ptr, "free_target", mc.phys_pages / 32, 0, mc.phys_pages);
  mc.preempt = bool_field(m, ptr, "preempt", false);
  if (m.contains("costs")) parse_costs(m["costs"], child(ptr, "costs"), mc.costs);
}

bool Validator::parse_arg(const json& v, const std::string& ptr, const ArgSpec& spec,
                          ArgValue& out) {
  const Registry& reg = Registry::get();
  switch (spec.type) {
    case ArgType::u64: {
      auto r = u64(v, ptr);
      if (!r) return false;
      if (*r > spec.max_u64) {
        err(ptr, "must be at most " + std::to_string(spec.max_u64) +
                     " (the width of the API's parameter), got " + std::to_string(*r));
        return false;
      }
      out.u = *r;
      return true;
    }
    case ArgType::flags: {
      if (!v.is_array()) {
        err(ptr, "expected an array of " + spec.flag_domain + " flag names, got " + show(v));
        return false;
      }
      uint64_t bits = 0;
      bool ok = true;
      for (size_t i = 0; i < v.size(); ++i) {
        const json& f = v[i];
        std::optional<uint64_t> bit;
        if (f.is_string()) bit = reg.flag(spec.flag_domain, f.get<std::string>());
        if (!bit) {
          std::vector<std::string> names;
          if (auto* d = reg.flag_domain(spec.flag_domain))
            for (const auto& [n, _] : *d) names.push_back(n);
          err(child(ptr, i), "unknown flag " + show(f) + " (expected one of: " + join(names) + ")");
          ok = false;
          continue;
        }
        bits |= *bit;
      }
      out.u = bits;
      return ok;
    }
    case ArgType::ipl: {
      auto i = ipl_value(v, ptr);
      if (!i) return false;
      out.u = static_cast<uint64_t>(*i);
      return true;
    }
    case ArgType::object: {
      if (!v.is_string()) {
        err(ptr, "expected an object name, got " + show(v));
        return false;
      }
      std::string name = v.get<std::string>();
      auto it = object_types_.find(name);
      if (it == object_types_.end()) {
        err(ptr, "no object named \"" + name + "\"");
        return false;
      }
      bool type_ok = spec.object_types.empty();
      for (const auto& t : spec.object_types) type_ok |= t == it->second;
      if (!type_ok) {
        err(ptr, "\"" + name + "\" is a " + it->second + ", expected a " +
                     join(spec.object_types));
        return false;
      }
      out.s = name;
      return true;
    }
    case ArgType::label: {
      if (!v.is_string()) {
        err(ptr, "expected a label, got " + show(v));
        return false;
      }
      out.s = v.get<std::string>();
      if (!labels_.count(out.s)) {
        err(ptr, "no step labels a result \"" + out.s + "\" (with \"as\")");
        return false;
      }
      return true;
    }
    case ArgType::thread: {
      if (!v.is_string() || !thread_names_.count(v.get<std::string>())) {
        err(ptr, "expected the name of a thread, got " + show(v));
        return false;
      }
      out.s = v.get<std::string>();
      return true;
    }
    case ArgType::choice: {
      bool ok = v.is_string();
      if (ok) {
        ok = false;
        for (const auto& c : spec.choices) ok |= c == v.get<std::string>();
      }
      if (!ok) {
        err(ptr, "expected one of " + join(spec.choices) + ", got " + show(v));
        return false;
      }
      out.s = v.get<std::string>();
      return true;
    }
    case ArgType::boolean:
      if (!v.is_boolean()) {
        err(ptr, "expected true or false, got " + show(v));
        return false;
      }
      out.u = v.get<bool>() ? 1 : 0;
      return true;
    case ArgType::string:
      if (!v.is_string()) {
        err(ptr, "expected a string, got " + show(v));
        return false;
      }
      out.s = v.get<std::string>();
      return true;
  }
  return false;
}

bool Validator::parse_args(const json& obj, const std::string& ptr,
                           const std::vector<ArgSpec>& specs, const std::string& owner,
                           Args& out) {
  out.specs = &specs;
  out.values.assign(specs.size(), ArgValue{});
  bool ok = true;
  for (size_t i = 0; i < specs.size(); ++i) {
    const ArgSpec& spec = specs[i];
    ArgValue& val = out.values[i];
    val.u = spec.default_u64;
    val.s = spec.default_str;
    if (!obj.contains(spec.name)) {
      if (spec.required) {
        err(child(ptr, spec.name), "required by " + owner + " but missing");
        ok = false;
      }
      continue;
    }
    if (parse_arg(obj[spec.name], child(ptr, spec.name), spec, val))
      val.present = true;
    else
      ok = false;
  }
  return ok;
}

void Validator::parse_expect(const json& e, const std::string& ptr, const OpSpec& op,
                             Expect& out) {
  if (!is_object(e, ptr)) return;
  std::set<std::string> allowed{"contract"};
  if (op.results & R_ERROR) allowed.insert("error");
  if (op.results & R_ADDR) allowed.insert({"addr", "null", "same_as"});
  if (op.results & R_VALUE) allowed.insert("value");
  if (op.results & R_OUTPUT) allowed.insert("output");
  if (op.results & R_STATS) allowed.insert("stats");
  for (auto it = e.begin(); it != e.end(); ++it)
    if (!allowed.count(it.key())) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      err(child(ptr, it.key()),
          op.name + " has no result \"" + it.key() + "\" to expect (it has: " + join(names) + ")");
    }
  if (e.contains("error") && allowed.count("error")) {
    const json& v = e["error"];
    std::optional<int> code;
    if (v.is_number_integer() && v.get<int64_t>() == 0)
      code = 0;
    else if (v.is_string())
      code = errno_from_name(v.get<std::string>());
    if (!code)
      err(child(ptr, "error"), "expected 0 or an errno name (ENOMEM, EAGAIN, EINVAL, EINTR, "
                               "EWOULDBLOCK), got " +
                                   show(v));
    out.error = code;
  }
  if (e.contains("addr") && allowed.count("addr")) out.addr = u64(e["addr"], child(ptr, "addr"));
  if (e.contains("null") && allowed.count("null")) {
    if (!e["null"].is_boolean())
      err(child(ptr, "null"), "expected true or false, got " + show(e["null"]));
    else
      out.null = e["null"].get<bool>();
  }
  if (e.contains("value") && allowed.count("value"))
    out.value = u64(e["value"], child(ptr, "value"));
  if (e.contains("output") && allowed.count("output"))
    out.output = string_field(e, ptr, "output", false);
  if (e.contains("same_as") && allowed.count("same_as")) {
    out.same_as = string_field(e, ptr, "same_as", false);
    if (out.same_as && !labels_.count(*out.same_as))
      err(child(ptr, "same_as"), "no step labels a result \"" + *out.same_as + "\"");
  }
  if (e.contains("stats") && allowed.count("stats")) {
    const json& st = e["stats"];
    if (is_object(st, child(ptr, "stats"))) {
      std::map<std::string, uint64_t> m;
      for (auto it = st.begin(); it != st.end(); ++it)
        if (auto v = u64(it.value(), child(child(ptr, "stats"), it.key()))) m[it.key()] = *v;
      out.stats = std::move(m);
    }
  }
  if (e.contains("contract")) out.contract = string_field(e, ptr, "contract", false);
}

void Validator::parse_step(const json& s, const std::string& ptr, Step& out, MixEntry* mix) {
  out.where = ptr;
  out.index = step_index_++;
  if (!is_object(s, ptr)) return;
  auto opname = string_field(s, ptr, "op", true);
  if (!opname) return;
  const OpSpec* op = Registry::get().find_op(*opname);
  if (!op) {
    err(child(ptr, "op"), "unknown op \"" + *opname + "\" (known ops: " +
                              join(Registry::get().op_names()) + ")");
    return;
  }
  out.op = op;
  std::set<std::string> allowed{"op", "as", "expect"};
  if (mix) allowed = {"op", "weight"};
  for (const ArgSpec& a : op->args) allowed.insert(a.name);
  for (auto it = s.begin(); it != s.end(); ++it)
    if (!allowed.count(it.key())) {
      std::vector<std::string> names;
      for (const ArgSpec& a : op->args) names.push_back(a.name);
      err(child(ptr, it.key()),
          (mix && (it.key() == "as" || it.key() == "expect")
               ? "a workload op has no \"" + it.key() + "\" (its results are not named)"
               : "unknown field for op " + op->name + " (its arguments: " +
                     (names.empty() ? "none" : join(names)) + ")"));
    }
  const bool args_ok = parse_args(s, ptr, op->args, "op " + op->name, out);
  if (mix) {
    bool has_ref = false;
    for (const ArgSpec& a : op->args) has_ref |= a.name == "ref" && s.contains("ref");
    mix->pick_live = !op->frees.empty() && !has_ref && !s.contains(op->addr_arg);
  }
  // Cross-argument rules only make sense once each argument is well formed
  // (a malformed "ref" would otherwise also read as a missing one).
  if (args_ok && op->validate && !(mix && mix->pick_live))
    for (auto& [arg, msg] : op->validate(out)) err(arg.empty() ? ptr : child(ptr, arg), msg);
  if (s.contains("as")) {
    out.as = string_field(s, ptr, "as", false);
    if (!(op->results & R_ADDR))
      err(child(ptr, "as"), "op " + op->name + " has no address result to label");
  }
  if (s.contains("expect")) parse_expect(s["expect"], child(ptr, "expect"), *op, out.expect);
}

// A mix: [{ "op": ..., "weight": n, args... }]; u64 arguments may be ranges.
void Validator::parse_mix(const json& arr, const std::string& ptr, Mix& out) {
  if (!is_array(arr, ptr)) return;
  if (arr.empty()) err(ptr, "a mix needs at least one op");
  out.entries.resize(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string eptr = child(ptr, i);
    MixEntry& e = out.entries[i];
    if (!is_object(arr[i], eptr)) continue;
    json step = arr[i];
    e.weight = u64_field(step, eptr, "weight", 1, 0, 1'000'000'000);
    out.total_weight += e.weight;
    // Ranges: validate {min, max} here and hand the op parser the min, so
    // that its type checks apply to the range's bounds too.
    std::vector<std::pair<std::string, std::pair<uint64_t, uint64_t>>> ranged;
    for (auto it = step.begin(); it != step.end(); ++it) {
      if (!it.value().is_object()) continue;
      const std::string rptr = child(eptr, it.key());
      const json& r = it.value();
      check_keys(r, rptr, {"min", "max"});
      if (!r.contains("min") || !r.contains("max")) {
        err(rptr, "a range needs \"min\" and \"max\"");
        continue;
      }
      auto lo = u64(r["min"], child(rptr, "min"));
      auto hi = u64(r["max"], child(rptr, "max"));
      if (!lo || !hi) continue;
      if (*lo > *hi) {
        err(rptr, "min " + std::to_string(*lo) + " is above max " + std::to_string(*hi));
        continue;
      }
      ranged.push_back({it.key(), {*lo, *hi}});
    }
    for (const auto& [key, range] : ranged) step[key] = range.first;
    parse_step(step, eptr, e.step, &e);
    if (!e.step.op) continue;
    for (const auto& [key, range] : ranged) {
      const std::vector<ArgSpec>& specs = e.step.op->args;
      size_t k = 0;
      while (k < specs.size() && specs[k].name != key) ++k;
      if (k == specs.size()) continue;  // already reported as an unknown field
      if (specs[k].type != ArgType::u64) {
        err(child(eptr, key), "only numeric arguments may be given as a range");
        continue;
      }
      e.ranges.push_back({k, range.first, range.second});
    }
  }
  if (!arr.empty() && out.total_weight == 0) err(ptr, "every weight is 0: nothing would run");
}

void Validator::parse_workload(const json& w, const std::string& ptr, Workload& out) {
  if (!is_object(w, ptr)) return;
  out.present = true;
  check_keys(w, ptr, {"threads_per_cpu", "ops_per_thread", "mix", "interrupts"});
  out.threads_per_cpu = u64_field(w, ptr, "threads_per_cpu", 1, 0, 64);
  out.ops_per_thread = u64_field(w, ptr, "ops_per_thread", 100, 0, 1'000'000'000);
  if (w.contains("mix"))
    parse_mix(w["mix"], child(ptr, "mix"), out.mix);
  else if (out.threads_per_cpu != 0 && out.ops_per_thread != 0)
    err(child(ptr, "mix"), "required field is missing (the ops the threads draw from)");
  if (!w.contains("interrupts")) return;
  const std::string iptr = child(ptr, "interrupts");
  const json& in = w["interrupts"];
  if (!is_object(in, iptr)) return;
  check_keys(in, iptr, {"cpus", "ipl", "mean_interval_ns", "count", "mix"});
  WorkloadInterrupts wi;
  const std::string cptr = child(iptr, "cpus");
  if (!in.contains("cpus") || (in["cpus"].is_string() && in["cpus"].get<std::string>() == "all")) {
    for (int c = 0; c < cpus_; ++c) wi.cpus.push_back(c);
  } else if (in["cpus"].is_array()) {
    std::set<int> seen;
    for (size_t k = 0; k < in["cpus"].size(); ++k) {
      auto c = u64(in["cpus"][k], child(cptr, k));
      if (!c) continue;
      if (*c >= static_cast<uint64_t>(cpus_))
        err(child(cptr, k), "no CPU " + std::to_string(*c) + " (the machine has " +
                                std::to_string(cpus_) + ")");
      else if (!seen.insert(static_cast<int>(*c)).second)
        err(child(cptr, k), "CPU " + std::to_string(*c) + " is listed twice");
      else
        wi.cpus.push_back(static_cast<int>(*c));
    }
  } else {
    err(cptr, "expected \"all\" or an array of CPU numbers, got " + show(in["cpus"]));
  }
  if (in.contains("ipl"))
    if (auto ipl = ipl_value(in["ipl"], child(iptr, "ipl"))) {
      wi.ipl = *ipl;
      if (*ipl == IPL_NONE) err(child(iptr, "ipl"), "an interrupt needs an IPL above IPL_NONE");
    }
  if (!in.contains("mean_interval_ns"))
    err(child(iptr, "mean_interval_ns"), "required field is missing");
  wi.mean_interval_ns = u64_field(in, iptr, "mean_interval_ns", 1, 1, 1'000'000'000'000ULL);
  wi.count = u64_field(in, iptr, "count", 0, 0, 1'000'000'000);
  if (wi.count == 0 && (out.threads_per_cpu == 0 || out.ops_per_thread == 0) &&
      !in.contains("count"))
    err(child(iptr, "count"), "required when the workload has no threads (nothing else bounds "
                              "the arrivals)");
  if (!in.contains("mix"))
    err(child(iptr, "mix"), "required field is missing");
  else
    parse_mix(in["mix"], child(iptr, "mix"), wi.mix);
  out.interrupts = std::move(wi);
}

void Validator::parse_steps(const json& arr, const std::string& ptr, std::vector<Step>& out) {
  if (!is_array(arr, ptr)) return;
  out.resize(arr.size());
  for (size_t i = 0; i < arr.size(); ++i) parse_step(arr[i], child(ptr, i), out[i]);
}

// Labels may be used before (in file order) the step that defines them runs,
// e.g. a free in one thread of an allocation in another: collect them first.
void Validator::collect_labels(const json& doc) {
  for (const char* section : {"threads", "interrupts"}) {
    if (!doc.contains(section) || !doc[section].is_array()) continue;
    for (const json& t : doc[section]) {
      if (!t.is_object() || !t.contains("steps") || !t["steps"].is_array()) continue;
      for (const json& s : t["steps"])
        if (s.is_object() && s.contains("as") && s["as"].is_string())
          labels_.insert(s["as"].get<std::string>());
    }
  }
}

Scenario Validator::run(const json& doc) {
  Scenario sc;
  sc.file = file_;
  sc.doc = doc;
  if (!doc.is_object()) {
    err("", "a scenario is a JSON object, got " + show(doc));
    throw ScenarioError(errors_);
  }
  check_keys(doc, "",
             {"kasim", "name", "description", "seed", "machine", "objects", "threads",
              "interrupts", "workload", "check", "expect", "limits", "faults"});
  if (!doc.contains("kasim"))
    err("/kasim", "required field is missing (the format version, 1)");
  else if (!(doc["kasim"].is_number_integer() && doc["kasim"].get<int64_t>() == 1))
    err("/kasim", "format version must be 1, got " + show(doc["kasim"]));
  if (auto name = string_field(doc, "", "name", true)) {
    bool ok = !name->empty() && name->size() <= kMaxNameLength && name->front() != '.';
    for (char c : *name) ok &= std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!ok)
      err("/name", "must be 1 to " + std::to_string(kMaxNameLength) +
                       " letters, digits, '-', '_' and '.', not starting with '.' (it names the "
                       "results directory), got " + show(doc["name"]));
    else
      sc.name = *name;
  }
  if (auto d = string_field(doc, "", "description", false)) sc.description = *d;
  sc.seed = u64_field(doc, "", "seed", 0);
  if (doc.contains("machine")) parse_machine(doc["machine"], "/machine", sc.machine);
  cpus_ = sc.machine.cpus;
  if (doc.contains("limits")) {
    const json& l = doc["limits"];
    if (is_object(l, "/limits")) {
      check_keys(l, "/limits", {"max_steps", "max_time_ns"});
      sc.limits.max_steps = u64_field(l, "/limits", "max_steps", sc.limits.max_steps, 1, kMaxStepsLimit);
      sc.limits.max_time_ns = u64_field(l, "/limits", "max_time_ns", sc.limits.max_time_ns, 1);
    }
  }

  for (const SystemObject& so : Registry::get().system_objects())
    object_types_[so.name] = so.type;
  if (doc.contains("objects") && is_array(doc["objects"], "/objects")) {
    const json& objs = doc["objects"];
    sc.objects.resize(objs.size());
    for (size_t i = 0; i < objs.size(); ++i) {
      const json& o = objs[i];
      std::string ptr = child("/objects", i);
      ObjectDecl& decl = sc.objects[i];
      decl.where = ptr;
      if (!is_object(o, ptr)) continue;
      auto name = string_field(o, ptr, "name", true);
      auto type = string_field(o, ptr, "type", true);
      if (!type) continue;
      const ObjectSpec* spec = Registry::get().find_object(*type);
      if (!spec || !spec->create) {
        std::vector<std::string> creatable;
        for (const std::string& t : Registry::get().object_types())
          if (Registry::get().find_object(t)->create) creatable.push_back(t);
        err(child(ptr, "type"),
            (spec ? "objects of type \"" + *type + "\" are made by boot only"
                  : "unknown object type \"" + *type + "\"") +
                " (a scenario may declare: " + join(creatable) + ")");
        continue;
      }
      decl.spec = spec;
      decl.type = *type;
      if (name) {
        if (object_types_.count(*name))
          err(child(ptr, "name"), "an object named \"" + *name + "\" already exists");
        decl.name = *name;
      }
      std::set<std::string> allowed{"name", "type"};
      for (const ArgSpec& f : spec->fields) allowed.insert(f.name);
      check_keys(o, ptr, allowed);
      // Fields may refer to objects declared before this one (a vmem "source").
      if (parse_args(o, ptr, spec->fields, "object type " + *type, decl) && spec->validate)
        for (const auto& [field, why] : spec->validate(decl, sc.machine))
          err(field.empty() ? ptr : child(ptr, field), why);
      if (name && !object_types_.count(*name)) object_types_[*name] = *type;
    }
  }

  collect_labels(doc);
  bool any_work = false;
  std::set<std::string> interrupt_names;
  if (doc.contains("threads") && is_array(doc["threads"], "/threads")) {
    const json& ts = doc["threads"];
    for (size_t i = 0; i < ts.size(); ++i) {
      if (!ts[i].is_object()) continue;
      if (!ts[i].contains("name"))
        thread_names_.insert("t" + std::to_string(i));  // the default name
      else if (ts[i]["name"].is_string())
        thread_names_.insert(ts[i]["name"].get<std::string>());
    }
    sc.threads.resize(ts.size());
    std::set<std::string> seen;
    for (size_t i = 0; i < ts.size(); ++i) {
      const json& t = ts[i];
      std::string ptr = child("/threads", i);
      ThreadDecl& td = sc.threads[i];
      if (!is_object(t, ptr)) continue;
      check_keys(t, ptr, {"name", "cpu", "repeat", "steps"});
      td.name = string_field(t, ptr, "name", false).value_or("t" + std::to_string(i));
      if (!seen.insert(td.name).second)
        err(child(ptr, "name"), "another thread is already named \"" + td.name + "\"");
      td.cpu = static_cast<int>(u64_field(t, ptr, "cpu", 0, 0, static_cast<uint64_t>(cpus_ - 1)));
      td.repeat = u64_field(t, ptr, "repeat", 1, 1, 1'000'000'000);
      if (!t.contains("steps"))
        err(child(ptr, "steps"), "required field is missing");
      else
        parse_steps(t["steps"], child(ptr, "steps"), td.steps);
    }
    any_work |= !ts.empty();
  }
  if (doc.contains("interrupts") && is_array(doc["interrupts"], "/interrupts")) {
    const json& is = doc["interrupts"];
    sc.interrupts.resize(is.size());
    for (size_t i = 0; i < is.size(); ++i) {
      const json& t = is[i];
      std::string ptr = child("/interrupts", i);
      InterruptDecl& id = sc.interrupts[i];
      if (!is_object(t, ptr)) continue;
      check_keys(t, ptr, {"name", "cpu", "ipl", "at", "every", "count", "steps"});
      id.name = string_field(t, ptr, "name", false).value_or("intr" + std::to_string(i));
      if (!interrupt_names.insert(id.name).second)
        err(child(ptr, "name"), "another interrupt is already named \"" + id.name + "\"");
      id.cpu = static_cast<int>(u64_field(t, ptr, "cpu", 0, 0, static_cast<uint64_t>(cpus_ - 1)));
      if (t.contains("ipl"))
        if (auto ipl = ipl_value(t["ipl"], child(ptr, "ipl"))) {
          id.ipl = *ipl;
          if (*ipl == IPL_NONE)
            err(child(ptr, "ipl"), "an interrupt needs an IPL above IPL_NONE");
        }
      if (t.contains("at") && is_array(t["at"], child(ptr, "at")))
        for (size_t k = 0; k < t["at"].size(); ++k)
          if (auto v = u64(t["at"][k], child(child(ptr, "at"), k))) id.at.push_back(*v);
      id.every = u64_field(t, ptr, "every", 0);
      id.count = u64_field(t, ptr, "count", 0);
      if (id.at.empty() && id.every == 0 && (!t.contains("at") || t["at"].is_array()))
        err(ptr, "never fires: give \"at\" times or a period \"every\"");
      if (!t.contains("steps"))
        err(child(ptr, "steps"), "required field is missing");
      else
        parse_steps(t["steps"], child(ptr, "steps"), id.steps);
    }
    any_work |= !is.empty();
  }
  for (const InterruptDecl& id : sc.interrupts)
    if (id.every != 0 && id.count == 0 && sc.threads.empty())
      err("/interrupts", "interrupt \"" + id.name + "\" fires every " + std::to_string(id.every) +
                             " ns with no thread to bound it: give it a \"count\"");
  if (doc.contains("workload")) {
    parse_workload(doc["workload"], "/workload", sc.workload);
    any_work = true;
  }
  if (!any_work) err("", "nothing to run: give \"threads\", \"interrupts\" or \"workload\"");
  // Each LWP costs a fiber stack before the first step runs.
  const uint64_t workload_threads =
      sc.workload.present ? sc.workload.threads_per_cpu * static_cast<uint64_t>(cpus_) : 0;
  if (sc.threads.size() + workload_threads > kMaxScenarioThreads)
    err(sc.threads.size() > kMaxScenarioThreads ? "/threads" : "/workload/threads_per_cpu",
        "at most " + std::to_string(kMaxScenarioThreads) + " threads in all, got " +
            std::to_string(sc.threads.size()) + " declared and " +
            std::to_string(workload_threads) + " from the workload");
  const uint64_t workload_sources =
      sc.workload.interrupts ? sc.workload.interrupts->cpus.size() : 0;
  if (sc.interrupts.size() + workload_sources > kMaxInterruptSources)
    err("/interrupts", "at most " + std::to_string(kMaxInterruptSources) +
                           " interrupt sources in all, got " +
                           std::to_string(sc.interrupts.size() + workload_sources));

  if (doc.contains("faults")) {
    const json& f = doc["faults"];
    if (is_object(f, "/faults")) {
      check_keys(f, "/faults", {"site_percent", "fire_percent"});
      FaultConfig fc;
      fc.enabled = true;
      fc.site_percent = static_cast<uint32_t>(u64_field(f, "/faults", "site_percent", 25, 0, 100));
      fc.fire_percent = static_cast<uint32_t>(u64_field(f, "/faults", "fire_percent", 10, 0, 100));
      sc.faults = fc;
    }
  }
  if (doc.contains("check")) {
    const json& c = doc["check"];
    if (is_object(c, "/check")) {
      check_keys(c, "/check", {"every", "leaks"});
      if (c.contains("every")) {
        const json& e = c["every"];
        if (e.is_string() && e.get<std::string>() == "step")
          sc.check.every = 1;
        else if (e.is_string() && e.get<std::string>() == "end")
          sc.check.every = 0;
        else if (auto n = parse_c_number(e, nullptr); n && *n >= 1)
          sc.check.every = *n;
        else
          err("/check/every", "expected \"step\", \"end\" or a positive integer, got " + show(e));
      }
      sc.check.leaks = bool_field(c, "/check", "leaks", true);
    }
  }
  if (doc.contains("expect")) {
    const json& e = doc["expect"];
    if (is_object(e, "/expect")) {
      check_keys(e, "/expect", {"result", "kind"});
      auto result = string_field(e, "/expect", "result", false).value_or("pass");
      if (result == "finding") {
        sc.expect_finding = true;
        auto kind = string_field(e, "/expect", "kind", false);
        if (!kind)
          err("/expect/kind", "required with \"result\": \"finding\" (the finding kind, e.g. "
                              "\"deadlock\")");
        else
          sc.expect_kind = *kind;
      } else if (result != "pass") {
        err("/expect/result", "expected \"pass\" or \"finding\", got " + show(e["result"]));
      } else if (e.contains("kind")) {
        err("/expect/kind", "only meaningful with \"result\": \"finding\"");
      }
    }
  }
  if (!errors_.empty()) throw ScenarioError(errors_);
  return sc;
}

}  // namespace

namespace {

bool is_range(const json& v) { return v.is_object() && (v.contains("min") || v.contains("max")); }

// The swarm ranges of a document: numeric machine fields (and costs) and
// object fields given as {"min", "max"}. Malformed ranges are reported.
std::vector<SwarmRange> find_swarm(const json& doc, const std::string& file,
                                   std::vector<std::string>& errors) {
  std::vector<SwarmRange> out;
  auto visit = [&](const json& obj, const std::string& ptr) {
    if (!obj.is_object()) return;
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (!is_range(it.value())) continue;
      const std::string p = child(ptr, it.key());
      const json& r = it.value();
      bool ok = true;
      for (auto k = r.begin(); k != r.end(); ++k)
        if (k.key() != "min" && k.key() != "max") {
          errors.push_back(file + ": " + child(p, k.key()) + ": unknown field (expected one of: max, min)");
          ok = false;
        }
      std::optional<uint64_t> lo, hi;
      for (const char* b : {"min", "max"}) {
        std::string why;
        std::optional<uint64_t> v;
        if (r.contains(b)) v = parse_c_number(r[b], &why);
        if (!r.contains(b))
          errors.push_back(file + ": " + child(p, b) + ": a range needs \"min\" and \"max\"");
        else if (!v)
          errors.push_back(file + ": " + child(p, b) +
                           ": expected a non-negative integer (or a C-notation string like "
                           "\"0x1000\"), got " + r[b].dump());
        (std::string(b) == "min" ? lo : hi) = v;
      }
      if (!lo || !hi || !ok) continue;
      if (*lo > *hi) {
        errors.push_back(file + ": " + p + ": min " + std::to_string(*lo) + " is above max " +
                         std::to_string(*hi));
        continue;
      }
      out.push_back({p, *lo, *hi});
    }
  };
  if (doc.is_object() && doc.contains("machine")) {
    visit(doc["machine"], "/machine");
    if (doc["machine"].is_object() && doc["machine"].contains("costs"))
      visit(doc["machine"]["costs"], "/machine/costs");
  }
  if (doc.is_object() && doc.contains("objects") && doc["objects"].is_array())
    for (size_t i = 0; i < doc["objects"].size(); ++i)
      visit(doc["objects"][i], child("/objects", i));
  return out;
}

json with_values(json doc, const std::vector<SwarmRange>& ranges,
                 const std::vector<uint64_t>& values) {
  for (size_t i = 0; i < ranges.size(); ++i) doc[json::json_pointer(ranges[i].ptr)] = values[i];
  return doc;
}

}  // namespace

Scenario parse_scenario(const json& doc, const std::string& file) {
  std::vector<std::string> errors;
  std::vector<SwarmRange> swarm = find_swarm(doc, file, errors);
  if (!errors.empty()) throw ScenarioError(errors);
  if (swarm.empty()) return Validator(file).run(doc);
  // Both ends of every range must make a valid scenario; the runs draw in
  // between. Problems are reported once even when both ends have them.
  std::vector<uint64_t> lo, hi;
  for (const SwarmRange& r : swarm) {
    lo.push_back(r.min);
    hi.push_back(r.max);
  }
  std::optional<Scenario> sc;
  for (const auto* values : {&hi, &lo}) {
    try {
      sc = Validator(file).run(with_values(doc, swarm, *values));
    } catch (const ScenarioError& e) {
      for (const std::string& l : e.lines)
        if (std::find(errors.begin(), errors.end(), l) == errors.end()) errors.push_back(l);
    }
  }
  if (!errors.empty()) throw ScenarioError(errors);
  sc->doc = doc;
  sc->swarm = std::move(swarm);
  return std::move(*sc);
}

Scenario draw_swarm(const Scenario& sc, uint64_t seed, json* drawn) {
  if (sc.swarm.empty()) return sc;
  // Its own stream: drawing the configuration never shifts the workload's
  // or the schedule's numbers.
  uint64_t state = seed ^ 0x5357'4152'4d00'0000ULL;  // "SWARM"
  Rng rng(splitmix64(state));
  std::vector<uint64_t> values;
  std::string drew;
  for (const SwarmRange& r : sc.swarm) {
    uint64_t v;
    if (is_pow2(r.min) && is_pow2(r.max)) {
      const int a = __builtin_ctzll(r.min), b = __builtin_ctzll(r.max);
      v = 1ULL << rng.range(static_cast<uint64_t>(a), static_cast<uint64_t>(b));
    } else {
      // Keep the alignment both ends share (a kva_base range of page
      // multiples draws page multiples).
      const uint64_t align = r.min == 0 ? (r.max & -r.max) : std::min(r.min & -r.min, r.max & -r.max);
      v = align == 0 ? 0 : r.min + rng.range(0, (r.max - r.min) / align) * align;
    }
    values.push_back(v);
    if (drawn) (*drawn)[r.ptr] = v;
    drew += (drew.empty() ? "" : ", ") + r.ptr + " = " + std::to_string(v);
  }
  // Both ends validated, but a value between them may still break a rule
  // that ties fields together: that is bad input, said as such.
  Scenario out;
  try {
    out = Validator(sc.file).run(with_values(sc.doc, sc.swarm, values));
  } catch (const ScenarioError& e) {
    std::vector<std::string> lines{sc.file + ": seed " + std::to_string(seed) + " draws " + drew +
                                   " from the swarm ranges, and that configuration is invalid:"};
    lines.insert(lines.end(), e.lines.begin(), e.lines.end());
    throw ScenarioError(lines);
  }
  out.doc = sc.doc;
  out.swarm = sc.swarm;
  return out;
}

Scenario parse_scenario_text(const std::string& text, const std::string& file) {
  return parse_scenario(parse_json_strict(text, file), file);
}

Scenario load_scenario(const std::string& path) {
  return parse_scenario_text(read_input_file(path), path);
}

}  // namespace kasim::scn
