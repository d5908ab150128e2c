// An AckTracker exists per open file (10,000 with as many pods), so an idle one must cost only
// itself: this binary's operator new counts while a test asks it to.
#include <gtest/gtest.h>

#include "model/ack.h"
#include "support/counting_new.h"

namespace {
bool& g_counting = skidder::testing::alloc_count::counting;
size_t& g_allocations = skidder::testing::alloc_count::allocations;
}  // namespace

namespace skidder {
namespace {

TEST(AckTrackerMemory, AnIdleTrackerAllocatesOnlyItselfAndItsControlBlock) {
  g_allocations = 0;
  g_counting = true;
  std::shared_ptr<AckTracker> tracker = AckTracker::Create(0);
  g_counting = false;
  EXPECT_LE(g_allocations, 2u);
}

TEST(AckTrackerMemory, AnAcknowledgedReadLeavesTheTrackerIdleAgain) {
  std::shared_ptr<AckTracker> tracker = AckTracker::Create(0);
  { AckRef ref = tracker->Open(100); }
  EXPECT_EQ(tracker->Committed(), 100u);
  EXPECT_EQ(tracker->Pending(), 0u);
}

}  // namespace
}  // namespace skidder
