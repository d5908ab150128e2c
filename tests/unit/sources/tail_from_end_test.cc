// Alloy's tail_from_end: files there before the start are read from their last line's end; a
// file created since, or one that replaced a file of ours (a rotation), and a stored position
// still give every line.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "sources/file/file_source.h"
#include "sources/file/positions.h"
#include "unit/sources/fake_sink.h"

namespace skidder::sources {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::WaitFor;
using skidder::testing::WaitPastBirthOf;
using skidder::testing::WriteFile;
using testing::Harness;

// Stops h's source and saves its positions, as the agent does when it stops.
void StopAndSave(Harness& h) {
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  h.positions.reset();
}

// Starts h's source on dir/*.log, its one target tailing from the end or not, with positions
// read from disk (StopAndSave's, if any).
void StartTailing(Harness& h, bool tail_from_end) {
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  h.source = std::make_unique<FileSource>(h.DefaultOptions(), h.positions.get(), &h.sink,
                                          &h.metrics, &SystemClock::Get());
  FileTarget t{"tail", Labels{{kPathLabel, h.dir / "*.log"}, {"job", "t"}}, &h.handler};
  t.tail_from_end = tail_from_end;
  h.source->SetTargets({t});
  ASSERT_TRUE(h.source->Start().ok());
}

// A first run without tail_from_end reads "a" from path, and stops with its position saved.
void ReadAWithoutTailingAndStop(Harness& h, const std::string& path) {
  WriteFile(path, "a\n");
  StartTailing(h, false);
  ASSERT_TRUE(h.WaitLines(path, {"a"}));
  ASSERT_TRUE(WaitFor([&] {
    auto r = h.positions->FindByPath(path);
    return r && r->offset == 2;
  }));
  StopAndSave(h);
}

TEST(TailFromEnd, AFileThereBeforeTheStartIsReadFromItsLastLinesEnd) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "old-1\nold-2\nunfini");  // the unfinished line is read once it ends
  if (!WaitPastBirthOf(path)) GTEST_SKIP() << "no birth times on this file system";
  StartTailing(h, true);
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  AppendFile(path, "shed\nnew\n");
  ASSERT_TRUE(h.WaitLines(path, {"unfinished", "new"})) << h.sink.Lines(path).size();
}

TEST(TailFromEnd, AFileCreatedAfterTheStartIsReadWhole) {
  Harness h;
  WriteFile(h.dir / "before.log", "old\n");
  if (!WaitPastBirthOf(h.dir / "before.log")) GTEST_SKIP() << "no birth times here";
  StartTailing(h, true);
  ASSERT_TRUE(WaitFor([&] { return h.source->ActiveFiles() == 1; }));
  WriteFile(h.dir / "after.log", "first\nsecond\n");
  ASSERT_TRUE(h.WaitLines(h.dir / "after.log", {"first", "second"}));
  // Rotated: the new file at the old name is read from its start too.
  std::filesystem::rename(h.dir / "before.log", h.dir / "before.log.1");
  WriteFile(h.dir / "before.log", "rotated-1\n");
  ASSERT_TRUE(h.WaitLines(h.dir / "before.log", {"rotated-1"}));
}

// tail_from_end applies only where no position is stored: a restart resumes where it stopped.
TEST(TailFromEnd, AStoredPositionIsResumedFrom) {
  Harness h;
  const std::string path = h.dir / "app.log";
  ASSERT_NO_FATAL_FAILURE(ReadAWithoutTailingAndStop(h, path));
  AppendFile(path, "b\n");  // written while stopped
  StartTailing(h, true);
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
}

// Positions that could not be read: no file can be told to be one the agent had read, so all
// are read whole (duplicates, never a loss).
TEST(TailFromEnd, UnreadablePositionsReadEveryFileWhole) {
  Harness h;
  const std::string path = h.dir / "app.log";
  WriteFile(path, "a\nb\n");
  if (!WaitPastBirthOf(path)) GTEST_SKIP() << "no birth times on this file system";
  WriteFile(h.dir / "positions.json", "{\"positions\": [garbage");
  StartTailing(h, true);
  ASSERT_TRUE(h.WaitLines(path, {"a", "b"}));
}

// Rotated while the agent was stopped: the file now at the recorded path is a new one, born
// before this start, but it replaced a file of ours, so it is read whole.
TEST(TailFromEnd, AFileThatReplacedARecordedOneWhileStoppedIsReadWhole) {
  Harness h;
  const std::string path = h.dir / "app.log";
  ASSERT_NO_FATAL_FAILURE(ReadAWithoutTailingAndStop(h, path));
  std::filesystem::rename(path, h.dir / "app.log.1");
  WriteFile(path, "n-1\nn-2\n");
  StartTailing(h, true);
  ASSERT_TRUE(h.WaitLines(path, {"a", "n-1", "n-2"}));
}

// Files there before the start, parked (max_open_files), then truncated and written anew in
// place (copytruncate): a parked file's first bytes no longer match, so it is let go, and the
// file at its name is opened as a new one. It replaced a file of ours: read from its start,
// not from its end as a file there before the start would be.
TEST(TailFromEnd, AParkedFileTruncatedAndRewrittenIsReadFromItsStart) {
  Harness h;
  const int kFiles = 12;
  const auto path = [&](int f) { return h.dir / ("f" + std::to_string(f) + ".log"); };
  for (int f = 0; f < kFiles; ++f) WriteFile(path(f), "old\n");
  if (!WaitPastBirthOf(path(kFiles - 1))) GTEST_SKIP() << "no birth times on this file system";
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  FileSourceOptions o = h.DefaultOptions();
  o.max_open_files = 3;
  h.source =
      std::make_unique<FileSource>(o, h.positions.get(), &h.sink, &h.metrics, &SystemClock::Get());
  FileTarget t{"tail", Labels{{kPathLabel, h.dir / "*.log"}, {"job", "t"}}, &h.handler};
  t.tail_from_end = true;
  h.source->SetTargets({t});
  ASSERT_TRUE(h.source->Start().ok());
  ASSERT_TRUE(WaitFor([&] {
    for (int f = 0; f < kFiles; ++f) {
      if (!h.positions->FindByPath(path(f))) return false;
    }
    return true;
  }));
  for (int f = 0; f < kFiles; ++f) WriteFile(path(f), "fresh\n");  // O_TRUNC, then the write
  for (int f = 0; f < kFiles; ++f) {
    EXPECT_TRUE(h.WaitLines(path(f), {"fresh"})) << f;
  }
  EXPECT_EQ(h.sink.Count(), size_t{kFiles});
}

}  // namespace
}  // namespace skidder::sources
