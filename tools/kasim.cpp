// tools/kasim.cpp: the kasim command.
//
//   kasim run FILE [--seed N] [--strategy timed|random] [--max-steps N] [--time S] [--out DIR]
//                  [--json] [--check-determinism] [--perfetto] [--canary NAME]
//   kasim check FILE [--strategy dfs|pct] [--pct-depth D] [--preemption-bound K]
//                    [--no-reduction] [--max-schedules N] [--time S] [--jobs J] [--seed N]
//                    [--out DIR] [--canary NAME]
//   kasim fuzz FILE [--seeds N | --time S] [--seed-start S] [--jobs J] [--shard K/N]
//                   [--keep-going] [--jsonl FILE] [--canary NAME] [--strategy timed|random]
//                   [--no-shrink] [--shrink-runs N] [--out DIR]
//   kasim shrink TRACE [-o OUT] [--max-runs N]
//   kasim canaries
//   kasim replay TRACE [--json]
//   kasim validate FILE... [--check-determinism]
//   kasim ops
//   kasim schema
//
// Exit status: 0 all held, 1 a finding, 2 bad input or usage, 3 internal
// error, nondeterminism, or a result that could not be written.
#include <boost/program_options.hpp>
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <unistd.h>

#include "scenarios/files.h"
#include "scenarios/registry.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "scenarios/schema.h"
#include "sim/kernel.h"
#include "sim/search.h"
#include "scenarios/fuzz.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace kasim;
using namespace kasim::scn;

namespace {

constexpr int kExitUsage = 2;
constexpr int kExitInternal = 3;
// `kasim run` stops a run after this many seconds of wall-clock time unless
// --time says otherwise (docs/scenario-format.md).
constexpr uint64_t kRunDefaultSeconds = 600;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `--help` (or -h) on a subcommand: its usage was printed; exit 0.
struct HelpShown {};

bool asks_for_help(const std::vector<std::string>& args) {
  return std::find(args.begin(), args.end(), "--help") != args.end() ||
         std::find(args.begin(), args.end(), "-h") != args.end();
}

// Parses a subcommand's options; `positional` names the option that takes
// the bare arguments (count -1 = any number), and `missing` is the usage
// error when none was given.
po::variables_map parse_options(const std::vector<std::string>& args,
                                const po::options_description& desc, const char* positional,
                                int count, const std::string& missing) {
  if (asks_for_help(args)) {
    std::cout << desc << "\n";
    throw HelpShown{};
  }
  po::positional_options_description pos;
  pos.add(positional, count);
  po::variables_map vm;
  // No guessing from prefixes: `fuzz --json` must be an error, not --jsonl.
  const int style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  po::store(po::command_line_parser(args).options(desc).positional(pos).style(style).run(), vm);
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

// --canary NAME: a declared planted bug, or a usage error listing them.
std::string canary_option(const po::variables_map& vm, const char* cmd) {
  if (!vm.count("canary")) return {};
  const std::string name = vm["canary"].as<std::string>();
  if (is_canary(name)) return name;
  std::string known;
  for (const kasim_named& c : kasim_canaries()) known += std::string(known.empty() ? "" : ", ") + c.name;
  throw UsageError(std::string("kasim ") + cmd + ": unknown canary '" + name + "' (known: " + known +
                   ")");
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

// Whole or not at all (files.h); OutputError says what could not be written.
void write_json(const fs::path& p, const nlohmann::json& j) {
  write_file_atomic(p.string(), dump_json(j) + "\n");
}

// --- what stops a run or a campaign from the host ---------------------------

// SIGINT/SIGTERM during fuzz or check: finish cleanly (every finding's trace
// and every JSON line already written stay whole). A second signal kills.
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }
void catch_stop_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sa.sa_flags = SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

// Wall-clock time since a command started, its optional limit, and the poll
// that carries the limit into a run (RunOptions::poll) so that it stops
// within Engine::kPollSteps steps, not at the end of the run.
class HostClock {
 public:
  explicit HostClock(std::optional<uint64_t> limit_seconds) : limit_(limit_seconds) {}
  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  }
  bool out_of_time() const {
    return g_stop_signal != 0 || (limit_ && elapsed() >= static_cast<double>(*limit_));
  }
  // Why the command stopped early ("" if it did not).
  std::string stop_reason() const {
    if (g_stop_signal != 0) return std::string("interrupted by ") + strsignal(g_stop_signal);
    return out_of_time() ? "time limit" : "";
  }
  // The poll for a run; with `progress`, it also prints a progress line on
  // standard error at most once a second (only on a terminal).
  std::function<bool(uint64_t)> poll(bool progress) {
    progress = progress && isatty(fileno(stderr)) != 0;
    return [this, progress](uint64_t steps) {
      if (progress && elapsed() >= next_progress_) {
        next_progress_ = elapsed() + 1.0;
        std::fprintf(stderr, "\r  %llu steps | %.0f steps/s | wall %.0f s   ",
                     static_cast<unsigned long long>(steps),
                     static_cast<double>(steps) / std::max(elapsed(), 1e-9), elapsed());
        printed_progress_ = true;
      }
      return out_of_time();
    };
  }
  // Ends a progress line, if one was printed.
  void end_progress() {
    if (printed_progress_) std::fprintf(stderr, "\n");
    printed_progress_ = false;
  }

 private:
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  std::optional<uint64_t> limit_;
  double next_progress_ = 1.0;
  bool printed_progress_ = false;
};

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
  if (!sc.swarm.empty())
    std::printf("  swarm: %zu parameter%s drawn from each seed (the machine above shows the minima)\n",
                sc.swarm.size(), sc.swarm.size() == 1 ? "" : "s");
  if (sc.workload.present)
    std::printf("  workload: %llu thread%s per cpu x %llu ops%s\n",
                static_cast<unsigned long long>(sc.workload.threads_per_cpu),
                sc.workload.threads_per_cpu == 1 ? "" : "s",
                static_cast<unsigned long long>(sc.workload.ops_per_thread),
                sc.workload.interrupts ? ", random interrupts" : "");
  if (!opt.canary.empty())
    std::printf("  CANARY %s: a planted bug is switched on\n", opt.canary.c_str());
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
  if (!rep.swarm.empty()) {
    std::printf("swarm: this seed drew");
    for (auto it = rep.swarm.begin(); it != rep.swarm.end(); ++it)
      std::printf(" %s=%s", it.key().c_str(), dump_json(it.value(), -1).c_str());
    std::printf("\n");
  }
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
  // The second run stops where the first did, by the step limit it ended
  // with, even if the wall clock cut the first one short.
  RunOptions again_opt = opt;
  again_opt.poll = nullptr;
  again_opt.max_steps = first.limits.max_steps;
  RunReport again = run_scenario(sc, again_opt);
  if (again.trace_hash == first.trace_hash && again.steps == first.steps) return true;
  std::printf("NONDETERMINISM: %s: two runs with seed %llu differ: hash %s (%llu steps) vs %s "
              "(%llu steps)\n",
              sc.file.c_str(), static_cast<unsigned long long>(first.seed),
              hex64(first.trace_hash).c_str(), static_cast<unsigned long long>(first.steps),
              hex64(again.trace_hash).c_str(), static_cast<unsigned long long>(again.steps));
  return false;
}

