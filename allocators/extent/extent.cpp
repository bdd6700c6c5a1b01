// allocators/extent/extent.cpp: extent(9) on the simulated machine.
//
// Written from ../shared/docs/NETBSD-ALLOCATORS.md §7 (subr_extent.c 1.86).
// kasim runs the DIAGNOSTIC kernel's argument checks as contract findings,
// except the two range checks whose non-DIAGNOSTIC results the reference
// specifies (extent_alloc_region outside the extent returns EINVAL; a subend
// beyond ex_end is accepted) and the overflow after alignment, which returns
// EINVAL (docs/fidelity.md, section "extent").
#include "allocators/extent/extent.h"

#include "allocators/kmem/kmem.h"

#include <cinttypes>
#include <cstdio>

namespace kasim {

namespace {

// --- LIST(3) on region descriptors ----------------------------------------------

void er_insert_head(extent_region_list* l, extent_region* rp) {
  rp->er_next = l->lh_first;
  if (l->lh_first != nullptr) l->lh_first->er_prevp = &rp->er_next;
  l->lh_first = rp;
  rp->er_prevp = &l->lh_first;
}

void er_insert_after(extent_region* after, extent_region* rp) {
  rp->er_next = after->er_next;
  if (after->er_next != nullptr) after->er_next->er_prevp = &rp->er_next;
  after->er_next = rp;
  rp->er_prevp = &after->er_next;
}

void er_remove(extent_region* rp) {
  if (rp->er_next != nullptr) rp->er_next->er_prevp = rp->er_prevp;
  *rp->er_prevp = rp->er_next;
  rp->er_next = nullptr;
  rp->er_prevp = nullptr;
}

// EXTENT_ALIGN(x, a, k): the first x' >= x with (x' - k) a multiple of a
// (a a power of two), computed modulo 2^64 as NetBSD does.
inline u_long EXTENT_ALIGN(u_long x, u_long a, u_long k) {
  return ((x - k + (a - 1)) & ~(a - 1)) + k;
}

// LE_OV(a, b, c): a + b <= c without overflow.
inline bool LE_OV(u_long a, u_long b, u_long c) { return a + b >= a && a + b <= c; }

bool extent_early(const extent* ex) { return (ex->ex_flags & EXF_EARLY) != 0; }
void ex_lock(extent* ex) {
  if (!extent_early(ex)) mutex_enter(&ex->ex_lock);
}
void ex_unlock(extent* ex) {
  if (!extent_early(ex)) mutex_exit(&ex->ex_lock);
}

// extent_sleep: wait on ex_cv for a descriptor or for space; 0, or EINTR if
// EX_CATCH and the LWP was signalled.  => ex_lock held (an EX_EARLY extent
// has neither lock nor cv: sleeping on one is a contract violation).
int extent_sleep(extent* ex, int flags) {
  KASSERTMSG(!extent_early(ex) && mutex_owned(&ex->ex_lock),
             "extent `%s': sleeping without ex_lock (EX_EARLY extents have no lock or cv)",
             ex->ex_name);
  if (flags & EX_CATCH) {
    // Fault site "cv_wait_sig": a signal is pending, so the interruptible
    // sleep returns EINTR at once, as sleepq_block does.
    const int error = buggify("cv_wait_sig") ? kEINTR : cv_wait_sig(&ex->ex_cv, &ex->ex_lock);
    if (error != 0) ex->ex_nintr++;
    return error;
  }
  cv_wait(&ex->ex_cv, &ex->ex_lock);
  return 0;
}

// The sleeping flags need a context that may sleep (ASSERT_SLEEPABLE).
void extent_assert_sleepable(const char* fn, const extent* ex, int flags) {
  KASSERTMSG((flags & (EX_WAITOK | EX_WAITSPACE)) == 0 || (!cpu_intr_p() && !cpu_softintr_p()),
             "%s: extent `%s': EX_WAITOK or EX_WAITSPACE from interrupt context "
             "(ASSERT_SLEEPABLE)",
             fn, ex->ex_name);
}

// er_settle: an in-flight descriptor reaches a list or is given back.
void er_settle(extent* ex, extent_region* rp) {
  if (!rp->er_inflight) return;
  rp->er_inflight = false;
  ex->ex_ninflight--;
  if (rp->er_flags & ER_ALLOC) ex->ex_ninflight_alloc--;
}

extent_region* er_take(extent* ex, extent_region* rp) {
  rp->er_inflight = true;
  ex->ex_ninflight++;
  if (rp->er_flags & ER_ALLOC) ex->ex_ninflight_alloc++;
  return rp;
}

extent_region* descriptor_new(vaddr_t addr, int er_flags) {
  extent_globals& g = extent_globals_get();
  auto rp = std::make_unique<extent_region>();
  rp->er_addr = addr;
  rp->er_flags = er_flags;
  extent_region* r = rp.get();
  const bool fresh = g.descriptors.emplace(addr, std::move(rp)).second;
  KASSERTMSG(fresh, "extent: descriptor 0x%" PRIx64 " already in use", addr);
  return r;
}

void descriptor_delete(extent_region* rp) {
  extent_globals_get().descriptors.erase(rp->er_addr);
}

// extent_alloc_region_descriptor: a descriptor for ex, or NULL. A fixed
// extent takes one from its freelist; when that is empty it falls back to
// expool (EX_MALLOCOK), fails (no EX_WAITOK) or sleeps for a free one.
//  => ex_lock not held; may sleep under EX_WAITOK.
extent_region* extent_alloc_region_descriptor(extent* ex, int flags) {
  if (ex->ex_flags & EXF_FIXED) {
    extent_fixed* fex = ex->ex_fixed;
    ex_lock(ex);
    for (;;) {
      extent_region* rp = fex->fex_freelist.lh_first;
      if (rp != nullptr) {
        // er_flags stay as they are: a handed-off expool descriptor keeps
        // ER_ALLOC so that it goes back to the pool one day.
        er_remove(rp);
        er_take(ex, rp);
        ex_unlock(ex);
        return rp;
      }
      if (flags & EX_MALLOCOK) {
        kasim_mark("extent_mallocok_fallback");
        ex_unlock(ex);
        break;
      }
      if ((flags & EX_WAITOK) == 0) {
        ex_unlock(ex);
        return nullptr;
      }
      ex->ex_flwanted = true;
      ex->ex_nwaitdesc++;
      kasim_mark("extent_fixed_wait");
      if (extent_sleep(ex, flags) != 0) {
        ex_unlock(ex);
        return nullptr;
      }
    }
  }
  extent_globals& g = extent_globals_get();
  const vaddr_t v = pool_get(g.expool, (flags & EX_WAITOK) ? PR_WAITOK : PR_NOWAIT);
  if (v == 0) return nullptr;
  // kasim's in-flight count needs no lock: no scheduling point intervenes.
  return er_take(ex, descriptor_new(v, ER_ALLOC));
}

// extent_free_region_descriptor: give rp back. In a fixed extent a static
// descriptor returns to the freelist and an expool one is handed to a waiter
// if there is one (else returned to the pool); waiters are then woken.
//  => ex_lock held (unless EX_EARLY).
void extent_free_region_descriptor(extent* ex, extent_region* rp) {
  extent_globals& g = extent_globals_get();
  er_settle(ex, rp);
  if (ex->ex_flags & EXF_FIXED) {
    extent_fixed* fex = ex->ex_fixed;
    if ((rp->er_flags & ER_ALLOC) != 0 && !ex->ex_flwanted) {
      const vaddr_t v = rp->er_addr;
      descriptor_delete(rp);
      pool_put(g.expool, v);
    } else {
      er_insert_head(&fex->fex_freelist, rp);
    }
    if (!extent_early(ex)) {
      ex->ex_flwanted = false;
      cv_broadcast(&ex->ex_cv);
    }
    return;
  }
  const vaddr_t v = rp->er_addr;
  descriptor_delete(rp);
  pool_put(g.expool, v);
}

// extent_insert_and_optimize: record [start, start+size-1] after `after`
// (NULL: at the head), coalescing with the neighbours unless EXF_NOCOALESCE;
// rp is used or freed.  => ex_lock held.
void extent_insert_and_optimize(extent* ex, u_long start, u_long size, extent_region* after,
                                extent_region* rp) {
  const bool coalesce = (ex->ex_flags & EXF_NOCOALESCE) == 0;
  if (after == nullptr) {
    extent_region* first = ex->ex_regions.lh_first;
    if (coalesce && first != nullptr && start + size == first->er_start) {
      first->er_start = start;
      extent_free_region_descriptor(ex, rp);
      return;
    }
    rp->er_start = start;
    rp->er_end = start + (size - 1);
    er_settle(ex, rp);
    er_insert_head(&ex->ex_regions, rp);
    return;
  }
  if (coalesce) {
    bool appended = false;
    if (after->er_end + 1 == start) {
      after->er_end = start + (size - 1);
      appended = true;
    }
    extent_region* next = after->er_next;
    if (next != nullptr && start + size == next->er_start) {
      if (appended) {
        // We filled the gap exactly: after swallows next.
        after->er_end = next->er_end;
        er_remove(next);
        extent_free_region_descriptor(ex, next);
      } else {
        next->er_start = start;
      }
      extent_free_region_descriptor(ex, rp);
      return;
    }
    if (appended) {
      extent_free_region_descriptor(ex, rp);
      return;
    }
  }
  rp->er_start = start;
  rp->er_end = start + (size - 1);
  er_settle(ex, rp);
  er_insert_after(after, rp);
}

}  // namespace

extent_globals& extent_globals_get() { return machine_local<extent_globals>(); }

// --- the struct extent memory ------------------------------------------------------

// extent_struct_alloc: memory for a non-fixed struct extent, from kmem(9) as
// NetBSD takes it: EX_WAITOK sleeps (KM_SLEEP), otherwise 0 on failure.
//  => kmem_init has run (kmem_alloc's own contract: not from interrupt context).
vaddr_t extent_struct_alloc(int flags) {
  return kmem_alloc(EXTENT_SIZE, (flags & EX_WAITOK) ? KM_SLEEP : KM_NOSLEEP);
}

void extent_struct_free(vaddr_t addr) { kmem_free(addr, EXTENT_SIZE); }

// --- API -------------------------------------------------------------------------

void extent_init() {
  extent_globals& g = extent_globals_get();
  if (g.inited) return;
  KASSERTMSG(!cpu_intr_p() && !cpu_softintr_p(), "extent_init: from interrupt context");
  g.expool = kasim_pool_new();
  pool_init(g.expool, EXTENT_REGION_SIZE, 0, 0, 0, "extent", nullptr, IPL_VM);
  g.inited = true;
}

extent* extent_create(const char* name, u_long start, u_long end, vaddr_t storage,
                      size_t storagesize, int flags) {
  extent_init();
  const bool fixed_extent = storage != 0;
  if (name == nullptr) panic("extent_create: name == NULL");
  if (end < start)
    panic("extent_create: end < start (extent `%s', start 0x%lx, end 0x%lx)", name, start, end);
  if (fixed_extent && storagesize < EXTENT_FIXED_SIZE)
    panic("extent_create: fixed extent, bad storagesize 0x%lx", static_cast<u_long>(storagesize));
  if (!fixed_extent && storagesize != 0) panic("extent_create: storage provided for non-fixed");
  KASSERTMSG((flags & EX_WAITOK) == 0 || (!cpu_intr_p() && !cpu_softintr_p()),
             "extent_create: extent `%s': EX_WAITOK from interrupt context", name);

  extent_globals& g = extent_globals_get();
  auto host = std::make_unique<extent_fixed>();
  extent* ex = &host->fex_extent;
  if (fixed_extent) {
    // The storage is the caller's: extent_fixed at its start, then as many
    // aligned descriptors as fit, each pushed on the head of the freelist.
    extent_fixed* fex = host.get();
    fex->fex_storage = storage;
    fex->fex_storagesize = storagesize;
    ex->ex_addr = storage;
    ex->ex_fixed = fex;
    vaddr_t cp = storage + extent_ALIGN(EXTENT_FIXED_SIZE);
    size_t sz = storagesize - extent_ALIGN(EXTENT_FIXED_SIZE);
    while (sz >= extent_ALIGN(EXTENT_REGION_SIZE)) {
      er_insert_head(&fex->fex_freelist, descriptor_new(cp, 0));
      fex->fex_capacity++;
      cp += extent_ALIGN(EXTENT_REGION_SIZE);
      sz -= extent_ALIGN(EXTENT_REGION_SIZE);
    }
  } else {
    ex->ex_addr = extent_struct_alloc(flags);
    if (ex->ex_addr == 0) return nullptr;
  }
  if ((flags & EX_EARLY) == 0) {
    mutex_init(&ex->ex_lock, MUTEX_DEFAULT, IPL_VM);
    mutex_set_name(&ex->ex_lock, std::string("ex_lock of ") + name);
    cv_init(&ex->ex_cv, "extent");
  }
  ex->ex_namebuf = name;
  ex->ex_name = ex->ex_namebuf.c_str();
  ex->ex_start = start;
  ex->ex_end = end;
  // Only the create-time flags are kept: EX_BOUNDZERO and the rest are dropped.
  ex->ex_flags = 0;
  if (fixed_extent) ex->ex_flags |= EXF_FIXED;
  if (flags & EX_NOCOALESCE) ex->ex_flags |= EXF_NOCOALESCE;
  if (flags & EX_EARLY) ex->ex_flags |= EXF_EARLY;
  ex->ex_flwanted = false;
  g.extent_list.push_back(ex);
  g.extents.emplace(ex->ex_addr, std::move(host));
  return ex;
}

void extent_destroy(extent* ex) {
  if (ex == nullptr) panic("extent_destroy: NULL extent");
  extent_globals& g = extent_globals_get();
  ex_lock(ex);
  while (extent_region* rp = ex->ex_regions.lh_first) {
    er_remove(rp);
    extent_free_region_descriptor(ex, rp);
  }
  ex_unlock(ex);
  if (ex->ex_flags & EXF_FIXED) {
    // The storage goes back to the caller with its static descriptors. An
    // expool descriptor handed to the freelist is not returned to the pool
    // (NetBSD leaks it the same way).
    for (extent_region* rp = ex->ex_fixed->fex_freelist.lh_first; rp != nullptr;) {
      extent_region* next = rp->er_next;
      if ((rp->er_flags & ER_ALLOC) == 0) descriptor_delete(rp);
      rp = next;
    }
  }
  if (!extent_early(ex)) {
    cv_destroy(&ex->ex_cv);
    mutex_destroy(&ex->ex_lock);
  }
  const vaddr_t addr = ex->ex_addr;
  const bool fixed = (ex->ex_flags & EXF_FIXED) != 0;
  g.shadow.erase(ex);
  for (auto it = g.extent_list.begin(); it != g.extent_list.end(); ++it)
    if (*it == ex) {
      g.extent_list.erase(it);
      break;
    }
  g.extents.erase(addr);
  if (!fixed) extent_struct_free(addr);
}

namespace {

// extent_wait_for_space: the request did not fit. With EX_WAITSPACE, sleep
// until a free makes room and return 0: the caller rescans, with ex_lock
// held again. Otherwise, or when an EX_CATCH sleep is interrupted, give the
// descriptor back, unlock and return the error (EAGAIN, or EINTR).
//  => ex_lock held.
int extent_wait_for_space(extent* ex, extent_region* myrp, int flags) {
  int error = kEAGAIN;
  if (flags & EX_WAITSPACE) {
    ex->ex_nwaitspace++;
    error = extent_sleep(ex, flags);
    if (error == 0) {
      kasim_mark("extent_waitspace_wakeup");
      return 0;
    }
  } else {
    ex->ex_neagain++;
  }
  extent_free_region_descriptor(ex, myrp);
  ex_unlock(ex);
  return error;
}

}  // namespace

int extent_alloc_region(extent* ex, u_long start, u_long size, int flags) {
  if (ex == nullptr) panic("extent_alloc_region: NULL extent");
  if (size < 1) panic("extent_alloc_region: extent `%s', size 0x%lx", ex->ex_name, size);
  const u_long end = start + (size - 1);
  if (end < start)
    panic("extent_alloc_region: overflow (extent `%s', start 0x%lx, size 0x%lx)", ex->ex_name,
          start, size);
  extent_assert_sleepable("extent_alloc_region", ex, flags);
  // Outside the extent: the non-DIAGNOSTIC kernel's EINVAL (§12 item 48).
  if (start < ex->ex_start || end > ex->ex_end) return kEINVAL;

  extent_region* myrp = extent_alloc_region_descriptor(ex, flags);
  if (myrp == nullptr) {
    ex->ex_nenomem++;
    return kENOMEM;
  }
  ex_lock(ex);
  for (;;) {
    // The list is sorted: stop at the first region that starts after us;
    // `last` is where we go (NULL: at the head).
    extent_region* last = nullptr;
    extent_region* conflict = nullptr;
    for (extent_region* rp = ex->ex_regions.lh_first; rp != nullptr; rp = rp->er_next) {
      if (rp->er_start > end) break;
      if (rp->er_end >= start) {
        conflict = rp;
        break;
      }
      last = rp;
    }
    if (conflict == nullptr) {
      extent_insert_and_optimize(ex, start, size, last, myrp);
      extent_shadow_alloc(ex, start, size);
      ex->ex_nalloc++;
      ex_unlock(ex);
      return 0;
    }
    const int error = extent_wait_for_space(ex, myrp, flags);
    if (error == 0) continue;
    return error;
  }
}

// Whether a candidate ending at newend crosses the boundary line just after
// dontcross (the last address before the line).
// Planted bug "extent_boundary_off_by_one": the test lets a region end on the
// line itself (newend == dontcross + 1).
static bool extent_crosses(u_long newend, u_long dontcross) {
  if (kasim_canary("extent_boundary_off_by_one")) return newend > dontcross + 1;
  return newend > dontcross;
}

int extent_alloc_subregion1(extent* ex, u_long substart, u_long subend, u_long size,
                            u_long alignment, u_long skew, u_long boundary, int flags,
                            u_long* result) {
  if (ex == nullptr) panic("extent_alloc_subregion: NULL extent");
  if (result == nullptr) panic("extent_alloc_subregion: NULL result pointer");
  // A subend beyond ex_end passes, as in the non-DIAGNOSTIC kernel (§7.2).
  if (substart < ex->ex_start || substart > ex->ex_end || subend < ex->ex_start)
    panic("extent_alloc_subregion: bad subregion (extent `%s' (0x%lx - 0x%lx), "
          "subregion 0x%lx - 0x%lx)",
          ex->ex_name, ex->ex_start, ex->ex_end, substart, subend);
  if (size < 1 || size - 1 > subend - substart)
    panic("extent_alloc_subregion: bad size (extent `%s', size 0x%lx)", ex->ex_name, size);
  if (alignment == 0) panic("extent_alloc_subregion: bad alignment");
  if (boundary != 0 && boundary < size)
    panic("extent_alloc_subregion: bad boundary (extent `%s', size 0x%lx, boundary 0x%lx)",
          ex->ex_name, size, boundary);
  extent_assert_sleepable("extent_alloc_subregion", ex, flags);

  extent_region* myrp = extent_alloc_region_descriptor(ex, flags);
  if (myrp == nullptr) {
    ex->ex_nenomem++;
    return kENOMEM;
  }
  const u_long bound_base = (flags & EX_BOUNDZERO) ? 0 : ex->ex_start;
  ex_lock(ex);
  for (;;) {
    u_long bestovh = 0, beststart = 0;  // bestovh 0: no candidate yet
    extent_region* bestlast = nullptr;
    u_long exend = ex->ex_end;  // end of the gap: ex_end or the first region past subend
    u_long newstart = EXTENT_ALIGN(substart, alignment, skew);
    extent_region* last = nullptr;
    extent_region* rp = nullptr;
    bool found = false;

    if (newstart < ex->ex_start) {
      // Aligning wrapped around the top of the address space.
      extent_free_region_descriptor(ex, myrp);
      ex_unlock(ex);
      return kEINVAL;
    }
    for (rp = ex->ex_regions.lh_first; rp != nullptr; rp = rp->er_next) {
      if (rp->er_start >= newstart) break;
      last = rp;
    }
    if (last != nullptr && last->er_end >= newstart)
      newstart = EXTENT_ALIGN(last->er_end + 1, alignment, skew);

    // The gaps before each region from here on. A failed boundary check
    // ends the search (goto fail), as NetBSD's does.
    bool failed = false;
    for (; rp != nullptr; rp = rp->er_next) {
      if (rp->er_start > subend) {
        exend = rp->er_start;
        break;
      }
      if (LE_OV(newstart, size, rp->er_start)) {
        bool skip = false;
        if (boundary != 0) {
          u_long newend = newstart + (size - 1);
          u_long dontcross = EXTENT_ALIGN(newstart + 1, boundary, bound_base) - 1;
          if (dontcross < ex->ex_start) {
            dontcross = ex->ex_end;  // the next line wrapped: no line ahead
          } else if (extent_crosses(newend, dontcross)) {
            // Crossing a line: start on it, without re-aligning.
            newstart = dontcross + 1;
            newend = newstart + (size - 1);
            dontcross += boundary;
            if (!LE_OV(newstart, size, rp->er_start)) skip = true;
          }
          if (!skip && (newstart + size - 1 > ex->ex_end || dontcross < newstart)) {
            failed = true;
            break;
          }
        }
        if (!skip) {
          const u_long ovh = rp->er_start - newstart - size;
          if ((flags & EX_FAST) || ovh == 0) {
            found = true;
            break;
          }
          if (bestovh == 0 || ovh < bestovh) {
            bestovh = ovh;
            beststart = newstart;
            bestlast = last;
          }
        }
      }
      newstart = EXTENT_ALIGN(rp->er_end + 1, alignment, skew);
      if (newstart < rp->er_end) {
        // Aligning past this region wrapped: nothing above it can fit.
        failed = true;
        break;
      }
      last = rp;
    }

    // The tail gap, up to subend; its overhead is measured to exend.
    if (!found && !failed && LE_OV(newstart, size - 1, subend)) {
      bool fits = true;
      if (boundary != 0) {
        u_long newend = newstart + (size - 1);
        u_long dontcross = EXTENT_ALIGN(newstart + 1, boundary, bound_base) - 1;
        if (dontcross < ex->ex_start) {
          dontcross = ex->ex_end;
        } else if (extent_crosses(newend, dontcross)) {
          newstart = dontcross + 1;
          newend = newstart + (size - 1);
          dontcross += boundary;
          if (!LE_OV(newstart, size - 1, subend)) fits = false;
        }
        if (fits && (newend > ex->ex_end || dontcross < newstart)) fits = false;
      }
      if (fits) {
        const u_long ovh = exend - newstart - (size - 1);
        if ((flags & EX_FAST) || ovh == 0) {
          found = true;
        } else if (bestovh == 0 || ovh < bestovh) {
          bestovh = ovh;
          beststart = newstart;
          bestlast = last;
        }
      }
    }

    // fail: a good-enough best fit, or wait for space, or EAGAIN.
    if (!found && (flags & EX_FAST) == 0 && bestovh != 0) {
      newstart = beststart;
      last = bestlast;
      found = true;
    }
    if (found) {
      extent_insert_and_optimize(ex, newstart, size, last, myrp);
      extent_shadow_alloc(ex, newstart, size, alignment, skew, boundary, flags);
      ex->ex_nalloc++;
      ex_unlock(ex);
      *result = newstart;
      return 0;
    }
    const int error = extent_wait_for_space(ex, myrp, flags);
    if (error == 0) continue;
    return error;
  }
}

int extent_alloc_subregion(extent* ex, u_long substart, u_long subend, u_long size,
                           u_long alignment, u_long boundary, int flags, u_long* result) {
  return extent_alloc_subregion1(ex, substart, subend, size, alignment, 0, boundary, flags,
                                 result);
}

int extent_alloc(extent* ex, u_long size, u_long alignment, u_long boundary, int flags,
                 u_long* result) {
  if (ex == nullptr) panic("extent_alloc_subregion: NULL extent");
  return extent_alloc_subregion1(ex, ex->ex_start, ex->ex_end, size, alignment, 0, boundary,
                                 flags, result);
}

int extent_alloc1(extent* ex, u_long size, u_long alignment, u_long skew, u_long boundary,
                  int flags, u_long* result) {
  if (ex == nullptr) panic("extent_alloc_subregion: NULL extent");
  return extent_alloc_subregion1(ex, ex->ex_start, ex->ex_end, size, alignment, skew, boundary,
                                 flags, result);
}

int extent_free(extent* ex, u_long start, u_long size, int flags) {
  if (ex == nullptr) panic("extent_free: NULL extent");
  const u_long end = start + (size - 1);
  if (start < ex->ex_start || end > ex->ex_end) {
    const std::string map = extent_print_string(ex);
    panic("extent_free: extent `%s', region not within extent\n%s"
          "extent_free: extent `%s', start 0x%lx, size 0x%lx",
          ex->ex_name, map.c_str(), ex->ex_name, start, size);
  }
  if (end < start) {
    const std::string map = extent_print_string(ex);
    panic("extent_free: overflow\n%sextent_free: extent `%s', start 0x%lx, size 0x%lx",
          map.c_str(), ex->ex_name, start, size);
  }
  extent_assert_sleepable("extent_free", ex, flags & EX_WAITOK);

  // A coalescing extent may have to split a region, and the descriptor
  // allocation may sleep: take it before the lock, whatever the case.
  const bool coalesce = (ex->ex_flags & EXF_NOCOALESCE) == 0;
  extent_region* nrp = nullptr;
  if (coalesce) {
    nrp = extent_alloc_region_descriptor(ex, flags);
    if (nrp == nullptr) {
      ex->ex_nenomem++;
      return kENOMEM;
    }
  }
  ex_lock(ex);
  bool done = false;
  for (extent_region* rp = ex->ex_regions.lh_first; rp != nullptr; rp = rp->er_next) {
    if (rp->er_end < start) continue;
    if (rp->er_start > end) break;
    if (start == rp->er_start && end == rp->er_end) {  // case 1: the whole region
      er_remove(rp);
      extent_free_region_descriptor(ex, rp);
      done = true;
      break;
    }
    if (!coalesce) continue;
    if (start == rp->er_start && end < rp->er_end) {  // case 2: its head
      rp->er_start = end + 1;
      done = true;
      break;
    }
    if (start > rp->er_start && end == rp->er_end) {  // case 3: its tail
      rp->er_end = start - 1;
      done = true;
      break;
    }
    if (start > rp->er_start && end < rp->er_end) {  // case 4: split it
      nrp->er_start = end + 1;
      nrp->er_end = rp->er_end;
      rp->er_end = start - 1;
      er_settle(ex, nrp);
      er_insert_after(rp, nrp);
      nrp = nullptr;
      done = true;
      break;
    }
  }
  if (!done) {
    ex_unlock(ex);
    const std::string map = extent_print_string(ex);
    kprintf("%s", map.c_str());
    kprintf("extent_free: start 0x%lx, end 0x%lx\n", start, end);
    panic("extent_free: region not found\n%sextent_free: start 0x%lx, end 0x%lx", map.c_str(),
          start, end);
  }
  if (nrp != nullptr) extent_free_region_descriptor(ex, nrp);
  extent_shadow_free(ex, start, size);
  ex->ex_nfree++;
  if (!extent_early(ex)) cv_broadcast(&ex->ex_cv);
  ex_unlock(ex);
  return 0;
}

std::string extent_print_string(const extent* ex) {
  std::string out = kasim_format("extent `%s' (0x%lx - 0x%lx), flags = 0x%x\n", ex->ex_name,
                                 ex->ex_start, ex->ex_end, ex->ex_flags);
  for (const extent_region* rp = ex->ex_regions.lh_first; rp != nullptr; rp = rp->er_next)
    out += kasim_format("     0x%lx - 0x%lx\n", rp->er_start, rp->er_end);
  return out;
}

std::string extent_print(extent* ex) {
  if (ex == nullptr) panic("extent_print: NULL extent");
  ex_lock(ex);
  std::string out = extent_print_string(ex);
  ex_unlock(ex);
  kprintf("%s", out.c_str());
  return out;
}

}  // namespace kasim
