// tests/pool/pool_ops_test.cpp: the pool scenario ops, object and flags
// (scenarios/ops_pool.cpp) through the real scenario runner.
#include <gtest/gtest.h>

#include <string>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"
#include "tests/scenarios/ops_harness.h"

namespace kasim::scn {
namespace {

std::string wrap(const std::string& objects, const std::string& steps) {
  return one_thread_scenario(objects, steps);
}

TEST(PoolOps, GetPutStatsAndLimits) {
  RunReport r = run(wrap(
      R"({ "name": "p", "type": "pool", "size": 64, "align": 64, "hardlimit": 2,
           "hardlimit_warning": "p: limit", "hardlimit_ratecap": 1 })",
      R"(
    { "op": "stats", "object": "p", "expect": { "stats": { "pr_itemsperpage": 63, "pr_hardlimit": 2,
      "pr_maxpages": 1, "pr_npages": 0 } } },
    { "op": "pool_get", "pool": "p", "flags": ["PR_NOWAIT"], "as": "a", "expect": { "null": false } },
    { "op": "pool_get", "pool": "p", "flags": ["PR_WAITOK"], "as": "b", "expect": { "null": false } },
    { "op": "pool_get", "pool": "p", "flags": ["PR_NOWAIT"], "expect": { "null": true } },
    { "op": "pool_put", "pool": "p", "ref": "a" },
    { "op": "pool_get", "pool": "p", "flags": ["PR_NOWAIT", "PR_ZERO"], "expect": { "same_as": "a" }, "as": "c" },
    { "op": "stats", "object": "p", "expect": { "stats": { "pr_nout": 2, "pr_nfail": 1, "pr_nget": 3,
      "pr_nput": 1, "pr_npages": 1, "pr_nitems": 61, "pr_npagealloc": 1 } } },
    { "op": "pool_sethardlimit", "pool": "p", "n": 1, "expect": { "error": "EINVAL" } },
    { "op": "pool_put", "pool": "p", "ref": "b" },
    { "op": "pool_put", "pool": "p", "ref": "c" },
    { "op": "pool_reclaim", "pool": "p", "expect": { "value": 0 } },
    { "op": "pool_setlowat", "pool": "p", "n": 70 },
    { "op": "stats", "object": "p", "expect": { "stats": { "pr_minitems": 70, "pr_minpages": 2,
      "pr_npages": 2 } } },
    { "op": "pool_sethiwat", "pool": "p", "n": 0 },
    { "op": "pool_prime", "pool": "p", "n": 189 },
    { "op": "stats", "object": "p", "expect": { "stats": { "pr_minpages": 3, "pr_maxpages": 4,
      "pr_npages": 3, "pr_hiwat": 3 } } }
  )"));
  EXPECT_EQ(r.exit_code, 0) << first_finding(r) << " " << r.verdict;
}

TEST(PoolOps, DoublePutIsAContractFinding) {
  RunReport r = run(wrap(R"({ "name": "p", "type": "pool", "size": 32 })", R"(
    { "op": "pool_get", "pool": "p", "flags": ["PR_NOWAIT"], "as": "a" },
    { "op": "pool_get", "pool": "p", "flags": ["PR_NOWAIT"], "as": "b" },
    { "op": "pool_put", "pool": "p", "ref": "a" },
    { "op": "pool_put", "pool": "p", "addr": 0, "expect": { "contract": "page header missing" } }
  )"));
  EXPECT_EQ(r.exit_code, 0) << first_finding(r) << " " << r.verdict;
}

TEST(PoolOps, LeakedItemIsReported) {
  RunReport r = run(wrap(R"({ "name": "p", "type": "pool", "size": 32, "allocator": "meta" })", R"(
    { "op": "pool_get", "pool": "p", "flags": ["PR_NOWAIT"] }
  )"));
  EXPECT_NE(r.exit_code, 0);
}

}  // namespace
}  // namespace kasim::test
