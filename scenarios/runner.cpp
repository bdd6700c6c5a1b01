#include "scenarios/runner.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "properties/invariants.h"
#include "scenarios/world.h"
#include "sim/kernel.h"

namespace kasim::scn {

namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '"')
      out += "\\\"";
    else
      out += c;
  }
  return out + "\"";
}

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string show_addr(const std::optional<uint64_t>& a) { return a ? hex(*a) : "NULL"; }

class Runner {
  struct WorkloadCtx;
  using WorldKey = World::AllocKey;

 public:
  Runner(Engine& e, World& w, const Scenario& sc, size_t max_spans, bool boot_only)
      : engine_(e), world_(w), sc_(sc), max_spans_(max_spans), boot_only_(boot_only) {
    world_.check_now = [this] { check_invariants_now(true); };
  }

  // Body of the boot LWP.
  void boot() {
    OpEnv env(world_, engine_);
    for (const BootStep& b : Registry::get().boot_steps()) b.run(env);
    for (const ObjectDecl& d : sc_.objects) {
      boot_where_ = &d.where;
      world_.add_object(d.name, d.spec->create(env, d));
    }
    boot_where_ = nullptr;
    booted_ = true;
    if (boot_only_) return;
    for (const ThreadDecl& td : sc_.threads)
      spawn_thread(td.name, td.cpu, [this, &td] {
        for (uint64_t r = 0; r < td.repeat; ++r)
          for (const Step& s : td.steps) exec(s);
      });
    for (const InterruptDecl& id : sc_.interrupts)
      engine_.add_interrupt(id.name, id.cpu, id.ipl, id.at, id.every, id.count, [this, &id] {
        for (const Step& s : id.steps) exec(s);
      });
    if (sc_.workload.present) start_workload();
  }

  // A scenario thread (an LWP of `threads` or of the workload). It starts
  // when boot has finished, on every CPU: not earlier on a CPU whose clock
  // boot left behind (boot runs on CPU 0 only).
  template <class F>
  void spawn_thread(const std::string& name, int cpu, F&& body) {
    Ctx* c = engine_.spawn_lwp(name, cpu, std::forward<F>(body));
    c->ready_at = engine_.now();
    world_.add_thread(name, c);
  }

  // The "workload" section: threads_per_cpu LWPs on every CPU and one
  // interrupt source per listed CPU, each drawing its ops from its own Rng.
  // The Rngs are seeded at boot, in a fixed order, from the run's workload
  // stream, so what a context draws never depends on how the others were
  // scheduled; only which live allocation a free picks does (it depends on
  // what is live), and that is a function of the recorded decisions.
  void start_workload() {
    const Workload& w = sc_.workload;
    Rng seeds(engine_.seed(), RngStream::workload);
    for (int cpu = 0; cpu < engine_.ncpu(); ++cpu)
      for (uint64_t k = 0; k < w.threads_per_cpu; ++k) {
        if (w.ops_per_thread == 0) break;
        auto ctx = std::make_shared<WorkloadCtx>(seeds.next(), w.mix);
        spawn_thread("w" + std::to_string(cpu) + "." + std::to_string(k), cpu, [this, ctx, &w] {
          for (uint64_t i = 0; i < w.ops_per_thread; ++i) run_drawn(*ctx);
        });
      }
    if (!w.interrupts) return;
    const WorkloadInterrupts& wi = *w.interrupts;
    for (int cpu : wi.cpus) {
      auto ctx = std::make_shared<WorkloadCtx>(seeds.next(), wi.mix);
      ctx->arrivals = Rng(seeds.next());
      ctx->last_arrival = engine_.now();
      std::vector<uint64_t> first;
      plan_arrivals(*ctx, wi, first, 0);
      IntrSource* src = engine_.add_interrupt(
          "wintr" + std::to_string(cpu), cpu, wi.ipl, first, 0, 0, [this, ctx, &wi] {
            // The engine reads the next arrival from `at` when this one
            // fires; top the list up from the handler. Without a count,
            // arrivals stop once the threads are done.
            if (wi.count != 0 || !user_lwps_finished())
              plan_arrivals(*ctx, wi, ctx->src->at, ctx->src->next_at);
            run_drawn(*ctx);
          });
      ctx->src = src;
    }
  }

