// Rotations the agent did not see happen (it was stopped or killed): the kubelet and logrotate
// compress rotated files and keep only a few, so after a restart the bytes a position points at
// may live in a .gz, in a rotation never opened, or nowhere. Real files, real gzip.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "sources/file/file_source.h"
#include "sources/file/gz.h"
#include "sources/file/identity.h"
#include "unit/sources/fake_sink.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::ReadFile;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;
using testing::Harness;
using testing::Joined;
using testing::Numbered;
using testing::WriteGzip;

// As the kubelet does: compress to a temporary name, rename to .gz, remove the plain file.
void Compress(const std::string& from, const std::string& to) {
  WriteGzip(to + ".tmp", ReadFile(from));
  ASSERT_EQ(std::rename((to + ".tmp").c_str(), to.c_str()), 0);
  ASSERT_EQ(::unlink(from.c_str()), 0);
}

// What the tests that resume inside a copy start from: `log`'s first line read and
// acknowledged; then, while the agent is stopped, `more` lines appended and the file compressed
// to log.1.gz before it was read to its end (logrotate's compress without delaycompress), and,
// with `recreate`, a new empty `log`; then the agent restarted while Loki acknowledges nothing.
void RestartInsideACopyWithAcksHeld(Harness& h, const std::string& log,
                                    const std::vector<std::string>& more, bool recreate = false) {
  WriteFile(log, "first\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, {"first"}));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(log)->offset == 6; }));
  h.Stop();
  AppendFile(log, Joined(more));
  Compress(log, log + ".1.gz");
  if (recreate) WriteFile(log, "");
  h.sink.HoldAcks(true);
  h.Restart(h.dir / "*.log", h.DefaultOptions());
}

std::vector<std::string> Concat(std::initializer_list<std::vector<std::string>> parts) {
  std::vector<std::string> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(CompressedRotation, ReadsTheUnreadRestInsideTheCompressedCopy) {
  Harness h;
  const std::string log = h.dir / "0.log";
  WriteFile(log, "aaaa\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, {"aaaa"}));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(log)->offset == 5; }));
  h.Stop();
  // While stopped: more lines, rotation, and the kubelet compressing the rotated file.
  AppendFile(log, Joined(Numbered("b", 0, 100)));
  Compress(log, log + ".20261124-104012.gz");
  WriteFile(log, "new\n");
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  ASSERT_TRUE(h.WaitLines(log, Concat({{"aaaa"}, Numbered("b", 0, 100), {"new"}})))
      << ::testing::PrintToString(h.sink.Lines());
  EXPECT_EQ(h.metrics.lost_bytes.With({telemetry::kReasonRotatedAway})->Value(), 0);
  // The copy stays known (read to the end), so another restart reads nothing again.
  ASSERT_TRUE(WaitFor([&] {
    auto r = h.positions->FindByPath(log + ".20261124-104012.gz");
    return r && r->done && r->compressed;
  }));
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  AppendFile(log, "after\n");
  ASSERT_TRUE(h.WaitLines(log, Concat({{"aaaa"}, Numbered("b", 0, 100), {"new", "after"}})));
}

// logrotate's numbered names (rotate N, compress, delaycompress), while the agent runs: at each
// rotation app.log.1 is compressed to app.log.1.gz, every older file moves up a number
// (app.log.1.gz -> app.log.2.gz) and app.log becomes app.log.1. The records follow those renames,
// so no earlier rotation looks like one never seen and is sent again.
TEST(CompressedRotation, LogrotatesNumberedNamesAreFollowedAndNothingIsSentTwice) {
  Harness h;
  const std::string log = h.dir / "app.log";
  WriteFile(log, Joined(Numbered("a", 0, 50)));
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, Numbered("a", 0, 50)));
  // Rotation 1: app.log -> app.log.1 (delaycompress: not compressed yet).
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  WriteFile(log, Joined(Numbered("b", 0, 50)));
  ASSERT_TRUE(h.WaitLines(log, Concat({Numbered("a", 0, 50), Numbered("b", 0, 50)})));
  ASSERT_TRUE(WaitFor([&] {
    auto r = h.positions->FindByPath(log + ".1");
    return r && r->done;
  }));
  // Rotation 2: app.log.1 compressed (logrotate keeps its mtime), app.log.1.gz -> app.log.2.gz,
  // app.log -> app.log.1.
  struct stat before;
  ASSERT_EQ(::stat((log + ".1").c_str(), &before), 0);
  Compress(log + ".1", log + ".1.gz");
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, (log + ".1.gz").c_str(), times, 0), 0);
  ASSERT_TRUE(WaitFor([&] {
    auto r = h.positions->FindByPath(log + ".1.gz");
    return r && r->done && r->compressed;
  }));
  ASSERT_EQ(std::rename((log + ".1.gz").c_str(), (log + ".2.gz").c_str()), 0);
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  WriteFile(log, Joined(Numbered("c", 0, 50)));
  const auto want = Concat({Numbered("a", 0, 50), Numbered("b", 0, 50), Numbered("c", 0, 50)});
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(log).size() >= want.size(); }));
  // Both older rotations are known under their new names once B is read to its end.
  ASSERT_TRUE(WaitFor([&] {
    auto one = h.positions->FindByPath(log + ".1"), two = h.positions->FindByPath(log + ".2.gz");
    return one && one->done && two && two->done;
  }));
  EXPECT_EQ(h.sink.Lines(log), want);
  // Rotation 3 without compression in between, every rename back to back (one batch of events):
  // app.log.1 -> app.log.2, app.log -> app.log.1.
  ASSERT_EQ(std::rename((log + ".1").c_str(), (log + ".2").c_str()), 0);
  ASSERT_EQ(std::rename(log.c_str(), (log + ".1").c_str()), 0);
  WriteFile(log, Joined(Numbered("d", 0, 50)));
  const auto all = Concat({want, Numbered("d", 0, 50)});
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(log).size() >= all.size(); }));
  ASSERT_TRUE(WaitFor([&] {
    auto one = h.positions->FindByPath(log + ".1"), two = h.positions->FindByPath(log + ".2");
    return one && one->done && two && two->done;
  }));
  EXPECT_EQ(h.sink.Lines(log), all);
  // And a restart reads none of them again.
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  AppendFile(log, "after\n");
  auto after = all;
  after.push_back("after");
  ASSERT_TRUE(h.WaitLines(log, after)) << ::testing::PrintToString(h.sink.Lines(log));
}