// Result files a command writes. Each is written whole or not at all; one
// that cannot be written is remembered with what its loss means, so the
// command can still print everything and then exit 3 saying what is lost.
class ResultFiles {
 public:
  // Writes `j` to `p`; false (remembered) if it could not be written.
  bool save(const fs::path& p, const nlohmann::json& j, const std::string& loss) {
    try {
      write_json(p, j);
      return true;
    } catch (const OutputError& e) {
      lost_.push_back(std::string(e.what()) + " (" + loss + ")");
      return false;
    }
  }
  // A file an earlier run left that this run does not replace (a trace
  // beside a report that records no finding) would be read as this run's.
  static void remove_stale(const fs::path& p) {
    std::error_code ec;
    fs::remove(p, ec);
  }
  // Says what was lost on standard error; the exit status to return.
  int finish(int status) const {
    for (const std::string& l : lost_) std::fprintf(stderr, "kasim: %s\n", l.c_str());
    return lost_.empty() ? status : kExitInternal;
  }

 private:
  std::vector<std::string> lost_;
};

// fuzz --jsonl: one JSON document per line, appended and flushed per seed.
// A line that cannot be written stops the campaign (OutputError, exit 3)
// rather than let it run on with its record lost.
class JsonLines {
 public:
  ~JsonLines() {
    if (f_) std::fclose(f_);
  }
  void open(const std::string& path) {
    path_ = path;
    f_ = std::fopen(path.c_str(), "a");
    if (!f_) throw UsageError("kasim fuzz: cannot write --jsonl " + path + ": " + std::strerror(errno));
  }
  bool is_open() const { return f_ != nullptr; }
  void write(const nlohmann::json& line, uint64_t seed) {
    const std::string text = dump_json(line, -1) + "\n";
    if (std::fwrite(text.data(), 1, text.size(), f_) != text.size() || std::fflush(f_) != 0) {
      const int e = errno;
      std::fclose(f_);
      f_ = nullptr;
      throw OutputError("cannot write --jsonl " + path_ + ": " + std::strerror(e) +
                        " (the campaign stopped; the line of seed " + std::to_string(seed) +
                        " and later ones are not in it)");
    }
  }

