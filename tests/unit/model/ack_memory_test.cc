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

// A file growing a line at a time makes a read, and so a checkpoint, per line: opening and
// acknowledging one allocates the checkpoint and nothing else (no list node, no vector of the
// checkpoints done), in order or not, and after a Reset set older ones aside.
TEST(AckTrackerMemory, AReadAllocatesOnlyItsCheckpoint) {
  std::shared_ptr<AckTracker> tracker = AckTracker::Create(0);
  auto count = [](auto&& step) {
    g_allocations = 0;
    g_counting = true;
    step();
    g_counting = false;
    return g_allocations;
  };
  AckRef first, second;
  EXPECT_EQ(count([&] { first = tracker->Open(10); }), 1u);
  EXPECT_EQ(count([&] { second = tracker->Open(20); }), 1u);
  EXPECT_EQ(count([&] { second.Reset(); }), 0u);  // out of order: waits for the first
  EXPECT_EQ(tracker->Committed(), 0u);
  EXPECT_EQ(count([&] { first.Reset(); }), 0u);
  EXPECT_EQ(tracker->Committed(), 20u);
  EXPECT_EQ(tracker->Pending(), 0u);
  AckRef old = tracker->Open(30);
  tracker->Reset(0);  // truncated: the in-flight checkpoint is set aside
  AckRef fresh = tracker->Open(5);
  EXPECT_EQ(count([&] { old.Reset(); }), 0u);
  EXPECT_EQ(tracker->Committed(), 0u);
  EXPECT_EQ(count([&] { fresh.Reset(); }), 0u);
  EXPECT_EQ(tracker->Committed(), 5u);
  EXPECT_EQ(tracker->Pending(), 0u);
}

}  // namespace
}  // namespace skidder
