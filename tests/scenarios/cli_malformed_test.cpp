// Malformed scenario files through the kasim command: every mistake is
// rejected before anything runs, with exit status 2 and one
// "FILE: /json/pointer: message" line per problem (docs/SCENARIO-FORMAT.md,
// "Rules that apply everywhere"). Both `kasim run` and `kasim validate` are
// checked by expect_rejected (test_util.h).
#include "test_util.h"

namespace kasim_test {
namespace {

const std::string kIntNumberMsg =
    "expected a non-negative integer (or a C-notation string like \"0x1000\"), got ";

// A scenario whose one thread runs `steps` (JSON array text).
std::string with_steps(const std::string& steps, const std::string& extra = "") {
  return R"({ "kasim": 1, "name": "bad", )" + extra + R"( "threads": [ { "name": "t0", "steps": )" +
         steps + " } ] }";
}

TEST(Malformed, BrokenJsonReportsLineAndColumn) {
  // Line 3 has a doubled comma; nlohmann reports the column of the second one.
  expect_rejected("{\n  \"kasim\": 1,\n  \"name\": \"bad\",,\n  \"threads\": []\n}\n",
                  {line_prefix("bad.json: parse error at line 3, column 17: syntax error while "
                               "parsing object key")});
}

TEST(Malformed, TruncatedJsonReportsWhereItEnds) {
  expect_rejected("{\n  \"kasim\": 1,\n  \"name\": \"bad\"\n",
                  {line_prefix("bad.json: parse error at line 4, column 1: syntax error while "
                               "parsing object")});
}

TEST(Malformed, UnknownTopLevelField) {
  // A typo of "threads" next to the real one: rejected, not ignored.
  expect_rejected(R"({ "kasim": 1, "name": "bad", "thraeds": [],
                       "threads": [ { "steps": [] } ] })",
                  {line_prefix("bad.json: /thraeds: unknown field (expected one of: check, "
                               "description, expect, faults, interrupts, kasim, ")});
}

TEST(Malformed, UnknownFieldInsideAStep) {
  expect_rejected(with_steps(R"([ { "op": "delay", "ns": 100, "nss": 5 } ])"),
                  {line("bad.json: /threads/0/steps/0/nss: unknown field for op delay (its "
                        "arguments: ns)")});
}

TEST(Malformed, UnknownFieldsInMachineAndThread) {
  expect_rejected(R"({ "kasim": 1, "name": "bad", "machine": { "cpu": 2 },
                       "threads": [ { "cpus": 0, "steps": [] } ] })",
                  {line_prefix("bad.json: /machine/cpu: unknown field (expected one of: "),
                   line("bad.json: /threads/0/cpus: unknown field (expected one of: cpu, name, "
                        "repeat, steps)")});
}

TEST(Malformed, MissingRequiredArgument) {
  expect_rejected(with_steps(R"([ { "op": "delay" } ])"),
                  {line("bad.json: /threads/0/steps/0/ns: required by op delay but missing")});
}

TEST(Malformed, StringWhereANumberBelongs) {
  expect_rejected(with_steps(R"([ { "op": "delay", "ns": "abc" } ])"),
                  {line("bad.json: /threads/0/steps/0/ns: " + kIntNumberMsg + "\"abc\"")});
}

TEST(Malformed, NegativeNumber) {
  expect_rejected(with_steps(R"([ { "op": "delay", "ns": -5 } ])"),
                  {line("bad.json: /threads/0/steps/0/ns: " + kIntNumberMsg + "-5 (negative)")});
}

TEST(Malformed, FloatNumber) {
  expect_rejected(with_steps(R"([ { "op": "delay", "ns": 1.5 } ])"),
                  {line("bad.json: /threads/0/steps/0/ns: " + kIntNumberMsg + "1.5")});
}