 private:
  std::string path_;
  std::FILE* f_ = nullptr;
};

// --time for run, check and fuzz: seconds of wall-clock time, 0 = no limit.
std::optional<uint64_t> time_option(const po::variables_map& vm, const char* cmd) {
  if (!vm.count("time")) return std::nullopt;
  const uint64_t t = number_option(vm, "time", cmd);
  if (t == 0) return std::nullopt;
  return t;
}

int cmd_run(const std::vector<std::string>& args) {
  po::options_description desc("kasim run FILE");
  desc.add_options()("seed", po::value<std::string>(), "seed (default: the scenario's)")(
      "strategy", po::value<std::string>()->default_value("timed"), "timed | random")(
      "max-steps", po::value<std::string>(), "stop after N scheduling steps")(
      "time", po::value<std::string>()->default_value(std::to_string(kRunDefaultSeconds)),
      "stop after S seconds of wall-clock time, as a step bound the trace replays (0: no limit)")(
      "out", po::value<std::string>()->default_value("results"), "results directory")(
      "json", "print the report as JSON instead of the summary")(
      "check-determinism", "run twice and compare the trace hashes")(
      "perfetto", "also write perfetto.json, a timeline of every op (ui.perfetto.dev)")(
      "canary", po::value<std::string>(), "switch on a planted bug (kasim canaries)")(
      "file", po::value<std::string>(), "scenario file");
  po::variables_map vm =
      parse_options(args, desc, "file", 1, "kasim run: missing the scenario FILE");
  RunOptions opt;
  opt.canary = canary_option(vm, "run");
  opt.strategy = vm["strategy"].as<std::string>();
  if (opt.strategy != "timed" && opt.strategy != "random")
    throw UsageError("kasim run: --strategy must be timed or random, got '" + opt.strategy + "'");
  if (vm.count("seed")) opt.seed = number_option(vm, "seed");
  if (vm.count("max-steps")) {
    opt.max_steps = number_option(vm, "max-steps");
    if (*opt.max_steps < 1 || *opt.max_steps > kMaxStepsLimit)
      throw UsageError("kasim run: --max-steps must be in [1, " + std::to_string(kMaxStepsLimit) + "]");
  }
  const bool json_out = vm.count("json") != 0;
  const bool perfetto = vm.count("perfetto") != 0;
  if (perfetto) opt.timeline_spans = 1'000'000;
  HostClock clock(time_option(vm, "run"));
  opt.poll = clock.poll(!json_out);

  Scenario sc = load_scenario(vm["file"].as<std::string>());
  const uint64_t seed = opt.seed.value_or(sc.seed);
  const fs::path dir = make_results_dir(vm["out"].as<std::string>(), sc.name, seed);
  if (!json_out) print_config(sc, opt, seed, opt.max_steps.value_or(sc.limits.max_steps));
  Timed t = timed_run(sc, opt);
  clock.end_progress();
  RunReport& rep = t.rep;
  if (vm.count("check-determinism") && !same_twice(sc, opt, rep)) return kExitInternal;

  // The trace first: a finding must leave one on disk if anything can.
  ResultFiles files;
  nlohmann::json report = report_json(sc, rep, t.wall);
  const bool want_trace = !rep.findings.empty() || rep.exit_code == 1;
  bool trace_saved = false, perfetto_saved = false;
  if (want_trace)
    trace_saved = files.save(dir / "trace.json", trace_json(sc, rep),
                             "the trace that replays this run is lost");
  else
    ResultFiles::remove_stale(dir / "trace.json");
  const bool report_saved = files.save(dir / "report.json", report, "the report is lost");
  if (perfetto)
    perfetto_saved = files.save(dir / "perfetto.json", perfetto_json(sc, rep), "the timeline is lost");
  else
    ResultFiles::remove_stale(dir / "perfetto.json");

  if (json_out) {
    std::cout << dump_json(report) << "\n";
    return files.finish(rep.exit_code);
  }
  print_findings(rep);
  print_summary(rep, t.wall);
  if (report_saved) std::printf("report: %s\n", (dir / "report.json").c_str());
  if (perfetto_saved)
    std::printf("timeline: %s (open it at ui.perfetto.dev)\n", (dir / "perfetto.json").c_str());
  if (trace_saved)
    std::printf("reproduce: %s replay %s\n", self_command().c_str(), (dir / "trace.json").c_str());
  return files.finish(rep.exit_code);
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
      "run on J host threads (same counts and first finding as one)")(
      "seed", po::value<std::string>(), "seed (default: the scenario's)")(
      "out", po::value<std::string>()->default_value("results"), "results directory")(
      "canary", po::value<std::string>(), "switch on a planted bug (kasim canaries)")(
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
  HostClock clock(time_option(vm, "check"));

  Scenario sc = load_scenario(vm["file"].as<std::string>());
  RunOptions base;
  base.canary = canary_option(vm, "check");
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
  // The limit and Ctrl-C reach into each run, the first included; a run they
  // cut is no result.
  catch_stop_signals();
  cfg.out_of_time = [&clock] { return clock.out_of_time(); };
  base.poll = clock.poll(false);

  // A first timed run sizes the program for PCT: n contexts (threads, boot,
  // interrupt sources) and k scheduling steps.
  Timed first = timed_run(sc, base);
  if (first.rep.stopped_by_poll) {
    std::printf("summary: no finding | 0 runs | stopped: %s during the first (timed) run, after "
                "%llu steps | wall %.3f s\n",
                clock.stop_reason().c_str(), static_cast<unsigned long long>(first.rep.steps),
                clock.elapsed());
    return 0;
  }
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
  std::fflush(stdout);

  const double search_start = clock.elapsed();
  // With --jobs, runs come from several threads: keep the finding with the
  // lowest run key (keys follow the sequential order), which is the one the
  // search reports, SearchStats::found_key.
  std::mutex found_mutex;
  std::optional<RunReport> found;
  uint64_t found_run = UINT64_MAX;
  SearchStats st = search(cfg, [&](uint64_t run, std::unique_ptr<Strategy> s) {
    RunOptions opt = base;
    opt.strategy_factory = [&s] { return std::move(s); };
    RunReport rep = run_scenario(sc, opt);
    // A finding is what `kasim run` would report as one (exit 1). Not: a run
    // that held, a run cut by the search (diverged) or by the wall clock, or
    // a schedule in which a finding the scenario expects did not happen.
    if (rep.stopped_by_poll || rep.exit_code != 1 || rep.findings.empty()) return false;
    std::lock_guard<std::mutex> lock(found_mutex);
    if (run < found_run) {
      found_run = run;
      found = std::move(rep);
    }
    return true;
  });
  const double wall = clock.elapsed() - search_start;
  if (g_stop_signal != 0) st.stop = clock.stop_reason();
  // A finding past the search's stop (max runs) is not one the search reports.
  if (!st.found) found.reset();
  if (st.found && (!found || found_run != st.found_key))
    throw InternalError("kasim check: the reported finding's run was not kept");

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
  ResultFiles files;
  if (files.save(dir / "trace.json", trace_json(sc, *found), "the trace of the finding is lost"))
    std::printf("reproduce: %s replay %s\n", self_command().c_str(), (dir / "trace.json").c_str());
  return files.finish(1);
}

