// FileSource end to end over real temp dirs and real inotify: delivery, partial lines, limits,
// backpressure and acknowledged positions.
#include "sources/file/file_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "sources/file/identity.h"
#include "support/test_util.h"
#include "unit/sources/fake_sink.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::MakeDirs;
using skidder::testing::WaitFor;
using skidder::testing::WaitPastBirthOf;
using skidder::testing::WriteFile;
using testing::Harness;
using testing::Joined;
using testing::Numbered;

std::string Name(const char* prefix, int i, const char* suffix) {
  std::string s(prefix);
  s.append(std::to_string(i)).append(suffix);
  return s;
}

TEST(FileSource, DeliversEveryLineOnceInOrderPerFile) {
  Harness h;
  const int kFiles = 5, kLines = 400;
  MakeDirs(h.dir / "logs");
  for (int f = 0; f < kFiles; ++f) {  // half before start, half while running
    WriteFile(h.dir / Name("logs/", f, ".log"), Joined(Numbered("l", 0, kLines / 2)));
  }
  auto o = h.DefaultOptions();
  o.read_chunk_bytes = 1000;  // lines straddle chunks
  h.Start(h.dir / "logs/*.log", o);
  for (int f = 0; f < kFiles; ++f) {
    AppendFile(h.dir / Name("logs/", f, ".log"), Joined(Numbered("l", kLines / 2, kLines)));
  }
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= size_t{kFiles * kLines}; }));
  EXPECT_EQ(h.ReadLines(h.dir / "logs/0.log"), kLines);
  h.Stop();
  for (int f = 0; f < kFiles; ++f) {
    const std::string path = h.dir / Name("logs/", f, ".log");
    EXPECT_EQ(h.sink.Lines(path), Numbered("l", 0, kLines)) << path;
  }
  auto entries = h.sink.Take();
  EXPECT_EQ(*entries[0].labels.Get("job"), "test");
  EXPECT_FALSE(entries[0].labels.Has(kPathLabel));
}

// Lines read in one pass share the pass's time; each must get its own (a nanosecond apart, in
// order), or Loki's ingester keeps one of two equal lines of a stream at one timestamp.
TEST(FileSource, EqualLinesReadTogetherGetTimestampsOfTheirOwn) {
  Harness h;
  MakeDirs(h.dir / "logs");
  const std::string path = h.dir / "logs/a.log";
  WriteFile(path, "retrying\nretrying\nretrying\nother\n");
  h.Start(h.dir / "logs/*.log", h.DefaultOptions());
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= 4; }));
  WriteFile(h.dir / "logs/b.log", "retrying\nretrying\n");  // a later pass, another file
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= 6; }));
  h.Stop();
  auto entries = h.sink.Take();
  ASSERT_EQ(entries.size(), 6u);
  for (size_t i = 1; i < entries.size(); ++i) {
    EXPECT_GT(entries[i].timestamp_ns, entries[i - 1].timestamp_ns) << i;
  }
}

TEST(FileSource, ExcludedFilesAreNotRead) {
  Harness h;
  WriteFile(h.dir / "a.log", "a\n");
  WriteFile(h.dir / "b.log", "b\n");
  h.Start(h.dir / "*.log", h.DefaultOptions(), h.dir / "b.*");
  ASSERT_TRUE(h.WaitLines(h.dir / "a.log", {"a"}));
  WriteFile(h.dir / "c.log", "c\n");
  ASSERT_TRUE(h.WaitLines(h.dir / "c.log", {"c"}));
  EXPECT_TRUE(h.sink.Lines(h.dir / "b.log").empty());
}

TEST(FileSource, HoldsPartialLineUntilItsNewlineArrives) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "one\ntw");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"one"}));
  // The position never covers the partial line.
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(path)->offset == 4; }));
  AppendFile(path, "o\nthree\n");
  ASSERT_TRUE(h.WaitLines(path, {"one", "two", "three"}));
}

