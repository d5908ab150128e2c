#include <gtest/gtest.h>

#include "model/ack.h"
#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::MakeEntry;
using testing::MustBuild;

constexpr int64_t kT0 = 1'700'000'000'000'000'000;
using testing::kSec;
const Labels kApp{{"filename", "/var/log/app.log"}};

// Promtail's documented flask example.
const char* kFlask = R"y(multiline:
  firstline: '^\[\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}:\d{2}\]')y";

void Feed(Stage& s, Collect& out, const std::string& line, const Labels& labels = kApp,
          int64_t ts = kT0) {
  s.Process(PipelineEntry{MakeEntry(line, labels, ts), {}}, out);
}

TEST(MultilineStage, JoinsATracebackIntoTheBlockOfItsFirstLine) {
  auto stage = MustBuild(kFlask);
  Collect out;
  Feed(*stage, out, "[2020-12-03 11:36:20] \"GET /hello HTTP/1.1\" 200 -", kApp, kT0);
  Feed(*stage, out, "[2020-12-03 11:36:23] ERROR in app: Exception on /error [GET]", kApp,
       kT0 + 3 * kSec);
  Feed(*stage, out, "Traceback (most recent call last):", kApp, kT0 + 4 * kSec);
  Feed(*stage, out, "  File \"app.py\", line 2447, in wsgi_app", kApp, kT0 + 4 * kSec);
  Feed(*stage, out, "Exception: Sorry, this route always breaks", kApp, kT0 + 4 * kSec);
  Feed(*stage, out, "[2020-12-03 11:36:26] \"GET /error HTTP/1.1\" 500 -", kApp, kT0 + 6 * kSec);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[0].entry.line, "[2020-12-03 11:36:20] \"GET /hello HTTP/1.1\" 200 -");
  EXPECT_EQ(out.entries[1].entry.line,
            "[2020-12-03 11:36:23] ERROR in app: Exception on /error [GET]\n"
            "Traceback (most recent call last):\n"
            "  File \"app.py\", line 2447, in wsgi_app\n"
            "Exception: Sorry, this route always breaks");
  EXPECT_EQ(out.entries[1].entry.timestamp_ns, kT0 + 3 * kSec);  // the first line's
  stage->Flush(kT0 + 6 * kSec, /*force=*/true, out);
  ASSERT_EQ(out.entries.size(), 3u);
  EXPECT_EQ(out.entries[2].entry.line, "[2020-12-03 11:36:26] \"GET /error HTTP/1.1\" 500 -");
}

// The block keeps its first line's acknowledgement: a line read from another file of the stream
// (rotated between the first line and this one) or another push request has its own, which the
// block would release while it waits, letting that file's position pass an undelivered line.
// It starts a block of its own instead.
TEST(MultilineStage, ALineOfAnotherFileStartsABlockOfItsOwn) {
  auto stage = MustBuild("multiline:\n  firstline: '^START'");
  auto old_file = AckTracker::Create(0), new_file = AckTracker::Create(0);
  Collect out;
  const auto feed = [&](const std::string& line, const std::shared_ptr<AckTracker>& t,
                        uint64_t end) {
    Entry e = MakeEntry(line, kApp, kT0);
    e.ack = t->Open(end);
    stage->Process(PipelineEntry{std::move(e), {}}, out);
  };
  feed("START in the old file", old_file, 22);
  feed("  continued in the old file", old_file, 50);
  feed("  continued in the new file", new_file, 28);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "START in the old file\n  continued in the old file");
  // The new file's line is held with its own acknowledgement: nothing of it is committed.
  EXPECT_EQ(new_file->Committed(), 0u);
  stage->Flush(kT0, /*force=*/true, out);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[1].entry.line, "  continued in the new file");
  out.entries.clear();  // delivered: every acknowledgement released
  EXPECT_EQ(old_file->Committed(), 50u);
  EXPECT_EQ(new_file->Committed(), 28u);
}