// One logrotate run over `log` (rotate 4, compress, delaycompress, create), every step right after
// the last, as logrotate makes them: app.log.1 compressed to app.log.1.gz (its mtime kept) and
// removed, the oldest copy removed, the others moved up a number, app.log -> app.log.1, a new
// app.log.
void Logrotate(const std::string& log) {
  const std::string one = log + ".1";
  struct stat st;
  if (::stat(one.c_str(), &st) == 0) {
    Compress(one, one + ".gz");
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    ASSERT_EQ(::utimensat(AT_FDCWD, (one + ".gz").c_str(), times, 0), 0);
  }
  ::unlink((log + ".4.gz").c_str());
  for (int i = 3; i >= 1; --i) {
    const std::string from = log + "." + std::to_string(i) + ".gz";
    const std::string to = log + "." + std::to_string(i + 1) + ".gz";
    if (::access(from.c_str(), F_OK) == 0) {
      ASSERT_EQ(std::rename(from.c_str(), to.c_str()), 0);
    }
  }
  ASSERT_EQ(std::rename(log.c_str(), one.c_str()), 0);
  WriteFile(log, "");
}

// The agent resumed inside a compressed copy after a restart (the file was compressed before it
// was read to its end), read it to its end and closed it while Loki was down; then two logrotate
// runs move the copy up (app.log.1.gz -> app.log.2.gz -> app.log.3.gz) while the rotations after
// it are compressed to app.log.1.gz, all before anything is acknowledged. The closed copy's
// record (put back at app.log.1.gz while its acknowledgements come) follows it by its inode once
// it is done: a restart reads none of the files again.
TEST(CompressedRotation, AClosedCopysRecordFollowsItUpTheNumbersWhileLokiIsDown) {
  Harness h;
  const std::string log = h.dir / "app.log";
  ASSERT_NO_FATAL_FAILURE(
      RestartInsideACopyWithAcksHeld(h, log, Numbered("a", 0, 50), /*recreate=*/true));
  // The copy read to its end and closed, its lines unacknowledged; only app.log open.
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= 51 && h.source->ActiveFiles() == 1; }));
  std::vector<std::string> want = Concat({{"first"}, Numbered("a", 0, 50)});
  for (int run = 0; run < 2; ++run) {
    const std::string prefix = "r" + std::to_string(run) + "-";
    AppendFile(log, Joined(Numbered(prefix, 0, 20)));
    for (const auto& l : Numbered(prefix, 0, 20)) want.push_back(l);
    ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(log).size() >= want.size(); }));
    Logrotate(log);
    struct stat rotated;
    ASSERT_EQ(::stat((log + ".1").c_str(), &rotated), 0);
    ASSERT_TRUE(WaitFor([&] {
      auto r = h.positions->FindByPath(log + ".1");
      return r && r->identity.ino == rotated.st_ino && h.source->ActiveFiles() == 1;
    })) << run;
  }
  h.sink.HoldAcks(false);
  h.sink.ReleaseAcks();
  ASSERT_TRUE(WaitFor([&] { return h.metrics.unacked_bytes.With({})->Value() == 0; }));
  // A restart reads none of them again.
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  AppendFile(log, "after\n");
  want.push_back("after");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(log).size() >= want.size(); }));
  EXPECT_EQ(h.sink.Lines(log), want);
}

