// tests/fuzz/validate_boots_property_test.cpp: whatever `kasim validate`
// accepts must boot and run.
//
// RapidCheck draws machines across the ranges validation allows (page sizes,
// memory and kernel VA sizes, where kernel VA starts, up to the top of the
// address space) and objects whose creation depends on them (pools and
// pool_caches of every allocator, fixed extents, vmem arenas), often past
// what boot could build. The property: the scenario is either rejected by
// what `kasim validate` does (parse_scenario, then check_boots), or it runs
// with no finding at all.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <nlohmann/json.hpp>

#include "scenarios/runner.h"
#include "scenarios/scenario.h"

namespace {

using namespace kasim::scn;
using nlohmann::json;

std::string hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// A power of two 2^lo .. 2^hi.
rc::Gen<uint64_t> pow2(int lo, int hi) {
  return rc::gen::map(rc::gen::inRange(lo, hi + 1), [](int e) { return uint64_t{1} << e; });
}

json gen_machine() {
  const uint64_t page = *pow2(10, 21);
  json m = {{"cpus", *rc::gen::inRange(1, 9)},
            {"page_size", page},
            {"phys_pages", *rc::gen::inRange<uint64_t>(1, 4097)},
            {"coherency_unit", *pow2(3, 12)}};
  // Kernel VA: small or huge, starting low, at NetBSD/amd64's base, or near
  // the top of the address space, where twice the span may not fit.
  const uint64_t kva_pages = *rc::gen::oneOf(rc::gen::inRange<uint64_t>(1, 4097),
                                             rc::gen::inRange<uint64_t>(1, uint64_t{1} << 24));
  m["kva_pages"] = kva_pages;
  const uint64_t top_pages = *rc::gen::inRange<uint64_t>(1, uint64_t{1} << 20);
  const uint64_t base = *rc::gen::element(uint64_t{0x1000} * page / 4096, 0xffff800000000000ULL,
                                          0ULL - top_pages * page);
  m["kva_base"] = hex(base & ~(page - 1));
  return m;
}

json gen_objects(uint64_t page) {
  json objs = json::array();
  const char* allocators[] = {"kmem", "meta", "nointr", "big"};
  const uint64_t item = *rc::gen::oneOf(rc::gen::inRange<uint64_t>(1, 257),
                                        rc::gen::inRange<uint64_t>(page / 2, page * 2 + 1),
                                        rc::gen::just(uint64_t{1} << 25));
  const std::string alloc = *rc::gen::elementOf(std::vector<std::string>(allocators, allocators + 4));
  objs.push_back({{"name", "p"}, {"type", "pool"}, {"size", item}, {"allocator", alloc},
                  {"align", *pow2(0, 6)}});
  objs.push_back({{"name", "pc"}, {"type", "pool_cache"},
                  {"size", *rc::gen::inRange<uint64_t>(1, 2 * page)},
                  {"allocator", *rc::gen::element<std::string>("kmem", "default", "big")}});
  objs.push_back({{"name", "e"}, {"type", "extent"}, {"start", 0}, {"end", 0xffff},
                  {"fixed_regions", *rc::gen::oneOf(rc::gen::just(uint64_t{0}),
                                                    rc::gen::inRange<uint64_t>(1, 64),
                                                    rc::gen::inRange<uint64_t>(1, uint64_t{1} << 16))}});
  objs.push_back({{"name", "v"}, {"type", "vmem"}, {"base", hex(page)},
                  {"size", hex(page * *rc::gen::inRange<uint64_t>(1, 1024))}, {"quantum", page}});
  return objs;
}

RC_GTEST_PROP(ValidateBoots, WhatValidationAcceptsBootsAndRuns, ()) {
  // A boot that livelocks must show as a finding here, not run for minutes.
  json doc = {{"kasim", 1}, {"name", "gen"}, {"machine", gen_machine()},
              {"limits", {{"max_steps", 200'000}}}};
  doc["objects"] = gen_objects(doc["machine"]["page_size"].get<uint64_t>());
  doc["threads"] = json::array({{{"steps", json::array({{{"op", "delay"}, {"ns", 10}}})}}});
  Scenario sc;
  try {
    sc = parse_scenario(doc, "gen.json");
    check_boots(sc);
  } catch (const ScenarioError&) {
    RC_TAG("rejected");
    return;
  }
  RC_TAG("accepted");
  RunOptions opt;
  const RunReport rep = run_scenario(sc, opt);
  RC_LOG() << doc.dump() << "\n";
  for (const auto& f : rep.findings) RC_LOG() << f.kind << ": " << f.message << "\n";
  RC_ASSERT(rep.findings.empty());
  RC_ASSERT(rep.verdict == std::string("all held"));
}

}  // namespace
