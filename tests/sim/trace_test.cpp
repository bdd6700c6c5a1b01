// Tests for sim/trace: the trace hash is a fingerprint of every record ever
// appended, and the record buffer keeps only the latest `capacity` records.
#include "sim/trace.h"

#include <gtest/gtest.h>

#include <set>

namespace kasim {
namespace {

struct Rec {
  TraceKind kind = TraceKind::run;
  uint16_t cpu = 1;
  uint32_t ctx = 2;
  uint64_t time = 300;
  uint64_t a = 4;
  uint32_t b = 5;
};

uint64_t hash_of(std::initializer_list<Rec> recs) {
  Trace t;
  for (const Rec& r : recs) t.append(r.kind, r.cpu, r.ctx, r.time, r.a, r.b);
  return t.hash();
}

TEST(Trace, EqualSequencesHashEqual) {
  Rec x, y;
  y.time = 900;
  EXPECT_EQ(hash_of({x, y}), hash_of({x, y}));
  EXPECT_EQ(hash_of({}), hash_of({}));
}

TEST(Trace, HashChangesWithEveryField) {
  Rec base;
  std::set<uint64_t> hashes{hash_of({base})};
  Rec r = base;
  r.kind = TraceKind::wakeup;
  hashes.insert(hash_of({r}));
  r = base;
  r.cpu = 3;
  hashes.insert(hash_of({r}));
  r = base;
  r.ctx = 7;
  hashes.insert(hash_of({r}));
  r = base;
  r.time = 301;
  hashes.insert(hash_of({r}));
  r = base;
  r.a = 5;
  hashes.insert(hash_of({r}));
  r = base;
  r.b = 6;
  hashes.insert(hash_of({r}));
  EXPECT_EQ(hashes.size(), 7u) << "some field does not enter the hash";
}

TEST(Trace, HashDependsOnOrderAndLength) {
  Rec x, y;
  y.a = 99;
  EXPECT_NE(hash_of({x, y}), hash_of({y, x}));
  EXPECT_NE(hash_of({x}), hash_of({x, x}));
  EXPECT_NE(hash_of({}), hash_of({x}));
}

TEST(Trace, FieldsDoNotAlias) {
  // cpu and ctx share one hashed word: moving a bit between them must show.
  Rec p, q;
  p.cpu = 1;
  p.ctx = 0;
  q.cpu = 0;
  q.ctx = 1u << 31;
  EXPECT_NE(hash_of({p}), hash_of({q}));
}

TEST(Trace, TailKeepsLatestCapacityRecordsOldestFirst) {
  Trace t(4);
  for (uint64_t i = 0; i < 10; ++i) t.append(TraceKind::user, 0, 1, i * 10, i, 0);
  EXPECT_EQ(t.count(), 10u);
  auto tail = t.tail();
  ASSERT_EQ(tail.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(tail[i].a, 6 + i);
    EXPECT_EQ(tail[i].time, (6 + i) * 10);
    EXPECT_EQ(tail[i].kind, TraceKind::user);
  }
}

TEST(Trace, TailBeforeAndAtWrap) {
  Trace t(3);
  t.append(TraceKind::spl, 0, 0, 0, 1);
  t.append(TraceKind::spl, 0, 0, 0, 2);
  auto partial = t.tail();
  ASSERT_EQ(partial.size(), 2u);
  EXPECT_EQ(partial[0].a, 1u);
  EXPECT_EQ(partial[1].a, 2u);
  t.append(TraceKind::spl, 0, 0, 0, 3);  // exactly full
  t.append(TraceKind::spl, 0, 0, 0, 4);  // first overwrite
  auto full = t.tail();
  ASSERT_EQ(full.size(), 3u);
  EXPECT_EQ(full[0].a, 2u);
  EXPECT_EQ(full[1].a, 3u);
  EXPECT_EQ(full[2].a, 4u);
}

TEST(Trace, HashCoversRecordsTheRingDropped) {
  Trace small(2), big(1000);
  Trace small_other(2);
  for (uint64_t i = 0; i < 50; ++i) {
    small.append(TraceKind::user, 0, 0, i, i);
    big.append(TraceKind::user, 0, 0, i, i);
    small_other.append(TraceKind::user, 0, 0, i, i == 3 ? 1000 : i);  // differs only in a dropped record
  }
  EXPECT_EQ(small.hash(), big.hash());  // capacity is storage, not identity
  EXPECT_NE(small.hash(), small_other.hash());
  Trace none(0);
  none.append(TraceKind::user, 0, 0, 1, 1);
  EXPECT_TRUE(none.tail().empty());
  EXPECT_EQ(none.count(), 1u);
}

TEST(Trace, HashNameIsFnv1a) {
  EXPECT_EQ(hash_name(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(hash_name("a"), 0xaf63dc4c8601ec8cULL);  // published FNV-1a 64 test vector
  EXPECT_NE(hash_name("deadlock"), hash_name("mutex"));
}

}  // namespace
}  // namespace kasim
