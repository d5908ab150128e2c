// The pattern stage (Alloy's stage.pattern) and structured_metadata_drop (Alloy's
// stage.structured_metadata_drop), also usable by those names in YAML.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::ConfigError;
using testing::ExtractedOr;
using ::testing::HasSubstr;
using testing::LabelOr;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

TEST(PatternStage, SetsEachCaptureAsAnExtractedValue) {
  auto stage =
      MustBuild(R"(pattern: {pattern: '<ip> - - [<_>] "<method> <uri> <_>" <status> <_>'})");
  auto out = RunStage(*stage, MakeEntry(R"(10.1.2.3 - - [07/Dec/2026:18:40:01 +0000] )"
                                        R"("GET /healthz HTTP/1.1" 200 2)"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "ip"), "10.1.2.3");
  EXPECT_EQ(ExtractedOr(out[0], "method"), "GET");
  EXPECT_EQ(ExtractedOr(out[0], "uri"), "/healthz");
  EXPECT_EQ(ExtractedOr(out[0], "status"), "200");
  EXPECT_EQ(ExtractedOr(out[0], "_"), "<absent>");
  EXPECT_EQ(out[0].entry.labels.size(), 0u);  // no labels unless asked for

  // A line the pattern does not match passes unchanged, with nothing set.
  out = RunStage(*stage, MakeEntry(""));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "ip"), "<absent>");
}

TEST(PatternStage, ReadsTheSourceValueWhenOneIsNamed) {
  auto stage = MustBuild("pattern: {pattern: 'took <ms>ms', source: msg}");
  PipelineEntry pe{MakeEntry("the line"), {}, {}};
  pe.extracted.Set("msg", "took 12ms");
  testing::Collect c;
  stage->Process(std::move(pe), c);
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(ExtractedOr(c.entries[0], "ms"), "12");
  EXPECT_EQ(c.entries[0].entry.line, "the line");

  // No such value: the entry passes unchanged (the line is not used instead).
  auto out = RunStage(*stage, MakeEntry("took 5ms"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "ms"), "<absent>");
}

TEST(PatternStage, LabelsFromGroupsSetsStreamLabels) {
  auto stage =
      MustBuild("pattern: {pattern: '<level> [<component>]<detail>', labels_from_groups: true}");
  for (int i = 0; i < 3; ++i) {  // the same values again reuse the label set made for them
    auto out =
        RunStage(*stage, MakeEntry("WARN [db] slow", Labels{{"job", "app"}, {"level", "x"}}));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(LabelOr(out[0], "level"), "WARN");  // replaced
    EXPECT_EQ(LabelOr(out[0], "component"), "db");
    EXPECT_EQ(LabelOr(out[0], "detail"), " slow");
    EXPECT_EQ(LabelOr(out[0], "job"), "app");
    EXPECT_EQ(ExtractedOr(out[0], "component"), "db");
  }
  // An empty capture removes the label (an empty value is no label); invalid UTF-8 is skipped.
  auto out = RunStage(*stage, MakeEntry("ERROR [\xff]", Labels{{"detail", "old"}}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(LabelOr(out[0], "level"), "ERROR");
  EXPECT_EQ(LabelOr(out[0], "component"), "<absent>");
  EXPECT_EQ(LabelOr(out[0], "detail"), "<absent>");
}

TEST(PatternStage, ConfigErrorsNameTheProblem) {
  EXPECT_THAT(ConfigError("pattern: {}"), HasSubstr("pattern is required"));
  EXPECT_THAT(ConfigError("pattern: {pattern: 'a <x> <x>'}"),
              HasSubstr("duplicate capture name <x>"));
  EXPECT_THAT(ConfigError("pattern: {pattern: '<a><b>'}"), HasSubstr("consecutive captures"));
  EXPECT_THAT(ConfigError("pattern: {pattern: '<a>', source: ''}"), HasSubstr("must not be empty"));
  EXPECT_THAT(ConfigError("pattern: {pattern: '<a>', labels: true}"), HasSubstr("labels"));
  // The error points at the key in the file.
  EXPECT_THAT(ConfigError("pattern: {pattern: 'no captures'}"), HasSubstr("promtail.yaml:1:"));
}

TEST(StructuredMetadataDropStage, RemovesTheListedNames) {
  auto stage = MustBuild("structured_metadata_drop: [trace_id, pod_uid]");
  Entry e = MakeEntry("x");
  e.structured_metadata = {{"trace_id", "t1"}, {"user", "ann"}, {"pod_uid", "u1"}};
  auto out = RunStage(*stage, std::move(e));
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].entry.structured_metadata.size(), 1u);
  EXPECT_EQ(out[0].entry.structured_metadata[0].name, "user");

  EXPECT_THAT(ConfigError("structured_metadata_drop: []"),
              HasSubstr("expected a non-empty list of structured metadata names"));
  EXPECT_THAT(ConfigError("structured_metadata_drop: {a: b}"), HasSubstr("non-empty list"));
  EXPECT_THAT(ConfigError("structured_metadata_drop: [a, [b]]"), HasSubstr("[1]"));
}

}  // namespace
}  // namespace skidder::pipeline
