#include "scenarios/fuzz.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace kasim::scn {

using nlohmann::json;

bool is_finding(const RunReport& rep) { return rep.exit_code == 1 && !rep.findings.empty(); }

FuzzStats fuzz(const Scenario& sc, const FuzzConfig& cfg, FuzzStats* live) {
  FuzzStats st;
  std::mutex m;
  std::condition_variable done_cv;
  std::atomic<uint64_t> next{0};  // the shard's i-th seed
  std::atomic<bool> stop{false};
  uint64_t stop_index = UINT64_MAX;  // no launches past the lowest finding (under m)
  unsigned running = cfg.jobs;
  // No exception leaves a worker thread (that would terminate kasim): the
  // one of the lowest seed is passed to the caller once every worker is done.
  std::exception_ptr error;
  uint64_t error_index = UINT64_MAX;

  auto worker = [&] {
    for (;;) {
      if (stop.load()) break;
      if (cfg.out_of_time && cfg.out_of_time()) {
        std::lock_guard<std::mutex> lock(m);
        if (st.stop.empty()) st.stop = "time limit";
        stop = true;
        break;
      }
      const uint64_t i = next.fetch_add(1);
      const uint64_t index = cfg.shard + i * cfg.shards;
      if (cfg.seeds != 0 && index >= cfg.seeds) break;
      {
        std::lock_guard<std::mutex> lock(m);
        if (index > stop_index) break;
      }
      SeedResult r;
      r.index = index;
      r.seed = cfg.seed_start + index;
      RunOptions opt = cfg.base;
      opt.seed = r.seed;
      try {
        r.rep = run_scenario(sc, opt);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (index < error_index) {
          error = std::current_exception();
          error_index = index;
        }
        stop = true;
        break;
      }
      std::lock_guard<std::mutex> lock(m);
      // The wall-clock limit cut this run short: it is no result.
      if (r.rep.stopped_by_poll) {
        if (st.stop.empty()) st.stop = "time limit";
        stop = true;
        break;
      }
      r.finding = is_finding(r.rep);
      ++st.seeds_run;
      st.steps += r.rep.steps;
      for (const std::string& mark : r.rep.marks) ++st.marks[mark];
      if (r.finding) {
        ++st.findings;
        if (!cfg.keep_going && index < stop_index) stop_index = index;
      }
      if (cfg.on_result) {
        try {
          cfg.on_result(r);
        } catch (...) {
          if (index < error_index) {
            error = std::current_exception();
            error_index = index;
          }
          stop = true;
          break;
        }
      }
      if (r.finding && (!st.first || index < st.first->index)) st.first = std::move(r);
      if (live) {
        live->seeds_run = st.seeds_run;
        live->findings = st.findings;
        live->steps = st.steps;
      }
    }
    std::lock_guard<std::mutex> lock(m);
    --running;
    done_cv.notify_all();
  };

  std::vector<std::thread> threads;
  for (unsigned j = 0; j < cfg.jobs; ++j) threads.emplace_back(worker);
  {
    std::unique_lock<std::mutex> lock(m);
    while (running != 0) {
      done_cv.wait_for(lock, std::chrono::milliseconds(250));
      if (cfg.on_tick && running != 0) {
        lock.unlock();
        cfg.on_tick();
        lock.lock();
      }
    }
  }
  for (std::thread& t : threads) t.join();
  if (error) std::rethrow_exception(error);
  if (st.stop.empty())
    st.stop = st.first && !cfg.keep_going ? "finding" : "all seeds run";
  return st;
}

// --- shrinking -------------------------------------------------------------------

