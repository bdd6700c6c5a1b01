// tests/extent/extent_model_test.cpp: a RapidCheck state-machine test of
// extent(9) against an independent reference model.
//
// The model knows nothing of region lists: it keeps one bit per unit of a
// small extent (up to 256 units, placed at 0, at an odd base, or at the top
// of the 64-bit space) and, for EX_NOCOALESCE extents, the list of ranges
// handed out. To place a request it enumerates the maximal runs of free
// units from the bitmap and, for each run, the candidate NetBSD's rules
// produce (the aligned start after skew; the boundary line arithmetic done
// as "distance to the next line"; a bump to the line without re-alignment;
// the overhead to the next allocated run or, for the tail, to the first run
// past subend or ex_end), then chooses as the rules say: first fit under
// EX_FAST, otherwise an exact fit at once, else the smallest overhead with
// ties to the first. Every result and every EAGAIN is checked, the region
// list must equal the maximal allocated runs (coalescing) or the ranges
// handed out (EX_NOCOALESCE), and extent_check holds after every command.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <optional>
#include <sstream>

#include "tests/extent/extent_harness.h"

namespace kasim::test {
namespace {

constexpr u_long kTop = ~0UL;

struct Request {
  u_long substart, subend, size, align, skew, boundary;
  int flags;
};

struct ExtentModel {
  u_long start = 0, end = 0;
  bool nocoalesce = false;
  std::vector<bool> used;  // unit i is start + i
  ranges given;            // EX_NOCOALESCE: what was handed out, sorted

