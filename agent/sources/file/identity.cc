#include "sources/file/identity.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

#include "sources/file/glob.h"

namespace skidder::sources {
namespace {

// Reads up to len bytes from offset 0; returns the count read or -1.
ssize_t ReadPrefix(int fd, char* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, buf + got, len - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

}  // namespace

int OpenToRead(const std::string& path, int extra_flags) {
  return OpenNoAtime(path.c_str(), kOpenToReadFlags | extra_flags);
}

// FNV-1a, 64 bit: a kilobyte at most, hashed when a file is opened or verified.
uint64_t HashBytes(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

Result<FileIdentity> Identify(int fd, const struct stat& st) {
  char buf[kFingerprintMaxLen];
  size_t want = std::min<uint64_t>(static_cast<uint64_t>(st.st_size), kFingerprintMaxLen);
  ssize_t n = ReadPrefix(fd, buf, want);
  if (n < 0) return Err(Unavailable(std::string("read fingerprint: ") + std::strerror(errno)));
  FileIdentity id = InodeIdentity(st);
  id.born_ns = BirthNs(fd);
  SetFingerprint(&id, std::string_view(buf, static_cast<size_t>(n)));
  return id;
}

bool FingerprintOpenFile(int fd, uint64_t size, FileIdentity* id) {
  char buf[kFingerprintMaxLen];
  const ssize_t n = ReadPrefix(fd, buf, std::min<uint64_t>(size, kFingerprintMaxLen));
  if (n <= 0) return false;
  SetFingerprint(id, std::string_view(buf, static_cast<size_t>(n)));
  return true;
}

void SetFingerprint(FileIdentity* id, std::string_view first_bytes) {
  first_bytes = first_bytes.substr(0, kFingerprintMaxLen);
  id->fingerprint_len = static_cast<uint32_t>(first_bytes.size());
  id->fingerprint = HashBytes(first_bytes);
}

FileIdentity InodeIdentity(const struct stat& st) {
  return FileIdentity{.dev = static_cast<uint64_t>(st.st_dev),
                      .ino = static_cast<uint64_t>(st.st_ino),
                      .fingerprint_len = 0,
                      .fingerprint = HashBytes({})};
}

Result<FileIdentity> OpeningIdentity(int fd, const struct stat& st, uint64_t offset) {
  if (offset != 0) return Identify(fd, st);
  FileIdentity id = InodeIdentity(st);
  id.born_ns = BirthNs(fd);
  return id;
}

namespace {

int64_t StatxBirthNs(int dirfd, const char* path, int flags) {
  struct statx stx {};
  if (::statx(dirfd, path, flags, STATX_BTIME, &stx) != 0 || !(stx.stx_mask & STATX_BTIME)) {
    return 0;
  }
  return int64_t{stx.stx_btime.tv_sec} * 1'000'000'000 + stx.stx_btime.tv_nsec;
}

}  // namespace

int64_t BirthNs(int fd) { return StatxBirthNs(fd, "", AT_EMPTY_PATH); }

int64_t BirthNsAt(const std::string& path) { return StatxBirthNs(AT_FDCWD, path.c_str(), 0); }

bool BornAndStartsAs(int fd, const FileIdentity& expected) {
  if (expected.born_ns != 0 && !SameBirth(expected.born_ns, BirthNs(fd))) return false;
  return FingerprintMatches(fd, expected);
}

bool FingerprintMatches(int fd, const FileIdentity& expected) {
  if (expected.fingerprint_len == 0) return true;
  char buf[kFingerprintMaxLen];
  size_t want = std::min<uint32_t>(expected.fingerprint_len, kFingerprintMaxLen);
  ssize_t n = ReadPrefix(fd, buf, want);
  if (n != static_cast<ssize_t>(want)) return false;
  return HashBytes(std::string_view(buf, want)) == expected.fingerprint;
}

bool FingerprintCheck::Matches(int fd, const FileIdentity& expected) {
  if (expected.fingerprint_len == 0) return true;
  char buf[kFingerprintMaxLen];
  const size_t want = std::min<uint32_t>(expected.fingerprint_len, kFingerprintMaxLen);
  if (ReadPrefix(fd, buf, want) != static_cast<ssize_t>(want)) return false;
  const std::string_view bytes(buf, want);
  const uint64_t fast = std::hash<std::string_view>{}(bytes);
  if (known_ && fingerprint_ == expected.fingerprint && len_ == expected.fingerprint_len) {
    return fast == fast_;
  }
  if (HashBytes(bytes) != expected.fingerprint) return false;
  fingerprint_ = expected.fingerprint;
  len_ = expected.fingerprint_len;
  fast_ = fast;
  known_ = true;
  return true;
}

}  // namespace skidder::sources
