#include "model/ack.h"

#include <gtest/gtest.h>

#include <memory>

#include "model/entry.h"

namespace skidder {
namespace {

TEST(AckTracker, CommitsOnlyTheCompletedPrefix) {
  auto tracker = AckTracker::Create(0);
  AckRef a = tracker->Open(100);
  AckRef b = tracker->Open(200);
  AckRef c = tracker->Open(300);
  b.Reset();
  c.Reset();
  EXPECT_EQ(tracker->Committed(), 0u) << "a is still in flight";
  a.Reset();
  EXPECT_EQ(tracker->Committed(), 300u);
  EXPECT_EQ(tracker->Pending(), 0u);
}

TEST(AckTracker, EntryCopiesHoldTheCheckpointUntilAllAreDone) {
  auto tracker = AckTracker::Create(10);
  Entry e;
  e.ack = tracker->Open(50);
  Entry copy = e;  // fan-out to a second client
  e.ack.Reset();
  EXPECT_EQ(tracker->Committed(), 10u);
  copy = Entry{};
  EXPECT_EQ(tracker->Committed(), 50u);
}

TEST(AckTracker, ResetAfterTruncationIgnoresOldInFlightCheckpoints) {
  auto tracker = AckTracker::Create(0);
  AckRef old = tracker->Open(5000);
  tracker->Reset(0);
  AckRef fresh = tracker->Open(100);
  old.Reset();
  EXPECT_EQ(tracker->Committed(), 0u) << "old content must not move the new position";
  fresh.Reset();
  EXPECT_EQ(tracker->Committed(), 100u);
}

TEST(AckTracker, TrackerOutlivesItsOwnerWhileCheckpointsAreInFlight) {
  AckRef ref;
  {
    auto tracker = AckTracker::Create(0);
    ref = tracker->Open(42);
  }
  ref.Reset();  // must not touch freed memory (ASan checks this)
  SUCCEED();
}

TEST(AckTracker, AbandonedCheckpointNeverCommitsButFreesItsMemory) {
  std::weak_ptr<AckTracker> weak;
  {
    auto tracker = AckTracker::Create(0);
    weak = tracker;
    AckRef done = tracker->Open(100);
    AckRef given_up = tracker->Open(200);
    AckRef later = tracker->Open(300);
    done.Reset();
    EXPECT_EQ(tracker->Committed(), 100u);
    given_up.Abandon();
    later.Reset();
    EXPECT_EQ(tracker->Committed(), 100u) << "nothing at or after an abandoned entry commits";
    EXPECT_TRUE(tracker->Blocked());
    EXPECT_EQ(tracker->Pending(), 0u) << "finished checkpoints of a blocked tracker are freed";
    AckRef after = tracker->Open(400);  // a reader still going: never commits either
    after.Reset();
    EXPECT_EQ(tracker->Committed(), 100u);
    EXPECT_EQ(tracker->Pending(), 0u);
  }
  EXPECT_TRUE(weak.expired()) << "the tracker and its checkpoints are gone with their owner";
}

TEST(AckTracker, AbandoningOneCopyOfAFannedOutEntryBlocksTheCommit) {
  auto tracker = AckTracker::Create(0);
  AckRef a = tracker->Open(100);
  AckRef b = a;  // the same entry in a second client
  a.Abandon();
  b.Reset();  // the other client delivered it
  EXPECT_EQ(tracker->Committed(), 0u);
}

TEST(AckTracker, TruncationUnblocksAnAbandonedTracker) {
  auto tracker = AckTracker::Create(0);
  tracker->Open(100).Abandon();
  EXPECT_TRUE(tracker->Blocked());
  tracker->Reset(0);
  tracker->Open(50).Reset();
  EXPECT_EQ(tracker->Committed(), 50u);
}

}  // namespace
}  // namespace skidder
