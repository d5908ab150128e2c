// The file source's side of decompression jobs: when an archive is read (initial_delay), and
// that an archive read to the end and acknowledged is never read again, across a restart.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "sources/file/file_source.h"
#include "sources/file/identity.h"
#include "sources/file/positions.h"
#include "support/compress.h"
#include "support/test_util.h"
#include "unit/sources/fake_sink.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

using namespace std::chrono_literals;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;
using testing::Harness;
using testing::WriteGzip;

struct ArchiveOptions {
  config::Duration initial_delay{};
  std::chrono::milliseconds writer_grace = 60s;  // FileSourceOptions::compressed_writer_grace
  bool held = false;                             // hold files read on their way out (held.h)
  bool polling = false;  // passes over the glob every 500 ms (under inotify: every 5 minutes)
};

// Starts h's source on dir/logs/* with a gz decompression job.
void StartArchives(Harness& h, ArchiveOptions a = {}) {
  if (!h.positions) {
    h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  }
  FileSourceOptions o = h.DefaultOptions();
  o.compressed_writer_grace = a.writer_grace;
  if (a.held) o.held_dir = h.dir / ".skidder-held";
  o.force_polling = a.polling;
  h.source =
      std::make_unique<FileSource>(o, h.positions.get(), &h.sink, &h.metrics, &SystemClock::Get());
  FileTarget t{"archives", Labels{{kPathLabel, h.dir / "logs/*"}, {"job", "a"}}, &h.handler};
  t.decompression = {.enabled = true, .initial_delay = a.initial_delay, .format = "gz"};
  h.source->SetTargets({t});
  ASSERT_TRUE(h.source->Start().ok());
}

bool DoneRecord(Positions& p, const std::string& path) {
  auto r = p.FindByPath(path);
  return r && r->compressed && r->done;
}

// n numbered lines ("<name> <i>"), after `header` when not empty, and the gzip archive of them.
struct Export {
  explicit Export(int n, const std::string& name = "export", const std::string& header = "") {
    std::string text;
    if (!header.empty()) {
      lines.push_back(header);
      text += header + "\n";
    }
    for (int i = 0; i < n; ++i) {
      lines.push_back(name + " " + std::to_string(i));
      text += lines.back() + "\n";
    }
    gz = skidder::testing::Gzip(text);
  }
  std::vector<std::string> lines;
  std::string gz;
};

// Each test: a source over dir/logs/* (StartArchives), and an archive at logs/export.gz.
class DecompressedFiles : public ::testing::Test {
 protected:
  DecompressedFiles() { skidder::testing::MakeDirs(h.dir / "logs"); }
  void ResumeAnArchiveOpenedEmpty(bool held);
  Harness h;
  const std::string path = h.dir / "logs/export.gz";
};

TEST_F(DecompressedFiles, InitialDelayHoldsANewArchiveBack) {
  WriteGzip(h.dir / "logs/a.gz", "one\ntwo\n");
  const auto start = std::chrono::steady_clock::now();
  StartArchives(h, {.initial_delay = 1500ms});
  ASSERT_TRUE(h.WaitLines(h.dir / "logs/a.gz", {"one", "two"}));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST_F(DecompressedFiles, ArchiveReadBeforeARestartIsNotDeliveredAgain) {
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
TEST_F(DecompressedFiles, AnArchiveWrittenAgainOnItsInodeIsReadAgain) {
  WriteGzip(path, "one\n");
  // No initial_delay: the agent may find each archive while WriteGzip is still writing it.
  StartArchives(h);
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
  StartArchives(h);
  ASSERT_TRUE(h.WaitLines(path, {"one", "two", "three"})) << testing::Joined(h.sink.Lines(path));
}

// A job without initial_delay (Promtail's default) finds an archive gzip is still writing: it
// is read as far as it goes and waits for the rest. Marked done when its bytes ran out, it lost
// the rest of the export.
TEST_F(DecompressedFiles, AnArchiveFoundWhileItsWriterIsAtWorkIsReadToItsEnd) {
  const Export e(20000);
  const size_t cut = e.gz.size() / 2;
  WriteFile(path, e.gz.substr(0, cut));
  StartArchives(h);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(path).size() > 100; }));
  // A drained file closes after 200 ms without data (4 polls at least): not this one.
  EXPECT_FALSE(WaitFor([&] { return DoneRecord(*h.positions, path); }, 1500ms))
      << "marked done with half of it read";
  skidder::testing::AppendFile(path, e.gz.substr(cut));
  ASSERT_TRUE(h.WaitLines(path, e.lines)) << h.sink.Lines(path).size() << " lines";
  ASSERT_TRUE(WaitFor([&] { return DoneRecord(*h.positions, path); }));
}