TEST(Malformed, InvalidHexStringAndShiftExpression) {
  // "0xZZ" is not hex; "1 << 20" is explicitly not accepted by the format.
  expect_rejected(
      with_steps(R"([ { "op": "delay", "ns": "0xZZ" }, { "op": "delay", "ns": "1 << 20" } ])"),
      {line("bad.json: /threads/0/steps/0/ns: " + kIntNumberMsg + "\"0xZZ\""),
       line("bad.json: /threads/0/steps/1/ns: " + kIntNumberMsg + "\"1 << 20\"")});
}

TEST(Malformed, HexStringIsAccepted) {
  // The counterpart of InvalidHexString: "0x10" (and "0X1F") are numbers.
  TempDir dir;
  write_file(dir / "ok.json",
             with_steps(R"([ { "op": "delay", "ns": "0x10" }, { "op": "delay", "ns": "0X1F" } ])",
                        R"("seed": "0x2a",)"));
  CmdResult v = run_kasim({"validate", "ok.json"}, dir.path());
  EXPECT_EQ(v.status, 0) << v.all();
  EXPECT_EQ(v.out, "ok.json: ok\n");
  EXPECT_EQ(v.err, "");
  CmdResult r = run_kasim({"run", "ok.json"}, dir.path());
  EXPECT_EQ(r.status, 0) << r.all();
  // The hex seed is 42: it names the results directory.
  json report = read_json(dir / "results/bad/42/report.json");
  EXPECT_EQ(report["seed"], 42);
  EXPECT_EQ(report["ops"], 2);
}

TEST(Malformed, UnknownOp) {
  expect_rejected(with_steps(R"([ { "op": "mutex_lock", "mutex": "m" } ])"),
                  {line_prefix("bad.json: /threads/0/steps/0/op: unknown op \"mutex_lock\" "
                               "(known ops: ")});
  // The list of known ops names the real ones.
  TempDir dir;
  write_file(dir / "bad.json", with_steps(R"([ { "op": "mutex_lock" } ])"));
  CmdResult r = run_kasim({"validate", "bad.json"}, dir.path());
  EXPECT_NE(r.err.find("mutex_enter"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("delay"), std::string::npos) << r.err;
}

TEST(Malformed, SameAsOnAnOpWithoutAddressResult) {
  // No built-in op has a "ref" argument or an address result, so "same_as"
  // (and "as") are rejected on them outright; dangling refs and same_as labels
  // are pinned in-process with a test op (scenario_validate_test.cpp).
  expect_rejected(
      R"({ "kasim": 1, "name": "bad",
           "objects": [ { "name": "m", "type": "mutex" } ],
           "threads": [ { "steps": [
             { "op": "mutex_tryenter", "mutex": "m", "expect": { "same_as": "nowhere" } },
             { "op": "delay", "ns": 1, "as": "d" } ] } ] })",
      {line("bad.json: /threads/0/steps/0/expect/same_as: mutex_tryenter has no result "
            "\"same_as\" to expect (it has: contract, value)"),
       line("bad.json: /threads/0/steps/1/as: op delay has no address result to label")});
}

TEST(Malformed, DanglingRefOnARealOp) {
  // vmem_free (an allocator module's op) takes "ref"; without that module in
  // the build there is no built-in op with a "ref" argument to try.
  TempDir dir;
  CmdResult ops = run_kasim({"ops"}, dir.path());
  if (!starts_with(line_starting(ops.out, "vmem_free "), "vmem_free arena addr? ref?"))
    GTEST_SKIP() << "no vmem_free op with a ref argument in this build";
  write_file(dir / "bad.json", R"({ "kasim": 1, "name": "bad",
      "objects": [ { "name": "va", "type": "vmem", "base": "0x100000", "size": "0x100000",
                     "quantum": 4096 } ],
      "threads": [ { "steps": [
        { "op": "vmem_alloc", "arena": "va", "size": 4096, "as": "buf" },
        { "op": "vmem_free", "arena": "va", "ref": "bfu", "size": 4096 } ] } ] })");
  for (const char* cmd : {"run", "validate"}) {
    CmdResult r = run_kasim({cmd, "bad.json"}, dir.path());
    EXPECT_EQ(r.status, 2) << cmd << ": " << r.all();
    EXPECT_EQ(r.out, "") << cmd;
    // The first line is the problem; a second, spurious one is the bug pinned
    // by ValidateLabels.DanglingRefIsOneProblemOnOneLine.
    EXPECT_EQ(split_lines(r.err).at(0),
              "bad.json: /threads/0/steps/1/ref: no step labels a result \"bfu\" (with \"as\")")
        << cmd;
    expect_no_crash_text(r);
  }
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"bad.json"});
}

