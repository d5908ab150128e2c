#include "sink/loki/batcher.h"

#include <gtest/gtest.h>

#include "push.pb.h"
#include "support/fake_clock.h"
#include "util/clock.h"

namespace skidder::sink {
namespace {

using std::chrono::milliseconds;

Entry Line(std::string text) {
  Entry e;
  e.labels = Labels{{"job", "a"}};
  e.line = std::move(text);
  return e;
}

// Each entry's line, decoded from its wire form (a StreamAdapter.entries field).
std::vector<std::string> Lines(const Batch& b) {
  std::vector<std::string> out;
  for (const BatchEntry& e : b.entries) {
    logproto::StreamAdapter s;
    EXPECT_TRUE(s.ParseFromString(b.streams[e.stream].data.substr(e.begin, e.end - e.begin)));
    EXPECT_EQ(s.entries_size(), 1);
    out.push_back(s.entries(0).line());
  }
  return out;
}

// Adds as the client does: the entry's labels are final, the line is sent as it is.
bool Add(Batcher& batcher, const std::string& tenant, const Entry& e, SteadyTime now,
         std::deque<Batch>* ready) {
  int64_t memory = 0;
  return batcher.Add(tenant, e.labels, e, e.line, e.ack, now, ready, &memory);
}

TEST(Batcher, ClosesABatchWhenTheNextLineWouldExceedBatchSize) {
  FakeClock clock;
  Batcher batcher(10, std::chrono::seconds(1));
  std::deque<Batch> ready;
  Add(batcher, "", Line("aaaa"), clock.Steady(), &ready);
  Add(batcher, "", Line("bbbb"), clock.Steady(), &ready);
  EXPECT_TRUE(ready.empty());                             // 8 bytes
  Add(batcher, "", Line("ccc"), clock.Steady(), &ready);  // 11 > 10
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(Lines(ready[0]), (std::vector<std::string>{"aaaa", "bbbb"}));
  EXPECT_EQ(ready[0].line_bytes, 8);
  int64_t memory = 0;
  for (const BatchEntry& e : ready[0].entries) memory += BatchEntryMemory(e);
  EXPECT_GE(memory, 8) << "at least the lines";
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(Lines(ready[1]), (std::vector<std::string>{"ccc"}));
}

// A run's reservation (Batch::Add) is bounded by the room left in the batch: the rest of the
// run goes to the next batch, which must not be paid for twice.
TEST(Batcher, AReservationIsBoundedByTheRoomLeftInTheBatch) {
  FakeClock clock;
  Batcher batcher(1000, std::chrono::seconds(1));
  std::deque<Batch> ready;
  Entry e = Line(std::string(100, 'x'));
  int64_t memory = 0;
  batcher.Add("", e.labels, e, e.line, e.ack, clock.Steady(), &ready, &memory, 1'000'000);
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 1u);
  const size_t cap = ready[0].streams[0].data.capacity();
  EXPECT_GE(cap, 900u) << "the room the batch has left was reserved";
  EXPECT_LE(cap, 1000u + 1000u / 8 + kEntryWireOverhead) << "not the whole run's million bytes";
  EXPECT_GE(memory, static_cast<int64_t>(cap) - 64) << "the first entry is charged for it";
}

TEST(Batcher, ALineLargerThanBatchSizeStillGoesOutAlone) {
  FakeClock clock;
  Batcher batcher(4, std::chrono::seconds(1));
  std::deque<Batch> ready;
  Add(batcher, "", Line("a"), clock.Steady(), &ready);
  Add(batcher, "", Line("0123456789"), clock.Steady(), &ready);
  Add(batcher, "", Line("b"), clock.Steady(), &ready);
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 3u);
  EXPECT_EQ(Lines(ready[1]), (std::vector<std::string>{"0123456789"}));
}

