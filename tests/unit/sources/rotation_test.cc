// Rotation and identity faults (faults.md #1-#9), against real files and real inotify; the
// rename rotation also runs with polling only (inotify unavailable).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <filesystem>

#include "sources/file/file_source.h"
#include "unit/sources/fake_sink.h"
#include "unit/sources/fake_watcher.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::MakeDirs;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;
using testing::Harness;
using testing::Joined;
using testing::Numbered;

class Rotation : public ::testing::TestWithParam<bool> {
 protected:
  FileSourceOptions Options() {
    auto o = h_.DefaultOptions();
    o.force_polling = GetParam();
    return o;
  }
  Harness h_;
};

TEST_P(Rotation, RenameRotationWhileRunningDrainsOldAndReadsNewFromStart) {
  const std::string dir = h_.dir / "pods/ns_p_u/app";
  MakeDirs(dir);
  const std::string log = dir + "/0.log";
  WriteFile(log, Joined(Numbered("a", 0, 50)));
  h_.Start(h_.dir / "pods/*/*/*.log", Options());
  ASSERT_TRUE(h_.WaitLines(log, Numbered("a", 0, 50)));
  // The writer keeps appending to the renamed file before it reopens (as runtimes do).
  ASSERT_EQ(std::rename(log.c_str(), (log + ".20261124-104012").c_str()), 0);
  AppendFile(log + ".20261124-104012", Joined(Numbered("a", 50, 60)));
  WriteFile(log, Joined(Numbered("b", 0, 30)));
  std::vector<std::string> want = Numbered("a", 0, 60);
  for (const auto& l : Numbered("b", 0, 30)) want.push_back(l);
  ASSERT_TRUE(WaitFor([&] { return h_.sink.Count() >= want.size(); }));
  // The rotated file is let go once drained.
  ASSERT_TRUE(WaitFor([&] { return h_.source->ActiveFiles() == 1; }));
  h_.Stop();
  auto got = h_.sink.Lines(log);  // both files carry filename=0.log
  std::vector<std::string> a, b;
  for (const auto& l : got) (l[0] == 'a' ? a : b).push_back(l);
  EXPECT_EQ(a, Numbered("a", 0, 60));
  EXPECT_EQ(b, Numbered("b", 0, 30));
}

INSTANTIATE_TEST_SUITE_P(InotifyAndPolling, Rotation, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Polling" : "Inotify"; });

TEST(FileSourceFaults, ResumesRotatedFileAfterRestart) {
  Harness h;
  const std::string log = h.dir / "0.log";
  WriteFile(log, Joined(Numbered("a", 0, 5)));
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, Numbered("a", 0, 5)));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(log)->offset == 15; }));
  h.Stop();
  // While stopped: more lines, rotation by rename, a new file.
  AppendFile(log, Joined(Numbered("a", 5, 8)));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".20261124-104012").c_str()), 0);
  WriteFile(log, "new\n");
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  std::vector<std::string> want = Numbered("a", 0, 8);
  want.push_back("new");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= want.size(); }));
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  h.Stop();
  auto got = h.sink.Lines(log);
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

// promtail_read_bytes_total is the read position (Promtail's gauge): after a restart resumes a
// file, size minus position is what is left to read, zero once it is caught up.
TEST(FileSourceFaults, ReadBytesIsThePositionAlsoAfterARestart) {
  Harness h;
  const std::string log = h.dir / "0.log";
  WriteFile(log, Joined(Numbered("a", 0, 5)));  // 15 bytes
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, Numbered("a", 0, 5)));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(log)->offset == 15; }));
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  EXPECT_EQ(h.metrics.files.Get(log)->read_bytes, 15u);  // resumed there, nothing read yet
  AppendFile(log, "a5\n");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == 6; }));
  ASSERT_TRUE(WaitFor([&] {
    auto v = h.metrics.files.Get(log);
    return v && v->read_bytes == 18 && v->file_bytes == 18;
  }));
  EXPECT_EQ(h.metrics.files.Get(log)->read_lines, 1u);  // lines are counted from the start
  // Truncated (copytruncate): the position is 0 again, although nothing new was written.
  ASSERT_EQ(::truncate(log.c_str(), 0), 0);
  AppendFile(log, "");  // an event for the truncation
  ASSERT_TRUE(WaitFor([&] {
    auto v = h.metrics.files.Get(log);
    return v && v->read_bytes == 0 && v->file_bytes == 0;
  }));
}