// The same across a restart, for an archive the agent opened before gzip wrote a byte of it:
// its record names the first bytes it read later, and the agent resumes inside it after the
// restart instead of reading it again from the start; also when its record is at a held link.
void DecompressedFiles::ResumeAnArchiveOpenedEmpty(bool held) {
  const Export e(20000);
  const size_t cut = e.gz.size() / 2;
  WriteFile(path, "");
  if (BirthNsAt(path) == 0) GTEST_SKIP() << "no birth times on this file system";
  StartArchives(h, {.held = held});
  ASSERT_TRUE(WaitFor([&] { return h.metrics.files.Get(path).has_value(); })) << "opened";
  skidder::testing::AppendFile(path, e.gz.substr(0, cut));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  ASSERT_TRUE(WaitFor([&] {  // its record: at its name, or at its held link
    auto r = h.positions->FindByIdentity(InodeIdentity(st));
    return h.sink.Lines(path).size() > 100 && r && r->offset > 0 && r->identity.fingerprint_len > 0;
  }));
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  skidder::testing::AppendFile(path, e.gz.substr(cut));
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  StartArchives(h, {.held = held});
  ASSERT_TRUE(h.WaitLines(path, e.lines)) << h.sink.Lines(path).size() << " lines";
  ASSERT_TRUE(WaitFor([&] { return DoneRecord(*h.positions, path); }));
  EXPECT_EQ(h.sink.Lines(path), e.lines) << "nothing twice";
}

TEST_F(DecompressedFiles, AnArchiveOpenedEmptyResumesAfterARestart) {
  ResumeAnArchiveOpenedEmpty(/*held=*/false);
}

TEST_F(DecompressedFiles, AnArchiveOpenedEmptyResumesAfterARestartFromItsHeldLink) {
  ResumeAnArchiveOpenedEmpty(/*held=*/true);
}

// A writer that died leaves a truncated archive: once it has not changed for the grace, its
// whole lines were read and it is done (not read again at the next pass), with one clear error.
// The line it was cut in is not a line: kept back (see the next test).
TEST_F(DecompressedFiles, AnArchiveWhoseWriterDiedIsDoneAfterTheGraceWithWhatItHeld) {
  const Export e(20000);
  WriteFile(path, e.gz.substr(0, e.gz.size() / 2));
  StartArchives(h, {.writer_grace = 300ms, .held = true, .polling = true});
  ASSERT_TRUE(WaitFor([&] { return DoneRecord(*h.positions, path); }));
  const std::vector<std::string> got = h.sink.Lines(path);
  ASSERT_GT(got.size(), 100u);
  ASSERT_LT(got.size(), e.lines.size());
  EXPECT_TRUE(std::equal(got.begin(), got.end(), e.lines.begin())) << "the lines before the cut";
  EXPECT_TRUE(h.positions->FindByPath(path)->cut);
  // Later passes over the glob leave it alone: a plain file found after it shows they ran.
  WriteFile(h.dir / "logs/b.log", "after\n");
  ASSERT_TRUE(h.WaitLines(h.dir / "logs/b.log", {"after"}));
  EXPECT_EQ(h.sink.Lines(path).size(), got.size());
}