// A line can reach the block after lines read later than it (the cri stage held it as a partial
// line): the block keeps the earlier acknowledgement, or the file's position would pass that
// line's bytes while the block waits.
TEST(MultilineStage, ABlockKeepsTheEarliestAcknowledgementOfItsLines) {
  auto stage = MustBuild("multiline:\n  firstline: '^START'");
  auto file = AckTracker::Create(0);
  AckRef early = file->Open(30);  // the chunk of a partial line's first fragment
  AckRef late = file->Open(60);   // the chunk of the block's first line
  Collect out;
  Entry first = MakeEntry("START here", kApp, kT0);
  first.ack = std::move(late);
  stage->Process(PipelineEntry{std::move(first), {}}, out);
  Entry merged = MakeEntry("  a long line merged late", kApp, kT0);
  merged.ack = std::move(early);
  stage->Process(PipelineEntry{std::move(merged), {}}, out);
  EXPECT_EQ(file->Committed(), 0u) << "the position passed a line the block holds";
  stage->Flush(kT0, /*force=*/true, out);
  ASSERT_EQ(out.entries.size(), 1u);
  out.entries.clear();
  EXPECT_EQ(file->Committed(), 60u);
}

// A backlog whose cri stage set timestamps from 2024: the first flush after reading must not send
// the block still open (its lines were read just now, whatever their timestamps say).
TEST(MultilineStage, OldTimestampsDoNotCloseABlockReadJustNow) {
  auto stage = MustBuild("multiline:\n  firstline: '^block'\n  max_wait_time: 3s");
  const BatchTime now{kT0, 0};
  const int64_t old = kT0 - 365 * 86400 * kSec;
  Collect out;
  for (const char* line : {"block 1", "  at frame 1", "  at frame 2"}) {
    stage->Process(PipelineEntry{MakeEntry(line, kApp, old), {}, now}, out);
  }
  stage->Flush(kT0 + kSec, /*force=*/false, out);
  EXPECT_TRUE(out.entries.empty()) << "sent after 1 s of a 3 s max_wait_time";
  stage->Process(PipelineEntry{MakeEntry("  at frame 3", kApp, old), {}, now}, out);
  stage->Flush(kT0 + 4 * kSec, /*force=*/false, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "block 1\n  at frame 1\n  at frame 2\n  at frame 3");
  EXPECT_EQ(out.entries[0].entry.timestamp_ns, old);  // the first line's own timestamp
}

// Held (the rest of its file is unread yet), an open block waits its max_wait_time again; one
// of a file read to its end does not.
TEST(MultilineStage, HeldBlocksWaitAgainFromTheHold) {
  auto stage = MustBuild("multiline:\n  firstline: '^block'\n  max_wait_time: 3s");
  const Labels other{{"filename", "/var/log/other.log"}};
  auto behind = AckTracker::Create(0), done = AckTracker::Create(0);
  Collect out;
  EXPECT_FALSE(stage->Holding());
  Entry a = MakeEntry("block a", kApp);
  a.ack = behind->Open(10);
  stage->Process(PipelineEntry{std::move(a), {}, BatchTime{kT0, 0}}, out);
  Entry b = MakeEntry("block b", other);
  b.ack = done->Open(10);
  stage->Process(PipelineEntry{std::move(b), {}, BatchTime{kT0 + kSec, 0}}, out);
  EXPECT_TRUE(stage->Holding());
  const AckTracker* unread[] = {behind.get()};
  stage->Hold(kT0 + 2 * kSec, UnreadSources{unread});
  EXPECT_EQ(stage->NextFlushNs(), kT0 + 4 * kSec);  // b's, then a's at 5 s: in order
  stage->Flush(kT0 + 4 * kSec, /*force=*/false, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "block b");
  EXPECT_EQ(stage->NextFlushNs(), kT0 + 5 * kSec);
  stage->Flush(kT0 + 5 * kSec, /*force=*/false, out);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[1].entry.line, "block a");
  EXPECT_FALSE(stage->Holding());
}

// Promtail's stage passes a stream's lines through until one matches firstline: a job whose
// pods log JSON or access lines (none ever a firstline) must not have them glued together.
TEST(MultilineStage, AStreamsLinesPassThroughUntilItsFirstFirstline) {
  auto stage = MustBuild(kFlask);
  Collect out;
  for (const char* l : {R"({"msg":"a"})", R"({"msg":"b"})", "10.0.0.1 - - GET /"}) {
    Feed(*stage, out, l);
  }
  ASSERT_EQ(out.entries.size(), 3u);
  EXPECT_EQ(out.entries[1].entry.line, R"({"msg":"b"})");
  Feed(*stage, out, "[2020-12-03 11:36:23] ERROR");
  Feed(*stage, out, "Traceback");
  EXPECT_EQ(out.entries.size(), 3u);  // now a block is open, and the traceback joins it
  stage->Flush(kT0, true, out);
  ASSERT_EQ(out.entries.size(), 4u);
  EXPECT_EQ(out.entries[3].entry.line, "[2020-12-03 11:36:23] ERROR\nTraceback");
}