// Six logrotate runs while the agent reads: every line once, in whatever passes the events of a
// run come in, and a restart afterwards reads none again. With `loki_down`, nothing is
// acknowledged until the end: the closed rotations wait in finished_ with their offsets behind,
// and their records must follow the renames there too.
void LogrotateRuns(bool loki_down) {
  Harness h;
  const std::string log = h.dir / "app.log";
  WriteFile(log, "");
  h.sink.HoldAcks(loki_down);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  std::vector<std::string> want;
  for (int run = 0; run < 6; ++run) {
    const std::string prefix = "r" + std::to_string(run) + "-";
    AppendFile(log, Joined(Numbered(prefix, 0, 40)));
    for (const auto& l : Numbered(prefix, 0, 40)) want.push_back(l);
    ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(log).size() >= want.size(); }))
        << run << ": " << h.sink.Lines(log).size();
    Logrotate(log);
    // As logrotate runs (hourly at most), the next run finds this one's rotation seen, read to
    // its end and closed: its record at app.log.1, and only the new app.log open.
    struct stat rotated, fresh;
    ASSERT_EQ(::stat((log + ".1").c_str(), &rotated), 0);
    ASSERT_EQ(::stat(log.c_str(), &fresh), 0);
    ASSERT_TRUE(WaitFor([&] {
      auto r = h.positions->FindByPath(log + ".1"), now = h.positions->FindByPath(log);
      return r && r->identity.ino == rotated.st_ino && now && now->identity.ino == fresh.st_ino &&
             h.source->ActiveFiles() == 1;
    })) << run;
  }
  AppendFile(log, "last\n");
  want.push_back("last");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(log).size() >= want.size(); }));
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  if (loki_down) {
    h.sink.HoldAcks(false);
    h.sink.ReleaseAcks();
    ASSERT_TRUE(WaitFor([&] { return h.metrics.unacked_bytes.With({})->Value() == 0; }));
  }
  EXPECT_EQ(h.sink.Lines(log), want);
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  AppendFile(log, "after\n");
  want.push_back("after");
  ASSERT_TRUE(h.WaitLines(log, want)) << ::testing::PrintToString(h.sink.Lines(log));
}

// With acknowledgements at once, each closed rotation's record is in Positions when the next run
// compresses it and moves the copy up a number, in whatever passes the events come in. A pass
// amid the run once missed the copy (renamed on between the listing and its opening, or during
// the listing) and dropped the record: the copy was then read again as a rotation never seen
// (FindCompressedCopy and FindByInode now look again; about one run in a few hundred before).
TEST(CompressedRotation, LogrotateRunsBackToBackSendEveryLineOnce) { LogrotateRuns(false); }

TEST(CompressedRotation, LogrotateRunsWhileLokiIsDownSendEveryLineOnce) { LogrotateRuns(true); }

TEST(CompressedRotation, ACrashInsideTheCopyResumesInsideItAgain) {
  Harness h;
  const std::string log = h.dir / "0.log";
  // Loki acknowledges nothing of the copy before the agent dies.
  ASSERT_NO_FATAL_FAILURE(RestartInsideACopyWithAcksHeld(h, log, Numbered("x", 0, 5000)));
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= 5001; }));
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  auto rec = h.positions->FindByPath(log + ".1.gz");
  ASSERT_TRUE(rec.has_value());
  EXPECT_TRUE(rec->compressed);
  EXPECT_EQ(rec->offset, 6u);  // nothing acknowledged inside the copy
  EXPECT_EQ(rec->origin, log);
  h.sink.Take();  // the entries die unacknowledged, as in a crash
  h.sink.HoldAcks(false);
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  ASSERT_TRUE(h.WaitLines(log, Numbered("x", 0, 5000))) << h.sink.Count();
}