  // Adds the scenario location to a finding as it is recorded.
  void annotate(Finding& f) {
    if (f.kind == "deadlock") return;  // nobody's step in particular
    const Ctx* c = engine_.cur();
    if (const Step* s = world_.current_step(c)) {
      f.where = s->where + " (" + s->op->name + ")";
      finding_step_ = s;
    } else if (boot_where_) {
      f.where = *boot_where_;
    }
  }

  const Step* finding_step() const { return finding_step_; }
  // Whether boot built everything (the boot steps and every object).
  bool booted() const { return booted_; }
  std::vector<Span>& spans() { return spans_; }
  uint64_t ops() const { return ops_; }

  // End of run: invariants once more, then leaks.
  void final_checks() {
    for (props::Problem& p : props::check_invariants(engine_, true)) {
      Finding f = engine_.make_finding(p.kind, p.message);
      f.where = "end of run";
      engine_.note_finding(std::move(f));
      return;
    }
    if (sc_.check.leaks && !world_.live().empty()) {
      std::string msg = std::to_string(world_.live().size()) +
                        " allocation(s) still live at the end of the run";
      Finding f = engine_.make_finding("leak", msg);
      f.where = "end of run";
      for (const auto& [key, size] : world_.live()) {
        if (f.details.size() == 20) {
          f.details.push_back("...");
          break;
        }
        const auto& [kind, object, addr] = key;
        f.details.push_back(kind + " " + object + " " + hex(addr) + " size " +
                            std::to_string(size));
      }
      engine_.note_finding(std::move(f));
    }
  }

 private:
  // Runs one step. From a workload context `wc`, with `pick` the step frees
  // a live allocation chosen now (after the scheduling point, so that the
  // choice sees what is live when the op runs); with none live it is skipped.
  void exec(const Step& s, WorkloadCtx* wc = nullptr, bool pick = false) {
    Ctx* self = engine_.cur();
    world_.set_current_step(self, &s);
    engine_.sched_point(engine_.costs().op);
    std::optional<WorldKey> picked;
    if (pick) {
      picked = pick_live(*wc, s);
      if (!picked) {
        world_.set_current_step(self, nullptr);
        return;
      }
      Step& ms = const_cast<Step&>(s);  // the context's own copy (WorkloadCtx::steps)
      for (size_t i = 0; i < ms.specs->size(); ++i)
        if ((*ms.specs)[i].name == s.op->addr_arg) {
          ms.values[i].u = std::get<2>(*picked);
          ms.values[i].present = true;
        }
      claimed_.insert(*picked);
    }
    const uint64_t op_id = hash_name(s.op->name);
    engine_.record(TraceKind::op_begin, op_id, s.index);
    const uint64_t begin = engine_.now();
    OpEnv env(world_, engine_);
    OpResult r = s.op->run(env, s);
    if (picked) claimed_.erase(*picked);
    if (wc && !s.op->allocates.empty() && r.addr && (!r.error || *r.error == 0))
      produced_by_[{s.op->allocates,
                    s.op->object_arg.empty() ? std::string() : s.str(s.op->object_arg), *r.addr}] =
          s.op->name;
    // What follows (expect, labels, live allocations, invariants) reads and
    // writes state shared by every thread without a primitive: for the model
    // checker's partial-order reduction, this step depends on every other.
    engine_.note_access(Access::any());
    engine_.record(TraceKind::op_end, op_id, s.index);
    if (spans_.size() < max_spans_)
      spans_.push_back({self->cpu, self->id, s.op, s.where, begin, engine_.now()});
    ++engine_.curcpu().ops;
    ++ops_;
    check_expect(s, r);
    if (s.as && r.has_addr) world_.bind(*s.as, r.addr);
    if (s.expect.contract)
      fail_expect(s, "expected a contract finding containing " + quote(*s.expect.contract) +
                         ", but the op returned normally");
    if (sc_.check.every != 0 && ops_ % sc_.check.every == 0)
      check_invariants_now(++checks_ % props::kFullCheckEvery == 0);
    world_.set_current_step(self, nullptr);
  }

  [[noreturn]] void fail_expect(const Step& s, const std::string& msg) {
    (void)s;
    engine_.fail(engine_.make_finding("expect", msg));
  }

