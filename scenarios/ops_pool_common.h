// scenarios/ops_pool_common.h: what the "pool" and "pool_cache" object types
// and their ops share (pool_cache_init takes pool_init's arguments).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "allocators/pool/pool.h"
#include "scenarios/registry.h"
#include "scenarios/scenario.h"

namespace kasim::scn {

// pool_init's parameters as object fields, each no wider than its C type;
// `allocators` are the names the "allocator" field accepts (first: default).
inline std::vector<ArgSpec> pool_init_fields(std::vector<std::string> allocators) {
  std::string def = allocators.front();
  return {arg_u64("size", true),
          arg_u64("align", false, 0, kMaxUInt),
          arg_flags("flags", "PR"),
          arg_ipl("ipl", IPL_VM),
          arg_choice("allocator", std::move(allocators), std::move(def)),
          arg_u64("lowat", false, 0, kMaxInt),
          arg_u64("hiwat", false, 0, kMaxInt),
          arg_u64("hardlimit", false, 0, kMaxInt),
          arg_string("hardlimit_warning"),
          arg_u64("hardlimit_ratecap", false, 0, kMaxInt),
          arg_u64("prime", false, 0, kMaxInt)};
}

// pool_init panics when an item does not fit in one page of its allocator;
// validation refuses such a size up front. The big allocators (and the
// default choice for an item larger than a page, as pool_init makes it) have
// pages up to 2^(POOL_ALLOCATOR_BIG_BASE + POOL_ALLOCATOR_BIG_COUNT - 1).
inline std::vector<std::pair<std::string, std::string>> validate_pool_item(
    const ObjectDecl& d, const MachineConfig& m) {
  const uint64_t big_max = uint64_t{1} << (POOL_ALLOCATOR_BIG_BASE + POOL_ALLOCATOR_BIG_COUNT - 1);
  const std::string& alloc = d.str("allocator");
  const uint64_t pagesz = alloc == "big" || alloc == "default" ? big_max : m.page_size;
  const uint64_t size = d.u64("size");
  if (size == 0 || size > pagesz)
    return {{"size", "must be in [1, " + std::to_string(pagesz) + "]: pool_init needs an item to fit in one page of the \"" +
                         alloc + "\" allocator, got " + std::to_string(size)}};
  return {};
}

// Frees and puts name their object by "addr" or by "ref", not both.
inline std::vector<std::pair<std::string, std::string>> need_addr_or_ref(const Step& s) {
  if (!s.has("addr") && !s.has("ref")) return {{"", "needs \"addr\" or \"ref\""}};
  if (s.has("addr") && s.has("ref")) return {{"ref", "give \"addr\" or \"ref\", not both"}};
  return {};
}

// A count for an int parameter (setlowat, prime, ...): validation keeps it
// within kMaxInt, so the conversion never truncates.
inline int to_int(uint64_t n) { return n > kMaxInt ? static_cast<int>(kMaxInt) : static_cast<int>(n); }

}  // namespace kasim::scn