namespace {

// One candidate reduction: the document it produces and a line for the log.
struct Candidate {
  json doc;
  std::string what;
};

bool is_range(const json& v) { return v.is_object() && v.contains("min") && v.contains("max"); }

std::optional<uint64_t> number(const json& v) { return parse_c_number(v, nullptr); }

// Reductions of a mix (workload or interrupt): drop an entry, narrow a range.
void mix_candidates(const json& doc, const json::json_pointer& mix_ptr, std::vector<Candidate>& out) {
  if (!doc.contains(mix_ptr) || !doc[mix_ptr].is_array()) return;
  const json& mix = doc[mix_ptr];
  for (size_t i = 0; mix.size() > 1 && i < mix.size(); ++i) {
    json d = doc;
    d[mix_ptr].erase(i);
    out.push_back({d, "drop " + mix_ptr.to_string() + "/" + std::to_string(i) + " (" +
                          mix[i].value("op", "?") + ")"});
  }
  for (size_t i = 0; i < mix.size(); ++i) {
    if (!mix[i].is_object()) continue;
    for (auto it = mix[i].begin(); it != mix[i].end(); ++it) {
      if (!is_range(it.value())) continue;
      auto lo = number(it.value()["min"]), hi = number(it.value()["max"]);
      if (!lo || !hi || *lo >= *hi) continue;
      const std::string where = mix_ptr.to_string() + "/" + std::to_string(i) + "/" + it.key();
      json d = doc;
      d[mix_ptr][i][it.key()] = *lo;  // the smallest value only
      out.push_back({d, where + " = " + std::to_string(*lo)});
      d = doc;
      d[mix_ptr][i][it.key()]["max"] = *lo + (*hi - *lo) / 2;
      out.push_back({d, where + " max " + std::to_string(*lo + (*hi - *lo) / 2)});
    }
  }
}

// Halves (then decrements) a numeric field down to `floor`.
void number_candidates(const json& doc, const json::json_pointer& p, uint64_t floor,
                       std::vector<Candidate>& out) {
  if (!doc.contains(p)) return;
  auto v = number(doc[p]);
  if (!v || *v <= floor) return;
  for (uint64_t smaller : {std::max(floor, *v / 2), *v - 1}) {
    if (smaller >= *v) continue;
    json d = doc;
    d[p] = smaller;
    out.push_back({d, p.to_string() + " = " + std::to_string(smaller)});
    if (smaller == *v - 1) break;
  }
}

// Every reduction of `doc`, the largest first.
std::vector<Candidate> candidates(const json& doc) {
  using P = json::json_pointer;
  std::vector<Candidate> out;
  // Fewer CPUs: drop every reference to the removed ones too.
  if (doc.contains(P("/machine/cpus"))) {
    if (auto cpus = number(doc[P("/machine/cpus")]); cpus && *cpus > 1) {
      for (uint64_t n : {uint64_t{1}, *cpus / 2, *cpus - 1}) {
        if (n >= *cpus || n == 0) continue;
        json d = doc;
        d["machine"]["cpus"] = n;
        const P wcpus("/workload/interrupts/cpus");
        if (d.contains(wcpus) && d[wcpus].is_array()) {
          json kept = json::array();
          for (const json& c : d[wcpus])
            if (auto k = number(c); k && *k < n) kept.push_back(c);
          d[wcpus] = kept;
        }
        out.push_back({d, "machine.cpus = " + std::to_string(n)});
      }
    }
  }
  if (doc.contains("workload") && doc["workload"].is_object()) {
    if (doc["workload"].contains("interrupts")) {
      json d = doc;
      d["workload"].erase("interrupts");
      out.push_back({d, "drop the workload's interrupts"});
    }
    number_candidates(doc, P("/workload/threads_per_cpu"), 1, out);
    if (!doc["workload"].contains("threads_per_cpu")) {
      // The default is 1 already; nothing to do.
    }
    number_candidates(doc, P("/workload/ops_per_thread"), 1, out);
    if (!doc["workload"].contains("ops_per_thread")) {
      json d = doc;
      d["workload"]["ops_per_thread"] = 50;  // half the default (100)
      out.push_back({d, "/workload/ops_per_thread = 50"});
    }
    number_candidates(doc, P("/workload/interrupts/count"), 1, out);
    const P mean("/workload/interrupts/mean_interval_ns");
    if (doc.contains(mean))
      if (auto v = number(doc[mean]); v && *v < (1ULL << 40)) {
        json d = doc;
        d[mean] = *v * 2;
        out.push_back({d, "workload interrupts twice as rare"});
      }
    mix_candidates(doc, P("/workload/mix"), out);
    mix_candidates(doc, P("/workload/interrupts/mix"), out);
  }
  for (const char* section : {"threads", "interrupts"}) {
    if (!doc.contains(section) || !doc[section].is_array()) continue;
    const json& list = doc[section];
    for (size_t i = 0; i < list.size(); ++i) {
      json d = doc;
      d[section].erase(i);
      // A scenario needs some work: removing the last thread may leave none.
      out.push_back({d, std::string("drop /") + section + "/" + std::to_string(i)});
    }
    for (size_t i = 0; i < list.size(); ++i) {
      if (!list[i].is_object()) continue;
      const std::string base = std::string("/") + section + "/" + std::to_string(i);
      number_candidates(doc, P(base + "/repeat"), 1, out);
      if (list[i].contains("steps") && list[i]["steps"].is_array())
        for (size_t k = 0; k < list[i]["steps"].size(); ++k) {
          json d = doc;
          d[section][i]["steps"].erase(k);
          out.push_back({d, "drop " + base + "/steps/" + std::to_string(k)});
        }
      if (list[i].contains("at") && list[i]["at"].is_array() && list[i]["at"].size() > 1)
        for (size_t k = 0; k < list[i]["at"].size(); ++k) {
          json d = doc;
          d[section][i]["at"].erase(k);
          out.push_back({d, "drop " + base + "/at/" + std::to_string(k)});
        }
      number_candidates(doc, P(base + "/count"), 1, out);
    }
  }
  if (doc.contains("faults") && doc["faults"].is_object()) {
    json d = doc;
    d.erase("faults");
    out.push_back({d, "no fault injection"});
    number_candidates(doc, P("/faults/fire_percent"), 1, out);
    number_candidates(doc, P("/faults/site_percent"), 1, out);
  }
  return out;
}

uint64_t thread_count(const Scenario& sc) {
  return sc.threads.size() + (sc.workload.present && sc.workload.ops_per_thread != 0
                                  ? sc.workload.threads_per_cpu * static_cast<uint64_t>(sc.machine.cpus)
                                  : 0);
}

bool fewer_contexts(const Scenario& a, const Scenario& b) {
  return a.machine.cpus < b.machine.cpus ||
         (a.machine.cpus == b.machine.cpus && thread_count(a) < thread_count(b));
}

}  // namespace