  u_long units() const { return end - start + 1; }
  bool is_used(u_long a) const { return used[a - start]; }
  void mark(u_long a, u_long size, bool v) {
    for (u_long i = 0; i < size; i++) used[a - start + i] = v;
  }
  // Maximal runs of allocated units, in address order.
  ranges runs() const {
    ranges out;
    for (u_long i = 0; i < units(); i++) {
      if (!used[i]) continue;
      if (!out.empty() && out.back().second == start + i - 1)
        out.back().second = start + i;
      else
        out.emplace_back(start + i, start + i);
    }
    return out;
  }
  ranges expected_regions() const { return nocoalesce ? given : runs(); }
  bool all_free(u_long a, u_long size) const {
    for (u_long i = 0; i < size; i++)
      if (is_used(a + i)) return false;
    return true;
  }
  void give(u_long a, u_long size) {
    mark(a, size, true);
    given.emplace_back(a, a + size - 1);
    std::sort(given.begin(), given.end());
  }
};

// The first address >= x that is congruent to skew modulo align (mod 2^64).
u_long align_up(u_long x, u_long align, u_long skew) {
  const u_long rem = (x - skew) % align;
  return rem == 0 ? x : x + (align - rem);
}

// The first boundary line strictly above x, or nullopt if it lies past 2^64.
std::optional<u_long> next_line(u_long x, u_long boundary, u_long base) {
  const u_long dist = boundary - (x - base) % boundary;
  if (x + dist < x) return std::nullopt;
  return x + dist;
}

enum class Outcome2 { placed, eagain, einval, wraps };
struct Prediction {
  Outcome2 what;
  u_long addr = 0;
};

// Where NetBSD's rules put `r` (see the file comment).
Prediction predict(const ExtentModel& m, const Request& r) {
  const u_long bbase = (r.flags & EX_BOUNDZERO) ? 0 : m.start;
  u_long c = align_up(r.substart, r.align, r.skew);
  if (c < r.substart || c < m.start) return {Outcome2::einval};
  const ranges runs = m.runs();
  size_t i = 0;
  while (i < runs.size() && runs[i].first < c) i++;
  if (i > 0 && runs[i - 1].second >= c) {
    const u_long next = align_up(runs[i - 1].second + 1, r.align, r.skew);
    // NetBSD does not check this step for overflow (a unit test pins what
    // happens); the model only says so.
    if (runs[i - 1].second == kTop || next < runs[i - 1].second) return {Outcome2::wraps};
    c = next;
  }
  // A window [c, limit]: the candidate after the boundary rule, if any; set
  // `stop` when NetBSD's checks end the search.
  auto candidate = [&](u_long cand, u_long limit, bool& stop) -> std::optional<u_long> {
    if (cand + (r.size - 1) < cand || cand + (r.size - 1) > limit) return std::nullopt;
    if (r.boundary == 0) return cand;
    std::optional<u_long> line = next_line(cand, r.boundary, bbase);
    // A line that wraps lands below ex_start: NetBSD then sees no line.
    if (line && cand + r.size - 1 >= *line) {
      cand = *line;  // no re-alignment
      if (cand + (r.size - 1) < cand || cand + (r.size - 1) > limit) return std::nullopt;
      // The search ends if the request runs past the extent or the last
      // unit before the following line is past 2^64.
      if (cand + r.size - 1 > m.end || cand + (r.boundary - 1) < cand) {
        stop = true;
        return std::nullopt;
      }
    }
    return cand;
  };
  std::optional<u_long> best;
  u_long bestovh = 0;
  auto consider = [&](u_long cand, u_long ovh) -> bool {  // true: take it now
    if ((r.flags & EX_FAST) || ovh == 0) {
      best = cand;
      return true;
    }
    if (!best || ovh < bestovh) {
      best = cand;
      bestovh = ovh;
    }
    return false;
  };
  u_long exend = m.end;
  bool stop = false;
  for (; i < runs.size(); i++) {
    if (runs[i].first > r.subend) {
      exend = runs[i].first;
      break;
    }
    if (runs[i].first > c) {
      std::optional<u_long> cand = candidate(c, runs[i].first - 1, stop);
      if (stop) break;
      if (cand && consider(*cand, runs[i].first - *cand - r.size))
        return {Outcome2::placed, *best};
    }
    const u_long next = align_up(runs[i].second + 1, r.align, r.skew);
    if (runs[i].second == kTop || next < runs[i].second) {
      stop = true;
      break;
    }
    c = next;
  }
  if (!stop) {
    std::optional<u_long> cand = candidate(c, r.subend, stop);
    if (cand && !stop && consider(*cand, exend - *cand - (r.size - 1)))
      return {Outcome2::placed, *best};
  }
  if (best && !(r.flags & EX_FAST)) return {Outcome2::placed, *best};
  return {Outcome2::eagain};
}

struct Cmd {
  int kind;  // 0 alloc_subregion, 1 alloc_region, 2 free a whole allocation, 3 free a sub-range
  Request req;
  u_long pick;
};

std::ostream& operator<<(std::ostream& os, const Cmd& c) {
  static const char* names[] = {"alloc_subregion", "alloc_region", "free", "free_part"};
  const Request& r = c.req;
  return os << names[c.kind] << "(sub " << std::hex << r.substart << "-" << r.subend << " size "
            << r.size << " align " << r.align << " skew " << r.skew << " boundary " << r.boundary
            << " flags " << r.flags << " pick " << c.pick << std::dec << ")";
}

std::string show(const ranges& rs) {
  std::ostringstream os;
  os << std::hex;
  for (const auto& [a, b] : rs) os << "[" << a << "," << b << "]";
  return os.str();
}

struct Seen {
  unsigned placed = 0, eagain = 0, einval = 0, bumped = 0;
};

void run_program(u_long base, u_long nunits, bool nocoalesce, const std::vector<Cmd>& prog,
                 std::vector<std::string>& errors, Seen* seen = nullptr) {
  Sim s(1, 2048);
  s.lwp("t", 0, [&] {
    extent_boot(s);
    ExtentModel m;
    m.start = base;
    m.end = base + (nunits - 1);
    m.nocoalesce = nocoalesce;
    m.used.assign(nunits, false);
    extent* ex = extent_create("model", m.start, m.end, 0, 0,
                               EX_WAITOK | (nocoalesce ? EX_NOCOALESCE : 0));
    for (size_t k = 0; k < prog.size() && errors.empty(); k++) {
      Cmd c = prog[k];
      Request r = c.req;
      // Bring the generated numbers into this extent.
      r.substart = m.start + r.substart % nunits;
      r.subend = r.substart + (r.subend % (m.end - r.substart + 1));
      r.size = 1 + r.size % (r.subend - r.substart + 1);
      if (r.boundary != 0)
        while (r.boundary < r.size) r.boundary <<= 1;
      std::ostringstream where;
      where << "command " << k << " " << c << " on " << show(m.expected_regions()) << ": ";
      switch (c.kind) {
        case 0: {
          const Prediction p = predict(m, r);
          if (p.what == Outcome2::wraps) break;  // pinned by a unit test
          if (seen != nullptr) {
            if (p.what == Outcome2::placed) seen->placed++;
            if (p.what == Outcome2::eagain) seen->eagain++;
            if (p.what == Outcome2::einval) seen->einval++;
            if (p.what == Outcome2::placed && r.boundary != 0 &&
                (p.addr - ((r.flags & EX_BOUNDZERO) ? 0 : m.start)) % r.boundary == 0 &&
                (p.addr - r.skew) % r.align != 0)
              seen->bumped++;  // on a line and misaligned: the bump quirk
          }
          u_long res = 0;
          const int e = extent_alloc_subregion1(ex, r.substart, r.subend, r.size, r.align, r.skew,
                                                r.boundary, r.flags, &res);
          if (p.what == Outcome2::placed) {
            if (e != 0 || res != p.addr) {
              std::ostringstream os;
              os << std::hex << "expected 0x" << p.addr << ", got error " << std::dec << e
                 << std::hex << " addr 0x" << res;
              errors.push_back(where.str() + os.str());
            } else if (!m.all_free(res, r.size)) {
              errors.push_back(where.str() + "model placed it on allocated units");
            } else {
              m.give(res, r.size);
            }
          } else {
            const int want = p.what == Outcome2::eagain ? kEAGAIN : kEINVAL;
            if (e != want)
              errors.push_back(where.str() + "expected error " + std::to_string(want) + ", got " +
                               std::to_string(e));
          }
          break;
        }
        case 1: {
          const u_long a = r.substart;
          const u_long size = std::min<u_long>(r.size, m.end - a + 1);
          const int e = extent_alloc_region(ex, a, size, r.flags & EX_WAITOK);
          const int want = m.all_free(a, size) ? 0 : kEAGAIN;
          if (e != want)
            errors.push_back(where.str() + "alloc_region: expected " + std::to_string(want) +
                             ", got " + std::to_string(e));
          if (e == 0) m.give(a, size);
          break;
        }
        case 2:
        case 3: {
          if (m.given.empty()) break;
          auto [a, b] = m.given[c.pick % m.given.size()];
          if (c.kind == 3 && !nocoalesce) {
            // Any sub-range of one allocated run (cases 2-4 of extent_free).
            const ranges runs = m.runs();
            auto [ra, rb] = runs[c.pick % runs.size()];
            const u_long len = rb - ra + 1;
            a = ra + (c.pick / 7) % len;
            b = a + (c.pick / 131) % (rb - a + 1);
          }
          const int e = extent_free(ex, a, b - a + 1, EX_WAITOK);
          if (e != 0) errors.push_back(where.str() + "free returned " + std::to_string(e));
          m.mark(a, b - a + 1, false);
          ranges kept;
          for (auto [ga, gb] : m.given) {
            if (gb < a || ga > b) {
              kept.emplace_back(ga, gb);
              continue;
            }
            if (ga < a) kept.emplace_back(ga, a - 1);
            if (gb > b) kept.emplace_back(b + 1, gb);
          }
          m.given = kept;
          break;
        }
      }
      if (regions(ex) != m.expected_regions())
        errors.push_back(where.str() + "regions " + show(regions(ex)) + ", model " +
                         show(m.expected_regions()));
      const std::string p = echk(ex);
      if (!p.empty()) errors.push_back(where.str() + p);
    }
  });
  if (s.run() != Outcome::completed) errors.push_back("run ended: " + s.finding());
}

rc::Gen<Cmd> gen_cmd() {
  return rc::gen::apply(
      [](int kind, u_long a, u_long b, u_long size, int alog, u_long skew, int blog, bool fast,
         bool bz, u_long pick) {
        Request r;
        r.substart = a;
        r.subend = b;
        r.size = size;
        r.align = 1UL << alog;
        r.skew = skew % r.align;
        r.boundary = blog < 0 ? 0 : 1UL << blog;
        r.flags = (fast ? EX_FAST : 0) | (bz ? EX_BOUNDZERO : 0) | EX_WAITOK;
        return Cmd{kind, r, pick};
      },
      rc::gen::weightedElement<int>({{6, 0}, {1, 1}, {3, 2}, {2, 3}}),
      rc::gen::inRange<u_long>(0, 1024), rc::gen::inRange<u_long>(0, 1024),
      rc::gen::weightedElement<u_long>({{4, 1}, {4, 4}, {3, 16}, {2, 40}, {1, 100}}),
      rc::gen::inRange(0, 7), rc::gen::inRange<u_long>(0, 64), rc::gen::inRange(-3, 8),
      rc::gen::arbitrary<bool>(), rc::gen::arbitrary<bool>(), rc::gen::inRange<u_long>(0, 1u << 20));
}

RC_GTEST_PROP(ExtentModel, AgreesWithTheReferenceModel, ()) {
  const u_long nunits = *rc::gen::inRange<u_long>(16, 257);
  const u_long base = *rc::gen::element<u_long>(0, 0x1000, 0x123, kTop - 0x1ff);
  const bool nocoalesce = *rc::gen::arbitrary<bool>();
  const auto prog = *rc::gen::container<std::vector<Cmd>>(gen_cmd());
  std::vector<std::string> errors;
  Seen seen;
  run_program(base, nunits, nocoalesce, prog, errors, &seen);
  RC_CLASSIFY(base > 0x10000, "extent at the top of the address space");
  RC_CLASSIFY(seen.eagain > 0, "an EAGAIN");
  RC_CLASSIFY(seen.einval > 0, "an EINVAL");
  RC_CLASSIFY(seen.bumped > 0, "a misaligned bump");
  RC_CLASSIFY(seen.placed > 10, "more than 10 placements");
  if (!errors.empty()) RC_FAIL(errors.front());
}

// A fixed program over every rule: the model and extent agree, and the
// model is not trivially in agreement (it predicts specific addresses).
TEST(ExtentModel, FixedProgram) {
  ExtentModel m;
  m.start = 0x110;
  m.end = 0xfff;
  m.used.assign(m.units(), false);
  EXPECT_EQ(predict(m, Request{0x110, 0xfff, 0xe0, 0x40, 0, 0x100, 0}).addr, 0x210u);
  EXPECT_EQ(predict(m, Request{0x3c0, 0x4ff, 0x80, 1, 0, 0x100, EX_BOUNDZERO}).addr, 0x400u);
  m.mark(0x200, 0x10, true);
  EXPECT_EQ(predict(m, Request{0x110, 0xfff, 0xf0, 1, 0, 0, 0}).addr, 0x110u);  // exact
  EXPECT_EQ(predict(m, Request{0x110, 0xfff, 0x10, 1, 0, 0, EX_FAST}).addr, 0x110u);
  EXPECT_EQ(predict(m, Request{0x110, 0xfff, 0x10, 1, 0, 0, 0}).addr, 0x110u);
  std::vector<std::string> errors;
  std::vector<Cmd> prog;
  for (u_long i = 0; i < 40; i++)
    prog.push_back(Cmd{static_cast<int>(i % 5 == 4 ? 2 : 0),
                       Request{i * 37, 1000, i * 13 + 3, 1UL << (i % 5), i % 3, i % 3 ? 0UL : 64UL,
                               static_cast<int>(EX_WAITOK | (i % 4 == 0 ? EX_FAST : 0))},
                       i * 97});
  run_program(0x110, 200, false, prog, errors);
  run_program(kTop - 0xff, 256, true, prog, errors);
  EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front());
}

}  // namespace
}  // namespace kasim::test

