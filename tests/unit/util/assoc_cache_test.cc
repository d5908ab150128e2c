// AssocCache: two ways per set, the older replaced; grows when keys it evicted come back, not
// for keys seen once (a backlog) or rare misses over a long run; never past max_slots.
#include "util/assoc_cache.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace skidder {
namespace {

struct Slot {
  uint64_t key = 0;  // 0: empty
  int value = 0;
};

// Looks key up; on a miss inserts it with value key * 10. Returns whether it hit.
bool Lookup(AssocCache<Slot>& c, uint64_t key) {
  if (Slot* s = c.Find(key, [&](const Slot& s) { return s.key == key; })) {
    EXPECT_EQ(s->value, static_cast<int>(key * 10));
    return true;
  }
  Slot& s = c.Insert(key);
  s.key = key;
  s.value = static_cast<int>(key * 10);
  return false;
}

TEST(AssocCache, KeepsTwoResultsPerSetAndReplacesTheOlder) {
  AssocCache<Slot> c(16);  // stays at 16 slots: 8 sets of two
  EXPECT_FALSE(Lookup(c, 1));
  EXPECT_TRUE(Lookup(c, 1));
  // Whatever set they land in, the last two keys inserted there are found again.
  for (uint64_t k = 2; k < 200; ++k) {
    EXPECT_FALSE(Lookup(c, k));
    EXPECT_TRUE(Lookup(c, k));
  }
  EXPECT_EQ(c.slots(), 16u);
}

TEST(AssocCache, KeysSeenOnceEachDoNotGrowIt) {
  AssocCache<Slot> c(4096);
  // A backlog of 10,000 files read one after another: each key twice in a row, never again.
  for (uint64_t k = 1; k <= 10'000; ++k) {
    Lookup(c, k);
    EXPECT_TRUE(Lookup(c, k));
  }
  EXPECT_EQ(c.slots(), 16u);
}

TEST(AssocCache, GrowsWhileKeysItEvictedComeBackUntilTheyFit) {
  AssocCache<Slot> c(4096);
  // 1000 keys in turn, as a reader of 1000 files: at first nearly every lookup misses.
  int hits = 0;
  for (int round = 0; round < 30; ++round) {
    hits = 0;
    for (uint64_t k = 1; k <= 1000; ++k) hits += Lookup(c, k) ? 1 : 0;
  }
  EXPECT_GE(c.slots(), 2048u);
  EXPECT_LE(c.slots(), 4096u);
  EXPECT_GT(hits, 700) << "slots: " << c.slots();  // of the last round's 1000
}

TEST(AssocCache, StopsAtMaxSlots) {
  AssocCache<Slot> c(64);
  for (int round = 0; round < 50; ++round) {
    for (uint64_t k = 1; k <= 60; ++k) Lookup(c, k);
  }
  EXPECT_EQ(c.slots(), 64u);
}

TEST(AssocCache, RareMissesAmongHitsDoNotGrowIt) {
  AssocCache<Slot> c(4096);
  for (uint64_t k = 1; k <= 4; ++k) Lookup(c, k);
  // A long run of hits with a new key now and then (one lookup in fifty misses).
  uint64_t next = 1000;
  for (int i = 0; i < 200'000; ++i) {
    Lookup(c, static_cast<uint64_t>(i % 4) + 1);
    if (i % 50 == 0) Lookup(c, next++);
  }
  EXPECT_EQ(c.slots(), 16u);
}

}  // namespace
}  // namespace skidder