TEST(Malformed, ThreadCpuOutOfRange) {
  expect_rejected(R"({ "kasim": 1, "name": "bad", "machine": { "cpus": 2 },
                       "threads": [ { "cpu": 1, "steps": [] }, { "cpu": 2, "steps": [] } ] })",
                  {line("bad.json: /threads/1/cpu: must be in [0, 1], got 2")});
}

TEST(Malformed, InterruptCpuOutOfRange) {
  expect_rejected(R"({ "kasim": 1, "name": "bad",
                       "interrupts": [ { "cpu": 1, "at": [100], "steps": [] } ] })",
                  {line("bad.json: /interrupts/0/cpu: must be in [0, 0], got 1")});
}

TEST(Malformed, MachineCpusOutOfRange) {
  expect_rejected(R"({ "kasim": 1, "name": "bad", "machine": { "cpus": 0 },
                       "threads": [ { "steps": [] } ] })",
                  {line("bad.json: /machine/cpus: must be in [1, 256], got 0")});
}

TEST(Malformed, UnknownObjectType) {
  expect_rejected(R"({ "kasim": 1, "name": "bad",
                       "objects": [ { "name": "l", "type": "spinlock" } ],
                       "threads": [ { "steps": [] } ] })",
                  {line_prefix("bad.json: /objects/0/type: unknown object type \"spinlock\" "
                               "(a scenario may declare: ")});
}

TEST(Malformed, BootOnlyObjectType) {
  expect_rejected(R"({ "kasim": 1, "name": "x",
                       "objects": [ { "name": "m2", "type": "vm_map" } ],
                       "threads": [ { "steps": [] } ] })",
                  {line_prefix("bad.json: /objects/0/type: objects of type \"vm_map\" are made "
                               "by boot only (a scenario may declare: ")});
}

TEST(Malformed, DuplicateObjectName) {
  expect_rejected(R"({ "kasim": 1, "name": "bad",
                       "objects": [ { "name": "lock", "type": "mutex" },
                                    { "name": "lock", "type": "condvar" } ],
                       "threads": [ { "steps": [] } ] })",
                  {line("bad.json: /objects/1/name: an object named \"lock\" already exists")});
}

TEST(Malformed, ObjectReferenceToTheWrongType) {
  expect_rejected(with_steps(R"([ { "op": "mutex_enter", "mutex": "cv" } ])",
                             R"("objects": [ { "name": "cv", "type": "condvar" } ],)"),
                  {line("bad.json: /threads/0/steps/0/mutex: \"cv\" is a condvar, expected a "
                        "mutex")});
}

TEST(Malformed, ObjectReferenceToAMissingObject) {
  expect_rejected(with_steps(R"([ { "op": "cv_signal", "cv": "nocv" } ])"),
                  {line("bad.json: /threads/0/steps/0/cv: no object named \"nocv\"")});
}

TEST(Malformed, UnknownIpl) {
  const std::string names =
      "expected an IPL name (IPL_NONE, IPL_SOFTCLOCK, IPL_SOFTBIO, IPL_SOFTNET, IPL_SOFTSERIAL, "
      "IPL_VM, IPL_SCHED, IPL_HIGH), got ";
  expect_rejected(R"({ "kasim": 1, "name": "bad",
                       "objects": [ { "name": "m", "type": "mutex", "ipl": "IPL_FOO" } ],
                       "threads": [ { "steps": [ { "op": "spl", "ipl": "IPL_BIO" } ] } ],
                       "interrupts": [ { "ipl": "splvm", "at": [1], "steps": [] } ] })",
                  {line("bad.json: /objects/0/ipl: " + names + "\"IPL_FOO\""),
                   line("bad.json: /threads/0/steps/0/ipl: " + names + "\"IPL_BIO\""),
                   line("bad.json: /interrupts/0/ipl: " + names + "\"splvm\"")});
}