// A rotated file still being read shares its filename's row with its successor: the row shows
// the successor's (the file at the path) position and size, as Promtail's.
TEST(FileSourceFaults, ARotatedFileDoesNotOverwriteItsSuccessorsPosition) {
  Harness h;
  const std::string log = h.dir / "0.log";
  WriteFile(log, "");
  h.sink.SetSaturated(true);  // the rotated file stays unread until the successor exists
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  WriteFile(log, Joined(Numbered("a", 0, 100)));  // 390 bytes, read after the rotation
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  WriteFile(log, "b0\n");
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 2; }));
  h.sink.SetSaturated(false);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == 101; }));
  ASSERT_TRUE(WaitFor([&] {
    auto v = h.metrics.files.Get(log);
    return v && v->read_lines == 101;
  }));
  EXPECT_EQ(h.metrics.files.Get(log)->read_bytes, 3u);
  EXPECT_EQ(h.metrics.files.Get(log)->file_bytes, 3u);
}

TEST(FileSourceFaults, RotatedFileDeletedWhileBeingReadIsReadToTheEnd) {
  Harness h;
  const std::string log = h.dir / "0.log";
  WriteFile(log, "");
  h.sink.SetSaturated(true);  // the reader stays behind
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  WriteFile(log, Joined(Numbered("a", 0, 100)));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  ASSERT_EQ(::unlink((log + ".1").c_str()), 0);
  h.sink.SetSaturated(false);
  ASSERT_TRUE(h.WaitLines(log, Numbered("a", 0, 100)));
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));
}

// A file renamed and deleted at once (kubelet rotation of a fast writer) before the agent read
// it, and before it saw the rename, so no held link was made: only the open descriptor has the
// bytes. Stopping must read them; a restart cannot. The fake watcher raises no event, so the
// reader has not looked at the file since it opened it empty.
class DeletedAtStop : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(log_, "");
    FileSourceOptions o = h_.DefaultOptions();
    o.rescan_period = std::chrono::hours(1);
    o.stop_drain = std::chrono::milliseconds(300);
    h_.Start(h_.dir / "*.log", o, std::make_unique<testing::FakeWatcher>(&ws_));
    ASSERT_TRUE(WaitFor([&] { return h_.source->ActiveFiles() == 1; }));
    AppendFile(log_, Joined(Numbered("a", 0, 100)) + "last, unterminated");
    ASSERT_EQ(std::rename(log_.c_str(), (log_ + ".1").c_str()), 0);
    ASSERT_EQ(::unlink((log_ + ".1").c_str()), 0);
  }
  // Stops, saves positions and starts again, capturing the log of both.
  std::string StopAndRestart() {
    std::string out;
    log::CaptureForTest(&out);
    h_.Restart(h_.dir / "*.log", h_.DefaultOptions());
    // The first pass has resolved the record (the file is gone: the record goes with it).
    EXPECT_TRUE(WaitFor([&] { return !h_.positions->FindByPath(log_).has_value(); }));
    log::CaptureForTest(nullptr);
    return out;
  }

  Harness h_;
  testing::FakeWatcher::State ws_;
  const std::string log_ = h_.dir / "0.log";
};

