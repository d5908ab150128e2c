// A TailedFile right after the open. Its first Check: a new file with bytes in it takes the
// open's fstat as its first look (an fstat per file saved on a backlog of many files); every
// other file is looked at again, so that a file resumed at an offset is never read there after
// it was truncated and rewritten since the open. Its first read: a file read from its start
// takes its fingerprint from the bytes read (a pread per file saved).
#include "sources/file/tailed_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "sources/file/identity.h"
#include "sources/file/read_handler.h"
#include "support/test_util.h"
#include "telemetry/agent_metrics.h"

namespace skidder::sources {
namespace {

using skidder::testing::TempDir;
using skidder::testing::WriteFile;

class TailedFileOpenTest : public ::testing::Test {
 protected:
  TailedFileOpenTest() : metrics_(registry_) { settings_.metrics = &metrics_; }

  // Opens path as OpenNew does: identity and stat from the same descriptor, then NoteOpened.
  std::unique_ptr<TailedFile> Open(const std::string& path, uint64_t offset) {
    int fd = OpenToRead(path);
    EXPECT_GE(fd, 0);
    struct stat st;
    EXPECT_EQ(::fstat(fd, &st), 0);
    auto f = std::make_unique<TailedFile>(fd, path, Identify(fd, st).value(), offset, Labels{},
                                          nullptr, settings_);
    f->NoteOpened(st);
    return f;
  }

  // Opens path to be read from its start, as OpenNew does now: with its inode alone
  // (InodeIdentity, no pread). *full gets what Identify says of it at the open.
  std::unique_ptr<TailedFile> OpenFromStart(const std::string& path, FileIdentity* full) {
    int fd = OpenToRead(path);
    EXPECT_GE(fd, 0);
    struct stat st;
    EXPECT_EQ(::fstat(fd, &st), 0);
    *full = Identify(fd, st).value();
    auto f =
        std::make_unique<TailedFile>(fd, path, InodeIdentity(st), 0, Labels{}, nullptr, settings_);
    f->NoteOpened(st);
    return f;
  }