// The same crash, and while the agent is stopped the copy is deleted and a new archive made at
// its name takes its inode (logrotate's `rotate 1`: the old .1.gz removed, the next rotation
// compressed to that name). The record is the old archive's; the new one is a rotation no record
// knows, read whole, not turned away as not the recorded archive and then never read.
TEST(CompressedRotation, ANewArchiveOnTheInodeOfOneNotReadToItsEndIsReadWhole) {
  Harness h;
  const std::string log = h.dir / "0.log", gz = log + ".1.gz";
  // Nothing of the copy is acknowledged before the agent stops.
  ASSERT_NO_FATAL_FAILURE(RestartInsideACopyWithAcksHeld(h, log, Numbered("x", 0, 50)));
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= 51; }));
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  const auto rec = h.positions->FindByPath(gz);
  ASSERT_TRUE(rec.has_value());
  ASSERT_FALSE(rec->done);
  if (rec->identity.born_ns == 0) GTEST_SKIP() << "this file system keeps no birth times";
  h.sink.Take();
  h.sink.HoldAcks(false);
  ASSERT_TRUE(skidder::testing::WaitPastBirthOf(gz));
  struct stat old_archive;
  ASSERT_EQ(::stat(gz.c_str(), &old_archive), 0);
  ASSERT_EQ(::unlink(gz.c_str()), 0);
  // The new archive must get the old one's inode. ext4 hands out the lowest free inode of the
  // directory's group, and the positions file's saves freed some below it: files are made until
  // one gets it (the others, not named like logs, stay).
  bool reused = false;
  for (int i = 0; i < 1000 && !reused; ++i) {
    const std::string made = h.dir / ("made-" + std::to_string(i));
    WriteGzip(made, "new1\nnew2\n");
    struct stat st;
    ASSERT_EQ(::stat(made.c_str(), &st), 0);
    if (st.st_ino == old_archive.st_ino && st.st_dev == old_archive.st_dev) {
      ASSERT_EQ(std::rename(made.c_str(), gz.c_str()), 0);
      reused = true;
    }
  }
  if (!reused) GTEST_SKIP() << "this file system reused no inode";
  WriteFile(log, "fresh\n");
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(log).size() >= 3; })) << h.sink.Count();
  EXPECT_EQ(h.sink.Lines(log), (std::vector<std::string>{"new1", "new2", "fresh"}));
}

TEST(CompressedRotation, RotationsNeverOpenedAreReadTooOldestFirst) {
  Harness h;
  const std::string log = h.dir / "0.log";
  WriteFile(log, Joined(Numbered("a", 0, 10)));
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, Numbered("a", 0, 10)));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(log)->offset > 0; }));
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  // Three rotations while stopped: the oldest two compressed, the newest not (delaycompress).
  AppendFile(log, Joined(Numbered("a", 10, 20)));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".20261201-101500").c_str()), 0);
  Compress(log + ".20261201-101500", log + ".20261201-101500.gz");
  WriteFile(log, Joined(Numbered("b", 0, 20)));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".20261201-101600").c_str()), 0);
  Compress(log + ".20261201-101600", log + ".20261201-101600.gz");
  WriteFile(log, Joined(Numbered("c", 0, 20)));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".20261201-101700").c_str()), 0);
  WriteFile(log, Joined(Numbered("d", 0, 20)));
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  h.Start(h.dir / "*.log");
  const auto want = Concat(
      {Numbered("a", 0, 20), Numbered("b", 0, 20), Numbered("c", 0, 20), Numbered("d", 0, 20)});
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(log).size() >= want.size(); }));
  // Oldest first, so the stream stays in order; every rotation carries the stream's filename.
  EXPECT_EQ(h.sink.Lines(log), want);
}

