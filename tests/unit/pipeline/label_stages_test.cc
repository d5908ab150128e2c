// labels, static_labels and output: the stages that move extracted values into the entry.
#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::LabelOr;
using testing::MakeEntry;
using testing::MustBuild;

PipelineEntry WithExtracted(std::initializer_list<std::pair<const char*, const char*>> kv,
                            Labels labels = {}) {
  PipelineEntry pe{MakeEntry("the line", std::move(labels)), {}};
  for (auto [k, v] : kv) pe.extracted.Set(k, v);
  return pe;
}

PipelineEntry RunOne(Stage& s, PipelineEntry pe) {
  Collect c;
  s.Process(std::move(pe), c);
  EXPECT_EQ(c.entries.size(), 1u);
  return std::move(c.entries.at(0));
}

TEST(LabelsStage, SetsLabelsFromExtractedValuesByNameOrSource) {
  auto stage = MustBuild("labels:\n  app:\n  level: lvl\n  absent:\n  bad: notutf8");
  auto e = RunOne(*stage, WithExtracted({{"app", "loki"}, {"lvl", "warn"}, {"notutf8", "\xff"}},
                                        {{"job", "j"}}));
  EXPECT_EQ(LabelOr(e, "app"), "loki");
  EXPECT_EQ(LabelOr(e, "level"), "warn");
  EXPECT_EQ(LabelOr(e, "absent"), "<absent>");
  EXPECT_EQ(LabelOr(e, "bad"), "<absent>");
  EXPECT_EQ(LabelOr(e, "job"), "j");
}

TEST(LabelsStage, CopiesAnotherLabelThroughTheExtractedMap) {
  auto stage = MustBuild("labels:\n  file: filename");
  auto e = RunOne(*stage, WithExtracted({}, {{"filename", "/a.log"}}));
  EXPECT_EQ(LabelOr(e, "file"), "/a.log");
}

// Entries of one file share a label set and the stage remembers its results per set and values
// (so as not to copy the set per line): each entry must still get the labels of its own values,
// also when more distinct values come by than the stage remembers, and an entry from another
// file with equal-looking values must not get the first file's labels.
TEST(LabelsStage, EachEntryOfOneFileGetsTheLabelsOfItsOwnValues) {
  auto stage = MustBuild("labels:\n  level:\n  file: filename");
  const Labels file_a{{"filename", "/a.log"}, {"job", "j"}};
  const Labels file_b{{"filename", "/b.log"}, {"job", "j"}};
  const char* levels[] = {"info", "warn", "info", "error", "debug", "l5", "l6",  "l7",
                          "l8",   "l9",   "l10",  "info",  "warn",  "",   "info"};
  for (int round = 0; round < 2; ++round) {
    for (const char* level : levels) {
      SCOPED_TRACE(level);
      for (const Labels* file : {&file_a, &file_b}) {
        auto e = RunOne(*stage, WithExtracted({{"level", level}}, *file));
        EXPECT_EQ(LabelOr(e, "level"), *level == 0 ? "<absent>" : level);
        EXPECT_EQ(LabelOr(e, "file"), *file->Get("filename"));
        EXPECT_EQ(LabelOr(e, "job"), "j");
      }
    }
  }
  // An absent value and an empty one differ only in the extracted map: neither sets the label.
  auto absent = RunOne(*stage, WithExtracted({}, file_a));
  EXPECT_EQ(LabelOr(absent, "level"), "<absent>");
  EXPECT_EQ(LabelOr(absent, "file"), "/a.log");
}

TEST(LabelsStage, RefusesInvalidNamesAndEmptyConfig) {
  EXPECT_EQ(ConfigError("labels:\n  0bad:"),
            "promtail.yaml:2:3: pipeline_stages[0]: invalid label name \"0bad\"");
  EXPECT_EQ(ConfigError("labels:"),
            "promtail.yaml:1:1: pipeline_stages[0]: expected a mapping of label names to extracted "
            "keys");
  EXPECT_EQ(ConfigError("labels:\n  a: [x]"),
            "promtail.yaml:2:6: pipeline_stages[0].a: expected an extracted key (a string) or "
            "nothing");
}

TEST(StaticLabelsStage, RefusesInvalidNamesValuesAndEmptyConfig) {
  EXPECT_EQ(ConfigError("static_labels:\n  0bad: x"),
            "promtail.yaml:2:3: pipeline_stages[0]: invalid label name \"0bad\"");
  EXPECT_EQ(ConfigError("static_labels: []"),
            "promtail.yaml:1:16: pipeline_stages[0]: expected a mapping of label names to values");
  EXPECT_EQ(ConfigError("static_labels:\n  a: [x]"),
            "promtail.yaml:2:6: pipeline_stages[0].a: expected a string");
  EXPECT_EQ(ConfigError("static_labels:\n  a: \xff"),  // a raw byte: YAML's \xff is U+00FF
            "promtail.yaml:2:6: pipeline_stages[0].a: value is not UTF-8");
}

TEST(StaticLabelsStage, AddsFixedLabelsSkippingEmptyValues) {
  auto stage = MustBuild("static_labels:\n  custom: value\n  empty: \"\"\n  job: override");
  auto e = RunOne(*stage, WithExtracted({}, {{"job", "j"}}));
  EXPECT_EQ(LabelOr(e, "custom"), "value");
  EXPECT_EQ(LabelOr(e, "empty"), "<absent>");
  EXPECT_EQ(LabelOr(e, "job"), "override");
  EXPECT_EQ(ConfigError("static_labels:\n  bad-name: x"),
            "promtail.yaml:2:3: pipeline_stages[0]: invalid label name \"bad-name\"");
}

// The stage remembers its result per label set: another set (another file), and a set whose
// `job` the stage overrides, each get their own result, every time.
TEST(StaticLabelsStage, EachLabelSetGetsItsOwnResult) {
  auto stage = MustBuild("static_labels:\n  cluster: c1\n  job: fixed");
  std::vector<Labels> files;
  for (int i = 0; i < 12; ++i) files.push_back(Labels{{"filename", "/" + std::to_string(i)}});
  files.push_back(Labels{{"filename", "/x"}, {"job", "other"}});
  for (int round = 0; round < 3; ++round) {
    for (const Labels& file : files) {
      auto e = RunOne(*stage, WithExtracted({}, file));
      EXPECT_EQ(e.entry.labels,
                (Labels{{"cluster", "c1"}, {"filename", *file.Get("filename")}, {"job", "fixed"}}));
    }
  }
}

TEST(OutputStage, ReplacesTheLineWithAnExtractedValue) {
  auto stage = MustBuild("output:\n  source: message");
  EXPECT_EQ(RunOne(*stage, WithExtracted({{"message", "new line"}})).entry.line, "new line");
  EXPECT_EQ(RunOne(*stage, WithExtracted({{"other", "x"}})).entry.line, "the line");
  EXPECT_EQ(ConfigError("output: {}"),
            "promtail.yaml:1:9: pipeline_stages[0].source: output source value is required");
  EXPECT_EQ(ConfigError("output:\n  source: a\n  format: b"),
            "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"format\"");
}

}  // namespace
}  // namespace skidder::pipeline
