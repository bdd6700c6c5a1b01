// Validation in-process (scenarios/scenario.cpp): numbers, defaults, labels,
// and what a validated Scenario holds. The command-line side of the same
// rules is in cli_malformed_test.cpp.
#include "test_util.h"

namespace kasim_test {
namespace {

using kasim::scn::parse_c_number;
using kasim::scn::Scenario;

std::optional<uint64_t> num(const json& v, std::string* why = nullptr) {
  return parse_c_number(v, why);
}

TEST(ParseCNumber, AcceptsIntegersAndCNotationStrings) {
  EXPECT_EQ(num(0), 0u);
  EXPECT_EQ(num(4096), 4096u);
  EXPECT_EQ(num(json(UINT64_MAX)), UINT64_MAX);
  EXPECT_EQ(num("4096"), 4096u);
  EXPECT_EQ(num("0"), 0u);
  EXPECT_EQ(num("0x10"), 16u);
  EXPECT_EQ(num("0X1f"), 31u);
  EXPECT_EQ(num("0x4F"), 79u);
  EXPECT_EQ(num("017"), 15u);                                   // C: a leading 0 is octal
  EXPECT_EQ(num("0xffff800000000000"), 0xffff800000000000ULL);  // beyond a double's precision
  EXPECT_EQ(num("0xffffffffffffffff"), UINT64_MAX);
  EXPECT_EQ(num("18446744073709551615"), UINT64_MAX);
}

TEST(ParseCNumber, RejectsEverythingElseWithAReasonWhereOneHelps) {
  std::string why;
  EXPECT_EQ(num(-1, &why), std::nullopt);
  EXPECT_EQ(why, "negative");
  why.clear();
  EXPECT_EQ(num("0x10000000000000000", &why), std::nullopt);
  EXPECT_EQ(why, "too large for 64 bits");
  why.clear();
  EXPECT_EQ(num("18446744073709551616", &why), std::nullopt);
  EXPECT_EQ(why, "too large for 64 bits");
  for (const json& bad : {json(1.5), json(4096.0), json("abc"), json("0xZZ"), json(""), json("0x"),
                          json("08"), json("-5"), json(" 16"), json("16 "), json("1 << 20"),
                          json("1e3"), json(true), json(nullptr), json::array({1}), json::object()})
    EXPECT_EQ(num(bad), std::nullopt) << bad.dump();
}

TEST(Validate, NumericArgumentsHoldTheirValues) {
  Scenario sc = kasim::scn::parse_scenario_text(R"({ "kasim": 1, "name": "n", "seed": "0x2a",
      "threads": [ { "steps": [ { "op": "delay", "ns": "0x10" }, { "op": "delay", "ns": "017" },
                                { "op": "delay", "ns": 5 } ] } ] })",
                                                "n.json");
  EXPECT_EQ(sc.seed, 42u);
  ASSERT_EQ(sc.threads.size(), 1u);
  const auto& steps = sc.threads[0].steps;
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].u64("ns"), 16u);
  EXPECT_EQ(steps[1].u64("ns"), 15u);
  EXPECT_EQ(steps[2].u64("ns"), 5u);
  EXPECT_TRUE(steps[0].has("ns"));
}

TEST(Validate, DefaultsAreTheDocumentedOnes) {
  Scenario sc = kasim::scn::parse_scenario_text(kTiny, "tiny.json");
  EXPECT_EQ(sc.file, "tiny.json");
  EXPECT_EQ(sc.name, "tiny");
  EXPECT_EQ(sc.machine.cpus, 1);
  EXPECT_EQ(sc.machine.page_size, 4096u);
  EXPECT_EQ(sc.machine.phys_pages, 16384u);
  EXPECT_EQ(sc.machine.kva_pages, 2u * 16384u);
  EXPECT_EQ(sc.machine.kva_base, 0xffff800000000000ULL);
  EXPECT_EQ(sc.machine.coherency_unit, 64u);
  EXPECT_TRUE(sc.machine.pagedaemon);
  EXPECT_EQ(sc.machine.free_target, 16384u / 32);
  EXPECT_EQ(sc.check.every, 1u);
  EXPECT_TRUE(sc.check.leaks);
  EXPECT_FALSE(sc.expect_finding);
  EXPECT_EQ(sc.threads[0].repeat, 1u);
  EXPECT_EQ(sc.threads[0].cpu, 0);

  // kva_pages and free_target follow a given phys_pages.
  Scenario small = kasim::scn::parse_scenario_text(R"({ "kasim": 1, "name": "s",
      "machine": { "phys_pages": 1024 }, "threads": [ { "steps": [] } ],
      "interrupts": [ { "at": [1], "steps": [] } ] })",
                                                   "s.json");
  EXPECT_EQ(small.machine.kva_pages, 2048u);
  EXPECT_EQ(small.machine.free_target, 32u);
  EXPECT_EQ(small.threads[0].name, "t0");
  EXPECT_EQ(small.interrupts[0].name, "intr0");
  EXPECT_EQ(small.interrupts[0].ipl, kasim::IPL_VM);
}

