// Hostile input and faults through the kasim command: every input that once
// crashed, hung or lost results, each answered as the exit statuses promise:
// 2 and one line naming the file and JSON Pointer for bad input, 1 with a
// finding and a trace for a finding, 3 with a message for a failure of
// kasim's own (an unwritable output), and never a file written half.
//
// None of these tests measures time. Those that once hung (a wall-clock limit
// read only between runs, a read of /dev/zero) would now hit ctest's TIMEOUT.
#include <signal.h>
#include <sys/stat.h>

#include "scenarios/files.h"
#include "test_util.h"

namespace kasim_test {
namespace {

// A scenario with one thread of `steps`, and `extra` top-level fields.
std::string one_thread(const std::string& steps, const std::string& extra = "") {
  return R"({ "kasim": 1, "name": "bad", )" + extra + R"( "threads": [ { "steps": )" + steps +
         " } ] }";
}

// No temporary file (".tmp.") and no empty file anywhere under `dir`.
void expect_no_partial_files(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
    EXPECT_GT(fs::file_size(e.path()), 0u) << e.path() << " is empty";
  }
}

// --- inputs that crashed -----------------------------------------------------

TEST(Hostile, DeepNestingIsBoundedAtParseTime) {
  // 100,000 nested arrays overflowed the stack in a recursive copy.
  const std::string deep = std::string(100'000, '[') + std::string(100'000, ']');
  expect_rejected(deep, {line_prefix("bad.json: /0/0/0/0/0/0/0/0/0/0")});
  TempDir dir;
  write_file(dir / "deep.json", deep);
  CmdResult r = run_kasim({"validate", "deep.json"}, dir.path());
  EXPECT_NE(r.err.find(": nested more than 64 arrays and objects deep"), std::string::npos) << r.err;
}

TEST(Hostile, ObjectNameCutInsideACharacterStillSerialises) {
  // VMEM_NAME_MAX keeps 15 bytes: "x" and seven 2-byte letters, then half of
  // the eighth. The finding quotes the cut name; report and trace must still
  // be JSON, the replay must reproduce it.
  TempDir dir;
  std::string cyr;
  for (int i = 0; i < 10; ++i) cyr += "\xd0\xb4";  // U+0434
  const std::string arena = "x" + cyr;
  write_file(dir / "utf.json",
             R"({ "kasim": 1, "name": "utf", "objects": [ { "name": ")" + arena +
                 R"(", "type": "vmem", "base": "0x1000", "size": "0x100000", "quantum": 4096 } ],
                  "threads": [ { "steps": [ { "op": "vmem_alloc", "arena": ")" + arena +
                 R"(", "size": 4096, "flags": ["VM_SLEEP"] } ] } ] })");
  CmdResult r = run_kasim({"run", "utf.json"}, dir.path());
  EXPECT_EQ(r.status, 1) << r.all();
  expect_no_crash_text(r);
  const json report = read_json(dir / "results/utf/0/report.json");
  ASSERT_TRUE(report.contains("findings"));
  EXPECT_NE(report["findings"][0]["message"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos)
      << "the cut character is written as U+FFFD";
  read_json(dir / "results/utf/0/trace.json");
  CmdResult rj = run_kasim({"run", "utf.json", "--json"}, dir.path());
  EXPECT_EQ(rj.status, 1);
  EXPECT_FALSE(json::parse(rj.out, nullptr, false).is_discarded());
  CmdResult rp = run_kasim({"replay", "results/utf/0/trace.json"}, dir.path());
  EXPECT_EQ(rp.status, 1) << rp.all();
  EXPECT_NE(rp.out.find("replay: reproduced finding contract"), std::string::npos) << rp.out;
}

