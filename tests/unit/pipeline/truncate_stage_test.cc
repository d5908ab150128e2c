// The truncate stage: Alloy's stage.truncate, also usable as `truncate:` in YAML.
#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::ConfigError;
using testing::ExtractedOr;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

TEST(TruncateStage, CutsTheLineToTheLimitIncludingTheSuffix) {
  auto stage = MustBuild("truncate:\n  rules:\n    - limit: 10\n      suffix: '...'");
  auto out = RunStage(*stage, MakeEntry("0123456789abcdef"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.line, "0123456...");
  EXPECT_EQ(ExtractedOr(out[0], "truncated", "<none>"), "line");
  // Alloy compares with the limit minus the suffix: a line of exactly `limit` bytes is cut too.
  out = RunStage(*stage, MakeEntry("0123456789"));
  EXPECT_EQ(out.at(0).entry.line, "0123456...");
  out = RunStage(*stage, MakeEntry("0123456"));  // within limit - suffix: untouched, not recorded
  EXPECT_EQ(out.at(0).entry.line, "0123456");
  EXPECT_EQ(ExtractedOr(out[0], "truncated", "<none>"), "<none>");
}

TEST(TruncateStage, CutsLabelsMetadataAndExtractedValuesNamedOrAll) {
  auto stage = MustBuild(
      "truncate:\n  rules:\n"
      "    - {limit: 4, source_type: label, sources: [pod]}\n"
      "    - {limit: 1KiB, source_type: line}\n"
      "    - {limit: 3, suffix: '~', source_type: structured_metadata}\n"
      "    - {limit: 2, source_type: extracted, sources: [user]}");
  Entry e = MakeEntry("short", Labels{{"pod", "api-123456"}, {"app", "shopping"}});
  e.structured_metadata = {{"trace", "abcdef"}, {"k", "v"}};
  auto out = RunStage(*stage, std::move(e));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(*out[0].entry.labels.Get("pod"), "api-");
  EXPECT_EQ(*out[0].entry.labels.Get("app"), "shopping");  // not named
  EXPECT_EQ(out[0].entry.structured_metadata[0].value, "ab~");
  EXPECT_EQ(out[0].entry.structured_metadata[1].value, "v");
  EXPECT_EQ(ExtractedOr(out[0], "truncated", "<none>"), "label,structured_metadata");
  // Labels are extracted values too, as in Alloy: cutting one leaves the label as it is.
  auto extracted = MustBuild("truncate:\n  rules:\n    - {limit: 2, source_type: extracted}");
  out = RunStage(*extracted, MakeEntry("x", Labels{{"app", "shopping"}}));
  EXPECT_EQ(ExtractedOr(out.at(0), "app", ""), "sh");
  EXPECT_EQ(*out[0].entry.labels.Get("app"), "shopping");
  EXPECT_EQ(ExtractedOr(out[0], "truncated", ""), "extracted");
}

TEST(TruncateStage, RefusesRulesAlloyRefuses) {
  EXPECT_NE(ConfigError("truncate: {}").find("at least one truncate rule"), std::string::npos);
  EXPECT_NE(ConfigError("truncate:\n  rules:\n    - limit: 0").find("greater than zero"),
            std::string::npos);
  EXPECT_NE(ConfigError("truncate:\n  rules:\n    - {limit: 3, suffix: '...'}")
                .find("suffix length cannot be greater than or equal to limit"),
            std::string::npos);
  EXPECT_NE(ConfigError("truncate:\n  rules:\n    - {limit: 3, sources: [a]}")
                .find("sources cannot be set when source_type is 'line'"),
            std::string::npos);
  EXPECT_NE(ConfigError("truncate:\n  rules:\n    - {limit: 3, source_type: body}")
                .find("unknown source_type"),
            std::string::npos);
}

}  // namespace
}  // namespace skidder::pipeline
