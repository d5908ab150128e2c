#include <gtest/gtest.h>

#include "model/ack.h"
#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::Ctx;
using testing::ExtractedOr;
using testing::kSec;
using testing::LabelOr;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;
using testing::StagesYaml;
using testing::TestMetrics;

const Labels kFile{{"filename", "/var/log/pods/ns_pod_uid/c/0.log"}};

std::string Cri(const std::string& stream, char tag, const std::string& msg) {
  return "2019-04-30T02:12:41.8443515Z " + stream + " " + tag + " " + msg;
}

TEST(CriStage, ExtractsFieldsSetsStreamLabelTimestampAndLine) {
  auto stage = MustBuild("cri: {}");
  auto out = RunStage(*stage, MakeEntry("2019-04-30T02:12:41.8443515Z stdout F message", kFile, 7));
  ASSERT_EQ(out.size(), 1u);
  const PipelineEntry& e = out[0];
  EXPECT_EQ(e.entry.line, "message");
  EXPECT_EQ(e.entry.timestamp_ns, 1556590361844351500);
  EXPECT_EQ(LabelOr(e, "stream"), "stdout");
  EXPECT_EQ(ExtractedOr(e, "content"), "message");
  EXPECT_EQ(ExtractedOr(e, "stream"), "stdout");
  EXPECT_EQ(ExtractedOr(e, "flags"), "F");
  EXPECT_EQ(ExtractedOr(e, "time"), "2019-04-30T02:12:41.8443515Z");
}

// A node follows many files that each grow a line now and then, so the stage sees a different
// file's label set on nearly every line: once it has seen them all, each (file, stream) gets
// the same remembered set again, not a new copy per line (which also made every line miss the
// Loki client's memo of final labels).
TEST(CriStage, RemembersTheStreamSetsOfManyInterleavedFiles) {
  auto stage = MustBuild("cri: {}");
  constexpr int kFiles = 500;  // the memo holds up to 1024 sets
  std::vector<Labels> files;
  for (int i = 0; i < kFiles; ++i) {
    files.push_back(
        Labels{{"filename", "/var/log/pods/ns_pod-" + std::to_string(i) + "_u/c/0.log"}});
  }
  std::vector<Labels> last(kFiles);
  int reused = 0;
  for (int round = 0; round < 20; ++round) {
    reused = 0;
    for (int i = 0; i < kFiles; ++i) {
      auto out = RunStage(*stage, MakeEntry(Cri("stdout", 'F', "x"), files[i], 1));
      ASSERT_EQ(out.size(), 1u);
      const Labels& got = out[0].entry.labels;
      ASSERT_EQ(LabelOr(out[0], "stream"), "stdout");
      ASSERT_EQ(*got.Get("filename"), *files[i].Get("filename"));
      if (got.SameAs(last[i])) ++reused;
      last[i] = got;
    }
  }
  EXPECT_GT(reused, kFiles * 6 / 10);  // of the last round's
}

TEST(CriStage, PassesMalformedLinesThroughUnchangedAndCountsThem) {
  TestMetrics m;
  auto stage = MustBuild("cri:", testing::Ctx(&m.metrics));
  for (const char* bad : {"2019-01-01 T01:00:00.000000001Z stderr testgood",
                          "2019-01-01T01:00:00.000000001Z testgood", "\x01\x02 binary"}) {
    auto out = RunStage(*stage, MakeEntry(bad, kFile, 42));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].entry.line, bad);
    EXPECT_EQ(out[0].entry.timestamp_ns, 42);
    EXPECT_FALSE(out[0].entry.labels.Has("stream"));
  }
  EXPECT_EQ(m.metrics.malformed_lines.With({"cri"})->Value(), 3);
}

TEST(CriStage, ReassemblesInterleavedStdoutAndStderrFragments) {
  auto stage = MustBuild("cri: {}");
  const std::string a(16 * 1024, 'a'), b(16 * 1024, 'b'), x(16 * 1024, 'x');
  Collect out;
  auto feed = [&](const std::string& line) {
    stage->Process(PipelineEntry{MakeEntry(line, kFile), {}}, out);
  };
  feed(Cri("stdout", 'P', a));
  feed(Cri("stderr", 'P', x));
  feed(Cri("stdout", 'P', b));
  feed(Cri("stderr", 'F', "end-err"));
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, x + "end-err");
  EXPECT_EQ(LabelOr(out.entries[0], "stream"), "stderr");
  feed(Cri("stdout", 'F', "end-out"));
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[1].entry.line, a + b + "end-out");
  EXPECT_EQ(LabelOr(out.entries[1], "stream"), "stdout");
}

