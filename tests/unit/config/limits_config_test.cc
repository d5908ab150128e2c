// limits_config's cardinality guard: max_streams (Promtail) and max_label_value_length (skidder's
// extension, default as Loki's limit) parse strictly and default sensibly.
#include <gtest/gtest.h>

#include "config/loader.h"

namespace skidder::config {
namespace {

TEST(LimitsConfig, CardinalityGuardDefaultsToLokisLabelLimitAndNoStreamLimit) {
  auto cfg = ParseConfig("server: {}\n", "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->limits_config.max_streams, 0);
  EXPECT_EQ(cfg->limits_config.max_label_value_length, 2048);
}

TEST(LimitsConfig, CardinalityGuardIsReadAndShownInTheDump) {
  auto cfg = ParseConfig("limits_config:\n  max_streams: 500\n  max_label_value_length: 0\n",
                         "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->limits_config.max_streams, 500);
  EXPECT_EQ(cfg->limits_config.max_label_value_length, 0);
  const std::string dump = DumpConfig(*cfg);
  EXPECT_NE(dump.find("max_streams: 500"), std::string::npos) << dump;
  EXPECT_NE(dump.find("max_label_value_length: 0"), std::string::npos) << dump;
}

TEST(LimitsConfig, NegativeOrNonNumericLimitsAreRefusedWithTheirPosition) {
  auto neg = ParseConfig("limits_config:\n  max_label_value_length: -1\n", "cfg.yaml", false);
  ASSERT_FALSE(neg);
  EXPECT_NE(neg.error().message().find("cfg.yaml:2:"), std::string::npos) << neg.error().message();
  EXPECT_NE(neg.error().message().find("max_label_value_length"), std::string::npos);
  auto text = ParseConfig("limits_config:\n  max_label_value_length: big\n", "cfg.yaml", false);
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().message().find("max_label_value_length"), std::string::npos);
}

}  // namespace
}  // namespace skidder::config