TEST(CompressedRotation, RotationsOlderThanThePositionsAreNotRead) {
  Harness h;
  const std::string log = h.dir / "app.log";
  // logrotate's names, from before the agent was installed.
  WriteFile(log + ".1", "old1\n");
  WriteFile(log + ".2.gz.src", "old2\n");
  Compress(log + ".2.gz.src", log + ".2.gz");
  timeval past[2] = {{1'600'000'000, 0}, {1'600'000'000, 0}};
  ASSERT_EQ(::utimes((log + ".1").c_str(), past), 0);
  ASSERT_EQ(::utimes((log + ".2.gz").c_str(), past), 0);
  WriteFile(log, "a\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, {"a"}));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(log)->offset == 2; }));
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  AppendFile(log, "b\n");  // then logrotate with delaycompress, while stopped
  ASSERT_EQ(std::rename(log.c_str(), (log + ".0").c_str()), 0);
  WriteFile(log, "c\n");
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(log).size() >= 3; }));
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  auto got = h.sink.Lines(log);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(CompressedRotation, TemporaryAndForeignGzipFilesAreNeverTakenForTheCopy) {
  skidder::testing::TempDir dir;
  const std::string log = dir / "0.log";
  WriteFile(log, "hello\n");
  WriteFile(dir / "0.log.x.gz.tmp", "hello\n");
  FileIdentity id;
  id.fingerprint_len = 6;
  id.fingerprint = 0;  // matches nothing
  EXPECT_FALSE(FindCompressedCopy(dir.path(), log, id).has_value());
  Compress(log, dir / "0.log.x.gz");
  int fd = ::open((dir / "0.log.x.gz").c_str(), O_RDONLY);
  auto real = GzIdentify(fd);
  ::close(fd);
  ASSERT_TRUE(real.has_value());
  const std::optional<FoundCopy> copy = FindCompressedCopy(dir.path(), log, *real);
  ASSERT_TRUE(copy.has_value());
  EXPECT_EQ(copy->path, dir / "0.log.x.gz");
  // The inode of the file opened, for its record to follow it when it is renamed on.
  EXPECT_EQ(copy->ino, real->ino);
  EXPECT_EQ(copy->dev, real->dev);
  EXPECT_EQ(GzSize(dir / "0.log.x.gz"), 6u);
}

// The record of a compressed rotation follows it up logrotate's numbers by its inode; an
// archive that took the inode of a deleted one, and begins as it did, is told apart by its
// birth time when the record names one.
TEST(CompressedRotation, ARenamedCopyIsFoundByItsInodeAndBirthTime) {
  skidder::testing::TempDir dir;
  WriteFile(dir / "app.log", "hello\n");
  Compress(dir / "app.log", dir / "app.log.2.gz");
  int fd = ::open((dir / "app.log.2.gz").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  auto id = GzIdentify(fd);
  const int64_t born = BirthNs(fd);
  ::close(fd);
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(FindCompressedByInode(dir.path(), *id), dir / "app.log.2.gz") << "no birth time";
  if (born == 0) GTEST_SKIP() << "no birth times on this file system";
  id->born_ns = born;
  EXPECT_EQ(FindCompressedByInode(dir.path(), *id), dir / "app.log.2.gz");
  id->born_ns = born - 1'000'000'000;
  EXPECT_EQ(FindCompressedByInode(dir.path(), *id), "") << "another archive on its inode";
}

}  // namespace
}  // namespace skidder::sources

namespace skidder::sources {
namespace {

// Under load a file can be created and rotated between two discovery passes: the agent never
// sees it at its name. Noticing the rotation of the file it had open, it looks for such files.
TEST(CompressedRotation, AFileCreatedAndRotatedBetweenTwoPassesIsReadToo) {
  Harness h;
  const std::string log = h.dir / "0.log";
  WriteFile(log, Joined(Numbered("a", 0, 10)));
  auto o = h.DefaultOptions();
  o.force_polling = true;  // no events: the writer outruns the 20 ms polls below
  h.Start(h.dir / "*.log", o);
  ASSERT_TRUE(h.WaitLines(log, Numbered("a", 0, 10)));
  // Three rotations in a row, far faster than a pass; the middle file is gzipped at once.
  ASSERT_EQ(std::rename(log.c_str(), (log + ".20261201-100001").c_str()), 0);
  WriteFile(log, Joined(Numbered("b", 0, 10)));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".20261201-100002").c_str()), 0);
  Compress(log + ".20261201-100002", log + ".20261201-100002.gz");
  WriteFile(log, Joined(Numbered("c", 0, 10)));
  ASSERT_EQ(std::rename(log.c_str(), (log + ".20261201-100003").c_str()), 0);
  WriteFile(log, Joined(Numbered("d", 0, 10)));
  const auto want = Concat(
      {Numbered("a", 0, 10), Numbered("b", 0, 10), Numbered("c", 0, 10), Numbered("d", 0, 10)});
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(log).size() >= want.size(); }))
      << ::testing::PrintToString(h.sink.Lines(log));
  auto got = h.sink.Lines(log);
  std::sort(got.begin(), got.end());
  auto sorted = want;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(got, sorted);
}

}  // namespace
}  // namespace skidder::sources