TEST(CriStage, KeepsFilesApartWhenReassembling) {
  auto stage = MustBuild("cri: {}");
  Collect out;
  stage->Process({MakeEntry(Cri("stdout", 'P', "one-"), {{"filename", "/a.log"}}), {}}, out);
  stage->Process({MakeEntry(Cri("stdout", 'P', "two-"), {{"filename", "/b.log"}}), {}}, out);
  stage->Process({MakeEntry(Cri("stdout", 'F', "end"), {{"filename", "/a.log"}}), {}}, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "one-end");
}

TEST(CriStage, MergedLineHoldsTheFirstFragmentsAckUntilItIsDone) {
  auto tracker = AckTracker::Create(0);
  auto stage = MustBuild("cri: {}");
  Collect out;
  for (uint64_t off : {100, 200, 300}) {
    Entry e = MakeEntry(Cri("stdout", off == 300 ? 'F' : 'P', std::to_string(off)), kFile);
    e.ack = tracker->Open(off);  // the reader's hold, released when the chunk is emitted
    stage->Process(PipelineEntry{std::move(e), {}}, out);
  }
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "100200300");
  EXPECT_EQ(out.entries[0].entry.ack.get()->offset(), 100u);
  EXPECT_EQ(tracker->Committed(), 0u);  // later chunks are done, but not past the first
  out.entries.clear();                  // "Loki acknowledged it"
  EXPECT_EQ(tracker->Committed(), 300u);
}

TEST(CriStage, TruncatesJoinedLinesToMaxPartialLineSizeAndCounts) {
  TestMetrics m;
  auto stage =
      MustBuild("cri:\n  max_partial_line_size: 20KB\n  max_partial_line_size_truncate: true",
                testing::Ctx(&m.metrics));
  Collect out;
  const std::string frag(16 * 1024, 'z');
  stage->Process({MakeEntry(Cri("stdout", 'P', frag), kFile), {}}, out);
  stage->Process({MakeEntry(Cri("stdout", 'P', frag), kFile), {}}, out);
  stage->Process({MakeEntry(Cri("stdout", 'F', "tail"), kFile), {}}, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line.size(), 20u * 1024);
  EXPECT_EQ(m.metrics.truncated_lines.With({})->Value(), 1);
}

TEST(CriStage, DropsJoinedLinesOverMaxLineSizeWhenNotTruncatingAndCounts) {
  TestMetrics m;
  auto tracker = AckTracker::Create(0);
  config::LimitsConfig limits{.max_line_size = 1000, .max_line_size_truncate = false};
  auto stage = MustBuild("cri: {}", testing::Ctx(&m.metrics, &limits));
  Collect out;
  for (uint64_t off : {10, 20, 30}) {
    Entry e = MakeEntry(Cri("stdout", off == 30 ? 'F' : 'P', std::string(600, 'q')), kFile);
    e.ack = tracker->Open(off);
    stage->Process(PipelineEntry{std::move(e), {}}, out);
  }
  EXPECT_TRUE(out.entries.empty());
  EXPECT_EQ(m.Dropped("line_too_long"), 1);
  EXPECT_EQ(tracker->Committed(), 30u);  // a dropped line still lets the position advance
  // The stream is usable again afterwards.
  stage->Process({MakeEntry(Cri("stdout", 'F', "next"), kFile), {}}, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "next");
}