// A writer that paused longer than the grace (gzip fed by a slow pipe writes a block at a
// time): the archive was given up inside its stream, then grows by the rest of that stream. It
// is read on from the last whole line, the line it was cut in whole, nothing twice; also
// across a restart.
TEST_F(DecompressedFiles, AnArchiveGivenUpThenFinishedIsReadOnWithWholeLines) {
  const Export e(30000);
  const size_t third = e.gz.size() / 3;
  WriteFile(path, e.gz.substr(0, third));
  StartArchives(h, {.writer_grace = 300ms});
  ASSERT_TRUE(WaitFor([&] { return DoneRecord(*h.positions, path); }));
  ASSERT_GT(h.sink.Lines(path).size(), 100u);
  skidder::testing::AppendFile(path, e.gz.substr(third, third));
  ASSERT_TRUE(WaitFor([&] {  // read on, and given up again where the second third ends
    auto r = h.positions->FindByPath(path);
    return r && r->done && r->cut && r->size == 2 * third;
  }));
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  skidder::testing::AppendFile(path, e.gz.substr(2 * third));
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  StartArchives(h, {.writer_grace = 300ms});
  ASSERT_TRUE(h.WaitLines(path, e.lines)) << h.sink.Lines(path).size();
  ASSERT_TRUE(WaitFor([&] {
    auto r = h.positions->FindByPath(path);
    return r && r->done && !r->cut;
  }));
}

// A nightly `gzip > export.gz`: the archive is written again in place, on its inode, with its
// birth time. Another compressed size tells it from the one read: read whole, at once (a write
// event, no create), and again after a restart.
TEST_F(DecompressedFiles, AnArchiveRewrittenInPlaceIsReadAgain) {
  const Export monday(100, "monday"), tuesday(200, "tuesday"), wednesday(300, "wednesday");
  WriteFile(path, monday.gz);
  StartArchives(h);
  ASSERT_TRUE(h.WaitLines(path, monday.lines));
  ASSERT_TRUE(WaitFor([&] { return DoneRecord(*h.positions, path); }));
  struct stat before, after;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  WriteFile(path, tuesday.gz);  // O_TRUNC: the same inode
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  ASSERT_EQ(after.st_ino, before.st_ino);
  std::vector<std::string> want = monday.lines;
  want.insert(want.end(), tuesday.lines.begin(), tuesday.lines.end());
  ASSERT_TRUE(h.WaitLines(path, want)) << h.sink.Lines(path).size();
  ASSERT_TRUE(WaitFor([&] {
    auto r = h.positions->FindByPath(path);
    return r && r->done && r->size == tuesday.gz.size();
  }));
  h.Stop();
  ASSERT_TRUE(h.positions->Save().ok());
  WriteFile(path, wednesday.gz);
  h.positions = std::make_unique<Positions>(h.dir / "positions.json", false, &h.metrics);
  StartArchives(h);
  want.insert(want.end(), wednesday.lines.begin(), wednesday.lines.end());
  ASSERT_TRUE(h.WaitLines(path, want)) << h.sink.Lines(path).size();
}

// `gzip >> export.gz`: another gzip member appended to an archive read before. Its start is the
// one read: it is read on from where it was, nothing twice.
TEST_F(DecompressedFiles, AnArchiveGrownByAnotherMemberIsReadOnFromWhereItWas) {
  const Export first(100);
  WriteFile(path, first.gz);
  StartArchives(h);
  ASSERT_TRUE(h.WaitLines(path, first.lines));
  ASSERT_TRUE(WaitFor([&] { return DoneRecord(*h.positions, path); }));
  skidder::testing::AppendFile(path, skidder::testing::Gzip("appended 0\nappended 1\n"));
  std::vector<std::string> want = first.lines;
  want.push_back("appended 0");
  want.push_back("appended 1");
  ASSERT_TRUE(h.WaitLines(path, want)) << testing::Joined(h.sink.Lines(path));
}

