#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

TEST(StructuredMetadataStage, AttachesExtractedValuesAsMetadata) {
  // Promtail's documented example: json extracts traceID, structured_metadata attaches it.
  auto json = MustBuild("json:\n  expressions:\n    stream: stream\n    traceID: traceID");
  auto stage = MustBuild("structured_metadata:\n  traceID:");
  auto parsed = RunStage(*json, MakeEntry(R"({"log":"log message\n","stream":"stderr",)"
                                          R"("traceID":"0242ac120002"})"));
  ASSERT_EQ(parsed.size(), 1u);
  Collect out;
  stage->Process(std::move(parsed[0]), out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.structured_metadata,
            (std::vector<Label>{{"traceID", "0242ac120002"}}));
  EXPECT_TRUE(out.entries[0].entry.labels.empty());
}

// The stage's old name, which Promtail 3 still registers: a config written for Loki 2.9 loads.
TEST(StructuredMetadataStage, TakesItsOldNameNonIndexedLabels) {
  auto stage = MustBuild("non_indexed_labels:\n  trace_id:");
  Entry e = MakeEntry("line", Labels{{"trace_id", "abc"}, {"app", "web"}});
  auto out = RunStage(*stage, std::move(e));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.structured_metadata, (std::vector<Label>{{"trace_id", "abc"}}));
}

TEST(StructuredMetadataStage, MovesStreamLabelsOutOfTheStream) {
  // The documented relabel_configs example: pod_uid and pod_host_ip leave the stream labels.
  auto stage = MustBuild("structured_metadata:\n  pod_uid:\n  host: pod_host_ip");
  auto out = RunStage(*stage, MakeEntry("sample log", {{"pod_uid", "b3937321"},
                                                       {"pod_host_ip", "127.0.0.1"},
                                                       {"namespace", "shop"}}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.structured_metadata,
            (std::vector<Label>{{"pod_uid", "b3937321"}, {"host", "127.0.0.1"}}));
  EXPECT_EQ(out[0].entry.labels, (Labels{{"namespace", "shop"}}));
}

TEST(StructuredMetadataStage, SkipsMissingAndEmptyValuesAndReplacesExistingNames) {
  auto stage = MustBuild("structured_metadata:\n  trace:\n  missing:\n  empty:");
  Entry e = MakeEntry("x");
  e.structured_metadata.push_back({"trace", "old"});
  PipelineEntry pe{std::move(e), {}};
  pe.extracted.Set("trace", "new");
  pe.extracted.Set("empty", "");  // e.g. an optional regex group that did not match
  Collect out;
  stage->Process(std::move(pe), out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.structured_metadata, (std::vector<Label>{{"trace", "new"}}));
}

TEST(StructuredMetadataStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("structured_metadata:\n  1bad:"),
            "promtail.yaml:2:3: pipeline_stages[0]: invalid label name \"1bad\"");
  EXPECT_EQ(ConfigError("structured_metadata: [a]"),
            "promtail.yaml:1:22: pipeline_stages[0]: expected a mapping of label names to "
            "extracted keys");
}

// Alloy's stage.structured_metadata_regex: stream labels whose names match (anywhere in the
// name, Go syntax) move into the structured metadata.
TEST(StructuredMetadataRegexStage, MovesTheLabelsWhoseNamesMatch) {
  auto stage = MustBuild("structured_metadata_regex:\n  regex: 'trace|_id$'");
  const Labels labels{{"app", "api"},     {"trace_parent", "t1"}, {"request_id", "r9"},
                      {"id_prefix", "x"}, {"__path__", "/a.log"}, {"__tenant_id__", "t"},
                      {"bad", "\xff"}};
  for (int line = 0; line < 2; ++line) {  // the second line of the label set: from memory
    auto out = RunStage(*stage, MakeEntry("line", labels));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].entry.labels, (Labels{{"app", "api"},
                                           {"id_prefix", "x"},
                                           {"__path__", "/a.log"},
                                           {"__tenant_id__", "t"},
                                           {"bad", "\xff"}}));
    // In the order of the names (Alloy's: of a Go map's iteration).
    EXPECT_EQ(out[0].entry.structured_metadata,
              (std::vector<Label>{{"request_id", "r9"}, {"trace_parent", "t1"}}));
  }
  // Another label set is looked at anew; one with nothing matching passes untouched.
  auto out = RunStage(*stage, MakeEntry("line", Labels{{"app", "web"}}));
  EXPECT_EQ(out.at(0).entry.labels, (Labels{{"app", "web"}}));
  EXPECT_TRUE(out.at(0).entry.structured_metadata.empty());
}

TEST(StructuredMetadataRegexStage, RefusesBadConfig) {
  EXPECT_NE(ConfigError("structured_metadata_regex:\n  regex: '(unclosed'")
                .find("could not compile regular expression"),
            std::string::npos);
  EXPECT_NE(ConfigError("structured_metadata_regex: {}").find("regex"), std::string::npos);
}

}  // namespace
}  // namespace skidder::pipeline