  void check_expect(const Step& s, const OpResult& r) {
    const Expect& e = s.expect;
    if (e.error && r.error != e.error)
      fail_expect(s, "expected error " + std::string(errno_name(*e.error)) + ", got " +
                         (r.error ? std::string(errno_name(*r.error)) : "none"));
    if (e.addr && r.addr != e.addr)
      fail_expect(s, "expected addr " + hex(*e.addr) + ", got " + show_addr(r.addr));
    if (e.null && (!r.addr.has_value()) != *e.null)
      fail_expect(s, std::string("expected ") + (*e.null ? "NULL" : "a non-NULL result") +
                         ", got " + show_addr(r.addr));
    if (e.value && r.value != e.value)
      fail_expect(s, "expected value " + std::to_string(*e.value) + ", got " +
                         (r.value ? std::to_string(*r.value) : "none"));
    if (e.output && r.output != e.output)
      fail_expect(s, "expected output " + quote(*e.output) + ", got " +
                         (r.output ? quote(*r.output) : "none"));
    if (e.same_as) {
      uint64_t want = world_.resolve(*e.same_as);
      if (r.addr != want)
        fail_expect(s, "expected the same address as \"" + *e.same_as + "\" (" + hex(want) +
                           "), got " + show_addr(r.addr));
    }
    if (e.stats)
      for (const auto& [name, want] : *e.stats) {
        auto it = r.stats.find(name);
        if (it == r.stats.end()) {
          std::string have;
          for (const auto& [n, _] : r.stats) have += (have.empty() ? "" : ", ") + n;
          fail_expect(s, "no counter \"" + name + "\" (this object has: " + have + ")");
        }
        if (it->second != want)
          fail_expect(s, "expected " + name + " = " + std::to_string(want) + ", got " +
                             std::to_string(it->second));
      }
  }

  void check_invariants_now(bool full) {
    std::vector<props::Problem> problems = props::check_invariants(engine_, full);
    if (problems.empty()) return;
    Finding f = engine_.make_finding(problems.front().kind, problems.front().message);
    for (size_t i = 1; i < problems.size() && i <= 20; ++i)
      f.details.push_back(problems[i].kind + ": " + problems[i].message);
    engine_.fail(std::move(f));
  }

  struct WorkloadCtx {
    WorkloadCtx(uint64_t seed, const Mix& m) : rng(seed), mix(&m) {
      for (const MixEntry& e : m.entries) steps.push_back(e.step);
    }
    Rng rng;
    const Mix* mix;
    std::vector<Step> steps;  // this context's copy of each entry (drawn values)
    // Interrupt sources: arrival times, planned ahead.
    Rng arrivals;
    IntrSource* src = nullptr;
    uint64_t last_arrival = 0;
    uint64_t planned = 0;
  };

  // Keeps kArrivalsAhead arrivals planned past the next one, so the engine
  // always has the next firing to schedule. Intervals are uniform in
  // [1, 2 * mean - 1] (mean `mean_interval_ns`, integer arithmetic). Without
  // a count, planning stops once every user LWP has finished.
  static constexpr size_t kArrivalsAhead = 64;
  void plan_arrivals(WorkloadCtx& c, const WorkloadInterrupts& wi, std::vector<uint64_t>& at,
                     size_t next) {
    while (at.size() - std::min(at.size(), next) < kArrivalsAhead &&
           (wi.count == 0 || c.planned < wi.count)) {
      const uint64_t mean = wi.mean_interval_ns;
      c.last_arrival += mean <= 1 ? 1 : c.arrivals.range(1, 2 * mean - 1);
      at.push_back(c.last_arrival);
      ++c.planned;
    }
  }

  bool user_lwps_finished() const {
    for (const auto& l : engine_.lwps())
      if (!l->system && l->state != CtxState::finished && l.get() != engine_.cur()) return false;
    return true;
  }

  // One drawn op: an entry by weight, its ranged arguments, then the op.
  void run_drawn(WorkloadCtx& c) {
    const Mix& m = *c.mix;
    uint64_t r = c.rng.below(m.total_weight);
    size_t i = 0;
    while (r >= m.entries[i].weight) r -= m.entries[i++].weight;
    const MixEntry& e = m.entries[i];
    Step& s = c.steps[i];
    for (const ArgRange& ar : e.ranges) {
      s.values[ar.index].u = c.rng.range(ar.min, ar.max);
      s.values[ar.index].present = true;
    }
    exec(s, &c, e.pick_live);
  }