TEST(Malformed, InterruptAtIplNone) {
  expect_rejected(R"({ "kasim": 1, "name": "bad",
                       "interrupts": [ { "ipl": "IPL_NONE", "at": [100], "steps": [] } ] })",
                  {line("bad.json: /interrupts/0/ipl: an interrupt needs an IPL above IPL_NONE")});
}

TEST(Malformed, MissingFormatVersion) {
  expect_rejected(R"({ "name": "bad", "threads": [ { "steps": [] } ] })",
                  {line("bad.json: /kasim: required field is missing (the format version, 1)")});
}

TEST(Malformed, WrongFormatVersion) {
  expect_rejected(R"({ "kasim": 2, "name": "bad", "threads": [ { "steps": [] } ] })",
                  {line("bad.json: /kasim: format version must be 1, got 2")});
  expect_rejected(R"({ "kasim": "1", "name": "bad", "threads": [ { "steps": [] } ] })",
                  {line("bad.json: /kasim: format version must be 1, got \"1\"")});
}

TEST(Malformed, MissingName) {
  expect_rejected(R"({ "kasim": 1, "threads": [ { "steps": [] } ] })",
                  {line("bad.json: /name: required field is missing")});
}

TEST(Malformed, NameThatCannotNameADirectory) {
  // The name becomes results/<name>/: no path separators, no leading dot.
  expect_rejected(R"({ "kasim": 1, "name": "../x", "threads": [ { "steps": [] } ] })",
                  {line("bad.json: /name: must be 1 to 128 letters, digits, '-', '_' and '.', not "
                        "starting with '.' (it names the results directory), got \"../x\"")});
}

TEST(Malformed, NothingToRun) {
  const WantLine nothing =
      line("bad.json: /: nothing to run: give \"threads\", \"interrupts\" or \"workload\"");
  expect_rejected(R"({ "kasim": 1, "name": "bad" })", {nothing});
  expect_rejected(R"({ "kasim": 1, "name": "bad", "threads": [], "interrupts": [] })", {nothing});
}

TEST(Malformed, ExpectKeyTheOpCannotProduce) {
  expect_rejected(
      with_steps(R"([ { "op": "delay", "ns": 1, "expect": { "value": 1 } },
                      { "op": "mutex_tryenter", "mutex": "m", "expect": { "error": 0 } } ])",
                 R"("objects": [ { "name": "m", "type": "mutex" } ],)"),
      {line("bad.json: /threads/0/steps/0/expect/value: delay has no result \"value\" to expect "
            "(it has: contract)"),
       line("bad.json: /threads/0/steps/1/expect/error: mutex_tryenter has no result \"error\" to "
            "expect (it has: contract, value)")});
}

TEST(Malformed, UnknownErrnoInExpect) {
  expect_rejected(
      with_steps(R"([ { "op": "kpause", "ns": 10, "expect": { "error": "ETIMEDOUT" } } ])"),
      {line("bad.json: /threads/0/steps/0/expect/error: expected 0 or an errno name (ENOMEM, "
            "EAGAIN, EINVAL, EINTR, EWOULDBLOCK), got \"ETIMEDOUT\"")});
}

TEST(Malformed, TopLevelExpectFindingWithoutKind) {
  expect_rejected(R"({ "kasim": 1, "name": "bad", "threads": [ { "steps": [] } ],
                       "expect": { "result": "finding" } })",
                  {line("bad.json: /expect/kind: required with \"result\": \"finding\" (the "
                        "finding kind, e.g. \"deadlock\")")});
}

TEST(Malformed, TopLevelExpectUnknownResult) {
  expect_rejected(R"({ "kasim": 1, "name": "bad", "threads": [ { "steps": [] } ],
                       "expect": { "result": "fail" } })",
                  {line("bad.json: /expect/result: expected \"pass\" or \"finding\", got "
                        "\"fail\"")});
}

