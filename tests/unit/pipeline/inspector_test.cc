#include "pipeline/inspector.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::MakeEntry;
using testing::StagesYaml;

// Runs lines through a pipeline under -inspect and returns what was printed.
std::string Inspect(const std::string& yaml, const std::vector<Entry>& entries) {
  auto p = Pipeline::Build(StagesYaml(yaml), {});
  EXPECT_TRUE(p.has_value()) << p.error().message();
  if (!p) return "";
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  (*p)->SetInspector(f);  // not a terminal: no colours
  Collect out;
  for (Entry e : entries) (*p)->Process(std::move(e), out);
  std::fclose(f);
  std::string text(buf, size);
  std::free(buf);
  return text;
}

TEST(Inspector, PrintsWhatEachStageChangedLikePromtail) {
  const std::string text = Inspect(R"(
- regex:
    expression: "^(?P<ts>\\S+) (?P<level>\\w+) (?P<msg>.*)$"
- labels:
    level:
- output:
    source: msg
- static_labels:
    job: api
- labels:
    job:
)",
                                   {MakeEntry("2024-05-01T10:00:00Z info started", {}, 0)});
  EXPECT_EQ(text,
            "[inspect: regex stage]: \n"
            "{stages.Entry}.Extracted[\"level\"]:\n\t+: info\n"
            "{stages.Entry}.Extracted[\"msg\"]:\n\t+: started\n"
            "{stages.Entry}.Extracted[\"ts\"]:\n\t+: 2024-05-01T10:00:00Z\n"
            "[inspect: labels stage]: \n"
            "{stages.Entry}.Entry.Labels[\"level\"]:\n\t+: info\n"
            "[inspect: output stage]: \n"
            "{stages.Entry}.Entry.Entry.Line:\n"
            "\t-: 2024-05-01T10:00:00Z info started\n\t+: started\n"
            "[inspect: static_labels stage]: \n"
            "{stages.Entry}.Entry.Labels[\"job\"]:\n\t+: api\n"
            "[inspect: labels stage]: none\n");
}

TEST(Inspector, ShowsChangedAndRemovedValuesAndDrops) {
  const std::string text = Inspect(R"(
- static_labels:
    env: dev
- drop:
    expression: noise
)",
                                   {MakeEntry("x", {{"env", "prod"}}), MakeEntry("noise")});
  EXPECT_EQ(text,
            "[inspect: static_labels stage]: \n"
            "{stages.Entry}.Entry.Labels[\"env\"]:\n\t-: prod\n\t+: dev\n"
            "[inspect: drop stage]: none\n"
            "[inspect: static_labels stage]: \n"
            "{stages.Entry}.Entry.Labels[\"env\"]:\n\t+: dev\n"
            "[inspect: drop stage]: no entry emitted (dropped, or held for later)\n");
}

TEST(Inspector, ColoursOnlyWhenAskedFor) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  Inspector colour(f, true);
  Inspector::Snapshot before;
  PipelineEntry after{MakeEntry("l", {{"a", "1"}}), {}};
  colour.Report("labels", before, after);
  std::fclose(f);
  std::string text(buf, size);
  std::free(buf);
  EXPECT_EQ(text,
            "[inspect: \x1b[1mlabels\x1b[0m stage]: \n"
            "\x1b[32m{stages.Entry}.Entry.Labels[\"a\"]:\x1b[0m\n"
            "\x1b[32m\t+: 1\x1b[0m\n"
            "\x1b[33m{stages.Entry}.Entry.Entry.Line:\x1b[0m\n"
            "\x1b[33m\t-: \x1b[0m\n\x1b[32m\t+: l\x1b[0m\n");
}

TEST(Inspector, ShowsTimestampAndStructuredMetadataChanges) {
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  Inspector plain(f, false);
  PipelineEntry e{MakeEntry("l", {}, 0), {}};
  Inspector::Snapshot before;
  Inspector::Take(e, &before);
  e.entry.timestamp_ns = 1714557600'000000000LL;
  e.entry.structured_metadata.push_back({"trace_id", "abc"});
  plain.Report("timestamp", before, e);
  std::fclose(f);
  std::string text(buf, size);
  std::free(buf);
  EXPECT_EQ(text,
            "[inspect: timestamp stage]: \n"
            "{stages.Entry}.Entry.Entry.Timestamp:\n"
            "\t-: 1970-01-01 00:00:00 +0000 UTC\n\t+: 2024-05-01 10:00:00 +0000 UTC\n"
            "{stages.Entry}.Entry.Entry.StructuredMetadata[\"trace_id\"]:\n\t+: abc\n");
}

TEST(Inspector, FormatsTimestampsAsGoDoes) {
  EXPECT_EQ(GoTimeString(0), "1970-01-01 00:00:00 +0000 UTC");
  EXPECT_EQ(GoTimeString(1714557600'500000000LL), "2024-05-01 10:00:00.5 +0000 UTC");
  EXPECT_EQ(GoTimeString(1714557600'000000123LL), "2024-05-01 10:00:00.000000123 +0000 UTC");
}

TEST(Inspector, PipelineWithoutInspectorPrintsNothingAndTurnsOff) {
  auto p = Pipeline::Build(StagesYaml("- static_labels: {a: b}"), {});
  ASSERT_TRUE(p.has_value());
  char* buf = nullptr;
  size_t size = 0;
  std::FILE* f = open_memstream(&buf, &size);
  (*p)->SetInspector(f);
  (*p)->SetInspector(nullptr);
  Collect out;
  (*p)->Process(MakeEntry("l"), out);
  std::fclose(f);
  EXPECT_EQ(size, 0u);
  std::free(buf);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(*out.entries[0].entry.labels.Get("a"), "b");
}

}  // namespace
}  // namespace skidder::pipeline
