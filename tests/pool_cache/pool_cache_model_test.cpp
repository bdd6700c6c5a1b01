// tests/pool_cache/pool_cache_model_test.cpp: RapidCheck against an object
// model of pool_cache(9).
//
// Sequential: one CPU, commands get (NOWAIT/WAITOK), put of a held object,
// invalidate. The model keeps the CPU's two groups (nullopt = the dummy),
// the pc_fullgroups stack, the client-held set and the ctor/dtor counts, and
// predicts every get exactly (which cached object, or a fresh one), so LIFO,
// the swap order and the full-group install are all checked. After every
// command the checker runs (pool_cache_check, the shadow, pool_chk) and the
// pool's nout must equal held + cached.
//
// Concurrent: two CPUs whose LWPs run random programs while an IPL_VM
// interrupt on each CPU gets and puts objects, under random schedules; one
// LWP invalidates now and then. The model is the set of objects held by
// clients: no get may return a held object, every invariant holds after
// every command, and at the end an invalidate leaves nout 0 with one dtor
// per ctor.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <optional>
#include <set>

#include "properties/invariants.h"
#include "tests/pool_cache/pool_cache_harness.h"

namespace kasim::test {
namespace {

using Group = std::optional<std::vector<vaddr_t>>;  // nullopt: the dummy

struct Model {
  Group cur, prev;
  std::vector<std::vector<vaddr_t>> full;  // pc_fullgroups, top at the back
  std::set<vaddr_t> cached;
  static constexpr size_t kSize = PCG_NOBJECTS_NORMAL;

  static bool has_objects(const Group& g) { return g && !g->empty(); }
  static bool has_room(const Group& g) { return g && g->size() < kSize; }

