// tests/pool/pool_model_test.cpp: a RapidCheck property test of pool(9)
// against an object model.
//
// Two properties. The first: a random program of get (PR_NOWAIT, or
// PR_WAITOK|PR_LIMITFAIL), put of a random live item, setlowat, sethiwat and
// sethardlimit runs in an LWP. The
// model is the set of live items and the limits. After every command:
//  - a get fails iff the model is at the hard limit (memory is plentiful);
//  - a get returns an aligned address that is not live;
//  - sethardlimit fails with EINVAL iff n is below the items out;
//  - nout equals the model's count, and every invariant (pool_chk, shadow,
//    hard limit, watermarks) holds.
// The second (ConcurrentProgramsKeepTheInvariants) runs two LWPs on two CPUs
// and an IPL_VM interrupt on each CPU against one pool, under random schedules.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "tests/pool/pool_harness.h"

namespace kasim::test {
namespace {

struct Cmd {
  int kind;  // 0 get NOWAIT, 1 get WAITOK|LIMITFAIL, 2 put, 3 setlowat, 4 sethiwat, 5 sethardlimit
  unsigned arg;
};

std::ostream& operator<<(std::ostream& os, const Cmd& c) {
  static const char* names[] = {"get", "get_limitfail", "put", "setlowat", "sethiwat",
                                "sethardlimit"};
  return os << names[c.kind] << "(" << c.arg << ")";
}

void run_program(size_t size, unsigned align, const std::vector<Cmd>& prog,
                 std::vector<std::string>& errors) {
  Sim s(1, 2048);
  s.lwp("t", 0, [&] {
    pool_boot(s);
    pool* pp = mkpool(size, align);
    std::vector<vaddr_t> live;  // the model
    std::set<vaddr_t> liveset;
    unsigned hardlimit = POOL_UINT_MAX;
    for (size_t i = 0; i < prog.size() && errors.empty(); i++) {
      const Cmd& c = prog[i];
      std::ostringstream where;
      where << "command " << i << " " << c << ": ";
      switch (c.kind) {
        case 0:
        case 1: {
          const vaddr_t v = pool_get(pp, c.kind == 0 ? PR_NOWAIT : PR_WAITOK | PR_LIMITFAIL);
          const bool at_limit = live.size() == hardlimit;
          if ((v == 0) != at_limit)
            errors.push_back(where.str() + (v ? "succeeded at the hard limit" : "failed below it"));
          if (v != 0) {
            if (liveset.count(v)) errors.push_back(where.str() + "returned a live item");
            if (v % pp->pr_align) errors.push_back(where.str() + "misaligned");
            live.push_back(v);
            liveset.insert(v);
          }
          break;
        }
        case 2:
          if (!live.empty()) {
            const size_t k = c.arg % live.size();
            pool_put(pp, live[k]);
            liveset.erase(live[k]);
            live.erase(live.begin() + static_cast<long>(k));
          }
          break;
        case 3:
          pool_setlowat(pp, static_cast<int>(c.arg));
          if (pp->pr_nitems < c.arg) errors.push_back(where.str() + "did not catch up");
          break;
        case 4:
          pool_sethiwat(pp, static_cast<int>(c.arg));
          break;
        case 5: {
          const int rc = pool_sethardlimit(pp, static_cast<int>(c.arg), "model: limit", 1);
          if ((rc == kEINVAL) != (c.arg < live.size()))
            errors.push_back(where.str() + "returned " + std::to_string(rc));
          if (rc == 0) hardlimit = c.arg;
          break;
        }
      }
      if (pp->pr_nout != live.size())
        errors.push_back(where.str() + "nout " + std::to_string(pp->pr_nout) + ", model " +
                         std::to_string(live.size()));
      for (const props::Problem& p : props::check_invariants(*Engine::current(), true))
        errors.push_back(where.str() + p.kind + ": " + p.message);
    }
    for (vaddr_t v : live) pool_put(pp, v);
    pool_destroy(pp);
  });
  const Outcome o = s.run();
  if (o != Outcome::completed) errors.push_back("run ended: " + s.finding());
}

RC_GTEST_PROP(PoolModel, RandomProgramsAgreeWithTheModel, ()) {
  const auto shape = *rc::gen::element(std::make_pair<size_t, unsigned>(64, 64),
                                       std::make_pair<size_t, unsigned>(32, 8),
                                       std::make_pair<size_t, unsigned>(1024, 0),
                                       std::make_pair<size_t, unsigned>(2000, 0));
  const auto prog = *rc::gen::container<std::vector<Cmd>>(rc::gen::apply(
      [](int kind, unsigned arg) { return Cmd{kind, arg}; },
      rc::gen::weightedElement<int>({{6, 0}, {2, 1}, {6, 2}, {1, 3}, {1, 4}, {1, 5}}),
      rc::gen::inRange<unsigned>(0, 300)));
  std::vector<std::string> errors;
  run_program(shape.first, shape.second, prog, errors);
  if (!errors.empty()) RC_FAIL(errors.front());
}

// Concurrent programs: two LWPs on two CPUs run random get/put programs on
// one IPL_VM pool while an IPL_VM interrupt on each CPU gets and puts an item
// with PR_NOWAIT; random schedules. The model is the set of live items across
// all contexts: no get may return a live item, a get fails only at the hard
// limit or (NOWAIT) when another grower holds the pool, nout always equals
// the live count when the lock is free, every invariant holds after every
// op, and everything returns to the pool at the end.
RC_GTEST_PROP(PoolModel, ConcurrentProgramsKeepTheInvariants, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1u << 30);
  const unsigned limit = *rc::gen::element(2u, 5u, 40u, POOL_UINT_MAX);
  const auto shape = *rc::gen::element(std::make_pair<size_t, unsigned>(64, 64),
                                       std::make_pair<size_t, unsigned>(2000, 0),
                                       std::make_pair<size_t, unsigned>(1024, 0));
  std::vector<std::vector<int>> progs(2);
  for (auto& pr : progs) pr = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 3));
  Sim s(2, 1024, {}, seed, false, "random");
  pool* pp = nullptr;
  bool ready = false;
  std::set<vaddr_t> live;
  std::vector<std::string> errors;
  auto check = [&](const char* who) {
    for (const props::Problem& p : props::check_invariants(*Engine::current(), false))
      errors.push_back(std::string(who) + ": " + p.kind + ": " + p.message);
  };
  auto got = [&](vaddr_t v, const char* who) {
    if (v == 0) return;
    if (!live.insert(v).second) errors.push_back(std::string(who) + ": got a live item");
  };
  for (int cpu = 0; cpu < 2; cpu++) {
    s.lwp(cpu == 0 ? "t0" : "t1", cpu, [&, cpu] {
      if (cpu == 0) {
        pool_boot(s);
        pp = mkpool(shape.first, shape.second);
        pool_sethardlimit(pp, static_cast<int>(limit == POOL_UINT_MAX ? 0x7fffffff : limit),
                          nullptr, 0);
        ready = true;
      }
      while (!ready) delay_ns(1000);
      std::vector<vaddr_t> mine;
      for (int op : progs[static_cast<size_t>(cpu)]) {
        if (op == 2 && !mine.empty()) {
          const vaddr_t v = mine.back();
          mine.pop_back();
          live.erase(v);
          pool_put(pp, v);
        } else {
          const int fl = op == 0 ? PR_NOWAIT
                         : limit == POOL_UINT_MAX ? PR_WAITOK
                                                  : PR_WAITOK | PR_LIMITFAIL;
          const vaddr_t v = pool_get(pp, fl);
          if (v == 0 && (fl & PR_WAITOK) && !(fl & PR_LIMITFAIL))
            errors.push_back("PR_WAITOK returned NULL");
          got(v, "lwp");
          if (v) mine.push_back(v);
        }
        check("lwp");
      }
      for (vaddr_t v : mine) {
        live.erase(v);
        pool_put(pp, v);
      }
    });
    s.e->add_interrupt(cpu == 0 ? "nic0" : "nic1", cpu, IPL_VM, {20'000}, 15'000, 10, [&] {
      if (pp == nullptr || !ready) return;
      const vaddr_t v = pool_get(pp, PR_NOWAIT);
      got(v, "intr");
      if (v) {
        live.erase(v);
        pool_put(pp, v);
      }
    });
  }
  const Outcome o = s.run();
  RC_ASSERT(o == Outcome::completed);
  if (!errors.empty()) RC_FAIL(errors.front());
  RC_ASSERT(pp->pr_nout == 0u);
  RC_ASSERT(pool_chk(pp).empty());
}

// The model test can fail: a program that would break if get ignored the limit.
TEST(PoolModel, FixedProgram) {
  std::vector<std::string> errors;
  run_program(64, 64,
              {{5, 2}, {0, 0}, {0, 0}, {0, 0}, {2, 0}, {0, 0}, {3, 100}, {4, 0}, {2, 1}, {2, 0}},
              errors);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front());
}

}  // namespace
}  // namespace kasim::test