TEST(FileSource, BomCrlfAndEmptyLinesHaveDefinedText) {
  Harness h;
  const std::string path = h.dir / "win.log";
  WriteFile(path,
            "\xEF\xBB\xBF"
            "first\r\n\r\n\nlast\r\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"first", "", "", "last"}));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(path)->offset == 19; }));
}

TEST(FileSource, MegabytesWithoutNewlineAreTruncatedAndCounted) {
  Harness h;
  const std::string path = h.dir / "bin.log";
  auto o = h.DefaultOptions();
  o.limits.max_line_size = 1000;
  o.limits.max_line_size_truncate = true;
  h.Start(h.dir / "*.log", o);
  WriteFile(path, "");
  for (int i = 0; i < 8; ++i) AppendFile(path, std::string(1 << 20, 'x'));
  AppendFile(path, "\nafter\n");
  ASSERT_TRUE(h.WaitLines(path, {std::string(1000, 'x'), "after"}));
  EXPECT_EQ(h.metrics.truncated_lines.With({})->Value(), 1);
}

TEST(FileSource, OverlongLineIsDroppedByDefaultAndTheFileKeepsBeingRead) {
  Harness h;
  const std::string path = h.dir / "big.log";
  auto o = h.DefaultOptions();
  o.limits.max_line_size = 100;
  WriteFile(path, "ok1\n" + std::string(5000, 'y') + "\nok2\n");
  h.Start(h.dir / "*.log", o);
  ASSERT_TRUE(h.WaitLines(path, {"ok1", "ok2"}));
  EXPECT_EQ(h.metrics.dropped_lines.With({telemetry::kReasonLineTooLong})->Value(), 1);
}

TEST(FileSource, SaturatedSinkPausesReadingAndNothingIsLost) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, Joined(Numbered("a", 0, 10)));
  h.sink.SetSaturated(true);
  h.Start(h.dir / "*.log");
  // Give the reader ample chances to (wrongly) read: wait for its own periodic work.
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(path).has_value(); }));
  AppendFile(path, Joined(Numbered("a", 10, 20)));
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  EXPECT_EQ(h.sink.Count(), 0u);
  h.sink.SetSaturated(false);
  ASSERT_TRUE(h.WaitLines(path, Numbered("a", 0, 20)));
}

// Under backpressure the clients free room a little at a time; each time, the file after the
// one read last goes first, so every file gets its turn. A file read first in every turn would
// take all the room while the others waited for it to end.
TEST(FileSource, UnderBackpressureEveryFileGetsItsTurn) {
  Harness h;
  constexpr int kFiles = 3, kLines = 3000;
  const auto path = [&](int i) { return h.dir / ("app" + std::to_string(i) + ".log"); };
  const auto prefix = [](int i) { return "f" + std::to_string(i) + "-"; };
  for (int i = 0; i < kFiles; ++i) WriteFile(path(i), Joined(Numbered(prefix(i), 0, kLines)));
  h.sink.GrantRoom(0);  // full from the start
  FileSourceOptions o = h.DefaultOptions();
  o.read_chunk_bytes = 1000;  // ~110 lines a chunk: a grant of 150 lines is two chunks
  h.Start(h.dir / "*.log", o);
  ASSERT_TRUE(WaitFor([&] {
    for (int i = 0; i < kFiles; ++i) {
      if (!h.positions->FindByPath(path(i))) return false;
    }
    return true;
  }));
  // Until as much arrived as one file holds: read in one order, one file would have it all.
  while (h.sink.Count() < size_t{kLines}) {
    const size_t before = h.sink.Count();
    h.sink.GrantRoom(150);
    h.source->Wake();
    ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= before + 150; })) << h.sink.Count();
  }
  for (int i = 0; i < kFiles; ++i) {
    const size_t got = h.sink.Lines(path(i)).size();
    EXPECT_GE(got, size_t{kLines / kFiles / 2}) << path(i) << " waited while others were read";
  }
  h.sink.GrantRoom(INT64_MAX);
  h.source->Wake();
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_TRUE(h.WaitLines(path(i), Numbered(prefix(i), 0, kLines)));
  }
}