// A stream's slot is freed after a minute without lines; that it had a firstline is not
// forgotten with it, or its next traceback's lines would go one by one.
TEST(MultilineStage, AStreamIdleForMinutesStillJoinsItsContinuationLines) {
  auto stage = MustBuild("multiline:\n  firstline: '^START'\n  max_wait_time: 1s");
  Collect out;
  Feed(*stage, out, "START", kApp, kT0);
  stage->Flush(kT0 + 2 * kSec, false, out);    // the block is sent
  stage->Flush(kT0 + 200 * kSec, false, out);  // and its slot freed
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(stage->NextFlushNs(), kNoFlush);  // nothing left of the stream in blocks
  Feed(*stage, out, "  more", kApp, kT0 + 201 * kSec);
  Feed(*stage, out, "  and more", kApp, kT0 + 201 * kSec);
  stage->Flush(kT0 + 201 * kSec, true, out);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[1].entry.line, "  more\n  and more");
}

TEST(MultilineStage, KeepsStreamsApart) {
  auto stage = MustBuild(kFlask);
  const Labels a{{"filename", "/a.log"}}, b{{"filename", "/b.log"}};
  Collect out;
  Feed(*stage, out, "[2020-12-03 11:36:20] a starts", a);
  Feed(*stage, out, "[2020-12-03 11:36:20] b starts", b);
  Feed(*stage, out, "  a continues", a);
  Feed(*stage, out, "  b continues", b);
  EXPECT_TRUE(out.entries.empty());
  stage->Flush(kT0, true, out);
  ASSERT_EQ(out.entries.size(), 2u);
  std::vector<std::string> lines{out.entries[0].entry.line, out.entries[1].entry.line};
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines[0], "[2020-12-03 11:36:20] a starts\n  a continues");
  EXPECT_EQ(lines[1], "[2020-12-03 11:36:20] b starts\n  b continues");
}

TEST(MultilineStage, SendsABlockWhenItReachesMaxLines) {
  auto stage = MustBuild("multiline:\n  firstline: '^START'\n  max_lines: 3");
  Collect out;
  for (const char* l : {"START", "1", "2", "3", "4"}) Feed(*stage, out, l);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "START\n1\n2");
  stage->Flush(kT0, true, out);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[1].entry.line, "3\n4");  // a new block, started by a continuation
}

// Every line fed is in the joined entries, in order, once: lines joined with "\n".
std::string Rejoined(const Collect& out) {
  std::string all;
  for (const auto& e : out.entries) {
    if (!all.empty()) all += '\n';
    all += e.entry.line;
  }
  return all;
}

TEST(MultilineStage, SendsABlockBeforeItPassesMaxLineSize) {
  config::LimitsConfig limits;
  limits.max_line_size = 100;
  auto stage = MustBuild("multiline:\n  firstline: '^START'", testing::Ctx(nullptr, &limits));
  Collect out;
  std::string fed = "START";
  Feed(*stage, out, "START");
  for (int i = 0; i < 20; ++i) {  // 20 x 30 bytes: no firstline, under max_lines
    const std::string line(30, static_cast<char>('a' + i));
    Feed(*stage, out, line);
    fed += "\n" + line;
  }
  stage->Flush(kT0, true, out);
  ASSERT_GE(out.entries.size(), 6u);
  for (const auto& e : out.entries) EXPECT_LE(e.entry.line.size(), 100u) << e.entry.line;
  EXPECT_EQ(out.entries[0].entry.line.substr(0, 5), "START");
  EXPECT_EQ(Rejoined(out), fed);
}

