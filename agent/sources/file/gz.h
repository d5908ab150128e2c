// Compressed rotations. The kubelet gzips N.log.<stamp> at the next rotation (writing a .tmp
// first, then renaming it to .gz), logrotate's `compress` makes app.log.2.gz: when a file of the
// positions file is gone, its bytes may live on in a .gz beside it. FindCompressedCopy finds that
// copy by the fingerprint of its decompressed start, and GzReader streams it from any
// decompressed offset, so an unread rest is delivered instead of lost. Reading thread only.
#pragma once

#include <sys/types.h>
#include <zlib.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "sources/file/decompress.h"
#include "sources/file/positions.h"

namespace skidder::sources {

// True for names a compressed rotation of ours may have; temporary names never qualify.
bool IsGzName(std::string_view name);

// A compressed copy found: its name when it was opened, and its device and inode as read from
// the open file. The record made for it keeps the inode, by which it is followed when logrotate
// renames it on (app.log.1.gz -> app.log.2.gz), perhaps between this look and the next.
struct FoundCopy {
  std::string path;
  uint64_t dev = 0, ino = 0;
};

// The .gz in dir whose name starts with basename(base_path) and whose decompressed start has the
// recorded fingerprint; nullopt when there is none. Decompresses only the first bytes of each.
// The directory is listed again when nothing was found, as file_util::FindByInode does (a
// logrotate run renaming the copy on meanwhile): taken for "no copy", the record of the copied
// file was dropped and the copy read again as a rotation never seen.
std::optional<FoundCopy> FindCompressedCopy(const std::string& dir, const std::string& base_path,
                                            const FileIdentity& id);

// Where in dir the compressed file recorded as id (its device and inode, the fingerprint of its
// decompressed start) is now, renamed or not; "" when it is gone or its inode was reused.
std::string FindCompressedByInode(const std::string& dir, const FileIdentity& id);

// True when the decompressed start of the gzip file at fd hashes to id's fingerprint.
bool GzFingerprintMatches(int fd, const FileIdentity& id);

// The identity of the gzip file at fd: its device and inode, and the fingerprint of its
// decompressed start (what the file had before it was compressed). nullopt when unreadable.
std::optional<FileIdentity> GzIdentify(int fd);

// Decompressed size of the gzip file at path; nullopt when it is unreadable or incomplete.
std::optional<uint64_t> GzSize(const std::string& path);

// Sequential decompression of one gzip file, addressed by decompressed offsets.
class GzReader final : public CompressedReader {
 public:
  // Reads through its own duplicate of fd; nullptr when zlib cannot open it.
  static std::unique_ptr<GzReader> Open(int fd);
  ~GzReader() override;
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Up to cap decompressed bytes from offset: > 0 read, 0 at the end (or at the end of what a
  // writer has finished so far), -1 on corrupt data. Reading on from where the last call
  // stopped is streaming; any other offset decompresses from the start again.
  ssize_t ReadAt(char* buf, size_t cap, uint64_t offset) override;
  // The whole stream was decompressed, trailer included: nothing more will come.
  bool complete() const override { return complete_; }
  bool waiting() const override { return waiting_; }
  void EndTruncated() override;
  uint64_t compressed_size() const override { return end_size_; }
  bool TakeInputProgress() override;

 private:
  GzReader(gzFile gz, int fd) : gz_(gz), fd_(fd) {}
  void Complete();
  bool SkipTo(uint64_t offset);
  gzFile gz_;
  int fd_;  // gz_'s, closed by gzclose: for fstat only
  uint64_t pos_ = 0;
  uint64_t end_size_ = 0;   // compressed_size()
  int64_t input_seen_ = 0;  // gzoffset at the last TakeInputProgress
  bool complete_ = false;
  bool waiting_ = false;  // the last read ended inside the stream (Z_BUF_ERROR)
};

}  // namespace skidder::sources