TEST(Validate, CheckAndExpectPolicies) {
  auto parse = [](const std::string& extra) {
    return kasim::scn::parse_scenario_text(
        R"({ "kasim": 1, "name": "p", "threads": [ { "steps": [] } ], )" + extra + "}", "p.json");
  };
  EXPECT_EQ(parse(R"("check": { "every": "end" })").check.every, 0u);
  EXPECT_EQ(parse(R"("check": { "every": "step" })").check.every, 1u);
  EXPECT_EQ(parse(R"("check": { "every": 5 })").check.every, 5u);
  EXPECT_FALSE(parse(R"("check": { "leaks": false })").check.leaks);
  Scenario f = parse(R"("expect": { "result": "finding", "kind": "hardlimit" })");
  EXPECT_TRUE(f.expect_finding);
  EXPECT_EQ(f.expect_kind, "hardlimit");
  EXPECT_FALSE(parse(R"("expect": { "result": "pass" })").expect_finding);

  EXPECT_EQ(
      validation_errors(R"({ "kasim": 1, "name": "p", "threads": [ { "steps": [] } ],
                                   "check": { "every": 0 } })"),
      std::vector<std::string>{
          "test.json: /check/every: expected \"step\", \"end\" or a positive integer, got 0"});
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "p", "threads": [ { "steps": [] } ],
                                   "expect": { "kind": "deadlock" } })"),
            std::vector<std::string>{
                "test.json: /expect/kind: only meaningful with \"result\": \"finding\""});
}

TEST(Validate, StepsKnowWhereTheyAreAndTheirFileOrder) {
  Scenario sc = kasim::scn::parse_scenario_text(R"({ "kasim": 1, "name": "w",
      "machine": { "cpus": 2 },
      "threads": [ { "steps": [ { "op": "delay", "ns": 1 } ] },
                   { "cpu": 1, "steps": [ { "op": "delay", "ns": 1 }, { "op": "check" } ] } ],
      "interrupts": [ { "cpu": 1, "at": [5], "steps": [ { "op": "delay", "ns": 1 } ] } ] })",
                                                "w.json");
  EXPECT_EQ(sc.threads[0].steps[0].where, "/threads/0/steps/0");
  EXPECT_EQ(sc.threads[1].steps[1].where, "/threads/1/steps/1");
  EXPECT_EQ(sc.threads[1].steps[1].op->name, "check");
  EXPECT_EQ(sc.interrupts[0].steps[0].where, "/interrupts/0/steps/0");
  EXPECT_EQ(sc.threads[0].steps[0].index, 0u);
  EXPECT_EQ(sc.threads[1].steps[0].index, 1u);
  EXPECT_EQ(sc.threads[1].steps[1].index, 2u);
  EXPECT_EQ(sc.interrupts[0].steps[0].index, 3u);
  EXPECT_EQ(sc.threads[1].cpu, 1);
  EXPECT_EQ(sc.interrupts[0].at, std::vector<uint64_t>{5});
}

TEST(Validate, MessagesNameTheFileTheyWereGiven) {
  EXPECT_EQ(
      validation_errors(R"({ "kasim": 1, "threads": [ { "steps": [] } ] })", "dir/some file.json"),
      std::vector<std::string>{"dir/some file.json: /name: required field is missing"});
  try {
    kasim::scn::load_scenario("/nonexistent/kasim/x.json");
    ADD_FAILURE() << "no error for a missing file";
  } catch (const kasim::scn::ScenarioError& e) {
    EXPECT_EQ(e.lines, std::vector<std::string>{"/nonexistent/kasim/x.json: cannot read the file: No such file or directory"});
  }
}

// --- labels, with the test ops of test_ops.cpp ------------------------------

TEST(ValidateLabels, RefMayNameALabelAnotherThreadDefinesLater) {
  // t0 frees what t1 allocates: file order does not matter, only that some
  // step defines the label.
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "l", "machine": { "cpus": 2 },
      "threads": [
        { "steps": [ { "op": "scntest_free", "ref": "x" } ] },
        { "cpu": 1, "steps": [ { "op": "scntest_alloc", "size": 1, "as": "x",
                                 "expect": { "same_as": "x" } } ] } ] })"),
            std::vector<std::string>{});
}

TEST(ValidateLabels, DanglingRef) {
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "l", "threads": [ { "steps": [
      { "op": "scntest_alloc", "size": 1, "as": "buf" },
      { "op": "scntest_touch", "ref": "bfu" } ] } ] })"),
            std::vector<std::string>{"test.json: /threads/0/steps/1/ref: no step labels a result "
                                     "\"bfu\" (with \"as\")"});
}

TEST(ValidateLabels, DanglingRefIsOneProblemOnOneLine) {
  // scntest_free has the same "addr or ref" rule as vmem_free (test_ops.cpp).
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "l", "threads": [ { "steps": [
      { "op": "scntest_alloc", "size": 1, "as": "buf" },
      { "op": "scntest_free", "ref": "bfu" } ] } ] })"),
            std::vector<std::string>{"test.json: /threads/0/steps/1/ref: no step labels a result "
                                     "\"bfu\" (with \"as\")"});
}

