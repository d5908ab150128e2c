// FingerprintCheck: the memoised look at a tailed file's first bytes must say what
// FingerprintMatches says, on the fast path too (after a first match), and follow a new identity.
// FingerprintOpenFile: Identify's fingerprint without the fstat, bounded by the size given.
#include "sources/file/identity.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "support/test_util.h"

namespace skidder::sources {
namespace {

using skidder::testing::TempDir;
using skidder::testing::WriteFile;

struct OpenFile {
  explicit OpenFile(const std::string& path) : fd(::open(path.c_str(), O_RDWR | O_CLOEXEC)) {}
  ~OpenFile() { ::close(fd); }
  FileIdentity Identity() const {
    struct stat st;
    EXPECT_EQ(::fstat(fd, &st), 0);
    return Identify(fd, st).value();
  }
  void Poke(off_t at, char c) const { ASSERT_EQ(::pwrite(fd, &c, 1, at), 1); }
  int fd;
};

TEST(FingerprintCheck, AgreesWithTheFullCheckBeforeAndAfterItsMemo) {
  TempDir dir;
  const std::string path = dir.path() + "/a.log";
  WriteFile(path, std::string(3000, 'x'));
  OpenFile f(path);
  const FileIdentity id = f.Identity();
  ASSERT_EQ(id.fingerprint_len, kFingerprintMaxLen);
  FingerprintCheck check;
  EXPECT_TRUE(check.Matches(f.fd, id));  // by FNV: the memo is made
  EXPECT_TRUE(check.Matches(f.fd, id));  // by the memo
  // Any byte of the fingerprint changed (the last one too) is another file; past it, the same.
  for (off_t at : {off_t{0}, off_t{511}, off_t{kFingerprintMaxLen - 1}}) {
    f.Poke(at, 'y');
    EXPECT_FALSE(FingerprintMatches(f.fd, id)) << at;
    EXPECT_FALSE(check.Matches(f.fd, id)) << at;
    f.Poke(at, 'x');
    EXPECT_TRUE(check.Matches(f.fd, id)) << at;
  }
  f.Poke(kFingerprintMaxLen, 'y');
  EXPECT_TRUE(check.Matches(f.fd, id));
  // Shorter than the fingerprint: not the same file.
  ASSERT_EQ(::ftruncate(f.fd, 100), 0);
  EXPECT_FALSE(check.Matches(f.fd, id));
}

TEST(FingerprintCheck, ANewIdentityIsCheckedAgainstItsOwnBytes) {
  TempDir dir;
  const std::string path = dir.path() + "/a.log";
  WriteFile(path, "short\n");
  OpenFile f(path);
  const FileIdentity first = f.Identity();
  FingerprintCheck check;
  EXPECT_TRUE(check.Matches(f.fd, first));
  // The file grew and its fingerprint with it: the memo of the old one says nothing of it.
  WriteFile(path, "short\nand more\n");
  const FileIdentity grown = f.Identity();
  ASSERT_NE(grown.fingerprint, first.fingerprint);
  EXPECT_TRUE(check.Matches(f.fd, grown));
  EXPECT_TRUE(check.Matches(f.fd, first));  // its first 6 bytes are still the same
  FileIdentity other = grown;
  other.fingerprint ^= 1;  // an identity these bytes do not have
  EXPECT_FALSE(check.Matches(f.fd, other));
  EXPECT_TRUE(check.Matches(f.fd, grown));
}

TEST(FingerprintOpenFile, HashesWhatIdentifyHashesUpToTheSizeGiven) {
  TempDir dir;
  const std::string path = dir.path() + "/a.log";
  WriteFile(path, std::string(700, 'a') + std::string(700, 'b'));
  OpenFile f(path);
  const FileIdentity whole = f.Identity();
  FileIdentity id = whole;
  id.fingerprint_len = 0;
  id.fingerprint = 0;
  ASSERT_TRUE(FingerprintOpenFile(f.fd, 1400, &id));
  EXPECT_EQ(id.fingerprint_len, kFingerprintMaxLen);
  EXPECT_EQ(id.fingerprint, whole.fingerprint);
  EXPECT_EQ(id.ino, whole.ino);
  // A size seen before the file grew: the fingerprint of that many bytes, as Identify then.
  ASSERT_TRUE(FingerprintOpenFile(f.fd, 600, &id));
  EXPECT_EQ(id.fingerprint_len, 600u);
  EXPECT_EQ(id.fingerprint, HashBytes(std::string(600, 'a')));
  // Truncated since the size was seen: what is there.
  ASSERT_EQ(::ftruncate(f.fd, 10), 0);
  ASSERT_TRUE(FingerprintOpenFile(f.fd, 1400, &id));
  EXPECT_EQ(id.fingerprint_len, 10u);
  // Empty: nothing to hash, the identity stays as it was.
  ASSERT_EQ(::ftruncate(f.fd, 0), 0);
  EXPECT_FALSE(FingerprintOpenFile(f.fd, 1400, &id));
  EXPECT_EQ(id.fingerprint_len, 10u);
}

// An identity names its file's birth time; a file on the same inode made at another time is not
// that file, whatever its first bytes. An identity without one (records from before, file
// systems without birth times) compares the first bytes alone.
TEST(BornAndStartsAs, TellsAFileMadeAtAnotherTimeWithTheSameBytes) {
  TempDir dir;
  const std::string path = dir.path() + "/a.log";
  WriteFile(path, "header\n");
  OpenFile f(path);
  const FileIdentity id = f.Identity();
  if (id.born_ns == 0) GTEST_SKIP() << "this file system keeps no birth times";
  EXPECT_EQ(id.born_ns, BirthNs(f.fd));
  struct stat st;
  ASSERT_EQ(::fstat(f.fd, &st), 0);
  EXPECT_EQ(OpeningIdentity(f.fd, st, 0).value().born_ns, id.born_ns);
  EXPECT_EQ(InodeIdentity(st).born_ns, 0);  // for lookups by inode only
  EXPECT_TRUE(BornAndStartsAs(f.fd, id));
  FileIdentity other = id;
  other.born_ns += 1;
  EXPECT_FALSE(BornAndStartsAs(f.fd, other));
  other.born_ns = 0;
  EXPECT_TRUE(BornAndStartsAs(f.fd, other));
  other.fingerprint ^= 1;
  EXPECT_FALSE(BornAndStartsAs(f.fd, other));
}

}  // namespace
}  // namespace skidder::sources