// A file opened behind a saturated sink is recorded before its first read; what the owner saves
// (SyncPositions, then Save) carries the file's fingerprint all the same, so that a restart can
// tell the record's file, and its compressed copy, from others.
TEST(FileSource, AFileRecordedBeforeItsFirstReadIsSavedWithItsFingerprint) {
  Harness h;
  constexpr int kFiles = 20;
  const auto path = [&](int i) { return h.dir / ("app" + std::to_string(i) + ".log"); };
  const auto text = [](int i) { return Joined(Numbered("f" + std::to_string(i) + "-", 0, 10)); };
  for (int i = 0; i < kFiles; ++i) WriteFile(path(i), text(i));
  h.sink.SetSaturated(true);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(WaitFor([&] {
    for (int i = 0; i < kFiles; ++i) {
      if (!h.positions->FindByPath(path(i))) return false;
    }
    return true;
  }));
  h.source->SyncPositions();
  EXPECT_EQ(h.sink.Count(), 0u);
  for (int i = 0; i < kFiles; ++i) {
    const auto r = h.positions->FindByPath(path(i));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->offset, 0u);
    EXPECT_EQ(r->identity.fingerprint_len, text(i).size()) << path(i);
    EXPECT_EQ(r->identity.fingerprint, HashBytes(text(i))) << path(i);
  }
  h.sink.SetSaturated(false);
  h.source->Wake();
  for (int i = 0; i < kFiles; ++i) {
    ASSERT_TRUE(h.WaitLines(path(i), Numbered("f" + std::to_string(i) + "-", 0, 10)));
  }
}

// The agent's clients wake the reader when a full budget has room again; its own look is only a
// safety net (here an hour away, as are ticks and passes), so reading goes on at the wake.
TEST(FileSource, AWakeResumesReadingPausedByASaturatedSink) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, Joined(Numbered("a", 0, 10)));
  h.sink.SetSaturated(true);
  FileSourceOptions o = h.DefaultOptions();
  o.saturated_recheck = std::chrono::hours(1);
  o.watch.min_poll_frequency = o.watch.max_poll_frequency = std::chrono::hours(1);  // no ticks
  o.rescan_period = std::chrono::hours(1);
  h.Start(h.dir / "*.log", o);
  // The reader found the file full: it waits for a wake (or its hour).
  ASSERT_TRUE(WaitFor([&] { return h.sink.SaturatedChecks() > 0; }));
  h.sink.SetSaturated(false);
  h.source->Wake();
  ASSERT_TRUE(h.WaitLines(path, Numbered("a", 0, 10)));
}

TEST(FileSource, PositionsAdvanceOnlyWhenEntriesAreAcknowledged) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "a\nb\n");
  h.sink.HoldAcks(true);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(path).has_value(); }));
  ASSERT_TRUE(h.positions->Save().ok());
  EXPECT_EQ(h.positions->FindByPath(path)->offset, 0u);
  h.sink.ReleaseAcks();
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(path)->offset == 4; }));
  ASSERT_TRUE(h.positions->Save().ok());
  Positions reloaded(h.positions->filename(), false, &h.metrics);
  EXPECT_EQ(reloaded.FindByPath(path)->offset, 4u);
}

TEST(FileSource, SyncPositionsRecordsAcksThatArriveAfterStop) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "a\nb\n");
  h.sink.HoldAcks(true);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
  h.source->SyncPositions();
  EXPECT_EQ(h.positions->FindByPath(path)->offset, 0u);
  h.source->Stop();
  h.sink.ReleaseAcks();  // the sink drains after the source stopped (shutdown)
  h.source->SyncPositions();
  EXPECT_EQ(h.positions->FindByPath(path)->offset, 4u);
}

// skidder_unacked_bytes: what was read and not yet acknowledged, kept as a running sum over
// the files (files waiting for acks are looked at only when an ack arrives), so it must follow
// reads of a waiting file, a file closing with bytes in flight, and the acks themselves.
TEST(FileSource, UnackedBytesFollowReadsClosesAndAcks) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "a\nb\n");
  h.sink.HoldAcks(true);
  h.Start(h.dir / "*.log");
  auto unacked = [&] { return h.metrics.unacked_bytes.With({})->Value(); };
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
  ASSERT_TRUE(WaitFor([&] { return unacked() == 4; })) << unacked();
  AppendFile(path, "cc\n");  // read while the first lines still wait
  ASSERT_TRUE(h.WaitLines(path, {"a", "b", "cc"}));
  ASSERT_TRUE(WaitFor([&] { return unacked() == 7; })) << unacked();
  // Moved out of the glob: read to the end, closed, its bytes counted once while in flight.
  std::filesystem::rename(path, h.dir / "app.log.1");
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));
  h.source->SyncPositions();
  EXPECT_EQ(unacked(), 7);
  h.sink.ReleaseAcks();
  ASSERT_TRUE(WaitFor([&] { return unacked() == 0; })) << unacked();
}