TEST(ValidateLabels, DanglingSameAs) {
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "l", "threads": [ { "steps": [
      { "op": "scntest_alloc", "size": 1, "as": "buf" },
      { "op": "scntest_alloc", "size": 1, "expect": { "same_as": "nope" } } ] } ] })"),
            std::vector<std::string>{
                "test.json: /threads/0/steps/1/expect/same_as: no step labels a result \"nope\""});
}

TEST(ValidateLabels, LabelsMustBeStrings) {
  EXPECT_EQ(
      validation_errors(R"({ "kasim": 1, "name": "l", "threads": [ { "steps": [
      { "op": "scntest_alloc", "size": 1, "as": 7 },
      { "op": "scntest_touch", "ref": 7 } ] } ] })"),
      (std::vector<std::string>{"test.json: /threads/0/steps/0/as: expected a string, got 7",
                                "test.json: /threads/0/steps/1/ref: expected a label, got 7"}));
}

TEST(ValidateLabels, OpCrossArgumentRulesNameTheStep) {
  // scntest_free takes "addr" or "ref" (its validate hook): problems with
  // no argument name point at the step itself.
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "l", "threads": [ { "steps": [
      { "op": "scntest_alloc", "size": 1, "as": "x" },
      { "op": "scntest_free" },
      { "op": "scntest_free", "addr": "0x10000", "ref": "x" } ] } ] })"),
            (std::vector<std::string>{
                "test.json: /threads/0/steps/1: give exactly one of \"addr\" and \"ref\"",
                "test.json: /threads/0/steps/2: give exactly one of \"addr\" and \"ref\""}));
}

TEST(ValidateLabels, AddressExpectations) {
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "l", "threads": [ { "steps": [
      { "op": "scntest_alloc", "size": 1, "expect": { "addr": "0x10000", "null": false } },
      { "op": "scntest_alloc", "size": 1,
        "expect": { "addr": -1, "null": "no", "value": 1 } } ] } ] })"),
            (std::vector<std::string>{
                "test.json: /threads/0/steps/1/expect/value: scntest_alloc has no result \"value\" "
                "to expect (it has: addr, contract, null, same_as)",
                "test.json: /threads/0/steps/1/expect/addr: expected a non-negative integer (or a "
                "C-notation string like \"0x1000\"), got -1 (negative)",
                "test.json: /threads/0/steps/1/expect/null: expected true or false, got \"no\""}));
}

TEST(ValidateThreads, LwpSignalNamesAThread) {
  EXPECT_EQ(
      validation_errors(R"({ "kasim": 1, "name": "s", "threads": [
      { "name": "w", "steps": [ { "op": "lwp_signal", "thread": "nobody" } ] } ],
      "interrupts": [ { "name": "nic0", "at": [1],
                        "steps": [ { "op": "lwp_signal", "thread": "nic0" } ] } ] })"),
      (std::vector<std::string>{
          "test.json: /threads/0/steps/0/thread: expected the name of a thread, got \"nobody\"",
          "test.json: /interrupts/0/steps/0/thread: expected the name of a thread, got "
          "\"nic0\""}));
}

TEST(ValidateThreads, LwpSignalAcceptsTheDefaultThreadName) {
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "s", "machine": { "cpus": 2 },
      "threads": [ { "steps": [ { "op": "delay", "ns": 1 } ] },
                   { "cpu": 1, "steps": [ { "op": "lwp_signal", "thread": "t0" } ] } ] })"),
            std::vector<std::string>{});
}

TEST(ValidateThreads, DuplicateThreadAndInterruptNames) {
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "d",
      "threads": [ { "name": "a", "steps": [] }, { "name": "a", "steps": [] } ],
      "interrupts": [ { "name": "i", "at": [1], "steps": [] },
                      { "name": "i", "at": [1], "steps": [] } ] })"),
            (std::vector<std::string>{
                "test.json: /threads/1/name: another thread is already named \"a\"",
                "test.json: /interrupts/1/name: another interrupt is already named \"i\""}));
}

TEST(ValidateThreads, InterruptsMustFireAndPeriodicOnesNeedABound) {
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "i",
      "interrupts": [ { "steps": [] }, { "every": 100, "steps": [] } ] })"),
            (std::vector<std::string>{
                "test.json: /interrupts/0: never fires: give \"at\" times or a period \"every\"",
                "test.json: /interrupts: interrupt \"intr1\" fires every 100 ns with no thread to "
                "bound it: give it a \"count\""}));
  EXPECT_EQ(validation_errors(R"({ "kasim": 1, "name": "i",
      "interrupts": [ { "every": 100, "count": 3, "steps": [] } ] })"),
            std::vector<std::string>{});
}

}  // namespace
}  // namespace kasim_test