TEST_F(DeletedAtStop, TheRestIsReadBeforeExit) {
  EXPECT_EQ(h_.sink.Count(), 0u);  // nothing looked at the file since it was opened empty
  const std::string log = StopAndRestart();
  std::vector<std::string> want = Numbered("a", 0, 100);
  want.push_back("last, unterminated");  // nothing can complete it any more
  EXPECT_EQ(h_.sink.Lines(log_), want);
  // Read to its end before it went: the restart neither reports it lost nor counts it.
  EXPECT_EQ(log.find("deleted before it was read to the end"), std::string::npos) << log;
  EXPECT_EQ(h_.metrics.lost_bytes.With({telemetry::kReasonRotatedAway})->Value(), 0);
}

// The deletion was seen before the stop, so its record is gone: what the stop could not read is
// counted then, since no record is left for the next start to count it from.
TEST(FileSourceFaults, ALossAtStopOfAFileWhoseDeletionWasSeenIsCounted) {
  Harness h;
  const std::string log = h.dir / "0.log";
  WriteFile(log, "");
  h.sink.SetSaturated(true);  // Loki down: nothing is read
  FileSourceOptions o = h.DefaultOptions();
  o.stop_drain = std::chrono::milliseconds(300);
  h.Start(h.dir / "*.log", o);
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(log).has_value(); }));
  WriteFile(log, Joined(Numbered("a", 0, 100)));  // 390 bytes
  // Removed outright: after a rename seen alone the record follows the file to its new name and
  // stays there until the file is read out, so the next start counts the loss, not this stop
  // (a rename then unlink here once let the rename's empty 0.log pass for the deletion).
  ASSERT_EQ(::unlink(log.c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return !h.positions->FindByPath(log).has_value(); }));
  h.Stop();
  EXPECT_EQ(h.sink.Count(), 0u);
  EXPECT_EQ(h.metrics.lost_bytes.With({telemetry::kReasonRotatedAway})->Value(), 390);
}

TEST_F(DeletedAtStop, ASinkThatStaysFullBoundsTheWaitAndTheLossIsReported) {
  h_.sink.SetSaturated(true);  // Loki down: nowhere to put the rest
  const std::string log = StopAndRestart();
  EXPECT_EQ(h_.sink.Count(), 0u);
  EXPECT_NE(log.find("deleted file could not be read to the end before exit"), std::string::npos)
      << log;
  EXPECT_NE(log.find("reason=\"the clients' buffers stayed full\""), std::string::npos) << log;
  EXPECT_GT(h_.metrics.lost_bytes.With({telemetry::kReasonRotatedAway})->Value(), 0) << log;
}

TEST(FileSourceFaults, CopytruncateRestartsAtZero) {
  Harness h;
  const std::string log = h.dir / "app.log";
  WriteFile(log, Joined(Numbered("a", 0, 20)));
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, Numbered("a", 0, 20)));
  ASSERT_EQ(::truncate(log.c_str(), 0), 0);  // same inode, shorter
  AppendFile(log, "b0\n");
  std::vector<std::string> want = Numbered("a", 0, 20);
  want.push_back("b0");
  ASSERT_TRUE(h.WaitLines(log, want));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(log)->offset == 3; }));
}

