// Clock: the one place time comes from, so tests can drive it (Envoy's TimeSource).
//
// Code that must wait for a moment (retry backoff, batchwait, a stop deadline) waits through
// the clock too, so a test's FakeClock (tests/support/fake_clock.h) decides when that moment has
// come and no test waits in real time for a backoff to pass.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace skidder {

class Clock {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  // Wall time, Unix nanoseconds: entry timestamps and positions.
  virtual int64_t NowNs() const = 0;
  // Monotonic time for deadlines and backoff.
  virtual SteadyTime Steady() const = 0;
  // Waits on cv (lock held, as std::condition_variable::wait_until) until it is notified or this
  // clock reads `deadline`. May return early (spurious wakeups): callers check their condition
  // and Steady() again.
  virtual void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                         SteadyTime deadline) const = 0;
};

// "Now" for a whole batch of entries, read once by the source that hands them on, so stages
// compare with it instead of reading a clock per entry.
struct BatchTime {
  int64_t wall_ns = 0;    // Unix nanoseconds (drop's older_than, pack's ingest time, templates)
  int64_t steady_ns = 0;  // monotonic nanoseconds (limit's token buckets)

  static BatchTime Of(const Clock& c) {
    return {c.NowNs(),
            std::chrono::duration_cast<std::chrono::nanoseconds>(c.Steady().time_since_epoch())
                .count()};
  }
};

class SystemClock final : public Clock {
 public:
  int64_t NowNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  SteadyTime Steady() const override { return std::chrono::steady_clock::now(); }
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 SteadyTime deadline) const override {
    cv.wait_until(lock, deadline);
  }
  static SystemClock& Get() {
    static SystemClock clock;
    return clock;
  }
};

}  // namespace skidder