// A file waiting for acks is looked at again when one arrives, with nothing else happening: no
// read, no event, no other file (its record advances and the source settles).
TEST(FileSource, AnAckAloneAdvancesAWaitingFilesPosition) {
  Harness h;
  const std::string a = h.dir / "a.log", b = h.dir / "b.log";
  WriteFile(a, "1\n");
  WriteFile(b, "2\n");
  h.sink.HoldAcks(true);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(a, {"1"}));
  ASSERT_TRUE(h.WaitLines(b, {"2"}));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(b).has_value(); }));
  EXPECT_FALSE(h.source->SyncPositions());
  // Acknowledge b's entry only.
  std::vector<Entry> entries = h.sink.Take();
  for (Entry& e : entries) {
    if (*e.labels.Get(kFilenameLabel) == b) e.ack.Reset();
  }
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(b)->offset == 2; }));
  EXPECT_EQ(h.positions->FindByPath(a)->offset, 0u);
  ASSERT_TRUE(WaitFor([&] { return h.metrics.unacked_bytes.With({})->Value() == 2; }));
  entries.clear();  // a's ack too
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(a)->offset == 2; }));
  EXPECT_TRUE(WaitFor([&] { return h.source->SyncPositions(); }));
}

TEST(FileSource, ResumesAtTheAcknowledgedOffsetAfterRestart) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "a\nb\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(path)->offset == 4; }));
  AppendFile(path, "c\n");
  ASSERT_TRUE(h.WaitLines(path, {"a", "b", "c"}));
  h.Stop();
  AppendFile(path, "d\n");
  h.Restart(h.dir / "*.log", h.DefaultOptions());
  ASSERT_TRUE(h.WaitLines(path, {"a", "b", "c", "d"}));
}

TEST(FileSource, ImportedPromtailPositionIsResumed) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "old\nnew\n");
  WriteFile(h.dir / "positions.json", "positions:\n  " + path + ": \"4\"\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"new"}));
}

TEST(FileSource, BoundedOpenFilesStillReadsEveryFile) {
  Harness h;
  auto o = h.DefaultOptions();
  o.max_open_files = 3;
  const int kFiles = 12;
  for (int f = 0; f < kFiles; ++f) WriteFile(h.dir / Name("f", f, ".log"), "x\n");
  const size_t fds_before = testing::OpenFdCount();
  h.Start(h.dir / "*.log", o);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == size_t{kFiles}; }));
  // Appends to parked files are read after reopening them by identity.
  for (int f = 0; f < kFiles; ++f) AppendFile(h.dir / Name("f", f, ".log"), "y\n");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == size_t{2 * kFiles}; }));
  // inotify, eventfd, up to 3 files (+ slack for the thread's transient opens).
  EXPECT_LE(testing::OpenFdCount(), fds_before + 2 + 3 + 1);
  h.Stop();
  for (int f = 0; f < kFiles; ++f) {
    EXPECT_EQ(h.sink.Lines(h.dir / Name("f", f, ".log")), (std::vector<std::string>{"x", "y"}));
  }
}

// Files parked for want of descriptors get writes and are then rotated while Loki is backed up
// (nothing can be read): each is reopened under its rotated name and read to its end, not
// closed with those writes unread and its record marked done over them (lost, uncounted).
TEST(FileSource, AParkedFileRotatedBeforeItWasReadIsReadToItsEnd) {
  Harness h;
  auto o = h.DefaultOptions();
  o.max_open_files = 3;
  const int kFiles = 12;
  for (int f = 0; f < kFiles; ++f) WriteFile(h.dir / Name("f", f, ".log"), "x\n");
  h.Start(h.dir / "*.log", o);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == size_t{kFiles}; }));
  h.sink.SetSaturated(true);
  for (int f = 0; f < kFiles; ++f) {
    const std::string log = h.dir / Name("f", f, ".log");
    AppendFile(log, "y\n");
    std::string rotated = log;  // appended, not `log + ".1"`: GCC 12 warns -Wrestrict there
    rotated.append(".1");
    ASSERT_EQ(std::rename(log.c_str(), rotated.c_str()), 0);
    WriteFile(log, "z\n");
  }
  h.sink.SetSaturated(false);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= size_t{3 * kFiles}; })) << h.sink.Count();
  // Each line once. The rotated file's rest may come after the new file's first lines: it
  // waits for a descriptor, and the new file does not wait for it (that could deadlock with
  // every descriptor held by files waiting); Loki takes a stream's lines out of order.
  for (int f = 0; f < kFiles; ++f) {
    std::vector<std::string> got = h.sink.Lines(h.dir / Name("f", f, ".log"));
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, (std::vector<std::string>{"x", "y", "z"})) << f;
  }
}