TEST(Hostile, SwarmDrawThatBreaksARuleIsBadInputNotAnAbort) {
  // Each end is valid (64 <= 4096, 8192 <= 16384); a seed that draws a
  // coherency unit above its page size is not. fuzz used to abort in a worker.
  TempDir dir;
  write_file(dir / "sw.json", R"({ "kasim": 1, "name": "sw",
      "machine": { "page_size": { "min": 4096, "max": 16384 },
                   "coherency_unit": { "min": 64, "max": 8192 } },
      "threads": [ { "steps": [ { "op": "delay", "ns": 10 } ] } ] })");
  EXPECT_EQ(run_kasim({"validate", "sw.json"}, dir.path()).status, 0);
  for (const std::string jobs : {"1", "2"}) {
    CmdResult r = run_kasim({"fuzz", "sw.json", "--seeds", "40", "--jobs", jobs}, dir.path());
    EXPECT_EQ(r.status, 2) << r.all();
    expect_no_crash_text(r);
    EXPECT_NE(r.err.find("from the swarm ranges, and that configuration is invalid:"),
              std::string::npos) << r.err;
    EXPECT_NE(r.err.find("sw.json: /machine/coherency_unit: must be in [8, "), std::string::npos)
        << r.err;
  }
}

TEST(Hostile, ThreadsAreBoundedBeforeAnythingIsAllocated) {
  std::string threads;
  for (int i = 0; i < 2000; ++i)
    threads += std::string(i ? "," : "") + R"({ "steps": [ { "op": "delay", "ns": 1 } ] })";
  expect_rejected(R"({ "kasim": 1, "name": "bad", "threads": [ )" + threads + " ] }",
                  {line("bad.json: /threads: at most 1024 threads in all, got 2000 declared and 0 "
                        "from the workload")});
  expect_rejected(R"({ "kasim": 1, "name": "bad", "machine": { "cpus": 64 },
      "workload": { "threads_per_cpu": 64, "ops_per_thread": 1,
                    "mix": [ { "op": "delay", "ns": 1, "weight": 1 } ] } })",
                  {line("bad.json: /workload/threads_per_cpu: at most 1024 threads in all, got 0 "
                        "declared and 4096 from the workload")});
}

TEST(Hostile, ManyThreadsUnderAMemoryLimitDoNotAbort) {
  // 1,000 fibers under 2 GiB of address space: stacks are returned to their
  // cache without allocating (deallocate is noexcept).
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer reserves terabytes of address space: ulimit -v cannot apply";
#endif
  TempDir dir;
  std::string threads;
  for (int i = 0; i < 1000; ++i)
    threads += std::string(i ? "," : "") + R"({ "steps": [ { "op": "delay", "ns": 1 } ] })";
  write_file(dir / "many.json", R"({ "kasim": 1, "name": "many", "threads": [ )" + threads + " ] }");
  CmdResult r = run_shell("ulimit -v 2097152 && " + shell_quote(kasim_bin()) + " run many.json",
                          dir.path());
  EXPECT_EQ(r.status, 0) << r.all();
  expect_no_crash_text(r);
}

// --- bad input that was an internal error -------------------------------------

TEST(Hostile, NumberOutsideDoubleRangeNamesItsPointer) {
  expect_rejected(one_thread("[]", R"("seed": 1e400,)"),
                  {line("bad.json: /seed: number overflow parsing '1e400'")});
}

TEST(Hostile, NulBytesAndDuplicateKeys) {
  // The lexer took a NUL for the end of the input and ignored what followed.
  expect_rejected(std::string("{ \"kasim\": 1 }\0garbage", 22),
                  {line("bad.json: a NUL byte at line 1, column 15 (a JSON text has none)")});
  // A key with an escaped NUL is shown escaped, not cut at the NUL.
  expect_rejected(one_thread("[]", R"("na\u0000me": 1,)"),
                  {line_prefix("bad.json: /na\\u0000me: unknown field (expected one of: ")});
  expect_rejected(one_thread("[]", R"("seed": 1, "seed": 2,)"),
                  {line("bad.json: /seed: duplicate key (JSON would silently keep only the last)")});
  expect_rejected(one_thread(R"([ { "op": "delay", "ns": 1, "ns": 2 } ])"),
                  {line("bad.json: /threads/0/steps/0/ns: duplicate key (JSON would silently keep "
                        "only the last)")});
}

// A trace kasim wrote, edited by `edit`, replayed: bad input, one line each.
void expect_trace_rejected(const std::function<void(json&)>& edit,
                           const std::vector<std::string>& want) {
  TempDir dir;
  write_file(dir / "abba.json", kAbba);
  ASSERT_EQ(run_kasim({"run", "abba.json"}, dir.path()).status, 1);
  json t = read_json(dir / "results/abba/3/trace.json");
  edit(t);
  write_file(dir / "t.json", t.dump());
  for (const char* cmd : {"replay", "shrink"}) {
    SCOPED_TRACE(cmd);
    CmdResult r = run_kasim({cmd, "t.json"}, dir.path());
    EXPECT_EQ(r.status, 2) << r.all();
    EXPECT_EQ(split_lines(r.err), want) << r.err;
    expect_no_crash_text(r);
  }
}

