// Histogram buckets as Prometheus counts them.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "telemetry/registry.h"

namespace skidder::telemetry {
namespace {

TEST(Histogram, ValuesFallInTheFirstBucketTheyDoNotExceed) {
  Histogram h({1, 5});
  h.Observe(0.5);
  h.Observe(1);
  h.Observe(3);
  h.Observe(7);
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(h.Count(), 4u);
}

// NaN compares false with every bound: it counts only in +Inf, as in Prometheus (a metrics stage
// can observe "NaN" from a log line), not in the first bucket.
TEST(Histogram, NaNCountsOnlyInTheInfBucket) {
  Histogram h({1, 5});
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(h.CumulativeCounts(), (std::vector<uint64_t>{0, 0, 1}));
  EXPECT_EQ(h.Count(), 1u);
}

}  // namespace
}  // namespace skidder::telemetry