TEST(Batcher, ClosesABatchOnceItIsBatchWaitOld) {
  FakeClock clock;
  Batcher batcher(1 << 20, milliseconds(500));
  std::deque<Batch> ready;
  EXPECT_TRUE(Add(batcher, "", Line("x"), clock.Steady(), &ready));
  EXPECT_FALSE(Add(batcher, "", Line("y"), clock.Steady(), &ready));  // same open batch
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
  Add(batcher, "team-a", Line("a1"), clock.Steady(), &ready);
  clock.Advance(milliseconds(300));
  Add(batcher, "team-b", Line("b1"), clock.Steady(), &ready);
  Add(batcher, "team-a", Line("a2"), clock.Steady(), &ready);
  clock.Advance(milliseconds(700));  // team-a's batch is 1s old, team-b's 0.7s
  batcher.CloseExpired(clock.Steady(), &ready);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].tenant, "team-a");
  EXPECT_EQ(Lines(ready[0]), (std::vector<std::string>{"a1", "a2"}));
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[1].tenant, "team-b");
}

// The client closes the open batches early when its budget is full, but not those of a tenant
// whose batch waits for a retry: they could only wait too.
TEST(Batcher, CloseAllButLeavesTheNamedTenantsBatchesOpen) {
  FakeClock clock;
  Batcher batcher(1 << 20, std::chrono::seconds(1));
  std::deque<Batch> ready;
  Add(batcher, "team-a", Line("a1"), clock.Steady(), &ready);
  Add(batcher, "team-b", Line("b1"), clock.Steady(), &ready);
  Add(batcher, "team-c", Line("c1"), clock.Steady(), &ready);
  batcher.CloseAllBut([](const std::string& tenant) { return tenant == "team-b"; }, &ready);
  ASSERT_EQ(ready.size(), 2u);
  EXPECT_EQ(ready[0].tenant, "team-a");
  EXPECT_EQ(ready[1].tenant, "team-c");
  EXPECT_FALSE(batcher.empty());
  Add(batcher, "team-b", Line("b2"), clock.Steady(), &ready);
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 3u);
  EXPECT_EQ(Lines(ready[2]), (std::vector<std::string>{"b1", "b2"}));
}

TEST(Batcher, EntryMemoryAddsUpToWhatTheBatchAllocated) {
  FakeClock clock;
  Batcher batcher(1 << 20, std::chrono::seconds(1));
  std::deque<Batch> ready;
  int64_t total = 0;
  Entry e = Line("12345");
  e.structured_metadata = {{"k", "vv"}};
  for (int i = 0; i < 1000; ++i) {
    Entry other = Line("line " + std::to_string(i));
    other.labels = Labels{{"job", std::to_string(i % 7)}};
    int64_t memory = 0;
    const Entry& add = i % 3 == 0 ? e : other;
    batcher.Add("", add.labels, add, add.line, add.ack, clock.Steady(), &ready, &memory);
    EXPECT_GE(memory, 0);
    total += memory;
  }
  batcher.CloseAll(&ready);
  ASSERT_EQ(ready.size(), 1u);
  const Batch& b = ready[0];
  size_t allocated =
      b.entries.capacity() * sizeof(BatchEntry) + b.streams.capacity() * sizeof(BatchStream);
  for (const BatchStream& s : b.streams) {
    // A new stream's buffer starts in the string object itself (already in sizeof(BatchStream)).
    allocated +=
        s.data.capacity() - std::string().capacity() + s.text.capacity() + Batch::kStreamIndexBytes;
  }
  EXPECT_EQ(total, static_cast<int64_t>(allocated));
  int64_t per_entry = 0;
  for (const BatchEntry& be : b.entries) per_entry += BatchEntryMemory(be);
  EXPECT_EQ(per_entry, total) << "releasing every entry releases the whole measure";
  EXPECT_EQ(e.line, "12345") << "the entry itself is left as it was";
}

TEST(Batcher, TheBatchHoldsTheEntrysCheckpointUntilReleased) {
  FakeClock clock;
  Batcher batcher(1 << 20, std::chrono::seconds(1));
  std::deque<Batch> ready;
  auto tracker = AckTracker::Create(0);
  {
    Entry e = Line("x");
    e.ack = tracker->Open(2);
    Add(batcher, "", e, clock.Steady(), &ready);
  }  // the reader's entry is gone; the batch still holds the bytes
  EXPECT_EQ(tracker->Committed(), 0u);
  batcher.CloseAll(&ready);
  ready[0].entries[0].ack.Reset();  // sent
  EXPECT_EQ(tracker->Committed(), 2u);
}

}  // namespace
}  // namespace skidder::sink
