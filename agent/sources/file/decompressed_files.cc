// FileSource::Impl, part five: archives of decompression jobs (scrape_configs[].decompression).
// A matching .gz/.z/.bz2 file is opened like a compressed rotation (a complete file read to its
// end, then closed; see recovery.cc's OpenCompressed): its record counts decompressed bytes, is
// marked done once everything is acknowledged, and a done archive is never decompressed again
// while it exists. A restart resumes inside an unfinished one (ResolveCompressed).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sources/file/decompress.h"
#include "sources/file/file_source_impl.h"
#include "sources/file/identity.h"
#include "util/log.h"

namespace skidder::sources {

const TargetState& FileSource::Impl::ArchiveOwner(const std::string& path,
                                                  const TargetState& t) const {
  if (!HasCompressedExtension(path)) return t;
  for (const auto& ts : targets_) {
    if (ts->target.decompression.enabled && ts->glob.Match(path) &&
        !(ts->exclude && ts->exclude->Match(path))) {
      return *ts;
    }
  }
  return t;
}

// Read to the end before (done), or read and waiting for its last acknowledgements. The inode
// alone does not say so: an archive deleted and written again (a nightly export) gets the freed
// inode at once on ext4, and is a new archive to read; its birth time tells (a statx, only for
// the archive on a known one's inode, not an open and a read every pass). One rewritten in place
// (`gzip > export.gz`: same inode and birth time) or grown by another member (`gzip >>`) has
// another compressed size than it was read to its end at (CompressedReader::compressed_size):
// opened again, it resumes where it was when it grew by a member (DecompressedStart), else it is
// read from 0. A rewrite to exactly the size read is taken for the archive read.
bool FileSource::Impl::DecompressedBefore(const std::string& path,
                                          const struct stat& walked) const {
  const FileKey key{walked.st_dev, walked.st_ino};
  const auto is = [&](const FileIdentity& id) {
    return KeyOf(id) == key && (id.born_ns == 0 || SameBirth(id.born_ns, BirthNsAt(path)));
  };
  // Still waiting for acknowledgements: looked at again once done (its record must not race
  // with a second opening's).
  for (const FinishedFile& ff : finished_) {
    if (is(ff.record.identity)) return true;
  }
  auto rec = positions_->FindByPath(path);
  if (!rec || !rec->compressed || !rec->done || !is(rec->identity)) return false;
  const auto size = static_cast<uint64_t>(walked.st_size);
  // No size: a record of an older version, or of an archive given up empty (its writer died
  // before its first byte), which has bytes now.
  if (rec->size == 0) return rec->offset > 0 || size == 0;
  return rec->size == size;
}

// An archive rewritten in place raises write events and no create: looked at now, not at the
// next timed pass (minutes away under inotify). Only names a decompression job matches, of
// files not open: a stat and a look at the positions per event.
void FileSource::Impl::ArchiveWritten(const std::string& path, int64_t now_ns) {
  for (const auto& ts : targets_) {  // the first target matching it has it, as in a pass
    if (!ts->glob.Match(path) || (ts->exclude && ts->exclude->Match(path))) continue;
    struct stat st;
    if (ts->target.decompression.enabled && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        !files_.contains(FileKey{st.st_dev, st.st_ino})) {
      OpenDecompressed(path, st, *ts, now_ns);
    }
    return;
  }
}

// Where an archive starts: its own record (same inode, birth time and decompressed start), a
// Promtail position (which counts lines), or 0. The record's fingerprint may be shorter than the
// archive's start now (it was opened while its writer was at work): the start is compared over
// the record's length. A record of an empty archive compares no bytes: without a birth time, it
// is not taken for this one. An archive read to its end before resumes only when it grew by
// another member where that end was, or by the rest of a stream it was given up inside (cut):
// rewritten with the same first KiB (a long header), it is read whole.
uint64_t FileSource::Impl::DecompressedStart(const std::string& path, const FileIdentity& id,
                                             CompressedReader& reader, int fd, Compression c,
                                             uint64_t size) const {
  auto rec = positions_->FindByPath(path);
  if (!rec) return 0;
  if (rec->imported) {
    auto offset = OffsetOfLine(reader, rec->offset);
    if (offset) {
      LOG_INFO("resuming a compressed file after the lines Promtail's position counts",
               {{"path", path}, {"lines", std::to_string(rec->offset)}});
    }
    return offset.value_or(0);
  }
  const FileIdentity& was = rec->identity;
  const bool same = rec->compressed && KeyOf(was) == KeyOf(id) &&
                    SameBirth(was.born_ns, id.born_ns) &&
                    (was.fingerprint_len > 0 || was.born_ns != 0) &&
                    was.fingerprint_len <= id.fingerprint_len && DecompressedStartsAs(reader, was);
  if (!same) return 0;
  // Grown where it ended: by another member, or (cut) by the rest of its stream, its bytes
  // before the cut unchanged.
  const auto grown = [&] {
    if (size <= rec->size) return false;
    if (rec->cut) return TailBefore(fd, rec->size, rec->tail);
    return StartsAMember(fd, rec->size, c);
  };
  if (rec->done && rec->size != 0 && !grown()) return 0;
  return rec->offset;
}

void FileSource::Impl::OpenDecompressed(const std::string& path, const struct stat& walked,
                                        const TargetState& t, int64_t now_ns) {
  const config::DecompressionConfig& cfg = t.target.decompression;
  const auto format = ParseCompression(cfg.format);  // checked by the config loader
  if (!format || DecompressedBefore(path, walked)) return;
  if (cfg.initial_delay.count() > 0) {  // Promtail waits this long before it starts reading
    auto [it, fresh] = archives_seen_.try_emplace(path, now_ns);
    if (const int64_t wait = cfg.initial_delay.count() - (now_ns - it->second); wait > 0) {
      // The next glob pass may be a minute away under inotify: ask for one when it is due.
      rescan_due_ = std::min(rescan_due_, clock_->Steady() + std::chrono::nanoseconds(wait));
      return;
    }
    archives_seen_.erase(it);
  }
  int fd = OpenToRead(path);
  if (fd < 0) {
    LOG_WARN("cannot open file", {{"path", path}, {"error", std::strerror(errno)}});
    return;
  }
  struct stat st;
  if (!InsideSymlinkRoots(path, fd) || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_ino != walked.st_ino || st.st_dev != walked.st_dev) {
    ::close(fd);  // not a regular file, or replaced since the walk: the next pass looks again
    return;
  }
  if (files_.contains(FileKey{st.st_dev, st.st_ino})) {
    ::close(fd);  // open already under another name (its held link, resumed after a restart)
    return;
  }
  std::unique_ptr<DecompressingReader> reader = DecompressingReader::Open(fd, *format, path);
  if (!reader) {
    ::close(fd);
    return;
  }
  // Corrupt from its first bytes: the reader has said so; the file is still opened, so that it
  // ends (done, nothing delivered) and is not tried again on every pass.
  FileIdentity id{.dev = static_cast<uint64_t>(st.st_dev), .ino = static_cast<uint64_t>(st.st_ino)};
  id = IdentifyDecompressed(*reader, st).value_or(id);
  id.born_ns = BirthNs(fd);
  const uint64_t offset =
      DecompressedStart(path, id, *reader, fd, *format, static_cast<uint64_t>(st.st_size));
  reader->Rewind();  // a small archive was read to its end just now: it is not done yet
  LOG_INFO("reading compressed file whole",
           {{"path", path}, {"format", cfg.format}, {"offset", std::to_string(offset)}});
  auto f = std::make_unique<TailedFile>(fd, path, id, offset, FileLabels(t.target.labels, path),
                                        t.target.handler, settings_);
  f->UseGzip(std::move(reader));
  f->draining = true;  // complete: read to the end, then closed
  f->drain_since_ns = now_ns;
  Adopt(std::move(f), t, now_ns);
}

}  // namespace skidder::sources
