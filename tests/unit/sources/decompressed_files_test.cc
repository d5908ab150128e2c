// The file source's side of decompression jobs: when an archive is read (initial_delay), and
// that an archive read to the end and acknowledged is never read again, across a restart.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "sources/file/file_source.h"
#include "sources/file/identity.h"
#include "sources/file/positions.h"
#include "unit/sources/fake_sink.h"

namespace skidder::sources {
namespace {

using namespace std::chrono_literals;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;
using testing::Harness;
using testing::WriteGzip;

// Starts h's source on dir/* with a gz decompression job.
void StartArchives(Harness& h, config::Duration initial_delay = {}) {
  if (!h.positions) {
    h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  }
  h.source = std::make_unique<FileSource>(h.DefaultOptions(), h.positions.get(), &h.sink,
                                          &h.metrics, &SystemClock::Get());
  FileTarget t{"archives", Labels{{kPathLabel, h.dir / "logs/*"}, {"job", "a"}}, &h.handler};
  t.decompression = {.enabled = true, .initial_delay = initial_delay, .format = "gz"};
  h.source->SetTargets({t});
  ASSERT_TRUE(h.source->Start().ok());
}

bool DoneRecord(Positions& p, const std::string& path) {
  auto r = p.FindByPath(path);
  return r && r->compressed && r->done;
}

TEST(DecompressedFiles, InitialDelayHoldsANewArchiveBack) {
  Harness h;
  skidder::testing::MakeDirs(h.dir / "logs");
  WriteGzip(h.dir / "logs/a.gz", "one\ntwo\n");
  const auto start = std::chrono::steady_clock::now();
  StartArchives(h, std::chrono::milliseconds(1500));
  ASSERT_TRUE(h.WaitLines(h.dir / "logs/a.gz", {"one", "two"}));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST(DecompressedFiles, ArchiveReadBeforeARestartIsNotDeliveredAgain) {
  Harness h;
  skidder::testing::MakeDirs(h.dir / "logs");
  WriteGzip(h.dir / "logs/a.gz", "one\ntwo\n");
  StartArchives(h);
  ASSERT_TRUE(h.WaitLines(h.dir / "logs/a.gz", {"one", "two"}));
  ASSERT_TRUE(WaitFor([&] { return DoneRecord(*h.positions, h.dir / "logs/a.gz"); }));
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  StartArchives(h);
  // A plain file found after the restart shows that passes over the glob have run.
  WriteFile(h.dir / "logs/b.log", "three\n");
  ASSERT_TRUE(h.WaitLines(h.dir / "logs/b.log", {"three"}));
  EXPECT_EQ(h.sink.Lines(h.dir / "logs/a.gz").size(), 2u);
}

// A nightly export: the archive is read to its end, then deleted and written again under the
// same name, and ext4 gives the new one the freed inode. It is a new archive, read whole, not
// one read before (its birth time tells), and again after a restart.
TEST(DecompressedFiles, AnArchiveWrittenAgainOnItsInodeIsReadAgain) {
  Harness h;
  skidder::testing::MakeDirs(h.dir / "logs");
  const std::string path = h.dir / "logs/export.gz";
  WriteGzip(path, "one\n");
  // An archive is read once it has been there this long (Promtail's initial_delay): the agent
  // must not open the new one while gzip is still writing it (read then, it is a truncated
  // archive, read as far as it goes and never again).
  const config::Duration settle = std::chrono::seconds(1);
  StartArchives(h, settle);
  ASSERT_TRUE(h.WaitLines(path, {"one"}));
  ASSERT_TRUE(WaitFor([&] { return DoneRecord(*h.positions, path); }));
  if (!skidder::testing::WaitPastBirthOf(path))
    GTEST_SKIP() << "no birth times on this file system";
  struct stat old_file, new_file;
  ASSERT_EQ(::stat(path.c_str(), &old_file), 0);
  ASSERT_EQ(::unlink(path.c_str()), 0);
  WriteGzip(path, "two\n");
  ASSERT_EQ(::stat(path.c_str(), &new_file), 0);
  if (new_file.st_ino != old_file.st_ino) GTEST_SKIP() << "this file system reused no inode";
  ASSERT_TRUE(h.WaitLines(path, {"one", "two"})) << testing::Joined(h.sink.Lines(path));
  ASSERT_TRUE(WaitFor([&] {
    auto r = h.positions->FindByPath(path);
    return r && r->done && r->offset == 4 && r->identity.born_ns == BirthNsAt(path);
  }));
  // Once more while stopped: the record of the second names its birth time.
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  ASSERT_TRUE(skidder::testing::WaitPastBirthOf(path));
  ASSERT_EQ(::unlink(path.c_str()), 0);
  WriteGzip(path, "three\n");
  struct stat third;
  ASSERT_EQ(::stat(path.c_str(), &third), 0);
  if (third.st_ino != new_file.st_ino) GTEST_SKIP() << "this file system reused no inode";
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  StartArchives(h, settle);
  ASSERT_TRUE(h.WaitLines(path, {"one", "two", "three"})) << testing::Joined(h.sink.Lines(path));
}

}  // namespace
}  // namespace skidder::sources
