#include "formats/partial.h"

#include <gtest/gtest.h>

#include <vector>

namespace skidder::formats {
namespace {

struct Item {
  Entry entry;
};

Item Make(std::string line, int64_t ts = 0, AckRef ack = {}) {
  Item it;
  it.entry.line = std::move(line);
  it.entry.timestamp_ns = ts;
  it.entry.ack = std::move(ack);
  return it;
}

struct Collect {
  std::vector<Item>* out;
  void operator()(Item&& it) const { out->push_back(std::move(it)); }
};

TEST(PartialAssembler, PassesWholeLinesThroughUntouched) {
  PartialAssembler<Item> pa({});
  std::vector<Item> got;
  pa.Add(1, Make("whole"), false, Collect{&got});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.line, "whole");
  EXPECT_EQ(pa.pending(), 0u);
}

TEST(PartialAssembler, JoinsFragmentsPerKeyAndTakesLastFragmentsFields) {
  PartialAssembler<Item> pa({});
  std::vector<Item> got;
  pa.Add(1, Make("out-a ", 1), true, Collect{&got});
  pa.Add(2, Make("err-a ", 2), true, Collect{&got});
  pa.Add(1, Make("out-b ", 3), true, Collect{&got});
  pa.Add(2, Make("err-b", 4), false, Collect{&got});
  pa.Add(1, Make("out-c", 5), false, Collect{&got});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].entry.line, "err-a err-b");
  EXPECT_EQ(got[0].entry.timestamp_ns, 4);
  EXPECT_EQ(got[1].entry.line, "out-a out-b out-c");
  EXPECT_EQ(got[1].entry.timestamp_ns, 5);
}

TEST(PartialAssembler, MergedLineHoldsTheFirstFragmentsAck) {
  auto tracker = AckTracker::Create(0);
  PartialAssembler<Item> pa({});
  std::vector<Item> got;
  {
    AckRef c1 = tracker->Open(100);
    pa.Add(1, Make("a", 0, c1), true, Collect{&got});
  }
  {
    AckRef c2 = tracker->Open(200);
    pa.Add(1, Make("b", 0, c2), false, Collect{&got});
  }
  // The second chunk is complete, but the line still holds the first one.
  EXPECT_EQ(tracker->Committed(), 0u);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.ack.get()->offset(), 100u);
  got.clear();
  EXPECT_EQ(tracker->Committed(), 200u);
}

// Rotation between a line's fragments: its end is in the file that replaced the rotated one.
// That file's position must not pass the end before the whole line is delivered (a crash would
// read the start again from the rotated file and never find the end).
TEST(PartialAssembler, ALineEndingInTheNextFileHoldsBothFilesPositions) {
  auto rotated = AckTracker::Create(0), next = AckTracker::Create(0);
  PartialAssembler<Item> pa({});
  std::vector<Item> got;
  pa.Add(1, Make("start of the line, ", 0, rotated->Open(100)), true, Collect{&got});
  AckRef next_chunk = next->Open(40);  // the new file's read: the line's end and a line after
  pa.Add(1, Make("its end", 0, next_chunk), false, Collect{&got});
  got.push_back(Make("the next line", 0, next_chunk));
  next_chunk.Reset();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].entry.line, "start of the line, its end");
  got.pop_back();  // the line after was delivered
  EXPECT_EQ(next->Committed(), 0u) << "the new file's position passed an undelivered line end";
  EXPECT_EQ(rotated->Committed(), 0u);
  got.clear();  // the whole line delivered
  EXPECT_EQ(rotated->Committed(), 100u);
  EXPECT_EQ(next->Committed(), 40u);
}

// P in the rotated file, P and F in the new one: the line holds the new file's first chunk of
// it, not its last.
TEST(PartialAssembler, ALineOfThreeFragmentsInTwoFilesHoldsEachFilesFirstChunk) {
  auto rotated = AckTracker::Create(0), next = AckTracker::Create(0);
  PartialAssembler<Item> pa({});
  std::vector<Item> got;
  pa.Add(1, Make("a", 0, rotated->Open(100)), true, Collect{&got});
  pa.Add(1, Make("b", 0, next->Open(10)), true, Collect{&got});
  pa.Add(1, Make("c", 0, next->Open(20)), false, Collect{&got});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.line, "abc");
  EXPECT_EQ(next->Committed(), 0u) << "the second fragment's chunk was let go";
  got.clear();
  EXPECT_EQ(rotated->Committed(), 100u);
  EXPECT_EQ(next->Committed(), 20u);
}

TEST(PartialAssembler, TruncatesOverlongLinesOnUtf8Boundary) {
  PartialAssembler<Item> pa({.max_line_bytes = 5, .truncate = true});
  std::vector<Item> got;
  pa.Add(1, Make("abcd"), true, Collect{&got});
  pa.Add(1, Make("\xE2\x82\xAC"), true, Collect{&got});
  pa.Add(1, Make("ignored"), false, Collect{&got});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.line, "abcd");
  EXPECT_EQ(pa.stats().truncated, 1u);
}

TEST(PartialAssembler, DropsOverlongLinesWhenNotTruncatingAndReleasesAcks) {
  auto tracker = AckTracker::Create(0);
  PartialAssembler<Item> pa({.max_line_bytes = 4, .truncate = false});
  std::vector<Item> got;
  pa.Add(1, Make("abc", 0, tracker->Open(10)), true, Collect{&got});
  pa.Add(1, Make("def", 0, tracker->Open(20)), true, Collect{&got});
  pa.Add(1, Make("g", 0, tracker->Open(30)), false, Collect{&got});
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(pa.stats().dropped, 1u);
  EXPECT_EQ(tracker->Committed(), 30u);
}

TEST(PartialAssembler, EmitsEverythingPendingWhenTooManyLinesAreInProgress) {
  PartialAssembler<Item> pa({.max_pending = 2});
  std::vector<Item> got;
  pa.Add(1, Make("one"), true, Collect{&got});
  pa.Add(2, Make("two"), true, Collect{&got});
  EXPECT_TRUE(got.empty());
  pa.Add(3, Make("three"), true, Collect{&got});
  EXPECT_EQ(got.size(), 2u);
  EXPECT_EQ(pa.pending(), 1u);
  EXPECT_EQ(pa.stats().evicted, 2u);
}

TEST(PartialAssembler, FlushEmitsLinesThatWaitedTooLongOrAllWhenForced) {
  PartialAssembler<Item> pa({.max_wait_ns = 100});
  std::vector<Item> got;
  pa.Add(1, Make("old"), true, Collect{&got});
  pa.Flush(1000, false, Collect{&got});  // first sighting
  pa.Add(2, Make("new"), true, Collect{&got});
  pa.Flush(1050, false, Collect{&got});
  EXPECT_TRUE(got.empty());
  pa.Flush(1100, false, Collect{&got});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].entry.line, "old");
  pa.Flush(1101, true, Collect{&got});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].entry.line, "new");
  EXPECT_EQ(pa.pending(), 0u);
}

}  // namespace
}  // namespace skidder::formats
