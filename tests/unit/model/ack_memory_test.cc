// An AckTracker exists per open file (10,000 with as many pods), so an idle one must cost only
// itself: this binary's operator new counts while a test asks it to.
#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "model/ack.h"

namespace {
bool g_counting = false;
size_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (g_counting) ++g_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The nothrow form too, so that every operator new pairs with the free() below.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_counting) ++g_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

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