TEST(Malformed, NotAnObject) {
  expect_rejected("[1, 2]\n", {line("bad.json: /: a scenario is a JSON object, got [1,2]")});
}

TEST(Malformed, JsonPointerEscapesSlashAndTilde) {
  // RFC 6901: "~" is written "~0" and "/" is written "~1".
  expect_rejected(R"({ "kasim": 1, "name": "bad", "a/b~c": 1, "threads": [ { "steps": [] } ] })",
                  {line_prefix("bad.json: /a~1b~0c: unknown field (expected one of: ")});
}

TEST(Malformed, SeveralProblemsAreAllReportedOneLineEachInAStableOrder) {
  const std::string text = R"({
    "kasim": 3,
    "bogus": true,
    "machine": { "cpus": 2 },
    "objects": [ { "name": "m", "type": "mutex" }, { "name": "x", "type": "nope" } ],
    "threads": [
      { "name": "t0", "cpu": 4, "steps": [
        { "op": "delay", "ns": "abc" },
        { "op": "zap" },
        { "op": "mutex_enter", "mutex": "missing" } ] }
    ],
    "interrupts": [ { "ipl": "IPL_NONE", "at": [1], "steps": [] } ],
    "expect": { "result": "finding" }
  })";
  // Order: the document's structure (top-level fields, then kasim, name,
  // machine, objects, threads, interrupts, expect), the same on every run.
  const std::vector<WantLine> want = {
      line_prefix("bad.json: /bogus: unknown field (expected one of: "),
      line("bad.json: /kasim: format version must be 1, got 3"),
      line("bad.json: /name: required field is missing"),
      line_prefix("bad.json: /objects/1/type: unknown object type \"nope\" (a scenario may declare: "),
      line("bad.json: /threads/0/cpu: must be in [0, 1], got 4"),
      line("bad.json: /threads/0/steps/0/ns: " + kIntNumberMsg + "\"abc\""),
      line_prefix("bad.json: /threads/0/steps/1/op: unknown op \"zap\" (known ops: "),
      line("bad.json: /threads/0/steps/2/mutex: no object named \"missing\""),
      line("bad.json: /interrupts/0/ipl: an interrupt needs an IPL above IPL_NONE"),
      line("bad.json: /expect/kind: required with \"result\": \"finding\" (the finding kind, "
           "e.g. \"deadlock\")"),
  };
  expect_rejected(text, want);

  // Stable: the same bytes every time, from run and from validate.
  TempDir dir;
  write_file(dir / "bad.json", text);
  CmdResult a = run_kasim({"validate", "bad.json"}, dir.path());
  CmdResult b = run_kasim({"validate", "bad.json"}, dir.path());
  CmdResult c = run_kasim({"run", "bad.json"}, dir.path());
  EXPECT_EQ(a.err, b.err);
  EXPECT_EQ(a.err, c.err);
}

TEST(Malformed, ValidateReportsEveryFileAndKeepsGoing) {
  TempDir dir;
  write_file(dir / "good.json", kTiny);
  write_file(dir / "bad.json", with_steps(R"([ { "op": "delay", "ns": -1 } ])"));
  CmdResult r = run_kasim({"validate", "bad.json", "good.json"}, dir.path());
  EXPECT_EQ(r.status, 2) << r.all();
  EXPECT_EQ(r.out, "good.json: ok\n");
  EXPECT_EQ(r.err, "bad.json: /threads/0/steps/0/ns: " + kIntNumberMsg + "-1 (negative)\n");
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"bad.json", "good.json"}));
}

TEST(Malformed, MissingFile) {
  TempDir dir;
  for (const char* cmd : {"run", "validate"}) {
    CmdResult r = run_kasim({cmd, "nosuch.json"}, dir.path());
    EXPECT_EQ(r.status, 2) << cmd << ": " << r.all();
    EXPECT_EQ(r.err, "nosuch.json: cannot read the file: No such file or directory\n") << cmd;
    EXPECT_EQ(r.out, "") << cmd;
    expect_no_crash_text(r);
  }
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace kasim_test
