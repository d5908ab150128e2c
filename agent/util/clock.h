// Clock: the one place time comes from, so tests can drive it (Envoy's TimeSource).
#pragma once

#include <chrono>
#include <cstdint>

namespace skidder {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall time, Unix nanoseconds: entry timestamps and positions.
  virtual int64_t NowNs() const = 0;
  // Monotonic time for deadlines and backoff.
  virtual std::chrono::steady_clock::time_point Steady() const = 0;
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
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::now();
  }
  static SystemClock& Get() {
    static SystemClock clock;
    return clock;
  }
};

// A clock the test advances by hand.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ns = 1'700'000'000'000'000'000) : now_ns_(now_ns) {}
  int64_t NowNs() const override { return now_ns_; }
  std::chrono::steady_clock::time_point Steady() const override {
    return std::chrono::steady_clock::time_point(std::chrono::nanoseconds(now_ns_));
  }
  void Advance(std::chrono::nanoseconds d) { now_ns_ += d.count(); }

 private:
  int64_t now_ns_;
};

}  // namespace skidder