// The files this process has open (by /proc/self/fd).
std::set<std::string> OpenPaths() {
  std::set<std::string> open;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    if (!ec) open.insert(target.string());
  }
  return open;
}

// Parked files (max_open_files) are deleted and new files take their names and, at once, their
// inodes (ext4 hands a freed inode to the next file made in the directory). The pass that finds
// a new file finds it under the inode of the old one, still being read to its end: it waits for
// that one to close, and is read then, not at the next timed pass minutes later. by_rename: each
// new file is written under another name and renamed into place (no write at its name).
// same_start: each new file starts with the old one's line, so the first bytes (the old file's
// whole fingerprint) cannot tell them apart; the birth time does (BornAndStartsAs).
void NewFilesOnReusedInodes(bool by_rename, bool same_start = false) {
  Harness h;
  auto o = h.DefaultOptions();
  o.max_open_files = 3;
  // A file read to its end closes once 4 ticks (2 s here) passed since its last read: the pass
  // asked for when an old file is found replaced comes well before.
  o.watch.min_poll_frequency = o.watch.max_poll_frequency = std::chrono::milliseconds(500);
  o.held_dir = h.dir / ".skidder-held";  // a rotated file is held by a link: not a new file's
  const int kFiles = 12;
  const auto path = [&](int f) { return h.dir / Name("f", f, ".log"); };
  for (int f = 0; f < kFiles; ++f) WriteFile(path(f), "x\n");
  // Loki is slow: the old files' lines are acknowledged only after the new files were read.
  h.sink.HoldAcks(true);
  h.Start(h.dir / "*.log", o);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() == size_t{kFiles}; }));
  // Only parked files, which no descriptor keeps alive: the open ones stay, idle, and give up
  // their descriptors to the parked ones at once.
  const std::set<std::string> open = OpenPaths();
  std::vector<int> replaced;
  int reused = 0;
  const std::string fresh = same_start ? "x\nz\n" : "z\n";
  for (int f = 0; f < kFiles; ++f) {
    if (open.contains(path(f))) continue;
    struct stat before, after;
    ASSERT_EQ(::stat(path(f).c_str(), &before), 0);
    ASSERT_EQ(::unlink(path(f).c_str()), 0);
    if (by_rename) {
      const std::string tmp = h.dir / Name("f", f, ".tmp");
      WriteFile(tmp, fresh);
      ASSERT_EQ(std::rename(tmp.c_str(), path(f).c_str()), 0);
    } else {
      WriteFile(path(f), fresh);
    }
    ASSERT_EQ(::stat(path(f).c_str(), &after), 0);
    if (after.st_ino == before.st_ino) ++reused;
    replaced.push_back(f);
  }
  ASSERT_GE(replaced.size(), size_t{kFiles - 3});
  if (reused == 0) GTEST_SKIP() << "this file system reused no inode";
  if (same_start && !WaitPastBirthOf(path(replaced[0]))) {
    GTEST_SKIP() << "this file system keeps no birth times";
  }
  // What each replaced file's name delivers: the old file's line, then the new file's.
  std::vector<std::string> lines = {"x"};
  if (same_start) lines.push_back("x");
  lines.push_back("z");
  const size_t want = size_t{kFiles} + replaced.size() * (lines.size() - 1);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= want; })) << h.sink.Count() << " of " << want;
  for (int f : replaced) EXPECT_EQ(h.sink.Lines(path(f)), lines) << f;
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == size_t{kFiles}; }));
  h.sink.HoldAcks(false);
  h.sink.ReleaseAcks();
  // The records are the new files': no old file's record was put back over one (acknowledged
  // after the new file opened). After a restart each file goes on where it was, nothing twice.
  h.Restart(h.dir / "*.log", o);
  for (int f : replaced) AppendFile(path(f), "w\n");
  ASSERT_TRUE(WaitFor([&] { return h.sink.Count() >= want + replaced.size(); }));
  lines.push_back("w");
  for (int f : replaced) EXPECT_EQ(h.sink.Lines(path(f)), lines) << f;
  // The old files' lines were all read and delivered: nothing counts as lost (an alert fires on
  // it), though their records outlived them.
  EXPECT_EQ(h.metrics.lost_bytes.With({telemetry::kReasonRotatedAway})->Value(), 0);
}