TEST(CriStage, FlushSendsAPartialWhoseEndNeverCameAndAllWhenForced) {
  auto stage = MustBuild("cri: {}");
  Collect out;
  stage->Process({MakeEntry(Cri("stdout", 'P', "orphan"), kFile), {}}, out);
  const int64_t t0 = 1'000'000'000'000;
  stage->Flush(t0, false, out);
  stage->Flush(t0 + 4'000'000'000, false, out);
  EXPECT_TRUE(out.entries.empty());
  stage->Flush(t0 + 5'000'000'000, false, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "orphan");
  stage->Process({MakeEntry(Cri("stderr", 'P', "at-shutdown"), kFile), {}}, out);
  stage->Flush(t0 + 5'000'000'001, true, out);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[1].entry.line, "at-shutdown");
}

// The file source sleeps until the earliest NextFlushNs: none while nothing waits (idle is
// idle), and exactly when Flush would send a partial whose end never came.
TEST(CriStage, AsksForAFlushOnlyWhileAPartialWaits) {
  auto stage = MustBuild("cri: {}");
  Collect out;
  EXPECT_EQ(stage->NextFlushNs(), kNoFlush);
  stage->Process({MakeEntry(Cri("stdout", 'F', "whole"), kFile), {}}, out);
  EXPECT_EQ(stage->NextFlushNs(), kNoFlush);
  stage->Process({MakeEntry(Cri("stdout", 'P', "orphan"), kFile), {}}, out);
  EXPECT_LE(stage->NextFlushNs(), 0);  // not seen by a Flush yet: its wait starts at the next
  const int64_t t0 = 1'000'000'000'000;
  stage->Flush(t0, false, out);
  EXPECT_EQ(stage->NextFlushNs(), t0 + 5'000'000'000);
  stage->Flush(t0 + 5'000'000'000, false, out);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(stage->NextFlushNs(), kNoFlush);
}

// The file source holds the partials of files whose rest is unread (Stage::Hold): such a
// partial waits its whole wait again from then, also in a match's nested stages; one of a file
// read to its end is sent on time.
TEST(CriStage, AHeldPartialWaitsAgainFromTheHold) {
  TestMetrics m;
  auto p = Pipeline::Build(StagesYaml(R"(
- match:
    selector: '{filename=~".+"}'
    stages:
    - cri: {}
)"),
                           Ctx(&m.metrics));
  ASSERT_TRUE(p.has_value()) << p.error().message();
  auto behind = AckTracker::Create(0), done = AckTracker::Create(0);
  const Labels kDone{{"filename", "/var/log/pods/ns_other_uid/c/0.log"}};
  Collect out;
  EXPECT_FALSE((*p)->Holding());
  Entry head = MakeEntry(Cri("stdout", 'P', "head,"), kFile);
  head.ack = behind->Open(10);
  (*p)->Process(std::move(head), out);
  Entry cut = MakeEntry(Cri("stdout", 'P', "cut off"), kDone);
  cut.ack = done->Open(10);
  (*p)->Process(std::move(cut), out);
  EXPECT_TRUE((*p)->Holding());
  const int64_t t0 = 1'000'000'000'000;
  (*p)->Flush(t0, false, out);
  const AckTracker* unread[] = {behind.get()};
  (*p)->Hold(t0 + 4 * kSec, UnreadSources{unread});
  EXPECT_EQ((*p)->NextFlushNs(), t0 + 5 * kSec);  // the other file's partial
  (*p)->Flush(t0 + 8 * kSec, false, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "cut off");
  EXPECT_EQ((*p)->NextFlushNs(), t0 + 9 * kSec);
  (*p)->Process(MakeEntry(Cri("stdout", 'F', " tail"), kFile), out);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[1].entry.line, "head, tail");
  EXPECT_FALSE((*p)->Holding());
}

TEST(CriStage, SendsEverythingPendingWhenMaxPartialLinesIsReached) {
  auto stage = MustBuild("cri:\n  max_partial_lines: 2");
  Collect out;
  for (const char* f : {"/1", "/2", "/3"}) {
    stage->Process({MakeEntry(Cri("stdout", 'P', f), {{"filename", f}}), {}}, out);
  }
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[0].entry.line, "/1");
  EXPECT_EQ(out.entries[1].entry.line, "/2");
}

TEST(CriStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("cri:\n  max_partial_lines: 5\n  max_partal_line_size: 1"),
            "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"max_partal_line_size\" (did you "
            "mean \"max_partial_line_size\"?)");
  EXPECT_EQ(ConfigError("cri:\n  max_partial_line_size: lots"),
            "promtail.yaml:2:26: pipeline_stages[0].max_partial_line_size: expected a size in "
            "bytes like 262144 or 256KB");
  EXPECT_NE(ConfigError("cri:\n  max_partial_lines: many").find("promtail.yaml:2:22"),
            std::string::npos);
}

}  // namespace
}  // namespace skidder::pipeline
