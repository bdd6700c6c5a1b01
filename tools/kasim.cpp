// tools/kasim.cpp: the kasim command.
//
//   kasim run FILE [--seed N] [--strategy timed|random] [--max-steps N] [--out DIR] [--json]
//                  [--check-determinism] [--perfetto]
//   kasim check FILE [--strategy dfs|pct] [--pct-depth D] [--preemption-bound K]
//                    [--no-reduction] [--max-schedules N] [--time S] [--jobs J] [--seed N]
//                    [--out DIR]
//   kasim replay TRACE [--json]
//   kasim validate FILE... [--check-determinism]
//   kasim ops
//   kasim schema
//
// Exit status: 0 all held, 1 a finding, 2 bad input or usage, 3 internal
// error or nondeterminism.
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>

#include "scenarios/registry.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "scenarios/schema.h"
#include "sim/search.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace kasim;
using namespace kasim::scn;

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitInternal = 3;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses a subcommand's options; `positional` names the option that takes
// the bare arguments (count -1 = any number), and `missing` is the usage
// error when none was given.
po::variables_map parse_options(const std::vector<std::string>& args,
                                const po::options_description& desc, const char* positional,
                                int count, const std::string& missing) {
  po::positional_options_description pos;
  pos.add(positional, count);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(desc).positional(pos).run(), vm);
  po::notify(vm);
  if (!vm.count(positional)) throw UsageError(missing);
  return vm;
}

// A non-negative number option, decimal or 0x-hex. Boost would accept "-1"
// for an unsigned type and wrap it around.
uint64_t number_option(const po::variables_map& vm, const char* name, const char* cmd = "run") {
  const std::string text = vm[name].as<std::string>();
  std::string why;
  auto v = scn::parse_c_number(nlohmann::json(text), &why);
  if (!v)
    throw UsageError(std::string("kasim ") + cmd + ": --" + name + " expects a non-negative integer, got '" +
                     text + "'");
  return *v;
}

// Makes the results directory before anything runs, so that an unusable
// --out is a usage error, not a failure after the simulation.
fs::path make_results_dir(const std::string& out, const std::string& name, uint64_t seed) {
  fs::path dir = fs::path(out) / name / std::to_string(seed);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw UsageError("--out " + out + ": cannot create " + dir.string() + ": " + ec.message());
  return dir;
}

