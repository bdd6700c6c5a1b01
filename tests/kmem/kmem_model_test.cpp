// tests/kmem/kmem_model_test.cpp: RapidCheck property tests of kmem(9)
// against an object model.
//
// The model is the map of live objects (address -> requested size). A random
// program of kmem_alloc / kmem_zalloc / kmem_intr_alloc with sizes across
// every class and the page path, and frees of random live objects with
// their right size, runs in an LWP. After every command:
//  - KM_SLEEP never returns NULL;
//  - a returned object overlaps no live object of the model (by its class
//    span, or its pages) and is aligned as its class requires;
//  - the kmem shadow equals the model (addresses and sizes round-trip);
//  - every invariant of the machine holds (kmem, pool, pool_cache, vmem,
//    uvm_km, pages).
// The second property runs two LWPs on two CPUs and an IPL_VM interrupt on
// each CPU (kmem_intr_alloc/free with KM_NOSLEEP), cross-CPU frees included,
// under random schedules.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <sstream>

#include "tests/kmem/kmem_harness.h"

namespace kasim::test {
namespace {

struct Cmd {
  int kind;  // 0 alloc KM_SLEEP, 1 zalloc KM_SLEEP, 2 intr_alloc KM_NOSLEEP, 3 free
  size_t arg;
};

std::ostream& operator<<(std::ostream& os, const Cmd& c) {
  static const char* names[] = {"alloc", "zalloc", "intr_alloc", "free"};
  return os << names[c.kind] << "(" << c.arg << ")";
}

// The bytes an object of this size occupies (its class, or its pages).
size_t span_of(size_t req) {
  const kmem_globals& g = kmem_globals_get();
  const kmem_route r = kmem_route_of(g.layout, req);
  if (r.kind == kmem_route_kind::page) return r.pagesz;
  return (r.kind == kmem_route_kind::small ? g.layout.small : g.layout.big)[r.cls].kc_size;
}

// Checks a fresh object against the model; returns a problem or "".
std::string check_new(const std::map<vaddr_t, size_t>& model, vaddr_t p, size_t req) {
  const size_t span = span_of(req);
  auto it = model.lower_bound(p);
  if (it != model.end() && it->first < p + span) return "overlaps a live object";
  if (it != model.begin()) {
    --it;
    if (it->first + span_of(it->second) > p) return "overlaps a live object";
  }
  const kmem_globals& g = kmem_globals_get();
  const kmem_route r = kmem_route_of(g.layout, req);
  const size_t align = r.kind == kmem_route_kind::page
                           ? g.layout.page_size
                           : (r.kind == kmem_route_kind::small ? g.layout.small
                                                               : g.layout.big)[r.cls].kc_align;
  if (p % align != 0) return "misaligned";
  return "";
}

std::string shadow_vs_model(const std::map<vaddr_t, size_t>& model) {
  const kmem_globals& g = kmem_globals_get();
  if (g.live.size() != model.size())
    return "shadow has " + std::to_string(g.live.size()) + " objects, model " +
           std::to_string(model.size());
  auto m = model.begin();
  for (const auto& [p, r] : g.live) {
    if (p != m->first || r.req != m->second) return "shadow and model differ";
    ++m;
  }
  return "";
}

void run_program(uint64_t cu, const std::vector<Cmd>& prog, std::vector<std::string>& errors) {
  Sim s(1, 4096);
  s.lwp("t", 0, [&] {
    kmem_boot(s, cu);
    std::map<vaddr_t, size_t> model;
    std::vector<vaddr_t> order;  // live objects in allocation order
    for (size_t i = 0; i < prog.size() && errors.empty(); i++) {
      const Cmd& c = prog[i];
      std::ostringstream where;
      where << "command " << i << " " << c << ": ";
      if (c.kind == 3) {
        if (order.empty()) continue;
        const vaddr_t p = order[c.arg % order.size()];
        kmem_free(p, model.at(p));
        model.erase(p);
        order.erase(std::find(order.begin(), order.end(), p));
      } else {
        const size_t req = c.arg;
        const vaddr_t p = c.kind == 0   ? kmem_alloc(req, KM_SLEEP)
                          : c.kind == 1 ? kmem_zalloc(req, KM_SLEEP)
                                        : kmem_intr_alloc(req, KM_NOSLEEP);
        if (p == 0) {
          if (c.kind != 2) errors.push_back(where.str() + "KM_SLEEP returned NULL");
          continue;
        }
        const std::string e = check_new(model, p, req);
        if (!e.empty()) errors.push_back(where.str() + e);
        model[p] = req;
        order.push_back(p);
      }
      const std::string d = shadow_vs_model(model);
      if (!d.empty()) errors.push_back(where.str() + d);
      const std::string inv = all_problems();
      if (!inv.empty()) errors.push_back(where.str() + inv);
    }
    for (vaddr_t p : order) kmem_free(p, model.at(p));
    if (!kmem_globals_get().live.empty()) errors.push_back("objects left after freeing all");
  });
  const Outcome o = s.run();
  if (o != Outcome::completed) errors.push_back("run ended: " + s.finding());
}

rc::Gen<size_t> gen_size() {
  return rc::gen::weightedOneOf<size_t>({{6, rc::gen::inRange<size_t>(1, 1025)},
                                         {2, rc::gen::inRange<size_t>(1017, 4097)},
                                         {1, rc::gen::inRange<size_t>(4089, 70000)}});
}

RC_GTEST_PROP(KmemModel, RandomProgramsAgreeWithTheModel, ()) {
  const uint64_t cu = *rc::gen::element<uint64_t>(32, 64, 128);
  const auto prog = *rc::gen::container<std::vector<Cmd>>(rc::gen::apply(
      [](int kind, size_t size) { return Cmd{kind, size}; },
      rc::gen::weightedElement<int>({{4, 0}, {1, 1}, {1, 2}, {5, 3}}), gen_size()));
  std::vector<std::string> errors;
  run_program(cu, prog, errors);
  if (!errors.empty()) RC_FAIL(errors.front());
}

// Two LWPs on two CPUs allocate and free (each frees the other's objects
// too: cross-CPU frees), an IPL_VM interrupt on each CPU allocates and frees
// with kmem_intr_* and KM_NOSLEEP; random schedules. No two live objects
// overlap, KM_SLEEP never fails, every invariant holds after each op, and
// nothing is left at the end.
RC_GTEST_PROP(KmemModel, ConcurrentProgramsKeepTheInvariants, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1u << 30);
  std::vector<std::vector<Cmd>> progs(2);
  for (auto& pr : progs)
    pr = *rc::gen::container<std::vector<Cmd>>(rc::gen::apply(
        [](int kind, size_t size) { return Cmd{kind, size}; },
        rc::gen::weightedElement<int>({{3, 0}, {1, 2}, {3, 3}}), gen_size()));
  Sim s(2, 4096, {}, seed, false, "random");
  bool ready = false;
  std::map<vaddr_t, size_t> model;  // every live object, any context's
  std::vector<std::string> errors;
  auto got = [&](vaddr_t p, size_t req, const char* who) {
    if (p == 0) return;
    const std::string e = check_new(model, p, req);
    if (!e.empty()) errors.push_back(std::string(who) + ": " + e);
    model[p] = req;
  };
  auto check = [&](const char* who) {
    for (const props::Problem& p : props::check_invariants(*Engine::current(), false))
      errors.push_back(std::string(who) + ": " + p.kind + ": " + p.message);
  };
  std::vector<vaddr_t> shared;  // objects either LWP may free
  for (int cpu = 0; cpu < 2; cpu++) {
    s.lwp(cpu == 0 ? "t0" : "t1", cpu, [&, cpu] {
      if (cpu == 0) {
        kmem_boot(s);
        ready = true;
      }
      while (!ready) delay_ns(1000);
      for (const Cmd& c : progs[static_cast<size_t>(cpu)]) {
        if (c.kind == 3) {
          if (shared.empty()) continue;
          const size_t k = c.arg % shared.size();
          const vaddr_t p = shared[k];
          shared.erase(shared.begin() + static_cast<long>(k));
          const size_t req = model.at(p);
          model.erase(p);
          kmem_free(p, req);
        } else {
          const vaddr_t p = c.kind == 0 ? kmem_alloc(c.arg, KM_SLEEP)
                                        : kmem_intr_alloc(c.arg, KM_NOSLEEP);
          if (p == 0 && c.kind == 0) errors.push_back("KM_SLEEP returned NULL");
          got(p, c.arg, "lwp");
          if (p) shared.push_back(p);
        }
        check("lwp");
      }
    });
    s.e->add_interrupt(cpu == 0 ? "nic0" : "nic1", cpu, IPL_VM, {20'000}, 15'000, 10, [&] {
      if (!ready) return;
      const vaddr_t p = kmem_intr_alloc(200, KM_NOSLEEP);
      got(p, 200, "intr");
      if (p) {
        model.erase(p);
        kmem_intr_free(p, 200);
      }
    });
  }
  const Outcome o = s.run();
  RC_ASSERT(o == Outcome::completed);
  if (!errors.empty()) RC_FAIL(errors.front());
  // Whatever is left is freed in a fresh pass of the checker.
  RC_ASSERT(s.e->local<kmem_globals>().live.size() == shared.size());
}

// The model test can fail: a fixed program over every route.
TEST(KmemModel, FixedProgram) {
  std::vector<std::string> errors;
  run_program(64,
              {{0, 24}, {0, 5000}, {1, 1017}, {2, 4088}, {3, 1}, {0, 100000}, {3, 0}, {0, 1},
               {3, 2}, {3, 0}, {3, 0}},
              errors);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front());
}

}  // namespace
}  // namespace kasim::test
