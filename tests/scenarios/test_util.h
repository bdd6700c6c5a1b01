// tests/scenarios/test_util.h: helpers shared by the scenario-layer tests —
// temporary directories, running the kasim command, and running scenario text
// in-process.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "scenarios/report.h"
#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace kasim_test {

namespace fs = std::filesystem;
using nlohmann::json;

// A fresh, empty directory under the system temp directory, removed (with
// everything in it) when the object goes out of scope.
class TempDir {
 public:
  TempDir() {
    static std::atomic<unsigned> counter{0};
    std::string tag = "kasim";
    if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info())
      tag = std::string(info->test_suite_name()) + "-" + info->name();
    for (char& c : tag)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') c = '_';
    path_ = fs::temp_directory_path() / ("kasim-scn-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter++) + "-" + tag);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }
  // Names of the entries directly in the directory, sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  fs::path path_;
};

inline void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << p;
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline json read_json(const fs::path& p) {
  std::string text = read_file(p);
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(j.is_discarded()) << p << " is not valid JSON:\n" << text;
  return j;
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(line);
  return out;
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The first line of `text` starting with `prefix`, or "" if none.
inline std::string line_starting(const std::string& text, const std::string& prefix) {
  for (const std::string& l : split_lines(text))
    if (starts_with(l, prefix)) return l;
  return "";
}

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

#ifdef KASIM_BIN
inline const std::string& kasim_bin() {
  static const std::string bin = KASIM_BIN;
  return bin;
}
#endif

struct CmdResult {
  int status = -1;  // exit status; 128 + signal if killed by a signal
  std::string out;  // stdout
  std::string err;  // stderr
  std::string all() const { return out + err; }
};

// Runs a shell command in directory `cwd`, capturing stdout and stderr
// separately (into files next to `cwd`, so they never show up inside it).
inline CmdResult run_shell(const std::string& cmd, const fs::path& cwd) {
  static std::atomic<unsigned> counter{0};
  const fs::path base = fs::temp_directory_path() / ("kasim-scn-cap-" + std::to_string(::getpid()) +
                                                     "-" + std::to_string(counter++));
  const fs::path out = base.string() + ".out", err = base.string() + ".err";
  const std::string full = "cd " + shell_quote(cwd.string()) + " && " + cmd + " >" +
                           shell_quote(out.string()) + " 2>" + shell_quote(err.string());
  int raw = std::system(full.c_str());
  CmdResult r;
  if (raw == -1)
    r.status = -1;
  else if (WIFEXITED(raw))
    r.status = WEXITSTATUS(raw);
  else if (WIFSIGNALED(raw))
    r.status = 128 + WTERMSIG(raw);
  r.out = read_file(out);
  r.err = read_file(err);
  std::error_code ec;
  fs::remove(out, ec);
  fs::remove(err, ec);
  return r;
}

#ifdef KASIM_BIN
// Runs `kasim ARGS...` in `cwd`. KASIM_WRAPPER is set to the binary, so the
// "reproduce:" line kasim prints is a runnable command.
inline CmdResult run_kasim(const std::vector<std::string>& args, const fs::path& cwd) {
  std::string cmd = "KASIM_WRAPPER=" + shell_quote(kasim_bin()) + " " + shell_quote(kasim_bin());
  for (const std::string& a : args) cmd += " " + shell_quote(a);
  return run_shell(cmd, cwd);
}
#endif

// What a crash or an escaped exception would print; none of it may appear
// in kasim's output for bad input.
inline void expect_no_crash_text(const CmdResult& r) {
  for (const char* bad : {"terminate", "what():", "Aborted", "kasim: internal error", "Sanitizer",
                          "Segmentation", "core dumped", "#0 "})
    EXPECT_EQ(r.all().find(bad), std::string::npos) << "output contains \"" << bad << "\":\n"
                                                    << r.all();
}

#ifdef KASIM_BIN
// One expected line of kasim's error output: the whole line, or (for
// messages that end in a list other modules extend, like "known ops: ...")
// its beginning.
struct WantLine {
  std::string text;
  bool prefix = false;
};
inline WantLine line(std::string s) { return {std::move(s), false}; }
inline WantLine line_prefix(std::string s) { return {std::move(s), true}; }

// Writes `text` to bad.json in a fresh directory and checks that both
// `kasim run bad.json` and `kasim validate bad.json` reject it before running
// anything: exit status 2, nothing on stdout, exactly the `want` lines on
// stderr (in that order), no crash text, and no file written (in particular
// no results/ directory).
inline void expect_rejected(const std::string& text, const std::vector<WantLine>& want) {
  TempDir dir;
  write_file(dir / "bad.json", text);
  const std::vector<std::vector<std::string>> commands = {
      {"run", "bad.json"}, {"validate", "bad.json"}, {"run", "bad.json", "--json"}};
  for (const auto& args : commands) {
    std::string shown = "kasim";
    for (const auto& a : args) shown += " " + a;
    SCOPED_TRACE(shown);
    CmdResult r = run_kasim(args, dir.path());
    EXPECT_EQ(r.status, 2) << r.all();
    EXPECT_EQ(r.out, "") << "nothing may be printed on stdout for a rejected file";
    std::vector<std::string> got = split_lines(r.err);
    EXPECT_EQ(got.size(), want.size()) << "stderr:\n" << r.err;
    for (size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
      if (want[i].prefix)
        EXPECT_TRUE(starts_with(got[i], want[i].text))
            << "line " << i << ": " << got[i] << "\n  should start with: " << want[i].text;
      else
        EXPECT_EQ(got[i], want[i].text) << "line " << i;
    }
    expect_no_crash_text(r);
    EXPECT_EQ(dir.entries(), std::vector<std::string>{"bad.json"})
        << "kasim wrote files for a rejected scenario";
  }
}
#endif

// --- scenario texts shared by several tests --------------------------------

// ABBA on two CPUs: under the timed strategy both threads take their first
// lock before either asks for its second, so it always deadlocks.
inline const char* const kAbba = R"({
  "kasim": 1, "name": "abba", "seed": 3,
  "machine": { "cpus": 2 },
  "objects": [ { "name": "a", "type": "mutex" }, { "name": "b", "type": "mutex" } ],
  "threads": [
    { "name": "t0", "cpu": 0, "steps": [
      { "op": "mutex_enter", "mutex": "a" }, { "op": "delay", "ns": 1000 },
      { "op": "mutex_enter", "mutex": "b" },
      { "op": "mutex_exit", "mutex": "b" }, { "op": "mutex_exit", "mutex": "a" } ] },
    { "name": "t1", "cpu": 1, "steps": [
      { "op": "mutex_enter", "mutex": "b" }, { "op": "delay", "ns": 1000 },
      { "op": "mutex_enter", "mutex": "a" },
      { "op": "mutex_exit", "mutex": "a" }, { "op": "mutex_exit", "mutex": "b" } ] }
  ]
})";