TEST(MultilineStage, ALongRunWithoutAFirstlineIsSentInBlocksOfAtMostFourMebibytes) {
  // Promtail's defaults: max_lines 128, no byte bound; a pod writing megabyte lines that never
  // match firstline would make a 128 MB entry out of them.
  auto stage = MustBuild("multiline:\n  firstline: '^START'");
  Collect out;
  std::string fed = "START";
  Feed(*stage, out, fed);
  for (int i = 0; i < 10; ++i) {
    const std::string line((1 << 20) - 1, static_cast<char>('a' + i));
    Feed(*stage, out, line);
    fed += "\n" + line;
  }
  EXPECT_GE(out.entries.size(), 2u);  // sent as the blocks filled, not at the flush
  stage->Flush(kT0, true, out);
  for (const auto& e : out.entries) EXPECT_LE(e.entry.line.size(), size_t{4} << 20);
  EXPECT_EQ(Rejoined(out), fed);
}

TEST(MultilineStage, OpenBlocksOfAllStreamsTogetherStayUnderSixteenMebibytes) {
  auto stage = MustBuild("multiline:\n  firstline: '^START'");
  Collect out;
  const std::string mib(1 << 20, 'x');
  for (int i = 0; i < 16; ++i) {  // 16 streams, each an open block of 1 MiB - 1 + 1 bytes
    const Labels l{{"filename", "/var/log/" + std::to_string(i) + ".log"}};
    Feed(*stage, out, "START" + mib.substr(6), l);
    Feed(*stage, out, "", l);
  }
  EXPECT_TRUE(out.entries.empty());
  Feed(*stage, out, "START" + mib.substr(5), Labels{{"filename", "/var/log/16.log"}});
  EXPECT_EQ(out.entries.size(), 16u);  // every open block sent; the new line's block is open
  stage->Flush(kT0, true, out);
  ASSERT_EQ(out.entries.size(), 17u);
  EXPECT_EQ(out.entries[16].entry.line.size(), size_t{1} << 20);
  // A long line of a stream that never had a firstline passes through: held nowhere, it sends
  // (and so splits) no other stream's block.
  out.entries.clear();
  Feed(*stage, out, "START" + mib.substr(6), Labels{{"filename", "/var/log/a.log"}});
  Feed(*stage, out, std::string(16 << 20, 'y'), Labels{{"filename", "/var/log/b.log"}});
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line.size(), size_t{16} << 20);
}

