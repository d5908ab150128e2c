// Backoff: retry delays for one batch, doubling from min_period up to max_period with jitter.
//
// Each delay is drawn uniformly from [min_period, ceiling], where the ceiling doubles per attempt
// up to max_period ("full jitter" over the window, but never below min_period so a recovering Loki
// is not hammered by many agents at once). Owned by the sender thread; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace skidder::sink {

class Backoff {
 public:
  Backoff(std::chrono::nanoseconds min_period, std::chrono::nanoseconds max_period, uint64_t seed);

  // The delay before the next attempt; advances the attempt count.
  std::chrono::nanoseconds Next();
  // Back to the first attempt (after a success or a final drop).
  void Reset() { attempt_ = 0; }
  int attempt() const { return attempt_; }

 private:
  std::chrono::nanoseconds min_, max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace skidder::sink
