// limits_config.readline_rate*: one token bucket over all lines a FileSource reads. Drop mode
// drops and counts the excess (positions still advance past it); wait mode delivers every line,
// only slower.
#include <gtest/gtest.h>

#include <chrono>

#include "sources/file/file_source.h"
#include "sources/file/readline_limiter.h"
#include "support/fake_clock.h"
#include "unit/sources/fake_sink.h"

namespace skidder::sources {
namespace {

using skidder::testing::WaitFor;
using skidder::testing::WriteFile;
using testing::Harness;
using testing::Joined;
using testing::Numbered;

FileSourceOptions Limited(const Harness& h, double rate, int burst, bool drop) {
  auto o = h.DefaultOptions();
  o.limits.readline_rate_enabled = true;
  o.limits.readline_rate = rate;
  o.limits.readline_burst = burst;
  o.limits.readline_rate_drop = drop;
  return o;
}

TEST(ReadlineLimiter, RefillsAtRateUpToBurst) {
  FakeClock clock;
  ReadlineLimiter drop(10, 3, true, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(drop.TakeLine());
  EXPECT_FALSE(drop.TakeLine());
  clock.Advance(std::chrono::milliseconds(100));  // one token at 10/s
  drop.Refill();
  EXPECT_TRUE(drop.TakeLine());
  EXPECT_FALSE(drop.TakeLine());
  clock.Advance(std::chrono::seconds(60));  // capped at burst
  drop.Refill();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(drop.TakeLine());
  EXPECT_FALSE(drop.TakeLine());
}

TEST(ReadlineLimiter, WaitModeGoesIntoDebtAndReportsWhenReady) {
  FakeClock clock;
  ReadlineLimiter wait(10, 2, false, &clock);
  EXPECT_TRUE(wait.Ready());
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(wait.TakeLine());  // never refuses a line
  EXPECT_FALSE(wait.Ready());                                // 2 - 5 = -3 tokens
  EXPECT_NEAR(std::chrono::duration<double>(wait.UntilReady()).count(), 0.4, 1e-6);
  clock.Advance(std::chrono::milliseconds(399));
  wait.Refill();
  EXPECT_FALSE(wait.Ready());
  clock.Advance(std::chrono::milliseconds(1));
  wait.Refill();
  EXPECT_TRUE(wait.Ready());
}

TEST(FileSource, ReadlineRateDropDropsAndCountsTheExcessAcrossFiles) {
  Harness h;
  const std::string a = h.dir / "a.log", b = h.dir / "b.log";
  WriteFile(a, Joined(Numbered("a", 0, 10)));
  WriteFile(b, Joined(Numbered("b", 0, 10)));
  // A burst of 5 and practically no refill: 5 of the 20 lines get through, whichever file.
  h.Start(h.dir / "*.log", Limited(h, 0.001, 5, true));
  auto dropped = [&] { return h.Metric(h.metrics.dropped_lines, {kReasonReadlineRateLimited}); };
  ASSERT_TRUE(WaitFor([&] { return dropped() == 15; }));
  EXPECT_EQ(h.sink.Count(), 5u);
  // The dropped lines' bytes are done: both files' positions reach their ends.
  const uint64_t size = Joined(Numbered("a", 0, 10)).size();
  ASSERT_TRUE(WaitFor([&] {
    h.source->SyncPositions();
    auto pa = h.positions->FindByPath(a), pb = h.positions->FindByPath(b);
    return pa && pb && pa->offset == size && pb->offset == size;
  }));
  EXPECT_EQ(h.ReadLines(a) + h.ReadLines(b), 20);
}

TEST(FileSource, ReadlineRateWaitDeliversEveryLineSlower) {
  Harness h;
  const std::string a = h.dir / "a.log", b = h.dir / "b.log";
  WriteFile(a, Joined(Numbered("a", 0, 60)));
  WriteFile(b, Joined(Numbered("b", 0, 60)));
  auto o = Limited(h, 200, 10, false);
  o.read_chunk_bytes = 4096;
  const auto t0 = std::chrono::steady_clock::now();
  h.Start(h.dir / "*.log", o);
  ASSERT_TRUE(h.WaitLines(a, Numbered("a", 0, 60)));
  ASSERT_TRUE(h.WaitLines(b, Numbered("b", 0, 60)));
  // 120 lines with 10 up front at 200/s: at least (120 - 10 - one chunk's debt) / 200 s.
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(200));
  EXPECT_EQ(h.Metric(h.metrics.dropped_lines, {kReasonReadlineRateLimited}), 0);
}

}  // namespace
}  // namespace skidder::sources
