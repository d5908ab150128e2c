// GaugeMaxShare: owners of one gauge each set their value; the gauge shows the largest.
#include <gtest/gtest.h>

#include <memory>

#include "telemetry/registry.h"

namespace skidder::telemetry {
namespace {

TEST(GaugeMaxShare, TheGaugeShowsTheLargestValueOfItsOwnersNotTheLastSet) {
  Gauge g;
  auto blocked = std::make_unique<GaugeMaxShare>(&g);
  GaugeMaxShare healthy(&g);
  blocked->Set(30);
  healthy.Set(0);  // before, this 0 overwrote the 30 that an alert watches
  EXPECT_EQ(g.Value(), 30);
  blocked->Set(31);
  EXPECT_EQ(g.Value(), 31);
  blocked->Set(0.5);  // drops as soon as the blocked owner catches up
  healthy.Set(0.25);
  EXPECT_EQ(g.Value(), 0.5);
  blocked->Set(40);
  blocked.reset();  // an owner that goes (a reload) takes its value with it
  EXPECT_EQ(g.Value(), 0.25);
}

// A reload that leaves no client pushing to a host must not leave its last lag on the gauge (a
// lag alert that would never clear).
TEST(GaugeMaxShare, TheGaugeReadsZeroOnceItsLastOwnerIsGone) {
  Gauge g;
  {
    GaugeMaxShare only(&g);
    only.Set(120);
    EXPECT_EQ(g.Value(), 120);
  }
  EXPECT_EQ(g.Value(), 0);
}

TEST(GaugeMaxShare, SharesOfDifferentGaugesDoNotMix) {
  Gauge a, b;
  GaugeMaxShare on_a(&a), on_b(&b);
  on_a.Set(7);
  on_b.Set(1);
  EXPECT_EQ(a.Value(), 7);
  EXPECT_EQ(b.Value(), 1);
}

}  // namespace
}  // namespace skidder::telemetry