TEST(FileSource, ANewFileOnAReusedInodeIsReadOnceTheOldFileCloses) {
  NewFilesOnReusedInodes(false);
}

TEST(FileSource, ANewFileRenamedOntoAReusedInodeIsRead) { NewFilesOnReusedInodes(true); }

TEST(FileSource, ANewFileOnAReusedInodeStartingAsTheOldOneIsReadWhole) {
  NewFilesOnReusedInodes(false, /*same_start=*/true);
}

TEST(FileSource, ANewFileRenamedOntoAReusedInodeStartingAsTheOldOneIsReadWhole) {
  NewFilesOnReusedInodes(true, /*same_start=*/true);
}

// A file deleted while the agent is stopped and replaced by a new one on its inode (ext4 hands a
// freed inode to the next file made) that starts with the same bytes: the record's birth time
// says it is not the recorded file, so the new file is read from its start, not resumed where
// the old one was acknowledged (which lost its first line).
TEST(FileSource, AFileReplacedWhileStoppedStartingAsTheOldOneIsReadWhole) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "header\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"header"}));
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(path)->offset == 7; }));
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  if (!WaitPastBirthOf(path)) GTEST_SKIP() << "this file system keeps no birth times";
  struct stat before, after;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  WriteFile(path, "header\nnew\n");
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  if (after.st_ino != before.st_ino) GTEST_SKIP() << "this file system reused no inode";
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"header", "header", "new"})) << Joined(h.sink.Lines(path));
  // The old file's record went with it; the new file's is its own, with its own birth time.
  ASSERT_TRUE(WaitFor([&] { return h.positions->FindByPath(path)->offset == 11; }));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(h.positions->FindByPath(path)->identity.born_ns, BirthNs(fd));
  ::close(fd);
}

// A rotated file read to its end and closed with entries in flight, then deleted; a new file
// takes its inode and, rotated in turn, its name. Acknowledged after the new file's, the old
// file's entries must not put its record back over the new file's there (same inode, another
// birth time), or a restart would take the new file for one never seen and read it again.
TEST(FileSource, AClosedFilesLateAcksLeaveTheRecordOfTheFileRenamedOntoItsNameAndInode) {
  Harness h;
  const std::string log = h.dir / "app.log", rotated = h.dir / "app.log.1";
  WriteFile(log, "a\n");
  h.sink.HoldAcks(true);
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(log, {"a"}));
  if (!WaitPastBirthOf(log)) GTEST_SKIP() << "this file system keeps no birth times";
  ASSERT_EQ(std::rename(log.c_str(), rotated.c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));  // closed, acks pending
  struct stat old_file, new_file;
  ASSERT_EQ(::stat(rotated.c_str(), &old_file), 0);
  ASSERT_EQ(::unlink(rotated.c_str()), 0);
  WriteFile(log, "b\n");
  ASSERT_EQ(::stat(log.c_str(), &new_file), 0);
  if (new_file.st_ino != old_file.st_ino) GTEST_SKIP() << "this file system reused no inode";
  ASSERT_TRUE(h.WaitLines(log, {"a", "b"}));
  ASSERT_EQ(std::rename(log.c_str(), rotated.c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));
  h.sink.HoldAcks(false);
  h.sink.ReleaseNewestAcks(1);  // the new file's line
  ASSERT_TRUE(WaitFor([&] { return h.metrics.unacked_bytes.With({})->Value() == 2; }));
  h.sink.ReleaseAcks();
  ASSERT_TRUE(WaitFor([&] { return h.metrics.unacked_bytes.With({})->Value() == 0; }));
  const auto r = h.positions->FindByPath(rotated);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->identity.fingerprint, HashBytes("b\n")) << "the old file's record is there";
  EXPECT_TRUE(r->done);
}

