// A line whose rest the file source has not read yet stays one entry: while a file waits (its
// clients are full, it is behind in a backlog), the cri stage's partial line and the multiline
// stage's open block are not sent on their own when their wait runs out. Time is a FakeClock,
// so "their wait ran out" is a clock step, not a sleep.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "support/fake_clock.h"
#include "support/test_util.h"
#include "unit/pipeline/stage_test_util.h"
#include "unit/sources/fake_sink.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;

std::string CriRecord(const char* tag, const std::string& msg) {
  return "2026-12-07T10:00:00.000000001Z stdout " + std::string(tag) + " " + msg + "\n";
}

class HeldContinuation : public ::testing::Test {
 protected:
  void Start(const std::string& stage_yaml) {
    pipe_ = std::make_unique<pipeline::Pipeline>([&] {
      std::vector<std::unique_ptr<pipeline::Stage>> stages;
      stages.push_back(pipeline::testing::MustBuild(stage_yaml));
      return stages;
    }());
    handler_ = std::make_unique<app::PipelineHandler>(pipe_.get(), &h.sink);
    auto o = h.DefaultOptions();
    o.saturated_recheck = std::chrono::milliseconds(20);
    h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
    h.source = std::make_unique<FileSource>(o, h.positions.get(), &h.sink, &h.metrics, &clock_);
    h.source->SetTargets({FileTarget{"t", Labels{{kPathLabel, h.dir / "*.log"}}, handler_.get()}});
    ASSERT_TRUE(h.source->Start().ok());
  }
  void TearDown() override { h.Stop(); }  // the source stops before the handler it calls goes

  // Loki is backed up: the rest of the line is written but not read. Returns once the source
  // has looked at the full sink several times since.
  void AppendWhileFull(const std::string& text) {
    h.sink.SetSaturated(true);
    AppendFile(log_, text);
    const int seen = h.sink.SaturatedChecks();
    ASSERT_TRUE(WaitFor([&] { return h.sink.SaturatedChecks() > seen + 2; }));
  }
  // Time passes well beyond every wait; returns after several turns of the source saw it.
  void StepPastTheWait() {
    clock_.Advance(std::chrono::minutes(1));
    h.source->Wake();
    const int seen = h.sink.SaturatedChecks();
    ASSERT_TRUE(WaitFor([&] { return h.sink.SaturatedChecks() > seen + 3; }));
  }
  void Resume() {
    h.sink.SetSaturated(false);
    h.source->Wake();
  }

  FakeClock clock_;
  testing::Harness h;
  const std::string log_ = h.dir / "0.log";
  std::unique_ptr<pipeline::Pipeline> pipe_;
  std::unique_ptr<app::PipelineHandler> handler_;
};

TEST_F(HeldContinuation, APartialCriLineWaitsForItsUnreadRestWhileTheSinkIsFull) {
  WriteFile(log_, CriRecord("P", "first half,"));
  Start("cri: {}");
  ASSERT_TRUE(WaitFor([&] { return h.ReadLines(log_) == 1; }));
  AppendWhileFull(CriRecord("F", " second half"));
  StepPastTheWait();
  EXPECT_EQ(h.sink.Count(), 0u) << "sent before its rest was read: " << h.sink.Lines()[0];
  Resume();
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == 1; }));
  EXPECT_EQ(h.sink.Lines(), std::vector<std::string>{"first half, second half"});
}

// Nothing of the file is left to read: the partial line (a container killed mid-line) is sent
// as it is once it has waited, as before.
TEST_F(HeldContinuation, APartialCriLineWithNothingLeftToReadIsSentAfterItsWait) {
  WriteFile(log_, CriRecord("P", "cut off"));
  Start("cri: {}");
  ASSERT_TRUE(WaitFor([&] { return h.ReadLines(log_) == 1; }));
  clock_.Advance(std::chrono::minutes(1));
  h.source->Wake();
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == 1; }));
  EXPECT_EQ(h.sink.Lines(), std::vector<std::string>{"cut off"});
}

