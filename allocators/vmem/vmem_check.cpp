// allocators/vmem/vmem_check.cpp: vmem_check — every vmem invariant of
// NETBSD-ALLOCATORS.md §11, returning problems instead of panicking (NetBSD's
// vmem_check_sanity panics on the first one).
//
// Pure: it reads the arena's structures and calls no kernel function, so the
// invariant registry may run it between steps or after a run has ended.
#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <unordered_map>

#include "allocators/pool_cache/pool_cache.h"
#include "allocators/vmem/vmem.h"

namespace kasim {

namespace {

const char* type_name(int type) {
  switch (type) {
    case BT_TYPE_BUSY: return "busy";
    case BT_TYPE_FREE: return "free";
    case BT_TYPE_SPAN: return "span";
    case BT_TYPE_SPAN_STATIC: return "static span";
    default: return "BOGUS";
  }
}

}  // namespace

std::vector<std::string> vmem_check(const vmem_t* vm) {
  std::vector<std::string> out;
  if (vm->vm_lock.owner != nullptr) return out;  // mid-update: checked later
  const char* name = vm->vm_name;
  auto problem = [&](std::string s) { out.push_back(std::string("vmem ") + name + ": " + s); };
  const size_t kMaxProblems = 20;

  // Where each tag was found on the lists (looked up only, never iterated).
  std::unordered_map<const bt_t*, int> on_freelist;  // tag -> list index
  std::unordered_map<const bt_t*, int> in_hash;      // tag -> times found

  for (int i = 0; i < VMEM_MAXORDER; i++) {
    const vmem_btag* const* prevp = &vm->vm_freelist[i].lh_first;
    for (const bt_t* bt = vm->vm_freelist[i].lh_first; bt; bt = bt->bt_list_next) {
      if (bt->bt_list_prevp != prevp) problem(kasim_format("freelist[%d]: broken back link", i));
      prevp = &bt->bt_list_next;
      if (!on_freelist.emplace(bt, i).second) {
        problem(kasim_format("freelist[%d]: tag [0x%" PRIx64 ", +0x%" PRIx64 ") is listed twice", i,
                    bt->bt_start, bt->bt_size));
        break;  // a cycle would never end
      }
      if (out.size() > kMaxProblems) return out;
    }
  }
  for (size_t i = 0; i < vm->vm_hashsize; i++) {
    for (const bt_t* bt = vm->vm_hashlist[i].lh_first; bt; bt = bt->bt_list_next) {
      if (++in_hash[bt] > 1) {
        problem(kasim_format("hash bucket %zu: tag [0x%" PRIx64 ", +0x%" PRIx64 ") is hashed twice", i,
                    bt->bt_start, bt->bt_size));
        break;
      }
      if (bt->bt_type != BT_TYPE_BUSY)
        problem(kasim_format("hash bucket %zu holds a %s tag at 0x%" PRIx64, i, type_name(bt->bt_type),
                    bt->bt_start));
      if ((vmem_hash_addr(bt->bt_start) & vm->vm_hashmask) != i)
        problem(kasim_format("busy tag 0x%" PRIx64 " is in hash bucket %zu, not %zu", bt->bt_start, i,
                    static_cast<size_t>(vmem_hash_addr(bt->bt_start) & vm->vm_hashmask)));
      if (out.size() > kMaxProblems) return out;
    }
  }
  if (vm->vm_hashmask != vm->vm_hashsize - 1 || (vm->vm_hashsize & (vm->vm_hashsize - 1)) != 0)
    problem(kasim_format("hash size %zu and mask 0x%zx disagree", vm->vm_hashsize, vm->vm_hashmask));

  // Walk the segment list: spans, and the segments tiling each.
  struct Span {
    vmem_addr_t start, end;  // inclusive end
  };
  std::vector<Span> spans;
  vmem_size_t sum_spans = 0, sum_busy = 0;
  size_t nbusy = 0, nfree = 0;
  const bt_t* span = nullptr;
  vmem_addr_t next_start = 0;  // where the next segment of `span` must start
  bool span_free_only = true;
  bool prev_free = false;
  const bt_t* prev = nullptr;
  size_t guard = 0;

  auto close_span = [&]() {
    if (span == nullptr) return;
    if (next_start != span->bt_start + span->bt_size)
      problem(kasim_format("span [0x%" PRIx64 ", +0x%" PRIx64 ") is not tiled: segments end at 0x%" PRIx64,
                  span->bt_start, span->bt_size, next_start));
    if (vm->vm_releasefn != nullptr && span->bt_type == BT_TYPE_SPAN && span_free_only)
      problem(kasim_format("imported span [0x%" PRIx64 ", +0x%" PRIx64
                  ") is wholly free but was not released",
                  span->bt_start, span->bt_size));
  };

  for (const bt_t* bt = vm->vm_seg_first; bt; bt = bt->bt_seg_next) {
    if (++guard > 100'000'000) {
      problem("segment list does not end");
      return out;
    }
    if (bt->bt_seg_prev != prev) problem(kasim_format("segment list: broken back link at 0x%" PRIx64,
                                             bt->bt_start));
    prev = bt;
    if (bt->bt_size == 0) problem(kasim_format("%s tag at 0x%" PRIx64 " has size 0",
                                      type_name(bt->bt_type), bt->bt_start));
    if (((bt->bt_start | bt->bt_size) & vm->vm_quantum_mask) != 0)
      problem(kasim_format("%s tag [0x%" PRIx64 ", +0x%" PRIx64 ") is not quantum-aligned",
                  type_name(bt->bt_type), bt->bt_start, bt->bt_size));
    if (bt->bt_size != 0 && BT_END(bt) < bt->bt_start)
      problem(kasim_format("corrupted tag [0x%" PRIx64 ", +0x%" PRIx64 "): it wraps", bt->bt_start,
                  bt->bt_size));
    switch (bt->bt_type) {
      case BT_TYPE_SPAN:
      case BT_TYPE_SPAN_STATIC:
        close_span();
        span = bt;
        next_start = bt->bt_start;
        span_free_only = true;
        prev_free = false;
        spans.push_back({bt->bt_start, BT_END(bt)});
        sum_spans += bt->bt_size;
        if (on_freelist.count(bt) || in_hash.count(bt))
          problem(kasim_format("span tag 0x%" PRIx64 " is on a free list or in the hash", bt->bt_start));
        break;
      case BT_TYPE_FREE:
      case BT_TYPE_BUSY: {
        const bool is_free = bt->bt_type == BT_TYPE_FREE;
        if (span == nullptr) {
          problem(kasim_format("%s segment at 0x%" PRIx64 " precedes every span", type_name(bt->bt_type),
                      bt->bt_start));
        } else {
          if (bt->bt_start != next_start)
            problem(kasim_format("%s segment [0x%" PRIx64 ", +0x%" PRIx64 ") in span 0x%" PRIx64
                        " should start at 0x%" PRIx64,
                        type_name(bt->bt_type), bt->bt_start, bt->bt_size, span->bt_start,
                        next_start));
          if (bt->bt_start < span->bt_start || BT_END(bt) > BT_END(span))
            problem(kasim_format("%s segment [0x%" PRIx64 ", +0x%" PRIx64 ") overruns span [0x%" PRIx64
                        ", +0x%" PRIx64 ")",
                        type_name(bt->bt_type), bt->bt_start, bt->bt_size, span->bt_start,
                        span->bt_size));
          next_start = bt->bt_start + bt->bt_size;
        }
        if (is_free) {
          nfree++;
          if (prev_free)
            problem(kasim_format("two consecutive free segments at 0x%" PRIx64 " (not coalesced)",
                        bt->bt_start));
          auto it = on_freelist.find(bt);
          const vmem_size_t q = bt->bt_size >> vm->vm_quantum_shift;
          const int want = q ? 63 - __builtin_clzll(q) : -1;
          if (it == on_freelist.end())
            problem(kasim_format("free segment [0x%" PRIx64 ", +0x%" PRIx64 ") is on no free list",
                        bt->bt_start, bt->bt_size));
          else if (it->second != want)
            problem(kasim_format("free segment [0x%" PRIx64 ", +0x%" PRIx64 ") is on freelist[%d], not "
                        "freelist[%d]",
                        bt->bt_start, bt->bt_size, it->second, want));
          if (in_hash.count(bt))
            problem(kasim_format("free segment 0x%" PRIx64 " is in the busy hash", bt->bt_start));
        } else {
          nbusy++;
          sum_busy += bt->bt_size;
          span_free_only = false;
          auto it = in_hash.find(bt);
          if (it == in_hash.end())
            problem(kasim_format("busy segment [0x%" PRIx64 ", +0x%" PRIx64 ") is not in the hash",
                        bt->bt_start, bt->bt_size));
          if (on_freelist.count(bt))
            problem(kasim_format("busy segment 0x%" PRIx64 " is on a free list", bt->bt_start));
        }
        prev_free = is_free;
        break;
      }
      default:
        problem(kasim_format("tag at 0x%" PRIx64 " has BOGUS type %d", bt->bt_start, bt->bt_type));
    }
    if (out.size() > kMaxProblems) return out;
  }
  if (prev != vm->vm_seg_last) problem("segment list: tail pointer is stale");
  close_span();

  // Spans never overlap.
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.start < b.start; });
  for (size_t i = 1; i < spans.size(); i++)
    if (spans[i].start <= spans[i - 1].end)
      problem(kasim_format("overwrapped spans [0x%" PRIx64 ", 0x%" PRIx64 "] and [0x%" PRIx64 ", 0x%" PRIx64
                  "]",
                  spans[i - 1].start, spans[i - 1].end, spans[i].start, spans[i].end));

  // Every listed tag is a segment of this arena.
  if (on_freelist.size() != nfree)
    problem(kasim_format("free lists hold %zu tags but the segment list has %zu free segments",
                on_freelist.size(), nfree));
  if (in_hash.size() != nbusy)
    problem(kasim_format("hash holds %zu tags but the segment list has %zu busy segments", in_hash.size(),
                nbusy));

  // Counters.
  if (vm->vm_inuse != sum_busy)
    problem(kasim_format("vm_inuse 0x%" PRIx64 " but busy segments sum to 0x%" PRIx64, vm->vm_inuse,
                sum_busy));
  if (vm->vm_size != sum_spans)
    problem(kasim_format("vm_size 0x%" PRIx64 " but spans sum to 0x%" PRIx64, vm->vm_size, sum_spans));
  if (vm->vm_nbusytag != nbusy)
    problem(kasim_format("vm_nbusytag %zu but %zu busy segments", vm->vm_nbusytag, nbusy));
  if (vm->vm_nbusytag > vm->vm_maxbusytag)
    problem(kasim_format("vm_nbusytag %zu above vm_maxbusytag %zu", vm->vm_nbusytag, vm->vm_maxbusytag));

  // The tag reserve.
  size_t nreserve = 0;
  for (const bt_t* bt = vm->vm_freetags.lh_first; bt && nreserve <= vm->vm_nfreetags + 1;
       bt = bt->bt_list_next)
    nreserve++;
  if (nreserve != vm->vm_nfreetags)
    problem(kasim_format("vm_nfreetags %zu but the reserve holds %zu tags", vm->vm_nfreetags, nreserve));

  // Quantum caches: slot i serves i+1 quanta (or shares the next larger
  // slot's cache, whose own size check covers it), and every page of their pools is a busy
  // segment of exactly the qcache page size: a qcache item stays busy in the
  // arena, inside its pool page, whether a client or the cache holds it.
  const vmem_size_t nq = vm->vm_qcache_max >> vm->vm_quantum_shift;
  if (nq > static_cast<vmem_size_t>(VMEM_QCACHE_IDX_MAX))
    problem(kasim_format("vm_qcache_max 0x%" PRIx64 " exceeds %d quanta", vm->vm_qcache_max,
                         VMEM_QCACHE_IDX_MAX));
  const qcache_t* prevqc = nullptr;
  for (vmem_size_t i = nq; i-- > 0 && nq <= static_cast<vmem_size_t>(VMEM_QCACHE_IDX_MAX);) {
    const qcache_t* qc = vm->vm_qcache[i];
    const vmem_size_t size = (i + 1) << vm->vm_quantum_shift;
    if (qc == nullptr || qc->qc_cache == nullptr) {
      problem(kasim_format("qcache for 0x%" PRIx64 " bytes is missing", size));
      continue;
    }
    const pool* pp = &qc->qc_cache->pc_pool;
    if (qc != prevqc) {
      if (pp->pr_size != size)
        problem(kasim_format("qcache %s holds %u-byte items, not 0x%" PRIx64, pp->pr_wchan,
                             pp->pr_size, size));
      if (pp->pr_lock.owner == nullptr)
        for (const auto& [page, ph] : pp->pr_phtree)
          if (vmem_busy_size(vm, page) != vm->vm_qcache_pagesz)
            problem(kasim_format("qcache %s: pool page 0x%" PRIx64
                                 " is not a busy segment of 0x%" PRIx64 " bytes",
                                 pp->pr_wchan, page, vm->vm_qcache_pagesz));
    }
    prevqc = qc;
    if (out.size() > kMaxProblems) return out;
  }
  return out;
}

vmem_size_t vmem_busy_size(const vmem_t* vm, vmem_addr_t addr) {
  const vmem_btag_list& head = vm->vm_hashlist[vmem_hash_addr(addr) & vm->vm_hashmask];
  for (const bt_t* bt = head.lh_first; bt; bt = bt->bt_list_next)
    if (bt->bt_start == addr && bt->bt_type == BT_TYPE_BUSY) return bt->bt_size;
  return 0;
}

}  // namespace kasim
