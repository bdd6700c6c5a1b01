// Ops that belong to the machine rather than to an allocator: time, SPL,
// invariant checks, counters, signals, and kernel locks (mutex and condvar
// objects) for scenarios that exercise the machine itself.
#include <memory>

#include "scenarios/registry.h"
#include "scenarios/scenario.h"
#include "scenarios/world.h"
#include "sim/engine.h"
#include "sim/kernel.h"

namespace kasim::scn {
namespace {

ObjectHandle make_mutex(OpEnv&, const ObjectDecl& d) {
  auto m = std::make_shared<kmutex>();
  const std::string& kind = d.str("kind");
  kmutex_type_t type = kind == "spin" ? MUTEX_SPIN : kind == "adaptive" ? MUTEX_ADAPTIVE
                                                                         : MUTEX_DEFAULT;
  mutex_init(m.get(), type, d.ipl("ipl"));
  mutex_set_name(m.get(), d.name);
  return {"mutex", m.get(), m};
}

ObjectHandle make_condvar(OpEnv&, const ObjectDecl& d) {
  auto cv = std::make_shared<kcondvar>();
  cv_init(cv.get(), d.name.c_str());
  return {"condvar", cv.get(), cv};
}

OpResult run_check(OpEnv& env, const Step&) {
  env.world().check_now();
  return OpResult::none();
}

}  // namespace

KASIM_REGISTER(builtin_ops) {
  reg.object({.type = "mutex",
              .fields = {arg_ipl("ipl", IPL_NONE),
                         arg_choice("kind", {"default", "spin", "adaptive"}, "default")},
              .create = make_mutex,
              .stats = [](void* p) -> std::map<std::string, uint64_t> {
                auto* m = static_cast<kmutex*>(p);
                return {{"mtx_nenter", m->nenter}, {"mtx_ncontended", m->ncontended}};
              }});
  reg.object({.type = "condvar",
              .fields = {},
              .create = make_condvar,
              .stats = [](void* p) -> std::map<std::string, uint64_t> {
                auto* cv = static_cast<kcondvar*>(p);
                return {{"cv_nwait", cv->nwait},
                        {"cv_nsignal", cv->nsignal},
                        {"cv_nbroadcast", cv->nbroadcast}};
              }});

  reg.op({.name = "delay",
          .args = {arg_u64("ns", true)},
          .run = [](OpEnv&, const Step& s) {
            delay_ns(s.u64("ns"));
            return OpResult::none();
          },
          .help = "spend simulated time on this CPU (a busy wait)"});

  reg.op({.name = "spl",
          .args = {[] {
            ArgSpec a = arg_ipl("ipl");
            a.required = true;
            return a;
          }()},
          .run = [](OpEnv& env, const Step& s) {
            int old = splraise(s.ipl("ipl"));
            env.world().spl_stack[env.engine().cur()].push_back(old);
            return OpResult::none();
          },
          .help = "raise the SPL to ipl (never lowers), remembering the previous level"});

  reg.op({.name = "splx",
          .args = {},
          .run = [](OpEnv& env, const Step&) {
            auto& stack = env.world().spl_stack[env.engine().cur()];
            if (stack.empty()) panic("splx: no spl step to restore (splx without spl)");
            int s = stack.back();
            stack.pop_back();
            splx(s);
            return OpResult::none();
          },
          .help = "restore the SPL saved by the matching spl step"});

  reg.op({.name = "check", .args = {}, .run = run_check, .help = "run every invariant now"});

  reg.op({.name = "stats",
          .args = {arg_object("object", {})},
          .results = R_STATS,
          .run = [](OpEnv& env, const Step& s) {
            ObjectHandle* h = env.world().find_object(s.str("object"));
            // A system object that exists only on some machines (a kmem cache
            // this coherency unit skips, a quantum cache of another page size).
            if (h == nullptr)
              kasim_finding("scenario", "stats: there is no object \"%s\" on this machine",
                            s.str("object").c_str());
            const ObjectSpec* spec = Registry::get().find_object(h->type);
            OpResult r;
            if (spec && spec->stats) r.stats = spec->stats(h->ptr);
            return r;
          },
          .help = "the counters NetBSD keeps for an object, under NetBSD's names"});

  reg.op({.name = "lwp_signal",
          .args = {arg_thread("thread")},
          .run = [](OpEnv& env, const Step& s) {
            env.engine().signal_lwp(env.world().thread(s.str("thread")));
            delay_ns(0);
            return OpResult::none();
          },
          .help = "interrupt that thread's interruptible sleep, as a signal would"});

  // Kernel locks, for scenarios about the machine itself.
  reg.op({.name = "mutex_enter",
          .args = {arg_object("mutex", {"mutex"})},
          .run = [](OpEnv& env, const Step& s) {
            mutex_enter(env.object<kmutex>(s, "mutex"));
            return OpResult::none();
          }});
  reg.op({.name = "mutex_exit",
          .args = {arg_object("mutex", {"mutex"})},
          .run = [](OpEnv& env, const Step& s) {
            mutex_exit(env.object<kmutex>(s, "mutex"));
            return OpResult::none();
          }});
  reg.op({.name = "mutex_tryenter",
          .args = {arg_object("mutex", {"mutex"})},
          .results = R_VALUE,
          .run = [](OpEnv& env, const Step& s) {
            return OpResult::with_value(
                static_cast<uint64_t>(mutex_tryenter(env.object<kmutex>(s, "mutex"))));
          }});
  reg.op({.name = "cv_wait",
          .args = {arg_object("cv", {"condvar"}), arg_object("mutex", {"mutex"})},
          .run = [](OpEnv& env, const Step& s) {
            cv_wait(env.object<kcondvar>(s, "cv"), env.object<kmutex>(s, "mutex"));
            return OpResult::none();
          }});
  reg.op({.name = "cv_wait_sig",
          .args = {arg_object("cv", {"condvar"}), arg_object("mutex", {"mutex"})},
          .results = R_ERROR,
          .run = [](OpEnv& env, const Step& s) {
            return OpResult::with_error(
                cv_wait_sig(env.object<kcondvar>(s, "cv"), env.object<kmutex>(s, "mutex")));
          }});
  reg.op({.name = "cv_timedwait",
          .args = {arg_object("cv", {"condvar"}), arg_object("mutex", {"mutex"}),
                   arg_u64("ns", true), arg_bool("intr", false)},
          .results = R_ERROR,
          .run = [](OpEnv& env, const Step& s) {
            return OpResult::with_error(cv_timedwait_ns(env.object<kcondvar>(s, "cv"),
                                                        env.object<kmutex>(s, "mutex"),
                                                        s.u64("ns"), s.boolean("intr")));
          }});
  reg.op({.name = "cv_signal",
          .args = {arg_object("cv", {"condvar"})},
          .run = [](OpEnv& env, const Step& s) {
            cv_signal(env.object<kcondvar>(s, "cv"));
            return OpResult::none();
          }});
  reg.op({.name = "cv_broadcast",
          .args = {arg_object("cv", {"condvar"})},
          .run = [](OpEnv& env, const Step& s) {
            cv_broadcast(env.object<kcondvar>(s, "cv"));
            return OpResult::none();
          }});
  reg.op({.name = "kpause",
          .args = {arg_u64("ns", true), arg_bool("intr", false)},
          .results = R_ERROR,
          .run = [](OpEnv&, const Step& s) {
            return OpResult::with_error(kpause_ns("kpause", s.boolean("intr"), s.u64("ns"),
                                                  nullptr));
          }});
}

}  // namespace kasim::scn