TEST(FileSourceFaults, TruncateAndRegrowPastTheOffsetIsDetectedByFingerprint) {
  Harness h;
  const std::string log = h.dir / "app.log";
  WriteFile(log, "short-1\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, {"short-1"}));
  h.Stop();
  // Rewritten in place (same inode) to more than the old offset while we were not looking.
  WriteFile(log, "rewritten-line-1\nrewritten-line-2\n");
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  ASSERT_TRUE(h.WaitLines(log, {"short-1", "rewritten-line-1", "rewritten-line-2"}));
}

TEST(FileSourceFaults, TruncateAndRegrowWhileRunningIsDetected) {
  Harness h;
  const std::string log = h.dir / "app.log";
  WriteFile(log, "short-1\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, {"short-1"}));
  // One write: truncate and regrow before the reader can see the file shorter.
  std::string tmp = h.dir / "tmp";
  WriteFile(tmp, "rewritten-line-1\nrewritten-line-2\n");
  std::filesystem::copy_file(tmp, log, std::filesystem::copy_options::overwrite_existing);
  ASSERT_TRUE(h.WaitLines(log, {"short-1", "rewritten-line-1", "rewritten-line-2"}));
}

// The same with a file past the fingerprint's length that grew a few times first: its checks of
// the first bytes go by a memo by then (FingerprintCheck), which must still see the new content.
TEST(FileSourceFaults, TruncateAndRegrowOfALongFileAfterAppendsIsDetected) {
  Harness h;
  const std::string log = h.dir / "app.log";
  std::vector<std::string> want = Numbered("old-line-with-some-length-", 0, 100);
  WriteFile(log, Joined(want));
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, want));
  for (int i = 0; i < 3; ++i) {  // each a change whose first bytes are checked (and match)
    AppendFile(log, "more-" + std::to_string(i) + "\n");
    want.push_back("more-" + std::to_string(i));
    ASSERT_TRUE(h.WaitLines(log, want));
  }
  std::vector<std::string> fresh = Numbered("new-content-that-is-longer-than-before-", 0, 120);
  std::string tmp = h.dir / "tmp";
  WriteFile(tmp, Joined(fresh));
  std::filesystem::copy_file(tmp, log, std::filesystem::copy_options::overwrite_existing);
  want.insert(want.end(), fresh.begin(), fresh.end());
  ASSERT_TRUE(h.WaitLines(log, want));
}

TEST(FileSourceFaults, NewFileUnderAnOldPathAndInodeIsReadFromZero) {
  Harness h;
  const std::string log = h.dir / "app.log";
  WriteFile(log, "first-file-content\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, {"first-file-content"}));
  h.Stop();
  ASSERT_EQ(::unlink(log.c_str()), 0);
  WriteFile(log, "second-file-has-longer-content\n");  // often gets the same inode back
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  ASSERT_TRUE(h.WaitLines(log, {"first-file-content", "second-file-has-longer-content"}));
}

TEST(FileSourceFaults, ContainerRestartReadsBothLogs) {
  Harness h;
  const std::string dir = h.dir / "pods/ns_p_u/app";
  MakeDirs(dir);
  WriteFile(dir + "/0.log", "zero-a\n");
  h.Start(h.dir / "pods/*/*/*.log");
  ASSERT_TRUE(h.WaitLines(dir + "/0.log", {"zero-a"}));
  AppendFile(dir + "/0.log", "zero-b\n");
  WriteFile(dir + "/1.log", "one-a\n");
  ASSERT_TRUE(h.WaitLines(dir + "/0.log", {"zero-a", "zero-b"}));
  ASSERT_TRUE(h.WaitLines(dir + "/1.log", {"one-a"}));
}

TEST(FileSourceFaults, PodDirectoryRemovedMidReadIsDrainedAndReleased) {
  Harness h;
  const std::string pod = h.dir / "pods/ns_p_u";
  MakeDirs(pod + "/app");
  MakeDirs(h.dir / "pods/ns_q_v/app");
  WriteFile(h.dir / "pods/ns_q_v/app/0.log", "other\n");
  h.sink.SetSaturated(true);
  h.Start(h.dir / "pods/*/*/*.log");
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  const size_t fds = testing::OpenFdCount();
  WriteFile(pod + "/app/0.log", Joined(Numbered("x", 0, 200)));
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 2; }));
  std::filesystem::remove_all(pod);
  h.sink.SetSaturated(false);
  ASSERT_TRUE(h.WaitLines(pod + "/app/0.log", Numbered("x", 0, 200)));
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  EXPECT_TRUE(WaitFor([&] { return testing::OpenFdCount() <= fds; }));
  // Its position goes away with it once acknowledged; the other pod's stays.
  ASSERT_TRUE(WaitFor([&] { return !h.positions->FindByPath(pod + "/app/0.log"); }));
  EXPECT_TRUE(h.positions->FindByPath(h.dir / "pods/ns_q_v/app/0.log").has_value());
}

}  // namespace
}  // namespace skidder::sources
