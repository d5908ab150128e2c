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
// the archive on a known one's inode, not an open and a read every pass).
bool FileSource::Impl::DecompressedBefore(const std::string& path,
                                          const struct stat& walked) const {
  const FileKey key{walked.st_dev, walked.st_ino};
  const auto is = [&](const FileIdentity& id) {
    return KeyOf(id) == key && (id.born_ns == 0 || SameBirth(id.born_ns, BirthNsAt(path)));
  };
  for (const FinishedFile& ff : finished_) {
    if (is(ff.record.identity)) return true;
  }
  auto rec = positions_->FindByPath(path);
  return rec && rec->compressed && rec->done && is(rec->identity);
}

// Where an archive starts: its own record (same inode and decompressed start), a Promtail
// position (which counts lines), or 0.
uint64_t FileSource::Impl::DecompressedStart(const std::string& path, const FileIdentity& id,
                                             CompressedReader& reader) const {
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
  const bool same = rec->compressed && KeyOf(rec->identity) == KeyOf(id) &&
                    SameBirth(rec->identity.born_ns, id.born_ns) &&
                    rec->identity.fingerprint_len == id.fingerprint_len &&
                    rec->identity.fingerprint == id.fingerprint;
  return same ? rec->offset : 0;
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
  const uint64_t offset = DecompressedStart(path, id, *reader);
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
