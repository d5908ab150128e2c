#include "model/ack.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace skidder