  // A workload free: a random live allocation of the op's kind, on the same
  // object, made by a workload op it pairs with, that no other free is busy
  // with. nullopt if there is none.
  std::optional<WorldKey> pick_live(WorkloadCtx& c, const Step& s) {
    const OpSpec& op = *s.op;
    const std::string owner = op.object_arg.empty() ? std::string() : s.str(op.object_arg);
    std::vector<WorldKey> candidates;
    for (const auto& [key, size] : world_.live()) {
      const auto& [kind, object, addr] = key;
      if (kind != op.frees || (!op.object_arg.empty() && object != owner)) continue;
      if (claimed_.count(key)) continue;
      auto p = produced_by_.find(key);
      if (p == produced_by_.end()) continue;  // not a workload allocation
      if (!op.pairs_with.empty() &&
          std::find(op.pairs_with.begin(), op.pairs_with.end(), p->second) == op.pairs_with.end())
        continue;
      candidates.push_back(key);
    }
    if (candidates.empty()) return std::nullopt;
    return candidates[c.rng.below(candidates.size())];
  }

  std::set<WorldKey> claimed_;                    // being freed by a workload op
  std::map<WorldKey, std::string> produced_by_;   // workload allocations -> the op

  Engine& engine_;
  World& world_;
  const Scenario& sc_;
  const std::string* boot_where_ = nullptr;
  bool booted_ = false;
  const Step* finding_step_ = nullptr;
  uint64_t ops_ = 0;
  uint64_t checks_ = 0;
  size_t max_spans_ = 0;
  bool boot_only_ = false;
  std::vector<Span> spans_;
};

// A run whose boot deadlocked (it sleeps for memory nobody will free) says
// nothing about the allocators: the scenario asks for more than its machine
// has. That is bad input (ScenarioError), named at the object boot was
// creating. With a canary or fault injection on, it stays a finding.
void refuse_machine_too_small(const Scenario& sc, const RunOptions& opt, const RunReport& rep) {
  if (rep.findings.empty() || !opt.canary.empty() || rep.faults.enabled) return;
  const Finding& f = rep.findings.front();
  if (f.kind != "deadlock") return;
  const MachineConfig& m = sc.machine;
  const std::string machine = std::to_string(m.phys_pages) + " physical pages and " +
                              std::to_string(m.kva_pages) + " kernel VA pages of " +
                              std::to_string(m.page_size) + " bytes";
  if (f.where.empty())
    throw ScenarioError({sc.file + ": /machine: too small to boot (boot sleeps for memory that "
                                   "never comes): " + machine});
  throw ScenarioError({sc.file + ": " + f.where + ": boot cannot create this object (it sleeps "
                                                  "for memory that never comes) on a machine of " +
                       machine});
}

void decide_verdict(const Scenario& sc, RunReport& rep) {
  const bool found = !rep.findings.empty();
  const Finding* f = found ? &rep.findings.front() : nullptr;
  if (rep.outcome == Outcome::diverged) {
    rep.verdict = "replay diverged: " + rep.stop_reason;
    rep.exit_code = 3;
  } else if (sc.expect_finding) {
    if (f && f->kind == sc.expect_kind) {
      rep.verdict = "expected finding occurred: " + f->kind;
      rep.exit_code = 0;
    } else if (f) {
      rep.verdict = "finding " + f->kind + " (the scenario expects " + sc.expect_kind + ")";
      rep.exit_code = 1;
    } else {
      rep.verdict = "expected finding " + sc.expect_kind + " did not occur";
      rep.exit_code = 1;
    }
  } else if (!f) {
    rep.verdict = "all held";
    rep.exit_code = 0;
  } else if (rep.expected_contract) {
    rep.verdict = "expected contract finding occurred";
    rep.exit_code = 0;
  } else {
    rep.verdict = "finding: " + f->kind;
    rep.exit_code = 1;
  }
}

}  // namespace

