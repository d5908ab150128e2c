// ArrivalStamps: timestamps for entries stamped with when they were read.
#pragma once

#include <algorithm>
#include <cstdint>

namespace skidder {

// Timestamps for entries stamped with when they were read rather than a time of their own:
// strictly increasing, at least a nanosecond apart, and never behind now. Loki's ingester keeps
// only one of two consecutive entries of a stream with the same timestamp and line, so lines
// read in one pass ("retrying..." twice) must not share the pass's time; Promtail reads the clock
// per line, which gives the same. One per thread that stamps (not thread-safe).
class ArrivalStamps {
 public:
  int64_t Next(int64_t now_ns) {
    last_ = std::max(now_ns, last_ + 1);
    return last_;
  }

 private:
  int64_t last_ = 0;
};

}  // namespace skidder