TEST(Hostile, TraceFieldsOfTheWrongType) {
  expect_trace_rejected(
      [](json& t) {
        t["faults"] = {{"enabled", "yes"}, {"site_percent", 10}, {"fire_percent", 10}};
        t["finding"]["kind"] = 5;
      },
      {"t.json: /faults/enabled: expected true or false, got \"yes\"",
       "t.json: /finding/kind: expected a string, got 5"});
  expect_trace_rejected(
      [](json& t) {
        t["faults"] = {{"enabled", true}, {"site_percent", 4294967297ULL}, {"fire_percent", 10}};
      },
      {"t.json: /faults/site_percent: must be in [0, 100], got 4294967297"});
}

TEST(Hostile, TraceFormatVersionIsChecked) {
  expect_trace_rejected([](json& t) { t["kasim_trace"] = 2; },
                        {"t.json: /kasim_trace: trace format 2 is not one this kasim reads (1)"});
}

TEST(Hostile, TraceDecisionsBeyondItsStepLimitAreRefusedBeforeAllocating) {
  // 2^30 decisions from a few bytes: refused against the trace's max_steps.
  expect_trace_rejected(
      [](json& t) {
        t["max_steps"] = 1000;
        t["decisions"] = "r0.0*1073741824";
      },
      {"t.json: /decisions: more than 1000 decisions (at most one per step)"});
  TempDir dir;
  write_file(dir / "t.json", R"({ "kasim_trace": 1, "seed": 1e400 })");
  CmdResult r = run_kasim({"replay", "t.json"}, dir.path());
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "t.json: /seed: number overflow parsing '1e400'\n");
}

// --- hangs and unbounded work -------------------------------------------------

TEST(Hostile, OnlyRegularFilesOfBoundedSizeAreRead) {
  TempDir dir;
  for (const char* cmd : {"validate", "run", "replay", "shrink"}) {
    SCOPED_TRACE(cmd);
    CmdResult z = run_kasim({cmd, "/dev/zero"}, dir.path());
    EXPECT_EQ(z.status, 2);
    EXPECT_EQ(z.err, "/dev/zero: is not a regular file (a device, FIFO or socket)\n");
    CmdResult d = run_kasim({cmd, "."}, dir.path());
    EXPECT_EQ(d.status, 2);
    EXPECT_EQ(d.err, ".: is a directory, not a file\n");
  }
  ASSERT_EQ(::mkfifo((dir / "fifo").c_str(), 0600), 0);
  CmdResult f = run_kasim({"validate", "fifo"}, dir.path());
  EXPECT_EQ(f.status, 2);
  EXPECT_EQ(f.err, "fifo: is not a regular file (a device, FIFO or socket)\n");
  // A sparse file just over the limit: refused by its size, never read.
  { std::ofstream((dir / "huge.json").string()); }
  fs::resize_file(dir / "huge.json", kasim::scn::kMaxInputBytes + 1);
  CmdResult h = run_kasim({"validate", "huge.json"}, dir.path());
  EXPECT_EQ(h.status, 2);
  EXPECT_EQ(h.err, "huge.json: is " + std::to_string(kasim::scn::kMaxInputBytes + 1) +
                       " bytes; kasim reads files of at most " +
                       std::to_string(kasim::scn::kMaxInputBytes) + " bytes\n");
}

// A run of a thousand million steps: without a limit that reaches into the
// run, any command below would take hours.
const char* const kEndless = R"({ "kasim": 1, "name": "endless", "limits": { "max_steps": 1000000000 },
  "threads": [ { "repeat": 1000000000, "steps": [ { "op": "delay", "ns": 1 } ] } ] })";

