// ReadlineLimiter: limits_config.readline_rate*, one token bucket over every line a FileSource
// reads, across all its files (Promtail applies one limiter to all lines read).
//
// Refilled from the Clock once per chunk, not per line. Drop mode: a line without a token is
// dropped before its pipeline. Wait mode: a chunk is read only while the bucket is positive and
// its lines are then all charged, so the bucket may dip below zero by up to one chunk; the
// reader stops (the file keeps the backlog, nothing is lost) until the refill repays the debt.
// Owned and called by the FileSource reading thread only.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "util/clock.h"

namespace skidder::sources {

// logentry_dropped_lines_total{reason}: dropped by readline_rate_drop.
inline constexpr const char* kReasonReadlineRateLimited = "readline_rate_limited";

class ReadlineLimiter {
 public:
  ReadlineLimiter(double rate, double burst, bool drop, Clock* clock)
      : rate_(std::max(rate, 1e-9)),
        burst_(std::max(burst, 1.0)),
        drop_(drop),
        clock_(clock),
        tokens_(burst_),
        last_(clock->Steady()) {}

  bool drop() const { return drop_; }

  // Adds what the time since the last refill earned, up to burst.
  void Refill() {
    const auto now = clock_->Steady();
    if (now <= last_) return;
    const double secs = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + secs * rate_);
    last_ = now;
  }

  // Wait mode: may one more chunk be read now?
  bool Ready() const { return tokens_ >= 1; }
  // How long until Ready(), after Refill().
  std::chrono::nanoseconds UntilReady() const {
    if (Ready()) return std::chrono::nanoseconds(0);
    return std::chrono::nanoseconds(static_cast<int64_t>((1 - tokens_) / rate_ * 1e9) + 1);
  }

  // Takes a token for one line. Drop mode: false when there is none (drop the line). Wait mode:
  // always true; the bucket goes into debt, repaid before the next chunk.
  bool TakeLine() {
    if (tokens_ >= 1 || !drop_) {
      tokens_ -= 1;
      return true;
    }
    return false;
  }

 private:
  double rate_;
  double burst_;
  bool drop_;
  Clock* clock_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace skidder::sources