  TempDir dir_;
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_;
  TailSettings settings_;
};

// The open saw bytes from the start: that look stands, even if the file changed since (reading
// from the start goes to the end of the file as it is now, whatever size was seen).
TEST_F(TailedFileOpenTest, ANewFileWithBytesTakesTheOpensLook) {
  const std::string path = dir_ / "a.log";
  WriteFile(path, "first line\n");
  auto f = Open(path, 0);
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);  // a look taken now would see nothing to read
  bool has_new = false;
  ASSERT_TRUE(f->Check(&has_new));
  EXPECT_TRUE(has_new);
  // The look also gave promtail_file_bytes_total its value, as a Check's fstat would have.
  EXPECT_NE(registry_.Render().find("promtail_file_bytes_total{path=\"" + path + "\"} 11"),
            std::string::npos)
      << registry_.Render();
  ASSERT_TRUE(f->Check(&has_new));  // the open's look is used once: this one is the file's
  EXPECT_FALSE(has_new);
}

// Opened empty: nothing to read on the open's look, so the file is looked at again (a write
// since may be what brought this turn).
TEST_F(TailedFileOpenTest, AFileEmptyAtTheOpenIsLookedAtAgain) {
  const std::string quiet = dir_ / "quiet.log";
  const std::string written = dir_ / "written.log";
  WriteFile(quiet, "");
  WriteFile(written, "");
  auto q = Open(quiet, 0);
  auto w = Open(written, 0);
  WriteFile(written, "written after the open\n");
  bool has_new = true;
  ASSERT_TRUE(q->Check(&has_new));
  EXPECT_FALSE(has_new);
  ASSERT_TRUE(w->Check(&has_new));
  EXPECT_TRUE(has_new);
}

// Resumed at an offset and truncated and rewritten between the open and the first turn: the
// first bytes are compared again and the file is read from its start, not from the old offset.
TEST_F(TailedFileOpenTest, AFileResumedAtAnOffsetIsLookedAtAgain) {
  const std::string path = dir_ / "a.log";
  WriteFile(path, std::string(100, 'x'));
  auto f = Open(path, 50);
  WriteFile(path, std::string(120, 'y'));  // truncated and rewritten, longer than before
  bool has_new = false;
  ASSERT_TRUE(f->Check(&has_new));
  EXPECT_TRUE(has_new);
  EXPECT_EQ(f->read_offset(), 0u);
}

// A file parked before its first turn (max_open_files) is looked at afresh once reopened.
TEST_F(TailedFileOpenTest, AParkedFileIsLookedAtAfresh) {
  const std::string path = dir_ / "a.log";
  WriteFile(path, "first line\n");
  auto f = Open(path, 0);
  f->Park();
  ASSERT_TRUE(f->Reopen(path));
  ASSERT_EQ(::truncate(path.c_str(), 0), 0);
  bool has_new = true;
  ASSERT_TRUE(f->Check(&has_new));
  EXPECT_FALSE(has_new);
}

// A file read from its start is opened with its inode alone (InodeIdentity, no pread at the
// open): its first read fingerprints the bytes it got, as Identify would have at the open.
TEST_F(TailedFileOpenTest, AFileReadFromItsStartIsFingerprintedByItsFirstRead) {
  std::string text;
  for (int i = 0; text.size() < 3000; ++i) text += "line " + std::to_string(i) + "\n";
  for (const std::string& content : {text, std::string("short\n")}) {
    const std::string path = dir_ / "a.log";
    WriteFile(path, content);
    FileIdentity full;
    auto f = OpenFromStart(path, &full);
    EXPECT_EQ(f->identity().fingerprint_len, 0u);
    bool has_new = false;
    ASSERT_TRUE(f->Check(&has_new));
    ASSERT_TRUE(has_new);
    std::string buf(64 * 1024, '\0');
    ReadBatch batch;
    EXPECT_EQ(f->ReadChunk(buf.data(), buf.size(), BatchTime{}, batch),
              TailedFile::ReadResult::kEof);
    EXPECT_EQ(f->identity(), full) << content.size() << " bytes";
    EXPECT_EQ(f->read_offset(), content.size());
  }
}

// A record put before that first read (the file waits behind a saturated sink, or is held at
// once after a rotation) carries the fingerprint Identify would have taken at the open: with
// none, a restart could not tie the record to the file's compressed copy (read twice, or
// counted lost). An empty file stays without one, and a read file keeps the one it has.
TEST_F(TailedFileOpenTest, ARecordPutBeforeTheFirstReadHasTheFilesFingerprint) {
  const std::string path = dir_ / "a.log", empty = dir_ / "empty.log";
  WriteFile(path, std::string(3000, 'x') + "\n");
  WriteFile(empty, "");
  for (const std::string& p : {path, empty}) {
    FileIdentity full;
    auto f = OpenFromStart(p, &full);
    EXPECT_EQ(f->FingerprintUnread(), p == path);
    EXPECT_EQ(f->Record().identity, full) << p;
    EXPECT_EQ(f->Record().identity.fingerprint_len, p == path ? kFingerprintMaxLen : 0u);
  }
}

// An empty file's identity from InodeIdentity is the one Identify gives it. A file opened to be
// read from its start gets that; one resumed at an offset gets its first bytes hashed at once.
TEST(OpeningIdentity, HashesTheFirstBytesOnlyOfAFileResumedAtAnOffset) {
  TempDir dir;
  const std::string empty = dir / "empty.log";
  const std::string full = dir / "full.log";
  WriteFile(empty, "");
  WriteFile(full, "some bytes\n");
  for (const std::string& path : {empty, full}) {
    int fd = OpenToRead(path);
    ASSERT_GE(fd, 0);
    struct stat st;
    ASSERT_EQ(::fstat(fd, &st), 0);
    const FileIdentity identified = Identify(fd, st).value();
    FileIdentity inode = InodeIdentity(st);  // and the birth time, which a reopen compares
    inode.born_ns = BirthNs(fd);
    if (path == empty) {
      EXPECT_EQ(inode, identified);
    }
    EXPECT_EQ(OpeningIdentity(fd, st, 0).value(), inode) << path;
    EXPECT_EQ(OpeningIdentity(fd, st, 5).value(), identified) << path;
    ::close(fd);
  }
}

}  // namespace
}  // namespace skidder::sources
