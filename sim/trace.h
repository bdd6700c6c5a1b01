// sim/trace.h: the run's step record and its 64-bit fingerprint.
//
// Every step that matters (op begin/end, context switch, interrupt entry/exit,
// page alloc/free, fault injected, finding) is appended as a fixed-size record.
// The hash covers every record ever appended; the record buffer keeps only the
// most recent `capacity` records, so long runs stay bounded in memory. Records
// carry ids and simulated times only, never host pointers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kasim {

enum class TraceKind : uint8_t {
  op_begin = 1,   // a = op id, b = step index
  op_end,         // a = op id, b = step index
  run,            // the context that runs changed; a = previous context id
  intr_enter,     // a = interrupt source id, b = ipl
  intr_exit,      // a = interrupt source id
  page_alloc,     // a = page index
  page_free,      // a = page index
  sleep,          // a = wait channel id
  wakeup,         // a = woken context id
  fault,          // a = fault site hash
  finding,        // a = hash of the finding's kind
  spl,            // a = new spl
  user,           // a, b: allocator-defined
};

const char* trace_kind_name(TraceKind k);

struct TraceRecord {
  uint64_t time;
  uint64_t a;
  uint32_t b;
  uint32_t ctx;
  uint16_t cpu;
  TraceKind kind;
};

class Trace {
 public:
  // The ring holds what a report shows of the trace's end; the hash covers
  // everything. Kept small and allocated once: a fuzz campaign makes many machines.
  explicit Trace(size_t capacity = 1024) : capacity_(capacity) { ring_.reserve(capacity); }

  void append(TraceKind kind, uint16_t cpu, uint32_t ctx, uint64_t time, uint64_t a = 0,
              uint32_t b = 0);

  uint64_t hash() const;
  uint64_t count() const { return count_; }
  // The retained records, oldest first.
  std::vector<TraceRecord> tail() const;

 private:
  void mix(uint64_t word) {
    h_ ^= word;
    h_ *= 0x100000001b3ULL;  // FNV-1a prime over 64-bit words
    h_ ^= h_ >> 29;
  }

  size_t capacity_;
  std::vector<TraceRecord> ring_;
  size_t next_ = 0;
  uint64_t count_ = 0;
  uint64_t h_ = 0xcbf29ce484222325ULL;  // FNV-1a offset basis
};

// Deterministic 64-bit hash of a string (FNV-1a), for names that enter the trace.
uint64_t hash_name(const std::string& s);

}  // namespace kasim