std::string run_size(const Scenario& sc, const RunReport& rep) {
  uint64_t intrs = 0;
  for (const CpuReport& c : rep.cpus) intrs += c.intrs;
  const uint64_t threads = thread_count(sc);
  return std::to_string(rep.steps) + " steps, " + std::to_string(sc.machine.cpus) + " cpu" +
         (sc.machine.cpus == 1 ? "" : "s") + ", " + std::to_string(threads) + " thread" +
         (threads == 1 ? "" : "s") + ", " + std::to_string(rep.ops) + " ops, " +
         std::to_string(intrs) + " interrupt" + (intrs == 1 ? "" : "s") + ", " +
         std::to_string(rep.decisions.size()) + " decisions";
}

std::optional<ShrinkResult> shrink(const ShrinkInput& in) {
  ShrinkResult res;
  auto attempt = [&](const json& doc) -> std::optional<std::pair<Scenario, RunReport>> {
    ++res.runs;
    Scenario sc;
    try {
      sc = parse_scenario(doc, in.file);
    } catch (const ScenarioError&) {
      return std::nullopt;  // the reduction made the file invalid
    }
    RunOptions opt;
    opt.seed = in.seed;
    opt.strategy = in.strategy;
    opt.canary = in.canary;
    opt.faults = in.faults;
    RunReport rep = run_scenario(sc, opt);
    if (!is_finding(rep) || rep.findings.front().kind != in.kind) return std::nullopt;
    return std::make_pair(std::move(sc), std::move(rep));
  };
  auto first = attempt(in.doc);
  if (!first) return std::nullopt;
  res.scenario = std::move(first->first);
  res.rep = std::move(first->second);
  json cur = in.doc;
  bool progress = true;
  while (progress && res.runs < in.max_runs) {
    progress = false;
    for (Candidate& c : candidates(cur)) {
      if (res.runs >= in.max_runs) break;
      auto r = attempt(c.doc);
      if (!r) continue;
      // Fewer CPUs or threads is worth a longer run; any other reduction
      // must not make the run longer (it would not be simpler to read).
      if (r->second.steps > res.rep.steps && !fewer_contexts(r->first, res.scenario)) continue;
      cur = std::move(c.doc);
      res.scenario = std::move(r->first);
      res.rep = std::move(r->second);
      res.log.push_back(c.what + " -> " + std::to_string(res.rep.steps) + " steps");
      ++res.accepted;
      progress = true;
      break;
    }
  }
  res.scenario.doc = cur;
  return res;
}

}  // namespace kasim::scn