int cmd_replay(const std::vector<std::string>& args) {
  po::options_description desc("kasim replay TRACE");
  desc.add_options()("json", "print the report as JSON")(
      "canary", po::value<std::string>(), "the trace's canary (recorded in it; optional)")(
      "trace", po::value<std::string>(), "trace.json");
  po::variables_map vm =
      parse_options(args, desc, "trace", 1, "kasim replay: missing the TRACE file");
  const std::string path = vm["trace"].as<std::string>();
  LoadedTrace tr = load_trace(path);
  RunOptions opt;
  opt.seed = tr.seed;
  opt.max_steps = tr.max_steps;
  opt.replay = &tr.decisions;
  opt.canary = tr.canary;
  opt.faults = tr.faults;
  if (vm.count("canary") && vm["canary"].as<std::string>() != tr.canary)
    throw UsageError("kasim replay: the trace was recorded with " +
                     (tr.canary.empty() ? std::string("no canary") : "--canary " + tr.canary) +
                     "; it replays only with that");
  const bool json_out = vm.count("json") != 0;
  if (!json_out) {
    print_config(tr.scenario, opt, tr.seed, tr.max_steps);
    if (tr.version != KASIM_VERSION)
      std::printf("note: the trace was recorded by kasim %s; this is %s\n", tr.version.c_str(),
                  KASIM_VERSION);
  }
  // No time limit (it would cut the replay short of the recording), but a
  // progress line on a terminal for a long one.
  HostClock clock(std::nullopt);
  opt.poll = clock.poll(!json_out);
  Timed t = timed_run(tr.scenario, opt);
  clock.end_progress();
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
    std::cout << dump_json(j) << "\n";
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

// "K/N" for --shard: 0 <= K < N.
std::pair<uint64_t, uint64_t> shard_option(const std::string& text) {
  const auto slash = text.find('/');
  std::optional<uint64_t> k, n;
  if (slash != std::string::npos) {
    k = parse_c_number(nlohmann::json(text.substr(0, slash)), nullptr);
    n = parse_c_number(nlohmann::json(text.substr(slash + 1)), nullptr);
  }
  if (!k || !n || *n == 0 || *k >= *n)
    throw UsageError("kasim fuzz: --shard expects K/N with 0 <= K < N (e.g. 3/8), got '" + text + "'");
  return {*k, *n};
}

// Shrinks a failing run, writes the minimal trace, reports the sizes; returns
// the minimal trace's path (empty if the finding did not reproduce).
std::string shrink_and_write(const Scenario& sc, const RunReport& rep, const std::string& strategy,
                             const fs::path& out, uint64_t max_runs) {
  ShrinkInput in;
  in.doc = sc.doc;
  in.file = sc.file;
  in.seed = rep.seed;
  in.strategy = strategy;
  in.canary = rep.canary;
  in.faults = rep.faults;
  in.kind = rep.findings.front().kind;
  in.max_runs = max_runs;
  std::printf("shrink: %s\n", run_size(sc, rep).c_str());
  std::fflush(stdout);
  auto res = shrink(in);
  if (!res) {
    std::printf("shrink: the finding does not reproduce from the scenario and seed\n");
    return {};
  }
  for (const std::string& line : res->log) std::printf("  %s\n", line.c_str());
  std::printf("shrink: %llu candidate runs, %llu reductions kept\n",
              static_cast<unsigned long long>(res->runs),
              static_cast<unsigned long long>(res->accepted));
  std::printf("  before: %s\n  after:  %s\n", run_size(sc, rep).c_str(),
              run_size(res->scenario, res->rep).c_str());
  write_json(out, trace_json(res->scenario, res->rep));
  return out.string();
}

// kasim fuzz: one scenario under many seeds (docs/fuzzing.md).
int cmd_fuzz(const std::vector<std::string>& args) {
  po::options_description desc("kasim fuzz FILE");
  desc.add_options()("seeds", po::value<std::string>(), "campaign size in seeds (default 100)")(
      "time", po::value<std::string>(), "stop launching seeds after S seconds")(
      "seed-start", po::value<std::string>(), "first seed (default: the scenario's)")(
      "jobs", po::value<std::string>()->default_value("1"), "seeds run on J host threads")(
      "shard", po::value<std::string>(), "K/N: run only campaign seeds i with i % N == K")(
      "keep-going", "do not stop at the first finding")(
      "jsonl", po::value<std::string>(), "write one JSON line per seed to FILE")(
      "canary", po::value<std::string>(), "switch on a planted bug (kasim canaries)")(
      "strategy", po::value<std::string>()->default_value("random"), "timed | random")(
      "no-shrink", "write the failing trace without shrinking it")(
      "shrink-runs", po::value<std::string>()->default_value("400"),
      "at most N candidate runs when shrinking")(
      "out", po::value<std::string>()->default_value("results"), "results directory")(
      "file", po::value<std::string>(), "scenario file");
  po::variables_map vm =
      parse_options(args, desc, "file", 1, "kasim fuzz: missing the scenario FILE");
  FuzzConfig cfg;
  cfg.base.canary = canary_option(vm, "fuzz");
  cfg.base.strategy = vm["strategy"].as<std::string>();
  if (cfg.base.strategy != "timed" && cfg.base.strategy != "random")
    throw UsageError("kasim fuzz: --strategy must be timed or random, got '" + cfg.base.strategy + "'");
  const uint64_t jobs = number_option(vm, "jobs", "fuzz");
  if (jobs < 1 || jobs > 256) throw UsageError("kasim fuzz: --jobs must be 1..256");
  cfg.jobs = static_cast<unsigned>(jobs);
  const std::optional<uint64_t> time_limit = time_option(vm, "fuzz");
  if (vm.count("seeds")) {
    cfg.seeds = number_option(vm, "seeds", "fuzz");
    if (cfg.seeds == 0) throw UsageError("kasim fuzz: --seeds must be at least 1");
  } else if (time_limit) {
    cfg.seeds = 0;  // until the time is up
  }
  if (vm.count("shard")) std::tie(cfg.shard, cfg.shards) = shard_option(vm["shard"].as<std::string>());
  cfg.keep_going = vm.count("keep-going") != 0;
  const uint64_t shrink_runs = number_option(vm, "shrink-runs", "fuzz");

  Scenario sc = load_scenario(vm["file"].as<std::string>());
  cfg.seed_start = vm.count("seed-start") ? number_option(vm, "seed-start", "fuzz") : sc.seed;
  const fs::path dir = fs::path(vm["out"].as<std::string>()) / sc.name / "fuzz";
  {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw UsageError("--out: cannot create " + dir.string() + ": " + ec.message());
  }
  JsonLines jsonl;
  if (vm.count("jsonl")) jsonl.open(vm["jsonl"].as<std::string>());
  print_config(sc, cfg.base, cfg.seed_start, sc.limits.max_steps);
  std::printf("fuzz: seeds %llu..%s, strategy %s, %u job%s",
              static_cast<unsigned long long>(cfg.seed_start),
              cfg.seeds ? std::to_string(cfg.seed_start + cfg.seeds - 1).c_str() : "",
              cfg.base.strategy.c_str(), cfg.jobs, cfg.jobs == 1 ? "" : "s");
  if (cfg.shards > 1)
    std::printf(", shard %llu/%llu", static_cast<unsigned long long>(cfg.shard),
                static_cast<unsigned long long>(cfg.shards));
  if (time_limit) std::printf(", at most %llu s", static_cast<unsigned long long>(*time_limit));
  if (!cfg.base.canary.empty()) std::printf(", canary %s", cfg.base.canary.c_str());
  std::printf("\n");
  std::fflush(stdout);

  // The limit and Ctrl-C reach into each run; a run they cut is no result.
  HostClock clock(time_limit);
  catch_stop_signals();
  cfg.out_of_time = [&clock] { return clock.out_of_time(); };
  cfg.base.poll = clock.poll(false);
  auto elapsed = [&clock] { return clock.elapsed(); };
  // Failing seeds' traces are written as they are found (with --keep-going,
  // every one); the trace of the first is shrunk at the end.
  std::mutex out_mutex;
  ResultFiles files;
  cfg.on_result = [&](const SeedResult& r) {
    std::string trace;
    if (r.finding) {
      const fs::path p = dir / ("seed-" + std::to_string(r.seed) + ".trace.json");
      if (files.save(p, trace_json(sc, r.rep), "seed " + std::to_string(r.seed) + "'s trace is lost"))
        trace = p.string();
    }
    if (jsonl.is_open()) {
      nlohmann::json line = {{"scenario", sc.name},
                             {"seed", r.seed},
                             {"verdict", r.rep.verdict},
                             {"exit_status", r.rep.exit_code},
                             {"steps", r.rep.steps},
                             {"trace_hash", hex64(r.rep.trace_hash)},
                             {"marks", r.rep.marks},
                             {"finding", nullptr},
                             {"trace", nullptr}};
      if (!r.rep.canary.empty()) line["canary"] = r.rep.canary;
      if (r.finding) {
        line["finding"] = {{"kind", r.rep.findings.front().kind},
                           {"message", r.rep.findings.front().message}};
        if (!trace.empty()) line["trace"] = trace;
      }
      jsonl.write(line, r.seed);
    }
  };
  FuzzStats live;
  const bool tty = isatty(fileno(stderr)) != 0;
  if (tty)
    cfg.on_tick = [&] {
      std::lock_guard<std::mutex> lock(out_mutex);
      const double t = elapsed();
      std::fprintf(stderr, "\r  %llu seeds | %.1f seeds/s | %.0f steps/s | %llu finding%s   ",
                   static_cast<unsigned long long>(live.seeds_run),
                   t > 0 ? static_cast<double>(live.seeds_run) / t : 0.0,
                   t > 0 ? static_cast<double>(live.steps) / t : 0.0,
                   static_cast<unsigned long long>(live.findings), live.findings == 1 ? "" : "s");
      std::fflush(stderr);
    };
  FuzzStats st = fuzz(sc, cfg, &live);
  const double wall = elapsed();
  if (tty) std::fprintf(stderr, "\n");
  if (g_stop_signal != 0) st.stop = clock.stop_reason();

  std::printf("summary: %s | %llu seeds, %llu finding%s | %.1f seeds/s, %.0f steps/s | stopped: %s "
              "| wall %.3f s\n",
              st.first ? "FINDING" : "no finding", static_cast<unsigned long long>(st.seeds_run),
              static_cast<unsigned long long>(st.findings), st.findings == 1 ? "" : "s",
              wall > 0 ? static_cast<double>(st.seeds_run) / wall : 0.0,
              wall > 0 ? static_cast<double>(st.steps) / wall : 0.0, st.stop.c_str(), wall);
  std::string reached, never;
  for (const kasim_named& m : kasim_marks()) {
    auto it = st.marks.find(m.name);
    if (it != st.marks.end())
      reached += std::string(reached.empty() ? "" : ", ") + m.name + " (" +
                 std::to_string(it->second) + ")";
    else
      never += std::string(never.empty() ? "" : ", ") + m.name;
  }
  std::printf("marks reached (seeds): %s\n", reached.empty() ? "none" : reached.c_str());
  std::printf("marks never reached: %s\n", never.empty() ? "none" : never.c_str());
  if (!st.first) return files.finish(0);

  const SeedResult& f = *st.first;
  std::printf("first finding: seed %llu\n", static_cast<unsigned long long>(f.seed));
  print_findings(f.rep);
  const fs::path original = dir / ("seed-" + std::to_string(f.seed) + ".trace.json");
  std::printf("trace: %s\n", original.c_str());
  std::string replay_path = original.string();
  if (!vm.count("no-shrink")) {
    const fs::path minimal = dir / ("seed-" + std::to_string(f.seed) + ".min.trace.json");
    std::string m = shrink_and_write(sc, f.rep, cfg.base.strategy, minimal, shrink_runs);
    if (!m.empty()) {
      replay_path = m;
      std::printf("minimal trace: %s\n", m.c_str());
    }
  }
  std::printf("reproduce: %s replay %s\n", self_command().c_str(), replay_path.c_str());
  return files.finish(1);
}

// kasim shrink: a smaller run with the same kind of finding as a trace.
int cmd_shrink(const std::vector<std::string>& args) {
  po::options_description desc("kasim shrink TRACE");
  desc.add_options()("out,o", po::value<std::string>(), "where to write the minimal trace")(
      "max-runs", po::value<std::string>()->default_value("400"), "at most N candidate runs")(
      "trace", po::value<std::string>(), "trace.json");
  po::variables_map vm =
      parse_options(args, desc, "trace", 1, "kasim shrink: missing the TRACE file");
  const std::string path = vm["trace"].as<std::string>();
  LoadedTrace tr = load_trace(path);
  if (tr.finding_kind.empty()) throw UsageError("kasim shrink: " + path + " records no finding");
  const fs::path out = vm.count("out") ? fs::path(vm["out"].as<std::string>())
                                       : fs::path(fs::path(path).replace_extension("").string() +
                                                  ".min.json");
  // The schedule of a timed or random run is a function of the seed, so
  // candidates are run fresh with it; other strategies' traces (check's
  // pct or dfs schedules) are retried under both.
  std::vector<std::string> strategies;
  if (tr.strategy == "timed" || tr.strategy == "random")
    strategies = {tr.strategy};
  else
    strategies = {"random", "timed"};
  RunOptions opt;
  opt.seed = tr.seed;
  opt.max_steps = tr.max_steps;
  opt.replay = &tr.decisions;
  opt.canary = tr.canary;
  opt.faults = tr.faults;
  RunReport original = run_scenario(tr.scenario, opt);
  if (!is_finding(original) || original.findings.front().kind != tr.finding_kind) {
    std::printf("kasim shrink: replaying %s does not reproduce its finding %s\n", path.c_str(),
                tr.finding_kind.c_str());
    return kExitInternal;
  }
  for (const std::string& strategy : strategies) {
    std::printf("shrink: %s, seed %llu, strategy %s, finding %s\n", path.c_str(),
                static_cast<unsigned long long>(tr.seed), strategy.c_str(), tr.finding_kind.c_str());
    std::string m = shrink_and_write(tr.scenario, original, strategy, out,
                                     number_option(vm, "max-runs", "shrink"));
    if (m.empty()) continue;
    std::printf("minimal trace: %s\nreproduce: %s replay %s\n", m.c_str(), self_command().c_str(),
                m.c_str());
    return 0;
  }
  std::printf("kasim shrink: no strategy reproduces the finding from the seed alone; the trace "
              "is already what replays it\n");
  return 1;
}

int cmd_canaries() {
  std::printf("canaries (kasim run|check|fuzz --canary NAME):\n");
  for (const kasim_named& c : kasim_canaries()) std::printf("  %-24s %s\n", c.name, c.description);
  std::printf("marks:\n");
  for (const kasim_named& m : kasim_marks()) std::printf("  %-24s %s\n", m.name, m.description);
  return 0;
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
      check_boots(sc);
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
    "  run FILE [--seed N] [--strategy timed|random] [--max-steps N] [--time S] [--out DIR]\n"
    "           [--json] [--check-determinism] [--perfetto] [--canary NAME]   run a scenario\n"
    "  check FILE [--strategy dfs|pct] [--pct-depth D] [--preemption-bound K] [--no-reduction]\n"
    "           [--max-schedules N] [--time S] [--jobs J] [--seed N] [--out DIR] [--canary NAME]\n"
    "                                        model-check a scenario (PCT or bounded search)\n"
    "  replay TRACE [--json]                 replay a trace.json, reproduce its finding\n"
    "  fuzz FILE [--seeds N | --time S] [--seed-start S] [--jobs J] [--shard K/N] [--keep-going]\n"
    "           [--jsonl FILE] [--canary NAME] [--strategy timed|random] [--no-shrink] [--out DIR]\n"
    "                                        run many seeds; shrink the first finding\n"
    "  shrink TRACE [-o OUT] [--max-runs N]  minimize a failing trace (same kind of finding)\n"
    "  canaries                              list the planted bugs and the reachability marks\n"
    "  validate FILE... [--check-determinism] check scenario files and boot them\n"
    "  ops                                   list the ops scenarios may use\n"
    "  schema                                print the JSON Schema of scenario files\n"
    "  --version, --help\n"
    "exit status: 0 all held, 1 finding, 2 bad input or usage, 3 internal error, "
    "nondeterminism or an unwritable result\n";

// What a command printed must reach standard output whole: `kasim run
// --json > /dev/full` is a failure (exit 3), not a silent success.
int checked_stdout(int status) {
  // std::cout writes through stdout's buffer: either flush may be the one
  // that fails, and errno says why right after it.
  errno = 0;
  std::cout.flush();
  int e = std::cout ? 0 : errno;
  bool failed = !std::cout;
  errno = 0;
  if (std::fflush(stdout) != 0) {
    failed = true;
    if (e == 0) e = errno;
  }
  if (failed || std::ferror(stdout)) {
    std::fprintf(stderr, "kasim: cannot write standard output%s%s; what it printed is lost\n",
                 e ? ": " : "", e ? std::strerror(e) : "");
    return kExitInternal;
  }
  return status;
}

int run_command(const std::string& cmd, const std::vector<std::string>& args) {
  try {
    if (cmd == "run") return cmd_run(args);
    if (cmd == "check") return cmd_check(args);
    if (cmd == "replay") return cmd_replay(args);
    if (cmd == "validate") return cmd_validate(args);
    if (cmd == "fuzz") return cmd_fuzz(args);
    if (cmd == "shrink") return cmd_shrink(args);
    // The commands without options still answer --help with their usage.
    if ((cmd == "canaries" || cmd == "ops" || cmd == "schema") && asks_for_help(args)) {
      std::printf("kasim %s (no options): %s\n", cmd.c_str(),
                  cmd == "canaries" ? "lists the planted bugs and the reachability marks"
                  : cmd == "ops"    ? "lists the ops scenarios may use"
                                    : "prints the JSON Schema of scenario files");
      return 0;
    }
    if (cmd == "canaries") return cmd_canaries();
    if (cmd == "ops") return cmd_ops();
    if (cmd == "schema") {
      std::cout << dump_json(scenario_schema()) << "\n";
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
  } catch (const HelpShown&) {
    return 0;
  } catch (const ScenarioError& e) {
    for (const std::string& line : e.lines) std::fprintf(stderr, "%s\n", line.c_str());
    return kExitUsage;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return kExitUsage;
  } catch (const po::error& e) {
    std::fprintf(stderr, "kasim %s: %s\n%s", cmd.c_str(), e.what(), kUsage);
    return kExitUsage;
  } catch (const OutputError& e) {
    std::fprintf(stderr, "kasim: %s\n", e.what());
    return kExitInternal;
  } catch (const InternalError& e) {
    std::fprintf(stderr, "kasim: internal error: %s\n", e.what());
    return kExitInternal;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kasim: internal error: %s\n", e.what());
    return kExitInternal;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    std::fputs(kUsage, stderr);
    return kExitUsage;
  }
  const std::string cmd = args.front();
  args.erase(args.begin());
  // Into a file or a pipe, standard output goes out in one piece at the end
  // (up to a megabyte), so that a failure to write it is seen, with its
  // reason, by checked_stdout.
  static char out_buffer[1 << 20];
  if (!isatty(fileno(stdout))) std::setvbuf(stdout, out_buffer, _IOFBF, sizeof out_buffer);
  return checked_stdout(run_command(cmd, args));
}