TEST(Hostile, WallClockLimitsReachIntoARun) {
  TempDir dir;
  write_file(dir / "endless.json", kEndless);
  CmdResult f = run_kasim({"fuzz", "endless.json", "--time", "1"}, dir.path());
  EXPECT_EQ(f.status, 0) << f.all();
  EXPECT_NE(f.out.find("| 0 seeds, 0 findings |"), std::string::npos) << f.out;
  EXPECT_NE(f.out.find("stopped: time limit"), std::string::npos) << f.out;
  CmdResult c = run_kasim({"check", "endless.json", "--time", "1"}, dir.path());
  EXPECT_EQ(c.status, 0) << c.all();
  EXPECT_NE(c.out.find("summary: no finding"), std::string::npos) << c.out;

  // run: the limit ends the run as a step bound, which the trace replays.
  CmdResult r = run_kasim({"run", "endless.json", "--time", "1"}, dir.path());
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_NE(r.out.find("FINDING bound: step limit of "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kasim's wall-clock limit stopped the run here"), std::string::npos) << r.out;
  CmdResult p = run_kasim({"replay", "results/endless/0/trace.json"}, dir.path());
  EXPECT_EQ(p.status, 1) << p.all();
  EXPECT_NE(p.out.find("replay: reproduced finding bound with the recorded trace hash"),
            std::string::npos) << p.out;
}

TEST(Hostile, FuzzStopsCleanlyOnSigterm) {
  // A campaign writing a trace and a line per seed, stopped mid-way: every
  // line of the JSONL is whole and every trace it names is complete.
  TempDir dir;
  write_file(dir / "abba.json", kAbba);
  CmdResult r = run_shell("( " + shell_quote(kasim_bin()) +
                              " fuzz abba.json --seeds 100000000 --keep-going --no-shrink --jobs 2 "
                              "--jsonl out.jsonl & pid=$!; sleep 1; kill -TERM $pid; wait $pid )",
                          dir.path());
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_NE(r.out.find("stopped: interrupted by Terminated"), std::string::npos) << r.out;
  const std::vector<std::string> lines = split_lines(read_file(dir / "out.jsonl"));
  EXPECT_FALSE(lines.empty());
  for (const std::string& l : lines) {
    const json j = json::parse(l, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << l;
    if (j["finding"].is_null()) continue;
    ASSERT_TRUE(j["trace"].is_string()) << l;
    read_json(dir / j["trace"].get<std::string>());
  }
  expect_no_partial_files(dir.path());
}

// --- validation accepts only what boots ----------------------------------------

TEST(Hostile, ValidateRejectsWhatBootWouldReject) {
  expect_rejected(one_thread("[]", R"("machine": { "page_size": 512 },)"),
                  {line("bad.json: /machine/page_size: must be in [1024, 2097152], got 512")});
  // Boot maps twice kva_pages: a span that fits once but not twice.
  expect_rejected(one_thread("[]", R"("machine": { "kva_base": "0xffffffffff000000", "kva_pages": 4096 },)"),
                  {line("bad.json: /machine/kva_pages: kernel VA (twice kva_pages x page_size from "
                        "kva_base) would run past the top of the address space")});
  expect_rejected(R"({ "kasim": 1, "name": ")" + std::string(129, 'n') +
                      R"(", "threads": [ { "steps": [] } ] })",
                  {line_prefix("bad.json: /name: must be 1 to 128 letters, digits")});
  expect_rejected(
      one_thread("[]", R"("objects": [ { "name": "p", "type": "pool", "size": "0xfffffffffffffff0" } ],)"),
      {line("bad.json: /objects/0/size: must be in [1, 4096]: pool_init needs an item to fit in "
            "one page of the \"kmem\" allocator, got 18446744073709551600")});
  expect_rejected(
      one_thread("[]", R"("objects": [ { "name": "p", "type": "pool_cache", "size": 64, "align": "0x8000000000000000" } ],)"),
      {line("bad.json: /objects/0/align: must be at most 4294967295 (the width of the API's "
            "parameter), got 9223372036854775808")});
  expect_rejected(
      one_thread("[]", R"("objects": [ { "name": "e", "type": "extent", "start": 0, "end": 100, "fixed_regions": "0x100000000000000" } ],)"),
      {line("bad.json: /objects/0/fixed_regions: must be at most 16777216 (the width of the API's "
            "parameter), got 72057594037927936")});
  expect_rejected(
      one_thread("[]", R"("objects": [ { "name": "e", "type": "extent", "start": 0, "end": 100, "fixed_regions": 16000000 } ],)"),
      {line("bad.json: /objects/0/fixed_regions: 16000000 region descriptors need 156251 page(s) "
            "of fixed storage, more than half the kernel VA or half the physical pages")});
}