// Only the file whose rest is unread is held: another file of the same job, read to its end,
// has its cut-off partial line sent once it waited, while the first is still behind.
TEST_F(HeldContinuation, APartialOfAFileReadToItsEndIsSentWhileAnotherFileIsBehind) {
  const std::string other = h.dir / "1.log";
  WriteFile(log_, CriRecord("P", "first half,"));
  WriteFile(other, CriRecord("P", "cut off"));
  Start("cri: {}");
  ASSERT_TRUE(WaitFor([&] { return h.ReadLines(log_) == 1 && h.ReadLines(other) == 1; }));
  AppendWhileFull(CriRecord("F", " second half"));
  clock_.Advance(std::chrono::minutes(1));
  h.source->Wake();
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == 1; }));
  EXPECT_EQ(h.sink.Lines(), std::vector<std::string>{"cut off"});
  Resume();
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == 2; }));
  EXPECT_EQ(h.sink.Lines(log_), std::vector<std::string>{"first half, second half"});
}

// The file rotated between a line's P and F records: the line is one entry, and the new file's
// position stays before the F record until Loki has the whole line, even when lines after it
// were delivered (a crash would read the P again from the rotated file and find no F after it).
TEST_F(HeldContinuation, ALineEndingInTheFileThatReplacedItsOwnHoldsThatFilesPosition) {
  const std::string control = h.dir / "1.log";
  WriteFile(log_, CriRecord("P", "first half,"));
  h.sink.HoldAcks(true);  // Loki has not answered yet
  Start("cri: {}");
  ASSERT_TRUE(WaitFor([&] { return h.ReadLines(log_) == 1; }));
  ASSERT_EQ(std::rename(log_.c_str(), (log_ + ".20261207-101500").c_str()), 0);
  WriteFile(log_, CriRecord("F", " second half") + CriRecord("F", "next line"));
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == 2; }));
  EXPECT_EQ(h.sink.Lines(), (std::vector<std::string>{"first half, second half", "next line"}));
  h.sink.ReleaseNewestAcks(1);  // "next line" delivered, the joined line not yet
  h.sink.HoldAcks(false);
  // Another file's line, delivered after that: once its position is recorded, the new file's
  // would have been too. (Nothing waits in the stage: time may pass, as the source's rescan of
  // the directory for the new file needs.)
  WriteFile(control, CriRecord("F", "control"));
  const uint64_t control_size = std::filesystem::file_size(control);
  ASSERT_TRUE(WaitFor([&] {
    clock_.Advance(std::chrono::milliseconds(100));
    h.source->Wake();
    auto r = h.positions->FindByPath(control);
    return r && r->offset == control_size;
  }));
  struct stat st {};
  ASSERT_EQ(::stat(log_.c_str(), &st), 0);
  auto r = h.positions->FindByPath(log_);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->identity.ino, st.st_ino) << "the rotated file's record";
  EXPECT_EQ(r->offset, 0u) << "the new file's position passed the undelivered F record";
  h.sink.ReleaseAcks();
  const uint64_t size = std::filesystem::file_size(log_);
  ASSERT_TRUE(WaitFor([&] {
    auto r = h.positions->FindByPath(log_);
    return r && r->offset == size;
  }));
}

TEST_F(HeldContinuation, AnOpenMultilineBlockWaitsForItsUnreadLinesWhileTheSinkIsFull) {
  WriteFile(log_, "START panic\n");
  Start("multiline:\n  firstline: '^START'\n  max_wait_time: 3s");
  ASSERT_TRUE(WaitFor([&] { return h.ReadLines(log_) == 1; }));
  AppendWhileFull("  at main\n");
  StepPastTheWait();
  EXPECT_EQ(h.sink.Count(), 0u) << "sent before its rest was read: " << h.sink.Lines()[0];
  Resume();
  ASSERT_TRUE(WaitFor([&] { return h.ReadLines(log_) == 2; }));
  clock_.Advance(std::chrono::minutes(1));  // now nothing is left: its wait runs out
  h.source->Wake();
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == 1; }));
  EXPECT_EQ(h.sink.Lines(), std::vector<std::string>{"START panic\n  at main"});
}

}  // namespace
}  // namespace skidder::sources
