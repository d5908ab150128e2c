// File identity: device, inode and a fingerprint of the first bytes, so that a file is recognised
// after a rename (rotation) and told apart from a new file that reuses an inode or a truncated
// file that grew back past the old offset. Pure functions over an open fd; any thread.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <string_view>

#include "sources/file/positions.h"
#include "util/status.h"

namespace skidder::sources {

// Bytes hashed at most; shorter files are hashed whole and re-hashed as they grow.
inline constexpr uint32_t kFingerprintMaxLen = 1024;

uint64_t HashBytes(std::string_view data);

// dev/ino from st, fingerprint of the first min(size, kFingerprintMaxLen) bytes of fd.
Result<FileIdentity> Identify(int fd, const struct stat& st);

// True when the first expected.fingerprint_len bytes of fd hash to expected.fingerprint. A file
// shorter than that is not the same file. dev/ino are not compared here.
bool FingerprintMatches(int fd, const FileIdentity& expected);

// Same device and inode.
inline bool SameInode(const FileIdentity& id, const struct stat& st) {
  return id.dev == static_cast<uint64_t>(st.st_dev) && id.ino == static_cast<uint64_t>(st.st_ino);
}

}  // namespace skidder::sources
