// Scenario ops and objects for pool_cache(9) (SCENARIO-FORMAT.md): objects of
// type "pool_cache" (every "pool" field, plus ctor, dtor, ctor_fails_every);
// ops pool_cache_get, pool_cache_put, pool_cache_invalidate, and the additions
// pool_cache_destroy, pool_cache_reclaim, pool_cache_setlowat,
// pool_cache_sethiwat, pool_cache_sethardlimit, pool_cache_prime and
// pool_cache_destruct_object (docs/scenario-format.md). "stats" on a cache
// gives the pool's counters, the cache's summed over CPUs, each CPU's as
// cpuN.cc_*, and the ctor/dtor counts.
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "allocators/pool_cache/pool_cache.h"
#include "scenarios/ops_pool_common.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"
#include "scenarios/world.h"
#include "sim/kernel.h"

namespace kasim::scn {
namespace {

// What a scenario's ctor and dtor do: count, and fail every n-th ctor call.
struct ScnCtorState {
  uint64_t ctor_fails_every = 0;
  uint64_t ctor_calls = 0, ctor_failed = 0, dtor_calls = 0;
};

// The states live as long as the machine (the cache may outlive the world),
// found by their cache (a lookup, never iterated).
struct ScnCtorStates {
  std::vector<std::unique_ptr<ScnCtorState>> all;
  std::unordered_map<const pool_cache*, const ScnCtorState*> by_cache;
};

int scn_ctor(void* arg, vaddr_t, int) {
  auto* st = static_cast<ScnCtorState*>(arg);
  st->ctor_calls++;
  if (st->ctor_fails_every != 0 && st->ctor_calls % st->ctor_fails_every == 0) {
    st->ctor_failed++;
    return 1;
  }
  return 0;
}

void scn_dtor(void* arg, vaddr_t) { static_cast<ScnCtorState*>(arg)->dtor_calls++; }

ObjectHandle make_pool_cache(OpEnv&, const ObjectDecl& d) {
  // No allocator named (or "default"): NULL, and pool_cache_init chooses, as
  // it does for NetBSD's callers that pass NULL.
  pool_allocator* pa = pool_allocator_named(d.str("allocator"), d.u64("size"));
  auto& states = machine_local<ScnCtorStates>();
  states.all.push_back(std::make_unique<ScnCtorState>());
  ScnCtorState* st = states.all.back().get();
  st->ctor_fails_every = d.u64("ctor_fails_every");
  const bool ctor = d.u64("ctor") != 0 || st->ctor_fails_every != 0;
  pool_cache* pc = pool_cache_init(d.u64("size"), static_cast<unsigned>(d.u64("align")), 0,
                                   static_cast<int>(d.flags("flags")), d.name.c_str(), pa,
                                   d.ipl("ipl"), ctor ? scn_ctor : nullptr,
                                   d.u64("dtor") != 0 ? scn_dtor : nullptr, st);
  if (d.has("hardlimit")) {
    const std::string& msg = d.str("hardlimit_warning");
    pool_cache_sethardlimit(pc, static_cast<int>(d.u64("hardlimit")),
                            msg.empty() ? nullptr : msg.c_str(),
                            static_cast<int>(d.u64("hardlimit_ratecap")));
  }
  if (d.has("hiwat")) pool_cache_sethiwat(pc, static_cast<int>(d.u64("hiwat")));
  if (d.has("lowat")) pool_cache_setlowat(pc, static_cast<int>(d.u64("lowat")));
  if (d.has("prime")) pool_cache_prime(pc, static_cast<int>(d.u64("prime")));
  states.by_cache[pc] = st;
  return {"pool_cache", pc, nullptr};
}

// The counters of any pool_cache (the caches boot makes report these too):
// the backing pool's, the per-CPU ones summed and per CPU, the cache's own,
// and for a scenario's cache its ctor/dtor's counts.
std::map<std::string, uint64_t> pool_cache_stats(void* p) {
  const pool_cache* pc = static_cast<const pool_cache*>(p);
  // The backing pool's counters, as "stats" on a pool gives them.
  std::map<std::string, uint64_t> st = Registry::get().find_object("pool")->stats(
      const_cast<pool*>(&pc->pc_pool));
  uint64_t hits = 0, misses = 0, pcmisses = 0, contended = 0;
  int64_t nfull = 0, npart = 0;
  for (size_t i = 0; i < pc->pc_cpus.size(); i++) {
    const pool_cache_cpu_t* cc = pc->pc_cpus[i].get();
    const std::string c = "cpu" + std::to_string(i) + ".";
    st[c + "cc_hits"] = cc->cc_hits;
    st[c + "cc_misses"] = cc->cc_misses;
    st[c + "cc_pcmisses"] = cc->cc_pcmisses;
    st[c + "cc_contended"] = cc->cc_contended;
    st[c + "cc_current_avail"] = cc->cc_current->pcg_avail;
    st[c + "cc_previous_avail"] = cc->cc_previous->pcg_avail;
    hits += cc->cc_hits;
    misses += cc->cc_misses;
    pcmisses += cc->cc_pcmisses;
    contended += cc->cc_contended;
    nfull += cc->cc_nfull;
    npart += cc->cc_npart;
  }
  st["cc_hits"] = hits;
  st["cc_misses"] = misses;
  st["cc_pcmisses"] = pcmisses;
  st["cc_contended"] = contended;
  st["cc_nfull"] = static_cast<uint64_t>(nfull);
  st["cc_npart"] = static_cast<uint64_t>(npart);
  st["pc_pcgsize"] = pc->pc_pcgsize;
  st["pc_ncached"] = pool_cache_nobjects(pc);  // Σ avail over every group
  st["pc_nctor"] = pc->pc_nctor;
  st["pc_nctorfail"] = pc->pc_nctorfail;
  st["pc_ndtor"] = pc->pc_ndtor;
  st["pc_ninvalidate"] = pc->pc_ninvalidate;
  st["pc_ntransfer"] = pc->pc_ntransfer;
  const auto& by_cache = machine_local<ScnCtorStates>().by_cache;
  if (auto it = by_cache.find(pc); it != by_cache.end()) {
    st["ctor_calls"] = it->second->ctor_calls;
    st["ctor_failed"] = it->second->ctor_failed;
    st["dtor_calls"] = it->second->dtor_calls;
  }
  return st;
}

pool_cache* cache_of(OpEnv& env, const Step& s) { return env.object<pool_cache>(s, "cache"); }

// pool_init's fields, and the constructor and destructor kasim provides.
std::vector<ArgSpec> pool_cache_fields() {
  std::vector<ArgSpec> f = pool_init_fields({"kmem", "meta", "nointr", "big", "default"});
  f.push_back(arg_bool("ctor"));
  f.push_back(arg_bool("dtor"));
  f.push_back(arg_u64("ctor_fails_every"));
  return f;
}

// An op on a cache taking one count `n`.
OpSpec count_op(const char* name, void (*fn)(pool_cache_t, int), const char* help) {
  return {.name = name,
          .args = {arg_object("cache", {"pool_cache"}), arg_u64("n", true, 0, kMaxInt)},
          .run = [fn](OpEnv& env, const Step& s) {
            fn(cache_of(env, s), to_int(s.u64("n")));
            return OpResult::none();
          },
          .help = help};
}

}  // namespace

KASIM_REGISTER(pool_cache_ops) {
  reg.object({.type = "pool_cache",
              .fields = pool_cache_fields(),
              .create = make_pool_cache,
              .stats = pool_cache_stats,
              .validate = validate_pool_item});

  reg.op({.name = "pool_cache_get",
          .args = {arg_object("cache", {"pool_cache"}), arg_flags("flags", "PR")},
          .results = R_ADDR,
          .run = [](OpEnv& env, const Step& s) {
            pool_cache* pc = cache_of(env, s);
            const vaddr_t v = pool_cache_get(pc, static_cast<int>(s.flags("flags")));
            if (v == 0) return OpResult::with_addr(std::nullopt);
            env.track_alloc("pool_cache", s.str("cache"), v, pc->pc_pool.pr_size);
            return OpResult::with_addr(v);
          },
          .help = "pool_cache_get(cache, flags): a constructed object, or NULL",
          .allocates = "pool_cache",
          .object_arg = "cache"});

  reg.op({.name = "pool_cache_put",
          .args = {arg_object("cache", {"pool_cache"}), arg_u64("addr"), arg_label("ref")},
          .validate = need_addr_or_ref,
          .run = [](OpEnv& env, const Step& s) {
            const uint64_t v = env.addr_or_ref(s, "addr");
            // Untracked first: once the object is back in a group another CPU
            // may get it (and track it) before this op returns.
            env.track_free("pool_cache", s.str("cache"), v);
            pool_cache_put(cache_of(env, s), v);
            return OpResult::none();
          },
          .help = "pool_cache_put(cache, addr or ref)",
          .frees = "pool_cache",
          .object_arg = "cache"});

  reg.op({.name = "pool_cache_destruct_object",
          .args = {arg_object("cache", {"pool_cache"}), arg_u64("addr"), arg_label("ref")},
          .validate = need_addr_or_ref,
          .run = [](OpEnv& env, const Step& s) {
            const uint64_t v = env.addr_or_ref(s, "addr");
            // Untracked first: once the object is back in a group another CPU
            // may get it (and track it) before this op returns.
            env.track_free("pool_cache", s.str("cache"), v);
            pool_cache_destruct_object(cache_of(env, s), v);
            return OpResult::none();
          },
          .help = "pool_cache_destruct_object(cache, addr or ref): dtor, then pool_put",
          .frees = "pool_cache",
          .object_arg = "cache"});

  reg.op({.name = "pool_cache_invalidate",
          .args = {arg_object("cache", {"pool_cache"})},
          .run = [](OpEnv& env, const Step& s) {
            pool_cache_invalidate(cache_of(env, s));
            return OpResult::none();
          },
          .help = "pool_cache_invalidate(cache): every CPU's groups (by xcall) and the global "
                  "lists are destructed back to the pool"});

  reg.op({.name = "pool_cache_destroy",
          .args = {arg_object("cache", {"pool_cache"})},
          .run = [](OpEnv& env, const Step& s) {
            pool_cache_destroy(cache_of(env, s));
            return OpResult::none();
          },
          .help = "pool_cache_destroy(cache): invalidate, then pool_destroy (no object out)"});

  reg.op({.name = "pool_cache_reclaim",
          .args = {arg_object("cache", {"pool_cache"})},
          .results = R_VALUE,
          .run = [](OpEnv& env, const Step& s) {
            return OpResult::with_value(static_cast<uint64_t>(pool_cache_reclaim(cache_of(env, s))));
          },
          .help = "pool_cache_reclaim(cache): invalidate, then free idle pages; 1 if any"});

  reg.op(count_op("pool_cache_setlowat", pool_cache_setlowat, "pool_cache_setlowat(cache, n)"));
  reg.op(count_op("pool_cache_sethiwat", pool_cache_sethiwat, "pool_cache_sethiwat(cache, n)"));
  reg.op(count_op("pool_cache_prime", pool_cache_prime, "pool_cache_prime(cache, n)"));

  reg.op({.name = "pool_cache_sethardlimit",
          .args = {arg_object("cache", {"pool_cache"}), arg_u64("n", true, 0, kMaxInt), arg_string("warning"),
                   arg_u64("ratecap", false, 0, kMaxInt)},
          .run = [](OpEnv& env, const Step& s) {
            const std::string& w = s.str("warning");
            pool_cache_sethardlimit(cache_of(env, s), to_int(s.u64("n")),
                                    w.empty() ? nullptr : w.c_str(), to_int(s.u64("ratecap")));
            return OpResult::none();
          },
          .help = "pool_cache_sethardlimit(cache, n, warning, ratecap seconds)"});
}

}  // namespace kasim::scn
