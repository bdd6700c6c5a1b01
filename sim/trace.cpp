#include "sim/trace.h"

namespace kasim {

const char* trace_kind_name(TraceKind k) {
  switch (k) {
    case TraceKind::op_begin: return "op_begin";
    case TraceKind::op_end: return "op_end";
    case TraceKind::run: return "run";
    case TraceKind::intr_enter: return "intr_enter";
    case TraceKind::intr_exit: return "intr_exit";
    case TraceKind::page_alloc: return "page_alloc";
    case TraceKind::page_free: return "page_free";
    case TraceKind::sleep: return "sleep";
    case TraceKind::wakeup: return "wakeup";
    case TraceKind::fault: return "fault";
    case TraceKind::finding: return "finding";
    case TraceKind::spl: return "spl";
    case TraceKind::user: return "user";
  }
  return "?";
}

void Trace::append(TraceKind kind, uint16_t cpu, uint32_t ctx, uint64_t time, uint64_t a,
                   uint32_t b) {
  mix((static_cast<uint64_t>(kind) << 56) | (static_cast<uint64_t>(cpu) << 32) | ctx);
  mix(time);
  mix(a);
  mix(b);
  ++count_;
  if (capacity_ == 0) return;
  TraceRecord r{time, a, b, ctx, cpu, kind};
  if (ring_.size() < capacity_) {
    ring_.push_back(r);
  } else {
    ring_[next_] = r;
    next_ = (next_ + 1) % capacity_;
  }
}

uint64_t Trace::hash() const {
  // Final avalanche so that hashes of short traces differ in every bit.
  uint64_t z = h_ ^ count_;
  z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdULL;
  z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ULL;
  return z ^ (z >> 33);
}

std::vector<TraceRecord> Trace::tail() const {
  std::vector<TraceRecord> out;
  out.reserve(ring_.size());
  if (ring_.size() < capacity_) return ring_;
  for (size_t i = 0; i < ring_.size(); ++i) out.push_back(ring_[(next_ + i) % ring_.size()]);
  return out;
}

uint64_t hash_name(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace kasim