namespace kasim::test {
namespace {

// Concurrent programs: two LWPs on two CPUs run random alloc/free programs on
// one extent (fixed with two descriptors, or dynamic; coalescing or not)
// while an IPL_VM interrupt on each CPU allocates and frees a unit with
// EX_NOWAIT; random schedules. The model is the set of ranges each context
// holds: no allocation may overlap a held range, every invariant (extent_check
// and the shadow) holds after every op, and at the end the map holds exactly
// what interrupts could not free (an EX_NOWAIT free may find no spare
// descriptor) and a fixed extent has its static descriptors back.
RC_GTEST_PROP(ExtentModel, ConcurrentProgramsKeepTheInvariants, ()) {
  const uint64_t seed = *rc::gen::inRange<uint64_t>(1, 1u << 30);
  const bool fixed = *rc::gen::arbitrary<bool>();
  const bool nocoalesce = *rc::gen::arbitrary<bool>();
  std::vector<std::vector<int>> progs(2);
  for (auto& pr : progs) pr = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 4));
  Sim s(2, 1024, {}, seed, false, "random");
  extent* ex = nullptr;
  bool ready = false;
  std::vector<std::pair<u_long, u_long>> held;  // [start, end] of every live range
  ranges orphans;  // [start, end] an interrupt could not free (ENOMEM for a spare)
  std::vector<std::string> errors;
  auto check = [&](const char* who) {
    for (const props::Problem& p : props::check_invariants(*Engine::current(), false))
      errors.push_back(std::string(who) + ": " + p.kind + ": " + p.message);
  };
  auto got = [&](u_long a, u_long size, const char* who) {
    for (auto [hs, he] : held)
      if (a <= he && hs <= a + size - 1)
        errors.push_back(std::string(who) + ": allocation overlaps a held range");
    held.emplace_back(a, a + size - 1);
  };
  auto drop = [&](u_long a) {
    for (size_t i = 0; i < held.size(); i++)
      if (held[i].first == a) {
        held.erase(held.begin() + static_cast<long>(i));
        return;
      }
  };
  const int flags0 = nocoalesce ? EX_NOCOALESCE : 0;
  for (int cpu = 0; cpu < 2; cpu++) {
    s.lwp(cpu == 0 ? "t0" : "t1", cpu, [&, cpu] {
      if (cpu == 0) {
        extent_boot(s);
        ex = fixed ? extent_create("cx", 0, 0x3ff, 0x7000, EXTENT_FIXED_STORAGE_SIZE(2), flags0)
                   : extent_create("cx", 0, 0x3ff, 0, 0, flags0 | EX_WAITOK);
        // Grow expool once so that interrupts' PR_NOWAIT gets find items.
        u_long r = 0;
        if (extent_alloc(ex, 1, 1, 0, EX_WAITOK | EX_MALLOCOK, &r) == 0)
          (void)extent_free(ex, r, 1, EX_WAITOK | EX_MALLOCOK);
        ready = true;
      }
      while (!ready) delay_ns(1000);
      std::vector<std::pair<u_long, u_long>> mine;  // (start, size)
      for (int op : progs[static_cast<size_t>(cpu)]) {
        if (op >= 2 && !mine.empty()) {
          const auto [a, size] = mine.back();
          mine.pop_back();
          drop(a);
          const int e = extent_free(ex, a, size, EX_WAITOK | EX_MALLOCOK);
          if (e != 0) errors.push_back("lwp free returned " + std::to_string(e));
        } else {
          const u_long size = op == 0 ? 0x10 : 0x28;
          u_long r = 0;
          const int e = extent_alloc(ex, size, op == 0 ? 0x10 : 8, op == 0 ? 0 : 0x40,
                                     EX_WAITOK | EX_MALLOCOK | (op ? EX_FAST : 0), &r);
          if (e == 0) {
            got(r, size, "lwp");
            mine.emplace_back(r, size);
          } else if (e != kEAGAIN) {
            errors.push_back("lwp alloc returned " + std::to_string(e));
          }
        }
        check("lwp");
      }
      for (auto [a, size] : mine) {
        drop(a);
        (void)extent_free(ex, a, size, EX_WAITOK | EX_MALLOCOK);
      }
    });
    s.e->add_interrupt(cpu == 0 ? "nic0" : "nic1", cpu, IPL_VM, {20'000}, 15'000, 8, [&] {
      if (!ready) return;
      u_long r = 0;
      const int e = extent_alloc(ex, 4, 4, 0, EX_NOWAIT | EX_MALLOCOK, &r);
      if (e != 0) return;  // ENOMEM (no descriptor) or EAGAIN: both legitimate here
      got(r, 4, "intr");
      drop(r);
      if (extent_free(ex, r, 4, EX_NOWAIT | EX_MALLOCOK) != 0) orphans.emplace_back(r, r + 3);
    });
  }
  const Outcome o = s.run();
  RC_ASSERT(o == Outcome::completed);
  if (!errors.empty()) RC_FAIL(errors.front());
  // What is left is exactly what interrupts could not free.
  std::sort(orphans.begin(), orphans.end());
  ranges left = regions(ex), want;
  for (auto [a, b] : orphans) {
    if (!nocoalesce && !want.empty() && want.back().second + 1 == a)
      want.back().second = b;
    else
      want.emplace_back(a, b);
  }
  RC_ASSERT(left == want);
  RC_ASSERT(extent_check(ex).empty());
  if (fixed) RC_ASSERT(extent_nfreedesc(ex) + left.size() >= 2u);
}

}  // namespace
}  // namespace kasim::test
