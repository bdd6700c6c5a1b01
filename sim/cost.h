// sim/cost.h: how much simulated time each primitive costs.
//
// Each primitive advances the clock of the CPU that executes it. A mutex or a
// cache line last touched by another CPU costs the "remote" figure (a cache
// line transfer), one last touched by the same CPU the "local" figure.
// Defaults are documented in docs/cost-model.md; a scenario may override any
// of them under machine.costs.
#pragma once

#include <cstdint>

namespace kasim {

// Simulated time saturates instead of wrapping: a delay of 2^64-1 ns runs the
// clock into the scenario's time limit rather than back to a few nanoseconds.
constexpr uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }
constexpr uint64_t sat_mul(uint64_t a, uint64_t b) {
  return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

struct CostModel {
  uint64_t op = 20;               // dispatching one scenario op
  uint64_t mutex_local = 20;      // mutex_enter/exit on a lock last held on this CPU
  uint64_t mutex_remote = 120;    // ... last held on another CPU
  uint64_t atomic_local = 10;     // CAS or atomic op on a line last touched here
  uint64_t atomic_remote = 100;   // ... last touched by another CPU
  uint64_t spl = 5;               // splraise / splx
  uint64_t cv = 40;               // cv_signal / cv_broadcast / the bookkeeping of cv_wait
  uint64_t context_switch = 600;  // switching LWPs on a CPU
  uint64_t intr_entry = 300;      // taking an interrupt
  uint64_t intr_exit = 150;       // returning from one
  uint64_t page_alloc = 250;      // uvm_pagealloc
  uint64_t page_free = 150;       // uvm_pagefree
  uint64_t pmap = 60;             // pmap_kenter_pa / pmap_kremove per page
  uint64_t spin_retry = 50;       // one retry of a contended spin mutex
};

}  // namespace kasim
