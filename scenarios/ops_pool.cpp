// Scenario ops, objects and flags for pool(9) (SCENARIO-FORMAT.md): pool_get,
// pool_put, pool_prime, pool_setlowat, pool_sethiwat, pool_sethardlimit,
// pool_reclaim, pool_drain; objects of type "pool"; the "PR" flag domain. The
// pool subsystem (allocators, phpools, the page daemon's pool_drain hook) comes
// up with the first pool, so scenarios without pools run exactly as before.
#include <map>
#include <string>

#include "allocators/pool/pool.h"
#include "scenarios/ops_pool_common.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"
#include "scenarios/world.h"
#include "sim/engine.h"
#include "sim/kernel.h"

namespace kasim::scn {
namespace {

ObjectHandle make_pool(OpEnv&, const ObjectDecl& d) {
  // No allocator named: pool_allocator_kmem, the default of this object type.
  pool_allocator* pa = pool_allocator_named(d.str("allocator"), d.u64("size"));
  if (pa == nullptr) pa = pool_allocator_kmem_get();
  pool* pp = kasim_pool_new();
  pool_init(pp, d.u64("size"), static_cast<unsigned>(d.u64("align")), 0,
            static_cast<int>(d.flags("flags")), d.name.c_str(), pa, d.ipl("ipl"));
  if (d.has("hardlimit")) {
    const std::string& msg = d.str("hardlimit_warning");
    pool_sethardlimit(pp, static_cast<int>(d.u64("hardlimit")), msg.empty() ? nullptr : msg.c_str(),
                      static_cast<int>(d.u64("hardlimit_ratecap")));
  }
  if (d.has("hiwat")) pool_sethiwat(pp, static_cast<int>(d.u64("hiwat")));
  if (d.has("lowat")) pool_setlowat(pp, static_cast<int>(d.u64("lowat")));
  if (d.has("prime")) pool_prime(pp, static_cast<int>(d.u64("prime")));
  // The pool belongs to the machine (pool_globals keeps its storage).
  return {"pool", pp, nullptr};
}

std::map<std::string, uint64_t> pool_stats(void* p) {
  const pool* pp = static_cast<const pool*>(p);
  return {{"pr_nget", pp->pr_nget},
          {"pr_nput", pp->pr_nput},
          {"pr_nfail", pp->pr_nfail},
          {"pr_npages", pp->pr_npages},
          {"pr_nitems", pp->pr_nitems},
          {"pr_nout", pp->pr_nout},
          {"pr_nidle", pp->pr_nidle},
          {"pr_hiwat", pp->pr_hiwat},
          {"pr_minitems", pp->pr_minitems},
          {"pr_minpages", pp->pr_minpages},
          {"pr_maxpages", pp->pr_maxpages},
          {"pr_maxitems", pp->pr_maxitems},
          {"pr_hardlimit", pp->pr_hardlimit},
          {"pr_itemsperpage", pp->pr_itemsperpage},
          {"pr_npagealloc", pp->pr_npagealloc},
          {"pr_npagefree", pp->pr_npagefree},
          {"pr_size", pp->pr_size},
          {"pr_align", pp->pr_align},
          {"pr_itemoffset", pp->pr_itemoffset},
          {"pr_maxcolor", pp->pr_maxcolor},
          {"pr_roflags", static_cast<uint64_t>(pp->pr_roflags)},
          // kasim's own counters
          {"nhardwait", pp->pr_nhardwait},
          {"ngrowwait", pp->pr_ngrowwait},
          {"nwarn", pp->pr_nwarn}};
}

}  // namespace

KASIM_REGISTER(pool_ops) {
  reg.flags("PR", {{"PR_WAITOK", PR_WAITOK},
                   {"PR_NOWAIT", PR_NOWAIT},
                   {"PR_PHINPAGE", PR_PHINPAGE},
                   {"PR_LIMITFAIL", PR_LIMITFAIL},
                   {"PR_RECURSIVE", PR_RECURSIVE},
                   {"PR_NOTOUCH", PR_NOTOUCH},
                   {"PR_NOALIGN", PR_NOALIGN},
                   {"PR_LARGECACHE", PR_LARGECACHE},
                   {"PR_ZERO", PR_ZERO},
                   {"PR_PSERIALIZE", PR_PSERIALIZE}});

  reg.object({.type = "pool",
              .fields = pool_init_fields({"kmem", "meta", "nointr", "big"}),
              .create = make_pool,
              .stats = pool_stats,
              .validate = validate_pool_item});

  reg.op({.name = "pool_get",
          .args = {arg_object("pool", {"pool"}), arg_flags("flags", "PR")},
          .results = R_ADDR,
          .run = [](OpEnv& env, const Step& s) {
            pool* pp = env.object<pool>(s, "pool");
            const vaddr_t v = pool_get(pp, static_cast<int>(s.flags("flags")));
            if (v == 0) return OpResult::with_addr(std::nullopt);
            env.track_alloc("pool", s.str("pool"), v, pp->pr_size);
            return OpResult::with_addr(v);
          },
          .help = "pool_get(pool, flags): an item, or NULL",
          .allocates = "pool",
          .object_arg = "pool"});

  reg.op({.name = "pool_put",
          .args = {arg_object("pool", {"pool"}), arg_u64("addr"), arg_label("ref")},
          .validate = need_addr_or_ref,
          .run = [](OpEnv& env, const Step& s) {
            const uint64_t v = env.addr_or_ref(s, "addr");
            // Untracked before the put: the item may be handed out again
            // (and tracked by its new owner) before pool_put returns.
            env.track_free("pool", s.str("pool"), v);
            pool_put(env.object<pool>(s, "pool"), v);
            return OpResult::none();
          },
          .help = "pool_put(pool, addr or ref)",
          .frees = "pool",
          .pairs_with = {"pool_get"},
          .object_arg = "pool"});

  reg.op({.name = "pool_prime",
          .args = {arg_object("pool", {"pool"}), arg_u64("n", true, 0, kMaxInt)},
          .run = [](OpEnv& env, const Step& s) {
            pool_prime(env.object<pool>(s, "pool"), to_int(s.u64("n")));
            return OpResult::none();
          },
          .help = "pool_prime(pool, n): minpages = ceil(n/ipp), grow (PR_WAITOK) to it"});

  reg.op({.name = "pool_setlowat",
          .args = {arg_object("pool", {"pool"}), arg_u64("n", true, 0, kMaxInt)},
          .run = [](OpEnv& env, const Step& s) {
            pool_setlowat(env.object<pool>(s, "pool"), to_int(s.u64("n")));
            return OpResult::none();
          },
          .help = "pool_setlowat(pool, n): minitems = n, minpages = ceil(n/ipp); catch up"});

  reg.op({.name = "pool_sethiwat",
          .args = {arg_object("pool", {"pool"}), arg_u64("n", true, 0, kMaxInt)},
          .run = [](OpEnv& env, const Step& s) {
            pool_sethiwat(env.object<pool>(s, "pool"), to_int(s.u64("n")));
            return OpResult::none();
          },
          .help = "pool_sethiwat(pool, n): maxpages = ceil(n/ipp) (0 for n = 0)"});

  reg.op({.name = "pool_sethardlimit",
          .args = {arg_object("pool", {"pool"}), arg_u64("n", true, 0, kMaxInt), arg_string("warning"),
                   arg_u64("ratecap", false, 0, kMaxInt)},
          .results = R_ERROR,
          .run = [](OpEnv& env, const Step& s) {
            const std::string& w = s.str("warning");
            return OpResult::with_error(pool_sethardlimit(env.object<pool>(s, "pool"),
                                                          to_int(s.u64("n")),
                                                          w.empty() ? nullptr : w.c_str(),
                                                          to_int(s.u64("ratecap"))));
          },
          .help = "pool_sethardlimit(pool, n, warning, ratecap seconds); EINVAL below nout"});

  reg.op({.name = "pool_reclaim",
          .args = {arg_object("pool", {"pool"})},
          .results = R_VALUE,
          .run = [](OpEnv& env, const Step& s) {
            return OpResult::with_value(
                static_cast<uint64_t>(pool_reclaim(env.object<pool>(s, "pool"))));
          },
          .help = "pool_reclaim(pool): free pages idle >= 10 s; 1 if any was freed"});

  reg.op({.name = "pool_drain",
          .args = {},
          .results = R_VALUE,
          .run = [](OpEnv&, const Step&) {
            return OpResult::with_value(pool_drain(nullptr) ? 1 : 0);
          },
          .help = "pool_drain(NULL): reclaim the next pool in round-robin order"});
}

}  // namespace kasim::scn
