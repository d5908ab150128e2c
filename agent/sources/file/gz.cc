#include "sources/file/gz.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <utility>
#include <vector>

#include "sources/file/file_util.h"
#include "sources/file/identity.h"

namespace skidder::sources {

bool IsGzName(std::string_view name) { return name.ends_with(".gz"); }

bool GzFingerprintMatches(int fd, const FileIdentity& id) {
  if (id.fingerprint_len == 0) return false;  // an empty file leaves nothing to recognise
  auto reader = GzReader::Open(fd);
  return reader && DecompressedStartsAs(*reader, id);
}

std::optional<FoundCopy> FindCompressedCopy(const std::string& dir, const std::string& base_path,
                                            const FileIdentity& id) {
  const size_t slash = base_path.rfind('/');
  const std::string base = base_path.substr(slash == std::string::npos ? 0 : slash + 1);
  for (int attempt = 0;; ++attempt) {
    std::vector<std::string> candidates;
    if (DIR* d = ::opendir(dir.c_str())) {
      while (dirent* e = ::readdir(d)) {
        std::string_view name(e->d_name);
        if (name.starts_with(base) && IsGzName(name)) candidates.emplace_back(name);
      }
      ::closedir(d);
    }
    std::sort(candidates.begin(), candidates.end());
    bool vanished = false;
    for (const auto& name : candidates) {
      std::string path = dir + "/" + name;
      int fd = OpenToRead(path, O_NOFOLLOW);
      if (fd < 0) {
        vanished = vanished || errno == ENOENT;
        continue;
      }
      struct stat st;
      const bool same = ::fstat(fd, &st) == 0 && GzFingerprintMatches(fd, id);
      ::close(fd);
      if (same) {
        return FoundCopy{std::move(path), static_cast<uint64_t>(st.st_dev),
                         static_cast<uint64_t>(st.st_ino)};
      }
    }
    if (!file_util::LookAgain(attempt, vanished)) return std::nullopt;
  }
}

std::string FindCompressedByInode(const std::string& dir, const FileIdentity& id) {
  for (int attempt = 0; attempt < file_util::kListingAttempts; ++attempt) {
    const std::string at = file_util::FindByInode(dir, id);  // looks again itself if not found
    if (at.empty() || !IsGzName(at)) return "";
    const int fd = OpenToRead(at, O_NOFOLLOW);
    if (fd < 0) {
      if (errno == ENOENT) continue;  // renamed on since the listing: look again
      return "";
    }
    struct stat st;
    // The birth time, when the record names one (an archive opened before): another archive
    // that took the inode of a deleted one may begin as it did.
    const bool same = ::fstat(fd, &st) == 0 && SameInode(id, st) &&
                      (id.born_ns == 0 || SameBirth(id.born_ns, BirthNs(fd))) &&
                      GzFingerprintMatches(fd, id);
    ::close(fd);
    return same ? at : "";
  }
  return "";
}

std::optional<FileIdentity> GzIdentify(int fd) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return std::nullopt;
  auto reader = GzReader::Open(fd);
  if (!reader) return std::nullopt;
  char head[kFingerprintMaxLen];
  const ssize_t got = ReadDecompressedHead(*reader, head, sizeof head);
  if (got < 0) return std::nullopt;
  FileIdentity id;
  id.dev = static_cast<uint64_t>(st.st_dev);
  id.ino = static_cast<uint64_t>(st.st_ino);
  id.fingerprint_len = static_cast<uint32_t>(got);
  id.fingerprint = HashBytes(std::string_view(head, static_cast<size_t>(got)));
  return id;
}

std::optional<uint64_t> GzSize(const std::string& path) {
  int fd = OpenToRead(path, O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  auto reader = GzReader::Open(fd);
  ::close(fd);
  if (!reader) return std::nullopt;
  std::vector<char> buf(64 * 1024);
  uint64_t total = 0;
  while (true) {
    ssize_t n = reader->ReadAt(buf.data(), buf.size(), total);
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    total += static_cast<uint64_t>(n);
  }
  if (!reader->complete()) return std::nullopt;
  return total;
}

std::unique_ptr<GzReader> GzReader::Open(int fd) {
  int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return nullptr;
  ::lseek(dup, 0, SEEK_SET);
  gzFile gz = ::gzdopen(dup, "rb");
  if (gz == nullptr) {
    ::close(dup);
    return nullptr;
  }
  ::gzbuffer(gz, 64 * 1024);
  return std::unique_ptr<GzReader>(new GzReader(gz, dup));
}

GzReader::~GzReader() { ::gzclose(gz_); }

void GzReader::EndTruncated() { Complete(); }

bool GzReader::TakeInputProgress() {
  const int64_t at = ::gzoffset(gz_);  // compressed bytes consumed
  return std::exchange(input_seen_, at) != at;
}

// zlib reads fd_ with read(): its offset is the compressed bytes read, all of them once the
// end was met (a member appended since is not counted as read).
void GzReader::Complete() {
  const off_t at = ::lseek(fd_, 0, SEEK_CUR);
  end_size_ = at > 0 ? static_cast<uint64_t>(at) : 0;
  waiting_ = false;
  complete_ = true;
}

bool GzReader::SkipTo(uint64_t offset) {
  if (offset < pos_) {
    if (::gzrewind(gz_) != 0) return false;
    pos_ = 0;
    complete_ = false;
  }
  char skip[16 * 1024];
  while (pos_ < offset) {
    int n =
        ::gzread(gz_, skip, static_cast<unsigned>(std::min<uint64_t>(sizeof skip, offset - pos_)));
    if (n <= 0) return false;
    pos_ += static_cast<uint64_t>(n);
  }
  return true;
}

ssize_t GzReader::ReadAt(char* buf, size_t cap, uint64_t offset) {
  if (offset != pos_ && !SkipTo(offset)) {
    int err = Z_OK;
    ::gzerror(gz_, &err);
    if (err == Z_OK || err == Z_BUF_ERROR) {  // shorter than offset, or still being written
      waiting_ = err == Z_BUF_ERROR;
      ::gzclearerr(gz_);
      return 0;
    }
    return -1;
  }
  int n = ::gzread(gz_, buf, static_cast<unsigned>(std::min<size_t>(cap, 1u << 30)));
  if (n > 0) {
    pos_ += static_cast<uint64_t>(n);
    waiting_ = false;
    return n;
  }
  int err = Z_OK;
  ::gzerror(gz_, &err);
  if (n == 0 && err == Z_OK) {
    if (::gzeof(gz_) != 0) Complete();
    return 0;
  }
  if (err == Z_BUF_ERROR) {  // truncated stream: a writer is not done with it yet
    waiting_ = true;
    ::gzclearerr(gz_);
    return 0;
  }
  return -1;
}

}  // namespace skidder::sources