// --- results that were silently wrong -----------------------------------------

TEST(Hostile, HugeDelaysSaturateTheClock) {
  // Two delays of 2^64-1 ns wrapped the clock to a few nanoseconds.
  TempDir dir;
  write_file(dir / "d.json", R"({ "kasim": 1, "name": "d", "threads": [ { "steps": [
      { "op": "delay", "ns": "0xffffffffffffffff" }, { "op": "delay", "ns": "0xffffffffffffffff" } ] } ] })");
  CmdResult r = run_kasim({"run", "d.json"}, dir.path());
  EXPECT_EQ(r.status, 1) << r.all();
  EXPECT_NE(r.out.find("FINDING bound: simulated time limit of 60000000000 ns reached"),
            std::string::npos) << r.out;
}

TEST(Hostile, UnwritableStandardOutputIsAFailure) {
  TempDir dir;
  write_file(dir / "abba.json", kAbba);
  CmdResult r =
      run_shell("( " + shell_quote(kasim_bin()) + " run abba.json --json > /dev/full )", dir.path());
  EXPECT_EQ(r.status, 3) << r.all();
  EXPECT_NE(r.err.find("kasim: cannot write standard output: No space left on device"),
            std::string::npos) << r.err;
  CmdResult f = run_kasim({"fuzz", "abba.json", "--seeds", "3", "--keep-going", "--jsonl", "/dev/full"},
                          dir.path());
  EXPECT_EQ(f.status, 3) << f.all();
  EXPECT_NE(f.err.find("kasim: cannot write --jsonl /dev/full: No space left on device"),
            std::string::npos) << f.err;
}

TEST(Hostile, FullDiskLosesNothingSilently) {
  // A file size limit of 0 with SIGXFSZ ignored: every write fails with EFBIG,
  // as on a full disk. The finding is still printed; nothing is left half.
  TempDir dir;
  write_file(dir / "abba.json", kAbba);
  // The limit applies inside the parentheses only: the pipe carries the output.
  CmdResult r = run_shell("( ulimit -f 0; trap '' XFSZ; " + shell_quote(kasim_bin()) +
                              " run abba.json; echo \"exit $?\" ) 2>&1 | cat",
                          dir.path());
  EXPECT_NE(r.out.find("FINDING deadlock"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kasim: cannot write results/abba/3/trace.json: File too large (the trace "
                       "that replays this run is lost)"),
            std::string::npos) << r.out;
  EXPECT_NE(r.out.find("kasim: cannot write results/abba/3/report.json: File too large (the "
                       "report is lost)"),
            std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("reproduce:"), std::string::npos) << "no replay command for a lost trace";
  EXPECT_NE(r.out.find("exit 3\n"), std::string::npos) << r.out;
  expect_no_partial_files(dir.path());
}

// --- the command line -----------------------------------------------------------

TEST(Hostile, OptionsAreNotGuessedFromPrefixes) {
  // `--json` on fuzz silently meant --jsonl.
  TempDir dir;
  write_file(dir / "abba.json", kAbba);
  CmdResult r = run_kasim({"fuzz", "abba.json", "--json", "x"}, dir.path());
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_TRUE(starts_with(r.err, "kasim fuzz: unrecognised option '--json'")) << r.err;
  EXPECT_FALSE(fs::exists(dir / "x"));
}

TEST(Hostile, HelpOnEverySubcommand) {
  TempDir dir;
  for (const char* cmd : {"run", "check", "fuzz", "replay", "shrink", "validate"}) {
    SCOPED_TRACE(cmd);
    CmdResult r = run_kasim({cmd, "--help"}, dir.path());
    EXPECT_EQ(r.status, 0) << r.all();
    EXPECT_TRUE(starts_with(r.out, std::string("kasim ") + cmd + " ")) << r.out;
    EXPECT_EQ(r.err, "");
  }
  for (const char* cmd : {"canaries", "ops", "schema"}) {
    CmdResult r = run_kasim({cmd, "--help"}, dir.path());
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(starts_with(r.out, std::string("kasim ") + cmd + " (no options): ")) << r.out;
  }
}

}  // namespace
}  // namespace kasim_test
