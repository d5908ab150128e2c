#include <gtest/gtest.h>

#include "stage_test_util.h"
#include "support/fake_clock.h"
#include "util/clock.h"

namespace skidder::pipeline {
namespace {

using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

TEST(PackStage, PacksLabelsAndLineIntoJsonAndRemovesTheLabels) {
  FakeClock clock(1'700'000'000'000'000'000);
  auto stage = MustBuild("pack:\n  labels:\n    - pod\n    - container");
  auto out = RunStage(
      *stage,
      MakeEntry("something", {{"pod", "myapp-1234"}, {"container", "myapp"}, {"namespace", "shop"}},
                42),
      BatchTime::Of(clock));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.line, R"({"container":"myapp","pod":"myapp-1234","_entry":"something"})");
  EXPECT_EQ(out[0].entry.labels, (Labels{{"namespace", "shop"}}));
  // ingest_timestamp defaults to true: the time of the entry's batch
  EXPECT_EQ(out[0].entry.timestamp_ns, clock.NowNs());
}

// Equal lines of one batch share its time; packed, each must still get a time of its own, or
// Loki's ingester keeps one of them (same stream, timestamp and line).
TEST(PackStage, IngestTimesOfOneBatchAreANanosecondApart) {
  FakeClock clock(1'700'000'000'000'000'000);
  auto stage = MustBuild("pack:\n  labels: [pod]");
  const BatchTime now = BatchTime::Of(clock);
  std::vector<int64_t> stamps;
  for (int i = 0; i < 3; ++i) {
    auto out = RunStage(*stage, MakeEntry("retrying", {{"pod", "p"}}, 42), now);
    ASSERT_EQ(out.size(), 1u);
    stamps.push_back(out[0].entry.timestamp_ns);
  }
  EXPECT_EQ(stamps, (std::vector<int64_t>{now.wall_ns, now.wall_ns + 1, now.wall_ns + 2}));
  clock.Advance(std::chrono::seconds(1));  // a later batch is stamped with its own time again
  auto out = RunStage(*stage, MakeEntry("retrying", {{"pod", "p"}}, 42), BatchTime::Of(clock));
  EXPECT_EQ(out.at(0).entry.timestamp_ns, clock.NowNs());
}

TEST(PackStage, EscapesAndReadsExtractedValues) {
  struct Case {
    const char* line;
    const char* extracted_msg;  // nullptr: not extracted
    const char* want;
  } cases[] = {
      {"plain", "hello", R"({"msg":"hello","_entry":"plain"})"},
      {R"({"json":"line"})", nullptr, R"({"_entry":"{\"json\":\"line\"}"})"},
      {"tab\there\nnewline", "a\"b", R"({"msg":"a\"b","_entry":"tab\there\nnewline"})"},
      // As Go's json.Marshal in Promtail's Packed.MarshalJSON: HTML-safe, invalid UTF-8 as
      // U+FFFD, other control characters as \u00XX.
      {"<b>&amp;</b>\x01\xFF", "\xE2\x80\xA8",
       R"({"msg":"\u2028","_entry":"\u003cb\u003e\u0026amp;\u003c/b\u003e\u0001\ufffd"})"},
  };
  auto stage = MustBuild("pack:\n  labels: [msg]\n  ingest_timestamp: false");
  for (const auto& c : cases) {
    PipelineEntry pe{MakeEntry(c.line, {}, 7), {}};
    if (c.extracted_msg != nullptr) pe.extracted.Set("msg", c.extracted_msg);
    testing::Collect out;
    stage->Process(std::move(pe), out);
    ASSERT_EQ(out.entries.size(), 1u);
    EXPECT_EQ(out.entries[0].entry.line, c.want);
    EXPECT_EQ(out.entries[0].entry.timestamp_ns, 7);  // ingest_timestamp: false keeps it
  }
}

TEST(PackStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("pack: {}"),
            "promtail.yaml:1:7: pipeline_stages[0].labels: pack stage requires at least one label");
  EXPECT_EQ(ConfigError("pack:\n  labels: [a]\n  ingest: true"),
            "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"ingest\"");
}

}  // namespace
}  // namespace skidder::pipeline