// The file source sleeps until the earliest NextFlushNs: none before any line, max_wait_time
// after an open block's last line, and a late one (freeing the stream's slot) once it is sent.
TEST(MultilineStage, AsksForAFlushWhenAnOpenBlockIsDue) {
  auto stage = MustBuild("multiline:\n  firstline: '^START'\n  max_wait_time: 2s");
  Collect out;
  EXPECT_EQ(stage->NextFlushNs(), kNoFlush);
  Feed(*stage, out, "START", kApp, kT0);
  Feed(*stage, out, "  more", kApp, kT0 + kSec);
  EXPECT_EQ(stage->NextFlushNs(), kT0 + 3 * kSec);
  stage->Flush(kT0 + 3 * kSec, false, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_GT(stage->NextFlushNs(), kT0 + 30 * kSec);
  stage->Flush(stage->NextFlushNs(), false, out);
  EXPECT_EQ(stage->NextFlushNs(), kNoFlush);
}

// Blocks are due in the order their last line came, whatever the order their streams began:
// a stream that gets a line moves behind the others, and each Flush sends what is due only.
TEST(MultilineStage, BlocksOfManyStreamsAreDueInTheOrderOfTheirLastLine) {
  auto stage = MustBuild("multiline:\n  firstline: '^START'\n  max_wait_time: 10s");
  Collect out;
  const Labels a{{"s", "a"}}, b{{"s", "b"}}, c{{"s", "c"}};
  auto at = [&](int64_t s, const char* line, const Labels& l) {
    stage->Flush(kT0 + s * kSec, false, out);  // the pipeline's clock moves on
    Feed(*stage, out, line, l, kT0 + s * kSec);
  };
  at(0, "START a", a);
  at(1, "START b", b);
  at(2, "START c", c);
  at(3, "  more a", a);                              // a is now the newest
  EXPECT_EQ(stage->NextFlushNs(), kT0 + 11 * kSec);  // b's
  stage->Flush(kT0 + 12 * kSec, false, out);
  ASSERT_EQ(out.entries.size(), 2u);
  EXPECT_EQ(out.entries[0].entry.line, "START b");
  EXPECT_EQ(out.entries[1].entry.line, "START c");
  EXPECT_EQ(stage->NextFlushNs(), kT0 + 13 * kSec);  // a's
  stage->Flush(kT0 + 13 * kSec, false, out);
  ASSERT_EQ(out.entries.size(), 3u);
  EXPECT_EQ(out.entries[2].entry.line, "START a\n  more a");
  // Every block sent: the next time asked for is when b's idle slot is freed.
  EXPECT_EQ(stage->NextFlushNs(), kT0 + 61 * kSec);
  stage->Flush(kT0 + 80 * kSec, false, out);
  EXPECT_EQ(stage->NextFlushNs(), kNoFlush);
  // A stream whose slot was freed starts again; a forced flush sends what is open.
  at(81, "START b again", b);
  at(81, "START c again", c);
  stage->Flush(kT0 + 81 * kSec, true, out);
  ASSERT_EQ(out.entries.size(), 5u);
  EXPECT_EQ(stage->NextFlushNs(), kNoFlush);
}

TEST(MultilineStage, FlushSendsABlockOnlyAfterMaxWaitTimeWithoutNewLines) {
  auto stage = MustBuild("multiline:\n  firstline: '^START'\n  max_wait_time: 2s");
  Collect out;
  stage->Flush(kT0, false, out);  // the pipeline's clock: now = kT0
  Feed(*stage, out, "START", kApp, kT0);
  stage->Flush(kT0 + 1 * kSec, false, out);
  Feed(*stage, out, "more", kApp, kT0 + 1 * kSec);  // activity moves the deadline
  stage->Flush(kT0 + 2 * kSec, false, out);
  EXPECT_TRUE(out.entries.empty());
  stage->Flush(kT0 + 3 * kSec, false, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "START\nmore");
}

TEST(MultilineStage, OldEntryTimestampsDoNotFlushEarly) {
  // A timestamp stage before multiline may set times from the log (hours ago); the block still
  // waits max_wait_time of pipeline time.
  auto stage = MustBuild("multiline:\n  firstline: '^START'\n  max_wait_time: 2s");
  Collect out;
  stage->Flush(kT0, false, out);
  Feed(*stage, out, "START", kApp, kT0 - 3600 * kSec);
  stage->Flush(kT0 + 1 * kSec, false, out);
  EXPECT_TRUE(out.entries.empty());
  stage->Flush(kT0 + 2 * kSec, false, out);
  EXPECT_EQ(out.entries.size(), 1u);
}

TEST(MultilineStage, JoinedEntryHoldsTheFirstLinesAckUntilItIsSent) {
  auto tracker = AckTracker::Create(0);
  auto stage = MustBuild(kFlask);
  Collect out;
  uint64_t off = 0;
  for (const char* l : {"[2020-12-03 11:36:23] boom", "Traceback:", "  frame", "Error"}) {
    off += 100;
    Entry e = MakeEntry(l, kApp);
    e.ack = tracker->Open(off);
    stage->Process(PipelineEntry{std::move(e), {}}, out);
  }
  EXPECT_EQ(tracker->Committed(), 0u);  // later lines are done, but not past the first
  stage->Flush(kT0, true, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.ack.get()->offset(), 100u);
  out.entries.clear();  // "Loki acknowledged it"
  EXPECT_EQ(tracker->Committed(), 400u);
}

TEST(MultilineStage, RefusesBadConfigWithPosition) {
  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"multiline:\n  max_lines: 3",
       "promtail.yaml:2:3: pipeline_stages[0].firstline: multiline stage config must define "
       "`firstline`"},
      {"multiline:\n  firstline: '(' ",
       "promtail.yaml:2:14: pipeline_stages[0].firstline: could not compile regular expression: "
       "missing ): ("},
      {"multiline:\n  firstline: x\n  max_wait_time: soon",
       "promtail.yaml:3:18: pipeline_stages[0].max_wait_time: "},
      {"multiline:\n  firstline: x\n  max_lines: 0",
       "promtail.yaml:3:14: pipeline_stages[0].max_lines: must be a positive number"},
      {"multiline:\n  firstline: x\n  maxlines: 5",
       "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"maxlines\""},
  };
  for (const auto& c : cases) {
    const std::string err = ConfigError(c.yaml);
    EXPECT_EQ(err.substr(0, std::string(c.want).size()), c.want) << c.yaml;
  }
}

}  // namespace
}  // namespace skidder::pipeline
