#include "sink/loki/batcher.h"

#include <gtest/gtest.h>

#include "util/clock.h"
#include "support/fake_clock.h"

namespace skidder::sink {
namespace {

using std::chrono::milliseconds;

Entry Line(std::string text) {
  Entry e;
  e.labels = Labels{{"job", "a"}};
  e.line = std::move(text);
  return e;
}

std::vector<std::string> Lines(const Batch& b) {
  std::vector<std::string> out;
  for (const auto& e : b.entries) out.push_back(e.line);
  return out;
}

TEST(Batcher, ClosesABatchWhenTheNextLineWouldExceedBatchSize) {
  FakeClock clock;
  Batcher batcher(10, std::chrono::seconds(1));
  std::deque<Batch> ready;
  batcher.Add("", Line("aaaa"), 100, clock.Steady(), &ready);
  batcher.Add("", Line("bbbb"), 100, clock.Steady(), &ready);
  EXPECT_TRUE(ready.empty());                                 // 8 bytes
  batcher.Add("", Line("ccc"), 100, clock.Steady(), &ready);  // 11 > 10
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(Lines(ready[0]), (std::vector<std::string>{"aaaa", "bbbb"}));
  EXPECT_EQ(ready[0].line_bytes, 8);
  EXPECT_EQ(ready[0].memory_bytes, 200);
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(Lines(ready[1]), (std::vector<std::string>{"ccc"}));
}

TEST(Batcher, ALineLargerThanBatchSizeStillGoesOutAlone) {
  FakeClock clock;
  Batcher batcher(4, std::chrono::seconds(1));
  std::deque<Batch> ready;
  batcher.Add("", Line("a"), 1, clock.Steady(), &ready);
  batcher.Add("", Line("0123456789"), 1, clock.Steady(), &ready);
  batcher.Add("", Line("b"), 1, clock.Steady(), &ready);
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 3u);
  EXPECT_EQ(Lines(ready[1]), (std::vector<std::string>{"0123456789"}));
}

TEST(Batcher, ClosesABatchOnceItIsBatchWaitOld) {
  FakeClock clock;
  Batcher batcher(1 << 20, milliseconds(500));
  std::deque<Batch> ready;
  EXPECT_TRUE(batcher.Add("", Line("x"), 1, clock.Steady(), &ready));
  EXPECT_FALSE(batcher.Add("", Line("y"), 1, clock.Steady(), &ready));  // same open batch
  EXPECT_EQ(*batcher.NextDeadline(), clock.Steady() + milliseconds(500));
  clock.Advance(milliseconds(499));
  batcher.CloseExpired(clock.Steady(), &ready);
  EXPECT_TRUE(ready.empty());
  clock.Advance(milliseconds(1));
  batcher.CloseExpired(clock.Steady(), &ready);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(Lines(ready[0]), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(batcher.empty());
  EXPECT_FALSE(batcher.NextDeadline().has_value());
}

TEST(Batcher, KeepsOneBatchPerTenant) {
  FakeClock clock;
  Batcher batcher(1 << 20, std::chrono::seconds(1));
  std::deque<Batch> ready;
  batcher.Add("team-a", Line("a1"), 1, clock.Steady(), &ready);
  clock.Advance(milliseconds(300));
  batcher.Add("team-b", Line("b1"), 1, clock.Steady(), &ready);
  batcher.Add("team-a", Line("a2"), 1, clock.Steady(), &ready);
  clock.Advance(milliseconds(700));  // team-a's batch is 1s old, team-b's 0.7s
  batcher.CloseExpired(clock.Steady(), &ready);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].tenant, "team-a");
  EXPECT_EQ(Lines(ready[0]), (std::vector<std::string>{"a1", "a2"}));
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[1].tenant, "team-b");
}

TEST(Batcher, EntryMemoryCountsLineLabelsAndMetadata) {
  Entry e = Line("12345");
  e.structured_metadata = {{"k", "vv"}};
  EXPECT_EQ(EntryMemoryBytes(e), static_cast<int64_t>(sizeof(Entry)) + 5 + 4 + 3);
}

TEST(Batcher, ABatchFollowingOneClosedBySizeHasRoomForAsManyEntriesWithoutDoubling) {
  // In a backlog every batch fills up: the next one reserves its entries at once, instead of a
  // vector doubling up to twice the batch (memory: benchmarks/README.md).
  FakeClock clock;
  Batcher batcher(600 * 10, std::chrono::seconds(1));
  std::deque<Batch> ready;
  for (int i = 0; i < 601; ++i) batcher.Add("", Line("0123456789"), 1, clock.Steady(), &ready);
  ASSERT_EQ(ready.size(), 1u);
  ASSERT_EQ(ready[0].entries.size(), 600u);
  for (int i = 0; i < 599; ++i) batcher.Add("", Line("0123456789"), 1, clock.Steady(), &ready);
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[1].entries.size(), 600u);
  EXPECT_GE(ready[1].entries.capacity(), 600u);
  EXPECT_LE(ready[1].entries.capacity(), 675u);
}

TEST(Batcher, ABatchAfterOneClosedByAgeGrowsAsNeeded) {
  FakeClock clock;
  Batcher batcher(1000 * 10, milliseconds(100));
  std::deque<Batch> ready;
  for (int i = 0; i < 600; ++i) batcher.Add("", Line("0123456789"), 1, clock.Steady(), &ready);
  clock.Advance(milliseconds(100));
  batcher.CloseExpired(clock.Steady(), &ready);
  batcher.Add("", Line("0123456789"), 1, clock.Steady(), &ready);
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_LT(ready[1].entries.capacity(), 16u);  // a trickle reserves nothing
}

}  // namespace
}  // namespace skidder::sink