  // The object the cache must hand out, or 0 for a fresh one.
  vaddr_t get() {
    for (;;) {
      if (has_objects(cur)) {
        const vaddr_t v = cur->back();
        cur->pop_back();
        cached.erase(v);
        return v;
      }
      if (has_objects(prev)) {
        std::swap(cur, prev);
        continue;
      }
      if (!full.empty()) {
        cur = std::move(full.back());
        full.pop_back();
        continue;
      }
      return 0;
    }
  }
  void put(vaddr_t v) {
    for (;;) {
      if (has_room(cur)) {
        cur->push_back(v);
        cached.insert(v);
        return;
      }
      if (has_room(prev)) {
        std::swap(cur, prev);
        continue;
      }
      if (!prev) {
        prev = std::vector<vaddr_t>{};
      } else {
        if (cur) full.push_back(std::move(*cur));
        cur = std::vector<vaddr_t>{};
      }
    }
  }
  size_t invalidate() {
    const size_t n = cached.size();
    cur.reset();
    prev.reset();
    full.clear();
    cached.clear();
    return n;
  }
};

struct Cmd {
  int kind;  // 0 get NOWAIT, 1 get WAITOK, 2 put, 3 invalidate
  unsigned arg;
};

void run_sequential(const std::vector<Cmd>& prog, std::vector<std::string>& errors) {
  Sim s(1, 2048);
  s.lwp("t", 0, [&] {
    pool_boot(s);
    CtorCounts c;
    pool_cache* pc = mkcache(64, &c);
    Model m;
    std::vector<vaddr_t> held;
    int ctors = 0, dtors = 0;
    size_t i = 0;
    for (const Cmd& cmd : prog) {
      const std::string where = "command " + std::to_string(i++) + ": ";
      if (cmd.kind <= 1) {
        const vaddr_t want = m.get();
        const vaddr_t v = pool_cache_get(pc, cmd.kind == 0 ? PR_NOWAIT : PR_WAITOK);
        if (v == 0) {
          errors.push_back(where + "get failed");
          return;
        }
        if (want != 0 && v != want)
          errors.push_back(where + "got another cached object than the LIFO order says");
        if (want == 0) {
          ctors++;
          if (m.cached.count(v) || std::find(held.begin(), held.end(), v) != held.end())
            errors.push_back(where + "a fresh object that is cached or held");
        }
        held.push_back(v);
      } else if (cmd.kind == 2) {
        if (held.empty()) continue;
        const size_t k = cmd.arg % held.size();
        const vaddr_t v = held[k];
        held.erase(held.begin() + static_cast<long>(k));
        m.put(v);
        pool_cache_put(pc, v);
      } else {
        dtors += static_cast<int>(m.invalidate());
        pool_cache_invalidate(pc);
      }
      if (c.ctor != ctors || c.dtor != dtors)
        errors.push_back(where + "ctor/dtor counts " + std::to_string(c.ctor) + "/" +
                         std::to_string(c.dtor) + ", model " + std::to_string(ctors) + "/" +
                         std::to_string(dtors));
      if (pc->pc_pool.pr_nout != held.size() + m.cached.size())
        errors.push_back(where + "nout " + std::to_string(pc->pc_pool.pr_nout) + " != held + cached");
      if (pool_cache_nobjects(pc) != m.cached.size())
        errors.push_back(where + "cached count differs from the model");
      const std::string p = cchk(pc);
      if (!p.empty()) errors.push_back(where + p);
      if (!c.errors.empty()) errors.push_back(where + c.errors.front());
      if (!errors.empty()) return;
    }
  });
  const Outcome o = s.run();
  if (o != Outcome::completed) errors.push_back("run ended: " + s.finding());
}

RC_GTEST_PROP(PoolCacheModel, SequentialProgramsMatchTheModel, ()) {
  const auto prog = *rc::gen::container<std::vector<Cmd>>(rc::gen::apply(
      [](int kind, unsigned arg) { return Cmd{kind, arg}; },
      rc::gen::weightedElement<int>({{5, 0}, {3, 1}, {7, 2}, {1, 3}}),
      rc::gen::inRange<unsigned>(0, 1000)));
  std::vector<std::string> errors;
  run_sequential(prog, errors);
  if (!errors.empty()) RC_FAIL(errors.front());
}

// The model can fail: a fixed program crossing every group boundary.
TEST(PoolCacheModel, FixedProgram) {
  std::vector<Cmd> prog;
  for (int i = 0; i < 40; i++) prog.push_back({1, 0});
  for (int i = 0; i < 40; i++) prog.push_back({2, static_cast<unsigned>(i * 7)});
  for (int i = 0; i < 35; i++) prog.push_back({0, 0});
  prog.push_back({3, 0});
  for (int i = 0; i < 20; i++) prog.push_back({2, 3});
  std::vector<std::string> errors;
  run_sequential(prog, errors);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front());
}

RC_GTEST_PROP(PoolCacheModel, ConcurrentProgramsKeepTheInvariants, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1u << 30);
  const bool large = *rc::gen::arbitrary<bool>();
  std::vector<std::vector<int>> progs(2);
  for (auto& pr : progs) pr = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 10));
  Sim s(2, 2048, {}, seed, false, "random");
  CtorCounts c;
  pool_cache* pc = nullptr;
  bool ready = false, stopping = false;
  int finished = 0;
  std::set<vaddr_t> held;
  std::vector<std::string> errors;
  auto check = [&](const char* who) {
    for (const props::Problem& p : props::check_invariants(*Engine::current(), true))
      errors.push_back(std::string(who) + ": " + p.kind + ": " + p.message);
  };
  auto got = [&](vaddr_t v, const char* who) {
    if (v != 0 && !held.insert(v).second) errors.push_back(std::string(who) + ": got a held object");
  };
  for (int cpu = 0; cpu < 2; cpu++) {
    s.lwp(cpu == 0 ? "t0" : "t1", cpu, [&, cpu] {
      if (cpu == 0) {
        pool_boot(s);
        pc = mkcache(64, &c, large ? PR_LARGECACHE : 0);
        ready = true;
      }
      while (!ready) delay_ns(1000);
      std::vector<vaddr_t> mine;
      for (int op : progs[static_cast<size_t>(cpu)]) {
        if (op <= 4 && !mine.empty()) {
          const vaddr_t v = mine[static_cast<size_t>(op) % mine.size()];
          mine.erase(std::find(mine.begin(), mine.end(), v));
          held.erase(v);
          pool_cache_put(pc, v);
        } else if (op == 9 && cpu == 0) {
          pool_cache_invalidate(pc);
        } else {
          // PR_NOWAIT may fail (another CPU growing the pool); PR_WAITOK never.
          const vaddr_t v = pool_cache_get(pc, op % 2 ? PR_WAITOK : PR_NOWAIT);
          if (v == 0 && op % 2) errors.push_back("PR_WAITOK get failed");
          got(v, "lwp");
          if (v) mine.push_back(v);
        }
        check("lwp");
      }
      for (vaddr_t v : mine) {
        held.erase(v);
        pool_cache_put(pc, v);
      }
      finished++;
      if (cpu != 0) return;
      while (finished < 2) delay_ns(1000);
      // Handlers that start from now on leave the cache alone; one already
      // running finishes before its CPU's xcall thread can run the transfer.
      stopping = true;
      pool_cache_invalidate(pc);
      if (pc->pc_pool.pr_nout != 0) errors.push_back("objects left after the final invalidate");
      if (c.ctor != c.dtor) errors.push_back("ctor and dtor counts differ at the end");
      check("end");
    });
    s.e->add_interrupt(cpu == 0 ? "nic0" : "nic1", cpu, IPL_VM, {20'000}, 9'000, 12, [&] {
      if (!ready || stopping) return;
      const vaddr_t a = pool_cache_get(pc, PR_NOWAIT);
      const vaddr_t b = pool_cache_get(pc, PR_NOWAIT);
      got(a, "intr");
      got(b, "intr");
      for (vaddr_t v : {b, a})
        if (v) {
          held.erase(v);
          pool_cache_put(pc, v);
        }
    });
  }
  const Outcome o = s.run();
  if (o != Outcome::completed) RC_FAIL("run ended: " + s.finding());
  for (const std::string& e : errors) RC_LOG() << e << "\n";
  if (!errors.empty()) RC_FAIL(errors.front() + " (" + std::to_string(errors.size()) + " problems)");
  RC_ASSERT(c.errors.empty());
}

}  // namespace
}  // namespace kasim::test
