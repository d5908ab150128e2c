// File identity: device, inode and a fingerprint of the first bytes, so that a file is recognised
// after a rename (rotation) and told apart from a new file that reuses an inode or a truncated
// file that grew back past the old offset. Pure functions over an open fd; any thread.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "sources/file/positions.h"
#include "util/status.h"

namespace skidder::sources {

// Bytes hashed at most; shorter files are hashed whole and re-hashed as they grow.
inline constexpr uint32_t kFingerprintMaxLen = 1024;

uint64_t HashBytes(std::string_view data);

// dev/ino from st, fd's birth time, fingerprint of the first min(size, kFingerprintMaxLen)
// bytes of fd.
Result<FileIdentity> Identify(int fd, const struct stat& st);

// Sets id's fingerprint from fd's first min(size, kFingerprintMaxLen) bytes, for a file whose
// inode id already names (taken from fd when it was opened) and whose size was looked at lately:
// Identify without its fstat. A file grown since gets a shorter fingerprint, which grows later as
// any short one does. False, id unchanged, when the read fails or finds no bytes.
bool FingerprintOpenFile(int fd, uint64_t size, FileIdentity* id);

// dev/ino from st, no bytes hashed yet (as an empty file's identity), no birth time: for looking
// records up by inode.
FileIdentity InodeIdentity(const struct stat& st);

// Sets id's fingerprint from a file's first bytes (the first kFingerprintMaxLen of them, or all
// when fewer): what Identify reads for, and what a file read from its start hashes from its first
// read. One rule, since positions compare the two.
void SetFingerprint(FileIdentity* id, std::string_view first_bytes);

// The identity a file opened to be read from offset starts with. Read from its start: its inode
// and birth time alone, since its first read hashes the bytes it gets (TailedFile::ReadChunk), a
// pread less per new file. Resumed further on: Identify's, so that a truncation and rewrite before
// its first turn is told from the file its record means.
Result<FileIdentity> OpeningIdentity(int fd, const struct stat& st, uint64_t offset);

// When fd's file was made (statx's birth time), in ns since the epoch; 0 when the file system
// keeps none (tmpfs before Linux 6.7, NFS, old kernels).
int64_t BirthNs(int fd);

// BirthNs of the file at path (following a symlink, as opening it would); 0 when unknown.
int64_t BirthNsAt(const std::string& path);

// True when the first expected.fingerprint_len bytes of fd hash to expected.fingerprint. A file
// shorter than that is not the same file. dev/ino are not compared here.
bool FingerprintMatches(int fd, const FileIdentity& expected);

// Whether fd's file is the one expected names, as far as its birth time and first bytes tell:
// born when it was (when both times are known; see FileIdentity::born_ns) and FingerprintMatches.
// What every check of "is the file on this inode the recorded one" asks; dev/ino are the
// caller's to compare. A tailed file's repeated checks through its own descriptor need no birth
// time (it cannot change under the descriptor): FingerprintCheck.
bool BornAndStartsAs(int fd, const FileIdentity& expected);

// FingerprintMatches for a file checked again and again (a tailed file, at every change): the
// fingerprint's FNV-1a goes a byte at a time (about 1.4 us for a kilobyte, a twentieth of the
// agent's CPU when 1000 files grow a line a second each), so once the bytes matched it, a
// memo of a hash eight bytes a step over the same bytes stands in for it while the expected
// identity stays the same. The memo lives in memory only: the FNV value is what positions keep.
class FingerprintCheck {
 public:
  bool Matches(int fd, const FileIdentity& expected);

 private:
  uint64_t fingerprint_ = 0;  // the identity the memo is for
  uint32_t len_ = 0;
  uint64_t fast_ = 0;  // std::hash of those bytes
  bool known_ = false;
};

// Opens a file to read logs from, or to tell whether it is the one a record means. O_NONBLOCK:
// the path was a regular file when listed, but a FIFO put there since would block the open (and
// the reading thread with it) until some writer came along; it opens at once instead, and the
// caller's check of the type or inode turns it away. Reads of a regular file ignore the flag.
// A file under another process's write lease (Samba, an NFS server's delegation) refuses a
// non-blocking open with EWOULDBLOCK: it is opened again the blocking way, as before the flag,
// rather than taken for gone. OpenToRead is OpenNoAtime (glob.h) with these flags, where the
// retry lives; callers opening relative to a directory pass kOpenToReadFlags to OpenAtNoAtime.
inline constexpr int kOpenToReadFlags = O_RDONLY | O_CLOEXEC | O_NONBLOCK;
int OpenToRead(const std::string& path, int extra_flags = 0);

// A file's identity carried over to its compressed copy (dev/ino): the fingerprint stays (a
// copy's is that of its decompressed start), and the birth time, the original's, is dropped (a
// copy is checked by its decompressed bytes, and an open copy takes its own).
inline FileIdentity OnCopy(FileIdentity id, uint64_t dev, uint64_t ino) {
  id.dev = dev;
  id.ino = ino;
  id.born_ns = 0;
  return id;
}

// Same device and inode.
inline bool SameInode(const FileIdentity& id, const struct stat& st) {
  return id.dev == static_cast<uint64_t>(st.st_dev) && id.ino == static_cast<uint64_t>(st.st_ino);
}

// Whether path names this device and inode now (stat follows a symlink, as opening it would).
inline bool IsAt(const std::string& path, const FileIdentity& id) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && SameInode(id, st);
}

}  // namespace skidder::sources
