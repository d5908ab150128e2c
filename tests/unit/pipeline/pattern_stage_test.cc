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
  auto get = MustBuild("pattern: {pattern: 'GET <uri> '}");
  out = RunStage(*get, MakeEntry("POST /x GET /y HTTP/1.1"));  // the literal must start it
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "uri"), "<absent>");
  EXPECT_EQ(out[0].entry.line, "POST /x GET /y HTTP/1.1");
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

  // A source naming a stream label reads it, as Promtail's extracted map holds the labels.
  auto out = RunStage(*stage, MakeEntry("line", Labels{{"msg", "took 7ms"}}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "ms"), "7");

  // No such value: the entry passes unchanged (the line is not used instead).
  out = RunStage(*stage, MakeEntry("took 5ms"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "ms"), "<absent>");
}

TEST(PatternStage, LabelsFromGroupsSetsStreamLabels) {
  auto stage =
      MustBuild("pattern: {pattern: '<level> [<component>]<detail>', labels_from_groups: true}");
  // Entries of one file share its label set, as the file source hands them on: the stage
  // remembers what it made of (set, values), and each entry still gets its own values' labels.
  const Labels file{{"job", "app"}, {"level", "x"}};
  const Labels other{{"job", "other"}};
  struct Case {
    const Labels* labels;
    const char* line;
    const char* level;
    const char* component;
    const char* job;
  } cases[] = {
      {&file, "WARN [db] slow", "WARN", "db", "app"},
      {&file, "INFO [api] ok", "INFO", "api", "app"},
      {&file, "WARN [db] slow", "WARN", "db", "app"},
      {&other, "WARN [db] slow", "WARN", "db", "other"},
      {&file, "WARN [db] slow", "WARN", "db", "app"},
  };
  for (const Case& c : cases) {
    auto out = RunStage(*stage, MakeEntry(c.line, *c.labels));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(LabelOr(out[0], "level"), c.level) << c.line;  // replaced
    EXPECT_EQ(LabelOr(out[0], "component"), c.component) << c.line;
    EXPECT_EQ(LabelOr(out[0], "job"), c.job) << c.line;
    EXPECT_EQ(ExtractedOr(out[0], "component"), c.component) << c.line;
  }
  EXPECT_EQ(file.size(), 2u);  // the shared sets themselves are untouched
  EXPECT_EQ(*file.Get("level"), "x");
  // A long capture is not remembered but labels all the same.
  const std::string tail(4000, 'z');
  auto out = RunStage(*stage, MakeEntry("WARN [db]" + tail, file));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(LabelOr(out[0], "detail"), tail);
  out = RunStage(*stage, MakeEntry("WARN [db]" + tail + "!", file));
  EXPECT_EQ(LabelOr(out.at(0), "detail"), tail + "!");

  // An empty capture removes the label (an empty value is no label); invalid UTF-8 is skipped.
  out = RunStage(*stage, MakeEntry("ERROR [\xff]", Labels{{"detail", "old"}}));
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
