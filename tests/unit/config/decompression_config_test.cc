// Promtail's `decompression` block of a scrape config.
#include <gtest/gtest.h>

#include <string>

#include "config/loader.h"

namespace skidder::config {
namespace {

using namespace std::chrono_literals;

Result<Config> Parse(const std::string& block) {
  return ParseConfig("scrape_configs:\n  - job_name: archives\n    decompression:\n" + block +
                         "    static_configs: [{labels: {__path__: /var/log/archive/*.gz}}]\n",
                     "cfg.yaml", false);
}

TEST(DecompressionConfig, ReadsPromtailsKeys) {
  for (const char* format : {"gz", "z", "bz2"}) {
    Result<Config> cfg = Parse(std::string("      enabled: true\n      initial_delay: 10s\n"
                                           "      format: ") +
                               format + "\n");
    ASSERT_TRUE(cfg) << cfg.error().message();
    const DecompressionConfig& d = cfg->scrape_configs.at(0).decompression;
    EXPECT_TRUE(d.enabled);
    EXPECT_EQ(d.initial_delay, 10s);
    EXPECT_EQ(d.format, format);
  }
}

TEST(DecompressionConfig, IsOffWithoutTheBlockOrWhenDisabled) {
  Result<Config> cfg = Parse("      enabled: false\n");
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_FALSE(cfg->scrape_configs.at(0).decompression.enabled);
}

TEST(DecompressionConfig, UnknownFormatIsAnErrorWithItsPosition) {
  Result<Config> cfg = Parse("      enabled: true\n      format: zip\n");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message().find("cfg.yaml:5:"), std::string::npos) << cfg.error().message();
  EXPECT_NE(cfg.error().message().find("unsupported compression format \"zip\""), std::string::npos)
      << cfg.error().message();
}

TEST(DecompressionConfig, EnabledWithoutFormatIsAnError) {
  Result<Config> cfg = Parse("      enabled: true\n");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message().find("format"), std::string::npos) << cfg.error().message();
}

TEST(DecompressionConfig, UnknownKeyIsAnError) {
  Result<Config> cfg = Parse("      enabled: true\n      format: gz\n      level: 9\n");
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message().find("level"), std::string::npos) << cfg.error().message();
}

TEST(DecompressionConfig, IsPrinted) {
  Result<Config> cfg = Parse("      enabled: true\n      initial_delay: 1m\n      format: bz2\n");
  ASSERT_TRUE(cfg) << cfg.error().message();
  const std::string dump = DumpConfig(*cfg);
  EXPECT_NE(dump.find("decompression:"), std::string::npos) << dump;
  EXPECT_NE(dump.find("format: bz2"), std::string::npos) << dump;
}

}  // namespace
}  // namespace skidder::config