void check_boots(const Scenario& sc) {
  RunOptions opt;
  opt.boot_only = true;
  const RunReport rep = run_scenario(sc, opt);
  if (rep.findings.empty() || sc.expect_finding) return;
  const Finding& f = rep.findings.front();
  throw ScenarioError({sc.file + ": " + (f.where.empty() ? "/machine" : f.where) +
                       ": boot fails: " + f.kind + ": " + f.message});
}

RunReport run_scenario(const Scenario& file_sc, const RunOptions& opt) {
  RunReport rep;
  rep.name = file_sc.name;
  rep.seed = opt.seed.value_or(file_sc.seed);
  // A swarm scenario's machine and objects come from the seed.
  if (!file_sc.swarm.empty())
    rep.drawn = std::make_shared<const Scenario>(draw_swarm(file_sc, rep.seed, &rep.swarm));
  const Scenario& sc = rep.drawn ? *rep.drawn : file_sc;
  rep.strategy = opt.replay ? "replay" : opt.strategy;
  std::unique_ptr<Strategy> strategy;
  if (opt.replay) {
    strategy = std::make_unique<ReplayStrategy>(*opt.replay);
  } else if (opt.strategy_factory) {
    strategy = opt.strategy_factory();
    rep.strategy = strategy->name();
  } else {
    strategy = make_strategy(opt.strategy, rep.seed);
  }
  rep.limits = sc.limits;
  if (opt.max_steps) rep.limits.max_steps = *opt.max_steps;

  rep.canary = opt.canary;
  rep.faults = opt.faults.enabled || !sc.faults ? opt.faults : *sc.faults;
  Engine engine(sc.machine, std::move(strategy), rep.seed, rep.limits, rep.faults);
  engine.with_current([&] { kasim_set_canary(opt.canary); });
  World world(engine, sc);
  Runner runner(engine, world, sc, opt.timeline_spans, opt.boot_only);
  engine.set_finding_annotator([&runner](Finding& f) { runner.annotate(f); });
  engine.spawn_lwp("boot", 0, [&runner] { runner.boot(); });
  if (opt.poll) engine.set_poll(opt.poll);
  rep.outcome = engine.run();
  rep.limits = engine.limits();
  rep.stopped_by_poll = engine.stopped_by_poll();
  if (opt.replay && rep.outcome != Outcome::diverged) {
    // A replay must use every recorded decision: one left over means the
    // program now runs differently (fewer choices) than when it was recorded.
    auto& replay = static_cast<ReplayStrategy&>(engine.strategy());
    if (replay.consumed() < replay.recorded()) {
      rep.outcome = Outcome::diverged;
      rep.stop_reason = "the run ended after " + std::to_string(replay.consumed()) + " of the " +
                        std::to_string(replay.recorded()) + " recorded decisions";
    }
  }
  if (rep.outcome == Outcome::completed) engine.with_current([&] { runner.final_checks(); });
  if (rep.outcome == Outcome::completed && !engine.findings().empty())
    rep.outcome = Outcome::finding;

  rep.findings = engine.findings();
  if (!runner.booted()) refuse_machine_too_small(sc, opt, rep);
  if (!rep.findings.empty() && rep.findings.front().kind == "contract" && runner.finding_step()) {
    const auto& want = runner.finding_step()->expect.contract;
    rep.expected_contract =
        want && rep.findings.front().message.find(*want) != std::string::npos;
  }
  rep.trace_hash = engine.trace_hash();
  rep.steps = engine.steps();
  rep.ops = runner.ops();
  rep.sim_time = engine.sim_time();
  for (const Cpu& c : engine.cpus())
    rep.cpus.push_back({c.index, c.clock, c.busy_ns, c.ops, c.intrs});
  rep.messages = engine.messages();
  rep.decisions = engine.decisions();
  if (rep.stop_reason.empty()) rep.stop_reason = engine.stop_reason();
  rep.live_allocations = world.live().size();
  engine.with_current([&] { rep.marks = kasim_marks_reached(); });
  rep.context_names = engine.context_names();
  rep.spans = std::move(runner.spans());
  std::vector<TraceRecord> tail = engine.trace().tail();
  if (tail.size() > opt.trace_tail) tail.erase(tail.begin(), tail.end() - static_cast<long>(opt.trace_tail));
  rep.trace_tail = std::move(tail);
  decide_verdict(sc, rep);
  return rep;
}

}  // namespace kasim::scn