std::string fmt_ns(uint64_t ns) {
  char buf[64];
  if (ns < 10'000)
    snprintf(buf, sizeof buf, "%llu ns", static_cast<unsigned long long>(ns));
  else if (ns < 10'000'000)
    snprintf(buf, sizeof buf, "%.1f us", static_cast<double>(ns) / 1e3);
  else if (ns < 10'000'000'000ULL)
    snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(ns) / 1e6);
  else
    snprintf(buf, sizeof buf, "%.2f s", static_cast<double>(ns) / 1e9);
  return buf;
}

// The command that reruns this binary the way the user ran it.
std::string self_command() {
  const char* wrapper = std::getenv("KASIM_WRAPPER");
  return wrapper && *wrapper ? wrapper : "kasim";
}

void write_json(const fs::path& p, const nlohmann::json& j) {
  std::ofstream out(p);
  out << j.dump(2) << "\n";
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

void print_config(const Scenario& sc, const RunOptions& opt, uint64_t seed, uint64_t max_steps) {
  const MachineConfig& m = sc.machine;
  std::printf("kasim %s: %s (%s)\n", KASIM_VERSION, sc.name.c_str(), sc.file.c_str());
  std::printf("  seed %llu, strategy %s, max steps %llu, max time %s\n",
              static_cast<unsigned long long>(seed), opt.replay ? "replay" : opt.strategy.c_str(),
              static_cast<unsigned long long>(max_steps), fmt_ns(sc.limits.max_time_ns).c_str());
  std::printf("  machine: %d cpu%s, %llu pages of %llu bytes, kva %llu pages at 0x%llx, "
              "pagedaemon %s (free target %llu), preemption %s\n",
              m.cpus, m.cpus == 1 ? "" : "s", static_cast<unsigned long long>(m.phys_pages),
              static_cast<unsigned long long>(m.page_size),
              static_cast<unsigned long long>(m.kva_pages),
              static_cast<unsigned long long>(m.kva_base), m.pagedaemon ? "on" : "off",
              static_cast<unsigned long long>(m.free_target), m.preempt ? "on" : "off");
  std::printf("  %zu object%s, %zu thread%s, %zu interrupt source%s; invariants %s\n",
              sc.objects.size(), sc.objects.size() == 1 ? "" : "s", sc.threads.size(),
              sc.threads.size() == 1 ? "" : "s", sc.interrupts.size(),
              sc.interrupts.size() == 1 ? "" : "s",
              sc.check.every == 0   ? "at the end"
              : sc.check.every == 1 ? "after every step"
                                    : ("every " + std::to_string(sc.check.every) + " steps").c_str());
  std::fflush(stdout);
}

void print_findings(const RunReport& rep) {
  for (const Finding& f : rep.findings) {
    std::printf("FINDING %s: %s\n", f.kind.c_str(), f.message.c_str());
    std::printf("  at step %llu, simulated %s", static_cast<unsigned long long>(f.step),
                fmt_ns(f.time).c_str());
    if (!f.context.empty()) std::printf(", in %s", f.context.c_str());
    std::printf("\n");
    if (!f.where.empty()) std::printf("  scenario: %s\n", f.where.c_str());
    for (const std::string& d : f.details) std::printf("    %s\n", d.c_str());
  }
  for (const auto& m : rep.messages)
    std::printf("  [%s cpu%d] %s\n", fmt_ns(m.time).c_str(), m.cpu, m.text.c_str());
}

void print_summary(const RunReport& rep, double wall) {
  std::printf("summary: %s | %llu steps, %llu ops, %zu decisions | simulated %s | %zu finding%s "
              "| hash %s | wall %.3f s\n",
              rep.verdict.c_str(), static_cast<unsigned long long>(rep.steps),
              static_cast<unsigned long long>(rep.ops), rep.decisions.size(),
              fmt_ns(rep.sim_time).c_str(), rep.findings.size(),
              rep.findings.size() == 1 ? "" : "s", hex64(rep.trace_hash).c_str(), wall);
}

struct Timed {
  RunReport rep;
  double wall = 0;
};

Timed timed_run(const Scenario& sc, const RunOptions& opt) {
  auto t0 = std::chrono::steady_clock::now();
  Timed t{run_scenario(sc, opt), 0};
  t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return t;
}

// Runs again and compares hashes; returns false (after saying so) on a mismatch.
bool same_twice(const Scenario& sc, const RunOptions& opt, const RunReport& first) {
  RunReport again = run_scenario(sc, opt);
  if (again.trace_hash == first.trace_hash && again.steps == first.steps) return true;
  std::printf("NONDETERMINISM: %s: two runs with seed %llu differ: hash %s (%llu steps) vs %s "
              "(%llu steps)\n",
              sc.file.c_str(), static_cast<unsigned long long>(first.seed),
              hex64(first.trace_hash).c_str(), static_cast<unsigned long long>(first.steps),
              hex64(again.trace_hash).c_str(), static_cast<unsigned long long>(again.steps));
  return false;
}

int cmd_run(const std::vector<std::string>& args) {
  po::options_description desc("kasim run FILE");
  desc.add_options()("seed", po::value<std::string>(), "seed (default: the scenario's)")(
      "strategy", po::value<std::string>()->default_value("timed"), "timed | random")(
      "max-steps", po::value<std::string>(), "stop after N scheduling steps")(
      "out", po::value<std::string>()->default_value("results"), "results directory")(
      "json", "print the report as JSON instead of the summary")(
      "check-determinism", "run twice and compare the trace hashes")(
      "perfetto", "also write perfetto.json, a timeline of every op (ui.perfetto.dev)")(
      "file", po::value<std::string>(), "scenario file");
  po::variables_map vm =
      parse_options(args, desc, "file", 1, "kasim run: missing the scenario FILE");
  RunOptions opt;
  opt.strategy = vm["strategy"].as<std::string>();
  if (opt.strategy != "timed" && opt.strategy != "random")
    throw UsageError("kasim run: --strategy must be timed or random, got '" + opt.strategy + "'");
  if (vm.count("seed")) opt.seed = number_option(vm, "seed");
  if (vm.count("max-steps")) opt.max_steps = number_option(vm, "max-steps");
  const bool json_out = vm.count("json") != 0;
  const bool perfetto = vm.count("perfetto") != 0;
  if (perfetto) opt.timeline_spans = 1'000'000;

  Scenario sc = load_scenario(vm["file"].as<std::string>());
  const uint64_t seed = opt.seed.value_or(sc.seed);
  const fs::path dir = make_results_dir(vm["out"].as<std::string>(), sc.name, seed);
  if (!json_out) print_config(sc, opt, seed, opt.max_steps.value_or(sc.limits.max_steps));
  Timed t = timed_run(sc, opt);
  RunReport& rep = t.rep;
  if (vm.count("check-determinism") && !same_twice(sc, opt, rep)) return kExitInternal;

  nlohmann::json report = report_json(sc, rep, t.wall);
  write_json(dir / "report.json", report);
  const bool want_trace = !rep.findings.empty() || rep.exit_code == 1;
  if (want_trace) write_json(dir / "trace.json", trace_json(sc, rep));
  if (perfetto) write_json(dir / "perfetto.json", perfetto_json(sc, rep));

  if (json_out) {
    std::cout << report.dump(2) << "\n";
    return rep.exit_code;
  }
  print_findings(rep);
  print_summary(rep, t.wall);
  std::printf("report: %s\n", (dir / "report.json").c_str());
  if (perfetto) std::printf("timeline: %s (open it at ui.perfetto.dev)\n", (dir / "perfetto.json").c_str());
  if (want_trace)
    std::printf("reproduce: %s replay %s\n", self_command().c_str(), (dir / "trace.json").c_str());
  return rep.exit_code;
}

// kasim check: many runs of one scenario under PCT or bounded exhaustive
// search (sim/search.h, docs/model-checking.md). The wall clock (--time) only
// decides when the search stops; every run is a pure function of its inputs.
int cmd_check(const std::vector<std::string>& args) {
  po::options_description desc("kasim check FILE");
  desc.add_options()("strategy", po::value<std::string>()->default_value("dfs"), "dfs | pct")(
      "pct-depth", po::value<std::string>()->default_value("3"), "PCT bug depth d")(
      "preemption-bound", po::value<std::string>()->default_value("2"),
      "dfs: at most K preemptions per schedule (raised from 0 to K)")(
      "no-reduction", "dfs: no sleep sets (every interleaving)")(
      "max-schedules", po::value<std::string>()->default_value("100000"), "at most N runs")(
      "time", po::value<std::string>(), "stop the search after S seconds of wall-clock time")(
      "jobs", po::value<std::string>()->default_value("1"),
      "pct: run on J host threads (dfs is sequential)")(
      "seed", po::value<std::string>(), "seed (default: the scenario's)")(
      "out", po::value<std::string>()->default_value("results"), "results directory")(
      "file", po::value<std::string>(), "scenario file");
  po::variables_map vm =
      parse_options(args, desc, "file", 1, "kasim check: missing the scenario FILE");
  SearchConfig cfg;
  const std::string strategy = vm["strategy"].as<std::string>();
  if (strategy == "dfs")
    cfg.kind = SearchConfig::Kind::dfs;
  else if (strategy == "pct")
    cfg.kind = SearchConfig::Kind::pct;
  else
    throw UsageError("kasim check: --strategy must be dfs or pct, got '" + strategy + "'");
  const uint64_t depth = number_option(vm, "pct-depth", "check");
  const uint64_t bound = number_option(vm, "preemption-bound", "check");
  if (depth < 1 || depth > 16) throw UsageError("kasim check: --pct-depth must be 1..16");
  if (bound > 1000) throw UsageError("kasim check: --preemption-bound must be at most 1000");
  cfg.pct_depth = static_cast<int>(depth);
  cfg.preemption_bound = static_cast<int>(bound);
  cfg.sleep_sets = vm.count("no-reduction") == 0;
  cfg.max_runs = number_option(vm, "max-schedules", "check");
  const uint64_t jobs = number_option(vm, "jobs", "check");
  if (jobs < 1 || jobs > 256) throw UsageError("kasim check: --jobs must be 1..256");
  cfg.jobs = static_cast<unsigned>(jobs);
  std::optional<uint64_t> time_limit;
  if (vm.count("time")) time_limit = number_option(vm, "time", "check");

  Scenario sc = load_scenario(vm["file"].as<std::string>());
  RunOptions base;
  if (vm.count("seed")) base.seed = number_option(vm, "seed", "check");
  const uint64_t seed = base.seed.value_or(sc.seed);
  cfg.seed = seed;
  fs::path dir = fs::path(vm["out"].as<std::string>()) / sc.name / "check";
  {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw UsageError("--out: cannot create " + dir.string() + ": " + ec.message());
  }
  print_config(sc, base, seed, sc.limits.max_steps);

  // A first timed run sizes the program for PCT: n contexts (threads, boot,
  // interrupt sources) and k scheduling steps.
  Timed first = timed_run(sc, base);
  const uint64_t n = first.rep.context_names.size() - 1 + sc.interrupts.size();
  const uint64_t k = first.rep.steps;
  cfg.pct_steps = k;
  std::printf("  first run (timed): %s, %llu steps, %llu contexts and interrupt sources\n",
              first.rep.verdict.c_str(), static_cast<unsigned long long>(k),
              static_cast<unsigned long long>(n));
  if (cfg.kind == SearchConfig::Kind::pct)
    std::printf("check: pct, depth %d, k %llu, n %llu: each run finds a depth-%d bug with "
                "probability at least 1/(n*k^(d-1)) = %.3g\n",
                cfg.pct_depth, static_cast<unsigned long long>(k),
                static_cast<unsigned long long>(n), cfg.pct_depth,
                pct_probability(n, k, cfg.pct_depth));
  else
    std::printf("check: dfs, preemption bound %d (iterative from 0), sleep sets %s\n",
                cfg.preemption_bound, cfg.sleep_sets ? "on" : "off");
  if (jobs > 1 && cfg.kind == SearchConfig::Kind::dfs)
    std::printf("note: --jobs %llu: dfs runs are sequential in this version\n",
                static_cast<unsigned long long>(jobs));
  std::fflush(stdout);

  const auto t0 = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  if (time_limit) cfg.out_of_time = [&] { return elapsed() >= static_cast<double>(*time_limit); };
  // With --jobs, runs come from several threads: keep the lowest-numbered
  // finding, which is the one a sequential search reports.
  std::mutex found_mutex;
  std::optional<RunReport> found;
  uint64_t found_run = UINT64_MAX;
  SearchStats st = search(cfg, [&](uint64_t run, std::unique_ptr<Strategy> s) {
    RunOptions opt = base;
    opt.strategy_factory = [&s] { return std::move(s); };
    RunReport rep = run_scenario(sc, opt);
    // A finding is what `kasim run` would report as one (exit 1). Not: a run
    // that held, a run cut by the search (diverged), or a schedule in which a
    // finding the scenario expects did not happen.
    if (rep.exit_code != 1 || rep.findings.empty()) return false;
    std::lock_guard<std::mutex> lock(found_mutex);
    if (run < found_run) {
      found_run = run;
      found = std::move(rep);
    }
    return true;
  });
  const double wall = elapsed();

  if (found) print_findings(*found);
  std::string space;
  if (cfg.kind == SearchConfig::Kind::pct)
    space = "stopped: " + st.stop;
  else if (!st.exhausted)
    space = "not exhausted: stopped by " + st.stop + " at bound " + std::to_string(st.bound_reached);
  else if (st.bound_cut)
    space = "bounded space exhausted (bound " + std::to_string(st.bound_reached) + ")";
  else
    space = "whole space exhausted (no schedule needs more preemptions)";
  std::printf("summary: %s | %llu runs, %llu schedules, %llu pruned by sleep sets (%llu options "
              "asleep) | %s | %.0f runs/s | wall %.3f s\n",
              st.found ? "FINDING" : "no finding", static_cast<unsigned long long>(st.runs),
              static_cast<unsigned long long>(st.schedules),
              static_cast<unsigned long long>(st.pruned), static_cast<unsigned long long>(st.slept),
              space.c_str(), wall > 0 ? static_cast<double>(st.runs) / wall : 0.0, wall);
  if (!found) return 0;
  std::printf("found by run %llu", static_cast<unsigned long long>(st.found_at_run));
  if (cfg.kind == SearchConfig::Kind::dfs)
    std::printf(" with %d preemption%s", st.found_preemptions, st.found_preemptions == 1 ? "" : "s");
  std::printf("\n");
  write_json(dir / "trace.json", trace_json(sc, *found));
  std::printf("reproduce: %s replay %s\n", self_command().c_str(), (dir / "trace.json").c_str());
  return 1;
}

int cmd_replay(const std::vector<std::string>& args) {
  po::options_description desc("kasim replay TRACE");
  desc.add_options()("json", "print the report as JSON")("trace", po::value<std::string>(),
                                                         "trace.json");
  po::variables_map vm =
      parse_options(args, desc, "trace", 1, "kasim replay: missing the TRACE file");
  const std::string path = vm["trace"].as<std::string>();
  LoadedTrace tr = load_trace(path);
  RunOptions opt;
  opt.seed = tr.seed;
  opt.max_steps = tr.max_steps;
  opt.replay = &tr.decisions;
  const bool json_out = vm.count("json") != 0;
  if (!json_out) {
    print_config(tr.scenario, opt, tr.seed, tr.max_steps);
    if (tr.version != KASIM_VERSION)
      std::printf("note: the trace was recorded by kasim %s; this is %s\n", tr.version.c_str(),
                  KASIM_VERSION);
  }
  Timed t = timed_run(tr.scenario, opt);
  RunReport& rep = t.rep;
  // Compare with the recording before saying anything, so that --json output
  // is one JSON document whose exit_status is the real one.
  std::vector<std::string> diverged;
  const std::string got_kind = rep.findings.empty() ? "" : rep.findings.front().kind;
  if (rep.outcome == Outcome::diverged) {
    diverged.push_back("DIVERGED: " + rep.stop_reason);
    diverged.push_back("  the code or the scenario changed since the trace was recorded");
  } else if (got_kind != tr.finding_kind) {
    diverged.push_back("DIVERGED: the trace recorded " +
                       (tr.finding_kind.empty() ? "no finding" : "finding " + tr.finding_kind) +
                       ", the replay found " + (got_kind.empty() ? "none" : got_kind));
  } else if (rep.trace_hash != tr.trace_hash) {
    diverged.push_back("DIVERGED: trace hash " + hex64(rep.trace_hash) +
                       ", but the trace recorded " + hex64(tr.trace_hash));
  }
  const int status = diverged.empty() ? rep.exit_code : kExitInternal;
  if (json_out) {
    nlohmann::json j = report_json(tr.scenario, rep, t.wall);
    j["exit_status"] = status;
    j["replay"] = {{"reproduced", diverged.empty()}, {"divergence", diverged}};
    std::cout << j.dump(2) << "\n";
    for (const std::string& line : diverged) std::fprintf(stderr, "%s\n", line.c_str());
    return status;
  }
  if (rep.outcome != Outcome::diverged) {
    print_findings(rep);
    print_summary(rep, t.wall);
  }
  for (const std::string& line : diverged) std::printf("%s\n", line.c_str());
  if (diverged.empty())
    std::printf("replay: reproduced %s with the recorded trace hash %s\n",
                got_kind.empty() ? "the run" : ("finding " + got_kind).c_str(),
                hex64(rep.trace_hash).c_str());
  return status;
}

int cmd_validate(const std::vector<std::string>& args) {
  po::options_description desc("kasim validate FILE...");
  desc.add_options()("check-determinism", "also run each file twice and compare hashes")(
      "files", po::value<std::vector<std::string>>(), "scenario files");
  po::variables_map vm =
      parse_options(args, desc, "files", -1, "kasim validate: give at least one FILE");
  int status = 0;
  for (const std::string& f : vm["files"].as<std::vector<std::string>>()) {
    try {
      Scenario sc = load_scenario(f);
      if (vm.count("check-determinism")) {
        RunOptions opt;
        RunReport first = run_scenario(sc, opt);
        if (!same_twice(sc, opt, first)) {
          status = kExitInternal;
          continue;
        }
        std::printf("%s: ok (deterministic: hash %s; the run: %s)\n", f.c_str(),
                    hex64(first.trace_hash).c_str(), first.verdict.c_str());
      } else {
        std::printf("%s: ok\n", f.c_str());
      }
    } catch (const ScenarioError& e) {
      for (const std::string& line : e.lines) std::fprintf(stderr, "%s\n", line.c_str());
      if (status == 0) status = kExitUsage;
    }
  }
  return status;
}

int cmd_ops() {
  const Registry& reg = Registry::get();
  for (const auto& [name, op] : reg.ops()) {
    std::printf("%s", name.c_str());
    for (const ArgSpec& a : op.args) std::printf(" %s%s", a.name.c_str(), a.required ? "" : "?");
    if (!op.help.empty()) std::printf("  -- %s", op.help.c_str());
    std::printf("\n");
  }
  return 0;
}

const char* kUsage =
    "usage: kasim COMMAND [ARGS]\n"
    "  run FILE [--seed N] [--strategy timed|random] [--max-steps N] [--out DIR] [--json]\n"
    "           [--check-determinism] [--perfetto]   run a scenario\n"
    "  check FILE [--strategy dfs|pct] [--pct-depth D] [--preemption-bound K] [--no-reduction]\n"
    "           [--max-schedules N] [--time S] [--jobs J] [--seed N] [--out DIR]\n"
    "                                        model-check a scenario (PCT or bounded search)\n"
    "  replay TRACE [--json]                 replay a trace.json, reproduce its finding\n"
    "  validate FILE... [--check-determinism] check scenario files without running them\n"
    "  ops                                   list the ops scenarios may use\n"
    "  schema                                print the JSON Schema of scenario files\n"
    "  --version, --help\n"
    "exit status: 0 all held, 1 finding, 2 bad input or usage, 3 internal error or "
    "nondeterminism\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string cmd = args.front();
  args.erase(args.begin());
  try {
    if (cmd == "run") return cmd_run(args);
    if (cmd == "check") return cmd_check(args);
    if (cmd == "replay") return cmd_replay(args);
    if (cmd == "validate") return cmd_validate(args);
    if (cmd == "ops") return cmd_ops();
    if (cmd == "schema") {
      std::cout << scenario_schema().dump(2) << "\n";
      return 0;
    }
    if (cmd == "--version" || cmd == "version") {
      std::printf("kasim %s\n", KASIM_VERSION);
      return 0;
    }
    if (cmd == "--help" || cmd == "help" || cmd == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "kasim: unknown command '%s'\n%s", cmd.c_str(), kUsage);
    return kExitUsage;
  } catch (const ScenarioError& e) {
    for (const std::string& line : e.lines) std::fprintf(stderr, "%s\n", line.c_str());
    return kExitUsage;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitUsage;
  } catch (const po::error& e) {
    std::fprintf(stderr, "kasim %s: %s\n%s", cmd.c_str(), e.what(), kUsage);
    return kExitUsage;
  } catch (const InternalError& e) {
    std::fprintf(stderr, "kasim: internal error: %s\n", e.what());
    return kExitInternal;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kasim: internal error: %s\n", e.what());
    return kExitInternal;
  }
}
