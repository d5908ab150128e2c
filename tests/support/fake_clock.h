// FakeClock: a clock the test advances by hand. Wall and monotonic time move together.
//
// Threads that wait through the clock (Clock::WaitUntil) wake when the test advances the clock
// past their deadline, never because real time passed. The test can see who waits for what:
// NextWakeup() is the earliest deadline anyone waits for, and AwaitWaiter() blocks (in real
// time, with a generous deadline) until some thread waits having seen the current time, i.e.
// it has done all it will do at this moment. Thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

#include "util/clock.h"

namespace skidder {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ns = 1'700'000'000'000'000'000) : now_ns_(now_ns) {}

  int64_t NowNs() const override { return now_ns_.load(); }
  SteadyTime Steady() const override {
    return SteadyTime(std::chrono::nanoseconds(now_ns_.load()));
  }
  void Advance(std::chrono::nanoseconds d) { now_ns_ += d.count(); }
  // Moves the clock to t (never backwards).
  void AdvanceTo(SteadyTime t) {
    int64_t target = t.time_since_epoch().count();
    int64_t cur = now_ns_.load();
    while (cur < target && !now_ns_.compare_exchange_weak(cur, target)) {
    }
  }

  // Waits one short real-time slice and returns (a spurious wakeup, which callers handle by
  // looking at the clock again): the test's thread cannot lock the waiter's mutex to notify it
  // when it advances the clock. Looping here instead would lose a notify that arrives as a slice
  // ends (wait_for then reports a timeout).
  void WaitUntil(std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                 SteadyTime deadline) const override {
    if (Steady() >= deadline) return;
    const uint64_t id = Register(deadline);
    cv.wait_for(lock, std::chrono::milliseconds(2));
    std::lock_guard g(mu_);
    waiters_.erase(id);
  }

  // The earliest deadline a thread now waits for, if any.
  std::optional<SteadyTime> NextWakeup() const {
    std::lock_guard g(mu_);
    std::optional<SteadyTime> next;
    for (const auto& [id, w] : waiters_) {
      if (!next || w.deadline < *next) next = w.deadline;
    }
    return next;
  }

  // True once a thread waits through the clock having started its wait at the current fake time;
  // false after real_deadline.
  bool AwaitWaiter(std::chrono::milliseconds real_deadline = std::chrono::seconds(20)) const {
    const auto end = std::chrono::steady_clock::now() + real_deadline;
    for (;;) {
      {
        std::lock_guard g(mu_);
        for (const auto& [id, w] : waiters_) {
          if (w.entered == Steady()) return true;
        }
      }
      if (std::chrono::steady_clock::now() >= end) return false;
      std::unique_lock g(mu_);
      changed_.wait_for(g, std::chrono::milliseconds(2));
    }
  }

 private:
  struct Waiter {
    SteadyTime entered, deadline;
  };
  uint64_t Register(SteadyTime deadline) const {
    std::lock_guard g(mu_);
    const uint64_t id = next_id_++;
    waiters_[id] = Waiter{Steady(), deadline};
    changed_.notify_all();
    return id;
  }

  std::atomic<int64_t> now_ns_;
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  mutable std::map<uint64_t, Waiter> waiters_;
  mutable uint64_t next_id_ = 0;
};

}  // namespace skidder