TEST(FileSource, RemovedTargetsFilesAreDrainedAndReleased) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "a\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"a"}));
  EXPECT_EQ(h.source->ActiveTargets(), 1u);
  h.source->SetTargets({});
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));
  EXPECT_EQ(h.source->ActiveTargets(), 0u);
  AppendFile(path, "b\n");
  // Brought back: resumed at its position, not read again.
  h.source->SetTargets({FileTarget{"test", Labels{{kPathLabel, h.dir / "*.log"}}, &h.handler}});
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
}

// Starts h on one file holding "a" with the given linger: the file's path.
std::string StartLingering(Harness& h, std::chrono::milliseconds linger) {
  const std::string path = h.dir / "app.log";
  WriteFile(path, "a\n");
  auto o = h.DefaultOptions();
  o.removed_target_linger = linger;
  h.Start(h.dir / "*.log", o);
  return path;
}

FileTarget TheTarget(Harness& h) {
  return FileTarget{"test", Labels{{kPathLabel, h.dir / "*.log"}}, &h.handler};
}

// A force-deleted pod leaves the API at once, while its container writes on until the kubelet
// stops it: its file is read while it stays at its path, and let go once it is deleted.
TEST(FileSource, AFileOfARemovedTargetIsReadWhileItStaysAtItsPath) {
  Harness h;
  const std::string path = StartLingering(h, std::chrono::minutes(2));
  ASSERT_TRUE(h.WaitLines(path, {"a"}));
  h.source->SetTargets({});
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveTargets() == 0; }));
  // Without the linger the file closes after 200 ms without data (4 polls); it stays open.
  EXPECT_FALSE(WaitFor([&] { return h.source->ActiveFiles() == 0; }, std::chrono::seconds(1)));
  AppendFile(path, "b\n");
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
  std::filesystem::remove(path);  // the kubelet removes the pod's directory
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));
  EXPECT_EQ(h.sink.Lines(path), (std::vector<std::string>{"a", "b"}));
}

TEST(FileSource, AFileOfARemovedTargetIsLetGoWhenItsLingerIsUp) {
  Harness h;
  const std::string path = StartLingering(h, std::chrono::milliseconds(300));
  ASSERT_TRUE(h.WaitLines(path, {"a"}));
  h.source->SetTargets({});
  // Still at its path, but its time is up: released.
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));
  AppendFile(path, "b\n");
  // Brought back: resumed at its position, not read again.
  h.source->SetTargets({TheTarget(h)});
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
}

// Its target back before its time is up (a relisting discovery): an ordinary file again, which a
// later removal starts lingering anew.
TEST(FileSource, ATargetBackWithinTheLingerKeepsItsFileAsBefore) {
  skidder::testing::CapturedLog captured;
  std::string& logs = captured.text;
  Harness h;
  const std::string path = StartLingering(h, std::chrono::minutes(2));
  ASSERT_TRUE(h.WaitLines(path, {"a"}));
  h.source->SetTargets({});
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveTargets() == 0; }));
  h.source->SetTargets({TheTarget(h)});
  AppendFile(path, "b\n");
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"})) << logs;
  EXPECT_EQ(h.source->ActiveFiles(), 1u);
  h.source->SetTargets({});
  AppendFile(path, "c\n");
  ASSERT_TRUE(h.WaitLines(path, {"a", "b", "c"}));
  std::filesystem::remove(path);
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 0; }));
  h.Stop();
  size_t lingered = 0;
  for (size_t at = 0; (at = logs.find("reading it while it stays", at)) != std::string::npos;
       ++at) {
    ++lingered;
  }
  EXPECT_EQ(lingered, 2u) << logs;
}

// A node with pods coming and going must not grow its /metrics page forever.
TEST(FileSource, AFilesSeriesGoesWithTheLastFileOfItsName) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "a\nb\n");
  h.Start(h.dir / "*.log");
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
  ASSERT_TRUE(WaitFor([&] { return h.ReadLines(path) == 2; }));
  std::filesystem::remove(path);
  ASSERT_TRUE(WaitFor([&] { return !h.metrics.files.Get(path); }));
  EXPECT_EQ(h.metrics.files.size(), 0u);
}

}  // namespace
}  // namespace skidder::sources