// A passing scenario with real scheduling choices: three CPUs contend for a
// mutex and a condvar while an interrupt takes a spin mutex.
inline const char* const kBusy = R"({
  "kasim": 1, "name": "busy", "seed": 7,
  "machine": { "cpus": 3, "phys_pages": 256 },
  "objects": [
    { "name": "lock", "type": "mutex" },
    { "name": "cv", "type": "condvar" },
    { "name": "ilock", "type": "mutex", "ipl": "IPL_VM" }
  ],
  "threads": [
    { "name": "p0", "cpu": 0, "repeat": 8, "steps": [
      { "op": "mutex_enter", "mutex": "lock" }, { "op": "cv_broadcast", "cv": "cv" },
      { "op": "mutex_exit", "mutex": "lock" }, { "op": "delay", "ns": 700 } ] },
    { "name": "c1", "cpu": 1, "repeat": 8, "steps": [
      { "op": "mutex_enter", "mutex": "lock" },
      { "op": "cv_timedwait", "cv": "cv", "mutex": "lock", "ns": 3000 },
      { "op": "mutex_exit", "mutex": "lock" } ] },
    { "name": "c2", "cpu": 2, "repeat": 8, "steps": [
      { "op": "mutex_enter", "mutex": "lock" },
      { "op": "cv_timedwait", "cv": "cv", "mutex": "lock", "ns": 2000 },
      { "op": "mutex_exit", "mutex": "lock" },
      { "op": "mutex_enter", "mutex": "ilock" }, { "op": "mutex_exit", "mutex": "ilock" } ] }
  ],
  "interrupts": [
    { "name": "nic0", "cpu": 0, "ipl": "IPL_VM", "at": [300], "every": 1500, "steps": [
      { "op": "mutex_enter", "mutex": "ilock" }, { "op": "delay", "ns": 100 },
      { "op": "mutex_exit", "mutex": "ilock" } ] }
  ]
})";

// The smallest passing scenario.
inline const char* const kTiny = R"({
  "kasim": 1, "name": "tiny", "seed": 7,
  "threads": [ { "name": "t0", "steps": [ { "op": "delay", "ns": 100 } ] } ]
})";

// --- in-process ---------------------------------------------------------

// Parses scenario text (file name "test.json" in messages) and runs it.
inline kasim::scn::RunReport run_text(const std::string& text,
                                      const kasim::scn::RunOptions& opt = {}) {
  kasim::scn::Scenario sc = kasim::scn::parse_scenario_text(text, "test.json");
  return kasim::scn::run_scenario(sc, opt);
}

// The lines of the ScenarioError that parsing `text` throws (empty if none).
inline std::vector<std::string> validation_errors(const std::string& text,
                                                  const std::string& file = "test.json") {
  try {
    kasim::scn::parse_scenario_text(text, file);
  } catch (const kasim::scn::ScenarioError& e) {
    return e.lines;
  }
  return {};
}

inline std::string first_kind(const kasim::scn::RunReport& rep) {
  return rep.findings.empty() ? "" : rep.findings.front().kind;
}

// Everything about a run a person would want to see when a test fails.
inline std::string describe(const kasim::scn::RunReport& rep) {
  std::string s = "verdict: " + rep.verdict + ", exit " + std::to_string(rep.exit_code) +
                  ", outcome " + kasim::outcome_name(rep.outcome) + "\n";
  for (const auto& f : rep.findings) {
    s += "  finding " + f.kind + ": " + f.message + " (where: " + f.where + ")\n";
    for (const auto& d : f.details) s += "    " + d + "\n";
  }
  return s;
}

}  // namespace kasim_test
