// Helpers of FileSource::Impl's discovery and recovery (discovery.cc, recovery.cc, holding.cc):
// where a file went, and whether a file found there is the one a record means. Reading thread.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <string_view>

#include "sources/file/identity.h"
#include "sources/file/positions.h"

namespace skidder::sources::file_util {

inline std::string_view DirNameView(std::string_view p) {
  size_t i = p.rfind('/');
  if (i == std::string_view::npos) return ".";
  return i == 0 ? "/" : p.substr(0, i);
}
inline std::string DirName(const std::string& p) { return std::string(DirNameView(p)); }

// How often a look into a directory is made at most. logrotate renames a chain of files in a
// burst, and a pass may run amid it: a name listed may be gone when opened (renamed on), and a
// file renamed while the directory is read may be listed under neither name (POSIX leaves it
// open; ext4's hash order does so). So a look that finds nothing is made once more, and one that
// met a vanished name again, a few times at most. Such looks are made for rotations and gone
// files, not per file per pass.
inline constexpr int kListingAttempts = 4;

// Whether a look that found nothing is made again after attempt (0-based): the second always,
// later ones only when a name listed was gone when opened.
inline bool LookAgain(int attempt, bool a_name_vanished) {
  return attempt + 1 < kListingAttempts && (attempt == 0 || a_name_vanished);
}

// Where in dir the file with this device and inode is now; "" when nowhere (see
// kListingAttempts).
inline std::string FindByInode(const std::string& dir, const FileIdentity& id) {
  for (int attempt = 0;; ++attempt) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return "";
    std::string out;
    bool vanished = false;
    while (dirent* e = ::readdir(d)) {
      if (e->d_ino != id.ino) continue;  // d_ino is the inode for regular file systems
      std::string p = dir + "/" + e->d_name;
      struct stat st;
      if (::stat(p.c_str(), &st) != 0) {
        vanished = vanished || errno == ENOENT;
      } else if (S_ISREG(st.st_mode) && SameInode(id, st)) {
        out = std::move(p);
        break;
      }
    }
    ::closedir(d);
    if (!out.empty() || !LookAgain(attempt, vanished)) return out;
  }
}

// A record of an empty file (no fingerprint yet) cannot prove that a file found under another
// name by inode is the same one (inodes are reused at once), so that name must at least look like
// a rotation of the old one, and not a compressed or temporary copy.
inline bool PlausiblyRotated(const PositionRecord& rec, const std::string& where) {
  if (rec.identity.fingerprint_len > 0 || where == rec.path) return true;
  auto base = [](const std::string& p) { return std::string_view(p).substr(p.rfind('/') + 1); };
  std::string_view to = base(where);
  for (std::string_view ext : {".gz", ".tmp", ".bz2", ".xz", ".zst", ".zip"}) {
    if (to.ends_with(ext)) return false;
  }
  return to.starts_with(base(rec.path));
}

// The file at path has id's inode, and first(fd) says yes about its first bytes; false when it
// cannot be opened.
template <typename FirstBytes>
bool InodeAtPathAnd(const std::string& path, const FileIdentity& id, FirstBytes first) {
  int fd = OpenToRead(path);
  if (fd < 0) return false;
  struct stat st;
  const bool yes = ::fstat(fd, &st) == 0 && SameInode(id, st) && first(fd);
  ::close(fd);
  return yes;
}

// The file at path is the one recorded: same inode, birth time and first bytes.
inline bool IsRecordedFile(const std::string& path, const FileIdentity& id) {
  return InodeAtPathAnd(path, id, [&](int fd) { return BornAndStartsAs(fd, id); });
}

// The file at path has id's inode but was made at another time (see FileIdentity::born_ns) or
// does not start with id's first bytes (other bytes, or fewer): for a parked file (no descriptor
// keeps its inode), the recorded file was deleted and a new one took its inode (ext4 hands a
// freed inode to the next file made). An open that failed tells nothing. Not for a file at its
// own name with no birth time to compare: one truncated in place has other first bytes too.
inline bool OtherFileOnInode(const std::string& path, const FileIdentity& id) {
  return InodeAtPathAnd(path, id, [&](int fd) { return !BornAndStartsAs(fd, id); });
}

// File times are coarse (a clock tick) and a writer may finish a file in the same moment the
// positions are saved: files up to this much older than the save still count as possibly unread
// (reading one twice duplicates; skipping one would lose it).
inline constexpr int64_t kUnseenSlackNs = 2'000'000'000;

inline bool SameRecordFile(const std::optional<PositionRecord>& r, const FileIdentity& id) {
  return r && !r->imported && r->identity.dev == id.dev && r->identity.ino == id.ino;
}

// r (the record at a name now) is another file's than id's: another inode or, on the same one
// (reused), another birth time. Not an imported record, which names no file.
inline bool OtherFilesRecord(const std::optional<PositionRecord>& r, const FileIdentity& id) {
  if (!r || r->imported) return false;
  return !SameRecordFile(r, id) || !SameBirth(r->identity.born_ns, id.born_ns);
}

}  // namespace skidder::sources::file_util
