// Scenario ops, objects and flags for extent(9) (SCENARIO-FORMAT.md):
// extent_alloc_region, extent_alloc_subregion, extent_alloc, extent_free,
// extent_print; objects of type "extent" (`start`, `end`, `flags`,
// `fixed_regions`); the "EX" flag domain. extent_init (expool) runs with the
// first extent, so scenarios without extents run exactly as before.
#include <map>
#include <string>

#include "allocators/extent/extent.h"
#include "allocators/uvm_km/uvm_km.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"
#include "scenarios/world.h"
#include "sim/engine.h"
#include "sim/kernel.h"

namespace kasim::scn {
namespace {

// Enough for any driver's static region array, small enough that
// EXTENT_FIXED_STORAGE_SIZE cannot wrap.
constexpr uint64_t kMaxFixedRegions = 1ULL << 24;

// A fixed extent's storage is caller memory: kasim takes
// EXTENT_FIXED_STORAGE_SIZE(n) bytes (rounded to pages) of wired kernel memory
// from kmem_va_arena for it, as a driver's static array would be.
ObjectHandle make_extent(OpEnv&, const ObjectDecl& d) {
  extent_init();
  const uint64_t n = d.u64("fixed_regions");
  vaddr_t storage = 0;
  size_t storagesize = 0;
  if (n > 0) {
    storagesize = EXTENT_FIXED_STORAGE_SIZE(n);
    vmem_addr_t va = 0;
    const int error = uvm_km_kmem_alloc(uvm_km_globals_get().kmem_va_arena, round_page(storagesize),
                                        VM_SLEEP | VM_INSTANTFIT, &va);
    KASSERTMSG(error == 0, "extent `%s': no memory for the fixed storage", d.name.c_str());
    storage = va;
  }
  // The object is created at boot, where one may sleep for the struct extent.
  extent* ex = extent_create(d.name.c_str(), d.u64("start"), d.u64("end"), storage, storagesize,
                             static_cast<int>(d.flags("flags")) | EX_WAITOK);
  return {"extent", ex, nullptr};
}

// The fixed storage is wired kernel memory taken at boot: refuse a count
// whose storage could not be had (more than half the kernel VA or half the
// physical pages; boot's own arenas and caches take from both). Boot would
// otherwise wait for the page daemon forever.
std::vector<std::pair<std::string, std::string>> validate_extent(const ObjectDecl& d,
                                                                 const MachineConfig& m) {
  const uint64_t n = d.u64("fixed_regions");
  if (n == 0) return {};
  const uint64_t bytes = EXTENT_FIXED_STORAGE_SIZE(n);
  const uint64_t pages = (bytes + m.page_size - 1) / m.page_size;
  if (pages > m.kva_pages / 2 || pages > m.phys_pages / 2)
    return {{"fixed_regions", std::to_string(n) + " region descriptors need " + std::to_string(pages) +
                                  " page(s) of fixed storage, more than half the kernel VA or half "
                                  "the physical pages"}};
  return {};
}

std::map<std::string, uint64_t> extent_stats(void* p) {
  const extent* ex = static_cast<const extent*>(p);
  const size_t nregions = extent_nregions(ex);
  std::map<std::string, uint64_t> st = {{"ex_start", ex->ex_start},
                                        {"ex_end", ex->ex_end},
                                        {"ex_flags", static_cast<uint64_t>(ex->ex_flags)},
                                        {"ex_flwanted", ex->ex_flwanted ? 1u : 0u},
                                        {"nregions", nregions},
                                        // kasim's own counters
                                        {"nalloc", ex->ex_nalloc},
                                        {"nfree", ex->ex_nfree},
                                        {"neagain", ex->ex_neagain},
                                        {"nenomem", ex->ex_nenomem},
                                        {"nwaitspace", ex->ex_nwaitspace},
                                        {"nwaitdesc", ex->ex_nwaitdesc},
                                        {"nintr", ex->ex_nintr}};
  if (ex->ex_flags & EXF_FIXED) {
    st["fex_capacity"] = ex->ex_fixed->fex_capacity;
    st["fex_nfree"] = extent_nfreedesc(ex);
    st["fex_ninuse"] = nregions;
  }
  return st;
}

std::vector<std::pair<std::string, std::string>> need_start_or_ref(const Step& s) {
  if (!s.has("start") && !s.has("ref")) return {{"", "needs \"start\" or \"ref\""}};
  if (s.has("start") && s.has("ref")) return {{"ref", "give \"start\" or \"ref\", not both"}};
  return {};
}

OpResult alloc_result(OpEnv& env, const Step& s, int error, u_long addr, u_long size) {
  OpResult r;
  r.error = error;
  r.has_addr = true;
  if (error == 0) {
    r.addr = addr;
    env.track_alloc("extent", s.str("extent"), addr, size);
  }
  return r;
}

// The scenario's record of live ranges for freeing [start, start+size-1]: a
// partial free (coalescing extents) leaves the pieces on either side live.
// Applied before the free, because once the range is free another CPU may
// allocate it again while extent_free is still running; the returned undo
// record puts things back if the free fails (ENOMEM for a split).
struct RangeUntrack {
  std::vector<std::pair<u_long, u_long>> removed, added;  // (start, size)
};

RangeUntrack untrack_range(OpEnv& env, const std::string& name, u_long start, u_long size) {
  const u_long end = start + (size - 1);
  RangeUntrack u;
  for (const auto& [key, sz] : env.world().live()) {
    const auto& [kind, object, addr] = key;
    if (kind != "extent" || object != name || sz == 0) continue;
    const u_long e = addr + (sz - 1);
    if (addr <= end && e >= start) u.removed.emplace_back(addr, sz);
  }
  for (const auto& [a, sz] : u.removed) {
    env.track_free("extent", name, a);
    const u_long e = a + (sz - 1);
    if (a < start) u.added.emplace_back(a, start - a);
    if (e > end) u.added.emplace_back(end + 1, e - end);
  }
  for (const auto& [a, sz] : u.added) env.track_alloc("extent", name, a, sz);
  return u;
}

void retrack_range(OpEnv& env, const std::string& name, const RangeUntrack& u) {
  for (const auto& [a, sz] : u.added) env.track_free("extent", name, a);
  for (const auto& [a, sz] : u.removed) env.track_alloc("extent", name, a, sz);
}

}  // namespace

KASIM_REGISTER(extent_ops) {
  reg.flags("EX", {{"EX_NOWAIT", EX_NOWAIT},
                   {"EX_WAITOK", EX_WAITOK},
                   {"EX_FAST", EX_FAST},
                   {"EX_CATCH", EX_CATCH},
                   {"EX_NOCOALESCE", EX_NOCOALESCE},
                   {"EX_MALLOCOK", EX_MALLOCOK},
                   {"EX_WAITSPACE", EX_WAITSPACE},
                   {"EX_BOUNDZERO", EX_BOUNDZERO},
                   {"EX_EARLY", EX_EARLY}});

  reg.object({.type = "extent",
              .fields = {arg_u64("start", true), arg_u64("end", true), arg_flags("flags", "EX"),
                         arg_u64("fixed_regions", false, 0, kMaxFixedRegions)},
              .create = make_extent,
              .stats = extent_stats,
              .validate = validate_extent});

  reg.op({.name = "extent_alloc_region",
          .args = {arg_object("extent", {"extent"}), arg_u64("start", true),
                   arg_u64("size", true), arg_flags("flags", "EX")},
          .results = R_ERROR,
          .run = [](OpEnv& env, const Step& s) {
            extent* ex = env.object<extent>(s, "extent");
            const int error =
                extent_alloc_region(ex, s.u64("start"), s.u64("size"), static_cast<int>(s.flags("flags")));
            if (error == 0) env.track_alloc("extent", s.str("extent"), s.u64("start"), s.u64("size"));
            return OpResult::with_error(error);
          },
          .help = "extent_alloc_region(extent, start, size, flags): 0, ENOMEM, EAGAIN, EINVAL, EINTR",
          .allocates = "extent",
          .object_arg = "extent"});

  reg.op({.name = "extent_alloc_subregion",
          .args = {arg_object("extent", {"extent"}), arg_u64("substart", true),
                   arg_u64("subend", true), arg_u64("size", true), arg_u64("alignment", false, 1),
                   arg_u64("skew"), arg_u64("boundary"), arg_flags("flags", "EX")},
          .results = R_ERROR | R_ADDR,
          .run = [](OpEnv& env, const Step& s) {
            extent* ex = env.object<extent>(s, "extent");
            u_long res = 0;
            const int error = extent_alloc_subregion1(
                ex, s.u64("substart"), s.u64("subend"), s.u64("size"), s.u64("alignment"),
                s.u64("skew"), s.u64("boundary"), static_cast<int>(s.flags("flags")), &res);
            return alloc_result(env, s, error, res, s.u64("size"));
          },
          .help = "extent_alloc_subregion1(extent, substart, subend, size, alignment, skew, "
                  "boundary, flags): alignment 1 is EX_NOALIGN, boundary 0 EX_NOBOUNDARY",
          .allocates = "extent",
          .object_arg = "extent"});

  reg.op({.name = "extent_alloc",
          .args = {arg_object("extent", {"extent"}), arg_u64("size", true),
                   arg_u64("alignment", false, 1), arg_u64("skew"), arg_u64("boundary"),
                   arg_flags("flags", "EX")},
          .results = R_ERROR | R_ADDR,
          .run = [](OpEnv& env, const Step& s) {
            extent* ex = env.object<extent>(s, "extent");
            u_long res = 0;
            const int error = extent_alloc1(ex, s.u64("size"), s.u64("alignment"), s.u64("skew"),
                                            s.u64("boundary"), static_cast<int>(s.flags("flags")),
                                            &res);
            return alloc_result(env, s, error, res, s.u64("size"));
          },
          .help = "extent_alloc1(extent, size, alignment, skew, boundary, flags): the whole extent",
          .allocates = "extent",
          .object_arg = "extent"});

  reg.op({.name = "extent_free",
          .args = {arg_object("extent", {"extent"}), arg_u64("start"), arg_label("ref"),
                   arg_u64("size"), arg_flags("flags", "EX")},
          .results = R_ERROR,
          .validate = need_start_or_ref,
          .run = [](OpEnv& env, const Step& s) {
            extent* ex = env.object<extent>(s, "extent");
            const uint64_t start = env.addr_or_ref(s, "start");
            const uint64_t size = env.size_or_tracked(s, "extent", s.str("extent"), start);
            const RangeUntrack undo = untrack_range(env, s.str("extent"), start, size);
            const int error = extent_free(ex, start, size, static_cast<int>(s.flags("flags")));
            if (error != 0) retrack_range(env, s.str("extent"), undo);
            return OpResult::with_error(error);
          },
          .help = "extent_free(extent, start or ref, size, flags): 0 or ENOMEM; freeing what is "
                  "not allocated is a contract finding",
          // Any extent allocation; a workload free takes the tracked size.
          .frees = "extent",
          .object_arg = "extent",
          .addr_arg = "start"});

  reg.op({.name = "extent_print",
          .args = {arg_object("extent", {"extent"})},
          .results = R_OUTPUT,
          .run = [](OpEnv& env, const Step& s) {
            OpResult r;
            r.output = extent_print(env.object<extent>(s, "extent"));
            return r;
          },
          .help = "extent_print: NetBSD's text (also logged)"});
}

}  // namespace kasim::scn
