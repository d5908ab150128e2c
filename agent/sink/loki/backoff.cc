#include "sink/loki/backoff.h"

#include <algorithm>

namespace skidder::sink {

Backoff::Backoff(std::chrono::nanoseconds min_period, std::chrono::nanoseconds max_period,
                 uint64_t seed)
    : min_(std::max(min_period, std::chrono::nanoseconds(1'000'000))),  // at least 1ms
      max_(std::max(max_period, min_)),
      rng_(seed != 0 ? seed : std::random_device{}()) {}

std::chrono::nanoseconds Backoff::Next() {
  // Double without overflow: stop doubling once the ceiling reaches max.
  int64_t ceiling = min_.count();
  for (int i = 0; i < attempt_ && ceiling < max_.count(); ++i) ceiling *= 2;
  ceiling = std::min(ceiling, max_.count());
  ++attempt_;
  std::uniform_int_distribution<int64_t> dist(min_.count(), ceiling);
  return std::chrono::nanoseconds(dist(rng_));
}

}  // namespace skidder::sink
