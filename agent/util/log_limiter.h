// LogLimiter: lets one log line through per interval and counts the events it held back, so a
// flood (a WARN per dropped entry, per refused tenant) becomes one line per interval with a count.
// The counters of such events stay exact; only the log is thinned.
//
// Thread-safe. Uses the steady clock directly: it only paces logging, never decides behaviour.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>

namespace skidder::log {

class LogLimiter {
 public:
  explicit LogLimiter(std::chrono::nanoseconds interval = std::chrono::seconds(10))
      : interval_(interval) {}

  // Records one event. True when it should be logged now; *events is then the number of events
  // this line stands for (this one and those held back since the previous line).
  bool Allow(int64_t* events) { return Allow(1, events); }
  // As above for an event that stands for `weight` things (e.g. entries dropped together).
  bool Allow(int64_t weight, int64_t* events) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    held_ += weight;
    if (now < next_) return false;
    next_ = now + interval_;
    *events = held_;
    held_ = 0;
    return true;
  }

 private:
  const std::chrono::nanoseconds interval_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point next_{};
  int64_t held_ = 0;
};

}  // namespace skidder::log