// An archive whose writer died before its first byte is given up empty; written later (the job
// retried), it is read whole, not taken for the empty archive read before.
TEST_F(DecompressedFiles, AnArchiveGivenUpEmptyIsReadWhenItsBytesCome) {
  WriteFile(path, "");
  StartArchives(h, {.writer_grace = 300ms});
  ASSERT_TRUE(WaitFor([&] { return DoneRecord(*h.positions, path); }));
  const Export e(100);
  WriteFile(path, e.gz);
  ASSERT_TRUE(h.WaitLines(path, e.lines)) << testing::Joined(h.sink.Lines(path));
}

// The export died halfway and ran again at once, in place (`gzip > export.gz`), while the agent
// waited for the rest of the first: read on from where it waited, it would be the middle of
// another stream (garbage, then "corrupt", and the new archive never read). It is read whole.
TEST_F(DecompressedFiles, AnArchiveWrittenAgainWhileItWaitsIsReadWhole) {
  skidder::testing::CapturedLog captured;
  const Export first(20000, "first"), second(300, "second");
  WriteFile(path, first.gz.substr(0, first.gz.size() / 2));
  StartArchives(h);
  ASSERT_TRUE(WaitFor(
      [] { return log::CapturedForTest().find("waiting for its writer") != std::string::npos; }));
  const size_t before = h.sink.Lines(path).size();
  WriteFile(path, second.gz);  // O_TRUNC: the same inode and birth time
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(path).size() >= before + 300; }))
      << h.sink.Lines(path).size() - before;
  const std::vector<std::string> got = h.sink.Lines(path);
  ASSERT_EQ(got.size(), before + 300) << "its first part's whole lines, then the second whole";
  EXPECT_TRUE(std::equal(second.lines.begin(), second.lines.end(), got.end() - 300));
  EXPECT_EQ(log::CapturedForTest().find("is corrupt"), std::string::npos);
}

// Written again in place with the same first KiB (a long header line): its start matches the
// record's fingerprint, but where the first archive ended no new member begins. Read whole, not
// from the old offset (which skipped the start of the new export).
TEST_F(DecompressedFiles, AnArchiveRewrittenWithTheSameStartIsReadWhole) {
  const std::string header(2000, '#');
  const Export monday(100, "monday", header), tuesday(200, "tuesday", header);
  WriteFile(path, monday.gz);
  StartArchives(h);
  ASSERT_TRUE(h.WaitLines(path, monday.lines));
  ASSERT_TRUE(WaitFor([&] { return DoneRecord(*h.positions, path); }));
  WriteFile(path, tuesday.gz);
  std::vector<std::string> want = monday.lines;
  want.insert(want.end(), tuesday.lines.begin(), tuesday.lines.end());
  ASSERT_TRUE(h.WaitLines(path, want)) << h.sink.Lines(path).size();
}

// Given up inside its stream (its writer died), then written over in place by a larger export
// with the same first KiB: not the rest of the cut stream (its bytes before the cut changed),
// so read whole, not from where the first was cut.
TEST_F(DecompressedFiles, ACutArchiveWrittenOverWithTheSameStartIsReadWhole) {
  const std::string header(2000, '#');
  const Export monday(20000, "monday", header), tuesday(30000, "tuesday", header);
  WriteFile(path, monday.gz.substr(0, monday.gz.size() / 2));
  StartArchives(h, {.writer_grace = 300ms});
  ASSERT_TRUE(WaitFor([&] {
    auto r = h.positions->FindByPath(path);
    return r && r->done && r->cut;
  }));
  const size_t before = h.sink.Lines(path).size();
  ASSERT_GT(tuesday.gz.size(), monday.gz.size() / 2);
  WriteFile(path, tuesday.gz);
  ASSERT_TRUE(WaitFor([&] { return h.sink.Lines(path).size() >= before + tuesday.lines.size(); }))
      << h.sink.Lines(path).size() - before;
  const std::vector<std::string> got = h.sink.Lines(path);
  ASSERT_EQ(got.size(), before + tuesday.lines.size());
  EXPECT_TRUE(std::equal(tuesday.lines.begin(), tuesday.lines.end(), got.begin() + before));
}

}  // namespace
}  // namespace skidder::sources
