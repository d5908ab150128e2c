// The shipped example configs (config/examples/) and their sample logs (tests/testdata/examples/),
// loaded as examples_test.cc and alloy_examples_test.cc run them.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "config/alloy.h"
#include "config/loader.h"
#include "support/test_util.h"

namespace skidder::pipeline::testing {

// The sample logs' directory.
inline const std::string kExamples = std::string(SKIDDER_TESTDATA) + "/examples";

// The one scrape config of config/examples/<name>: Alloy syntax when the name ends in .alloy,
// else Promtail YAML read by the real loader.
inline config::ScrapeConfig LoadExample(const std::string& name) {
  const std::string path = std::string(SKIDDER_SOURCE_DIR) + "/config/examples/" + name;
  const std::string text = skidder::testing::ReadFile(path);
  auto cfg = name.ends_with(".alloy") ? config::ParseAlloyConfig(text, path)
                                      : config::ParseConfig(text, path, /*expand_env=*/false);
  if (!cfg) {
    ADD_FAILURE() << cfg.error().message();
    return {};
  }
  EXPECT_EQ(cfg->scrape_configs.size(), 1u) << path;
  return cfg->scrape_configs.empty() ? config::ScrapeConfig{} : cfg->scrape_configs.front();
}

}  // namespace skidder::pipeline::testing
