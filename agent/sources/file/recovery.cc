// FileSource::Impl, part three: the files of the positions file found again after a restart,
// also under a new name, inside a compressed copy or through a held link, and rotations made
// while the agent was stopped (or between two passes) that no record knows.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "sources/file/file_source_impl.h"
#include "sources/file/file_util.h"
#include "sources/file/gz.h"
#include "sources/file/identity.h"
#include "util/log.h"

namespace skidder::sources {

using file_util::DirName;
using file_util::FindByInode;
using file_util::IsRecordedFile;
using file_util::kUnseenSlackNs;
using file_util::PlausiblyRotated;
using file_util::SameRecordFile;

void FileSource::Impl::ResolveRecords(const WalkedDirs& dirs, const FoundFiles& found,
                                      int64_t now_ns, const DirSet* only) {
  std::set<FileKey> finished;
  for (const auto& ff : finished_) finished.insert(KeyOf(ff.record.identity));
  if (resolved_.size() > 2 * positions_->Size() + 1024) {  // forget records long gone
    std::set<std::pair<std::string, uint64_t>> live;
    for (const auto& r : positions_->All()) {
      if (resolved_.contains({r.path, r.identity.ino})) live.insert({r.path, r.identity.ino});
    }
    resolved_.swap(live);
  }
  // Only the records of files neither open nor finishing: the others are theirs to keep, and
  // copying every record each pass cost ~250 bytes per file. A pass over a few directories
  // looks only at theirs (and at the held links', resolved with their stream's directory).
  const auto unowned = [&](const PositionRecord& r) {
    return !r.imported && !files_.contains(KeyOf(r.identity)) &&
           !finished.contains(KeyOf(r.identity));
  };
  std::vector<PositionRecord> records;
  if (only == nullptr) {
    records = positions_->Select(unowned);
  } else {
    DirSet in = *only;
    if (held_.enabled()) in.insert(held_.dir());
    records = positions_->SelectIn(in, unowned);
  }
  std::set<std::string> rotated_dirs;  // directories with records seen for the first time
  for (const PositionRecord& rec : records) {
    // A held link is resolved with the directory of the stream it came from.
    const std::string dir = DirName(held_.IsHeld(rec.path) ? rec.origin_or_path() : rec.path);
    const TargetState* d = dirs.Find(dir);
    if (d == nullptr) continue;  // not (yet) a directory of ours: leave the record alone
    const bool first = resolved_.insert({rec.path, rec.identity.ino}).second;
    if (rec.compressed) {
      if (ResolveCompressed(rec, *d, first, now_ns) && first) rotated_dirs.insert(dir);
      continue;
    }
    std::string where;
    if (held_.IsHeld(rec.path)) {
      if (IsAt(rec.path, rec.identity)) where = rec.path;
    } else if (!IsAt(rec.path, rec.identity)) {
      where = FindByInode(dir, rec.identity);
    } else if (!first || IsRecordedFile(rec.path, rec.identity)) {
      where = rec.path;
    }  // else: its inode was reused for a new file at the same path; the old one is gone
    if (!where.empty() && !PlausiblyRotated(rec, where)) where.clear();
    // Inodes are reused at once: a file found by inode must also start with the recorded bytes.
    if (!where.empty() && where != rec.path && !IsRecordedFile(where, rec.identity)) where.clear();
    // Look for rotations made while stopped in every directory with records, not only where a
    // recorded file is seen to have moved: a file empty when recorded has no fingerprint, and
    // under a reused inode it looks unmoved.
    if (first) rotated_dirs.insert(dir);
    if (where.empty()) {
      ResolveGone(dir, rec, *d, now_ns);
      continue;
    }
    if (found.contains(where) || rec.done) {
      if (where != rec.path) {  // re-key, so that opening it resumes by path
        PositionRecord moved = rec;
        moved.path = where;
        if (moved.origin.empty()) moved.origin = rec.path;
        if (moved.origin == where) moved.origin.clear();
        RemoveRecord(rec);
        positions_->Put(moved);
      }
      continue;
    }
    if (first) OpenRecovered(where, rec, *d, now_ns);
  }
  for (const std::string& dir : rotated_dirs) {
    if (scanned_dirs_.insert(dir).second) {
      OpenUnseenRotations(dir, *dirs.Find(dir), found, positions_->loaded_mtime_ns(), now_ns);
    }
  }
}

// Records are resolved from a snapshot taken before the loop, and one moved to its file's new
// name replaces the record there, of the file that was renamed on from it (logrotate's numbered
// names shift a whole chain in one pass): that one's own removal, later in the loop, must not
// take the record now at its old name with it.
void FileSource::Impl::RemoveRecord(const PositionRecord& rec) {
  const std::optional<PositionRecord> now = positions_->FindByPath(rec.path);
  if (now && (now->identity.dev != rec.identity.dev || now->identity.ino != rec.identity.ino)) {
    return;
  }
  positions_->Remove(rec.path);
}

// A record of a compressed rotation: read on inside it, or keep it known while it exists.
bool FileSource::Impl::ResolveCompressed(const PositionRecord& rec, const TargetState& t,
                                         bool first, int64_t now_ns) {
  const bool at_path = IsAt(rec.path, rec.identity);
  if (at_path) {
    if (SameBirth(rec.identity.born_ns, BirthNsAt(rec.path))) {
      if (first && !rec.done) OpenCompressed(rec.path, rec, t, now_ns);
      return false;
    }
    // Another archive on its inode: the recorded one was deleted and a new one made at its name
    // took the inode (logrotate's `rotate 1`: the old .1.gz removed, the next rotation
    // compressed to that name). The record goes with its archive; the new one, a rotation no
    // record knows, is read whole (OpenUnseenRotations) instead of never, turned away by
    // OpenMatchingCopy as not the recorded archive.
  } else if (const std::string where = FindCompressedByInode(DirName(rec.path), rec.identity);
             !where.empty()) {
    // Renamed on (logrotate's numbered names: app.log.1.gz -> app.log.2.gz at the next
    // rotation): the record follows it, or the file would look like a rotation never seen and
    // be read again.
    PositionRecord moved = rec;
    moved.path = where;
    if (moved.origin.empty()) moved.origin = rec.path;
    RemoveRecord(rec);
    positions_->Put(moved);
    resolved_.insert({where, rec.identity.ino});  // resolved here, under its new name
    if (first && !moved.done) OpenCompressed(where, moved, t, now_ns);
    return false;
  }
  if (!rec.done) {
    LOG_WARN("compressed rotation was deleted before it was read to the end",
             {{"path", rec.path}, {"offset", std::to_string(rec.offset)}});
  }
  RemoveRecord(rec);
  return at_path;
}

// A file of the positions file is gone from its name and from its directory (compressed or
// deleted, while the agent was stopped or before it got to it). Its bytes may live on in a
// compressed copy: read the rest there. Only what no copy holds is lost.
void FileSource::Impl::ResolveGone(const std::string& dir, const PositionRecord& rec,
                                   const TargetState& t, int64_t now_ns) {
  RemoveRecord(rec);
  const std::optional<FoundCopy> copy = FindCompressedCopy(dir, rec.origin_or_path(), rec.identity);
  if (!copy) {
    // Done, or read to its end as last seen (a deleted file the agent read on its way out).
    if (rec.done || (rec.size > 0 && rec.offset >= rec.size)) return;
    // Deleted unread while the agent was stopped, and not held (holding off or impossible):
    // what it had beyond the offset when last seen is lost, and counted.
    const uint64_t lost = rec.size > rec.offset ? rec.size - rec.offset : 0;
    metrics_->lost_bytes.With({telemetry::kReasonRotatedAway})->Add(static_cast<double>(lost));
    LOG_ERROR("file of the positions file was deleted before it was read to the end",
              {{"path", rec.path},
               {"offset", std::to_string(rec.offset)},
               {"lost_bytes", rec.size == 0 ? std::string("unknown") : std::to_string(lost)}});
    return;
  }
  // The copy's own record, by its inode: renamed on before it is opened (the same logrotate run
  // moving it up a number), it is followed there (ResolveCompressed) rather than read again
  // whole as a rotation no record knows.
  PositionRecord gz = rec;
  gz.path = copy->path;
  gz.compressed = true;
  gz.origin = rec.origin_or_path();
  gz.identity = OnCopy(gz.identity, copy->dev, copy->ino);
  positions_->Put(gz);
  if (rec.done) return;  // read to the end before it was compressed: only keep the copy known
  LOG_INFO("file was compressed before it was read to the end; reading on inside the copy",
           {{"path", rec.path},
            {"compressed_copy", copy->path},
            {"offset", std::to_string(rec.offset)}});
  OpenCompressed(copy->path, gz, t, now_ns);
}

// Opens the compressed file at path (gzip; zlib and bzip2 for decompression jobs) and reads on
// from the record's (decompressed) offset.
void FileSource::Impl::OpenCompressed(const std::string& path, const PositionRecord& rec,
                                      const TargetState& t, int64_t now_ns) {
  int fd = OpenToRead(path, O_NOFOLLOW);
  if (fd < 0) return;
  struct stat st;
  std::unique_ptr<CompressedReader> reader;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    reader = OpenMatchingCopy(fd, rec.identity, path);
  }
  if (!reader || files_.contains(FileKey{st.st_dev, st.st_ino})) {
    ::close(fd);
    return;
  }
  const FileIdentity id =
      OnCopy(rec.identity, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
  const std::string& origin = rec.origin_or_path();
  const TargetState& owner = ArchiveOwner(origin, t);  // an archive resumes with its own job
  auto f = std::make_unique<TailedFile>(fd, origin, id, rec.offset,
                                        FileLabels(owner.target.labels, origin),
                                        owner.target.handler, settings_);
  f->UseGzip(std::move(reader));
  f->set_record_path(path);
  f->draining = true;
  f->drain_since_ns = now_ns;
  Adopt(std::move(f), owner, now_ns);
}

// Rotations that happened while the agent was stopped, beyond the one its positions file knows:
// files beside a stream's file, named like its rotations (plain or compressed), that no record
// knows and that were written after the positions file was last saved. They were never read, so
// they are read whole.
void FileSource::Impl::OpenUnseenRotations(const std::string& dir, const TargetState& t,
                                           const FoundFiles& found, int64_t saved_ns,
                                           int64_t now_ns) {
  if (saved_ns == 0) return;
  std::set<std::string> bases;  // the stream files of this directory
  for (const auto& [path, st] : found) {
    if (DirName(path) == dir) bases.insert(path.substr(path.rfind('/') + 1));
  }
  // A record's stream is in dir when the record is, or when it is a held link of dir's (a
  // record re-keyed to a rotated name stays in its directory): not a copy of every record.
  DirSet in{dir};
  if (held_.enabled()) in.insert(held_.dir());
  const auto of_dir = [&](const PositionRecord& r) {
    return file_util::DirNameView(r.origin_or_path()) == dir;
  };
  for (const auto& r : positions_->SelectIn(in, of_dir)) {
    const std::string& o = r.origin_or_path();
    bases.insert(o.substr(o.rfind('/') + 1));
  }
  for (const auto& [mtime, path] : UnseenRotations(dir, bases, found, saved_ns)) {
    // The stream it belongs to: the longest base its name extends.
    const std::string name = path.substr(path.rfind('/') + 1);
    std::string base;
    for (const auto& b : bases) {
      if (name.starts_with(b + ".") && b.size() > base.size()) base = b;
    }
    OpenUnseen(path, dir + "/" + base, t, now_ns);
  }
}

// The candidates of OpenUnseenRotations, oldest first.
std::vector<std::pair<int64_t, std::string>> FileSource::Impl::UnseenRotations(
    const std::string& dir, const std::set<std::string>& bases, const FoundFiles& found,
    int64_t saved_ns) {
  std::vector<std::pair<int64_t, std::string>> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    std::string path = dir + "/" + name;
    if (found.contains(path) || positions_->FindByPath(path)) continue;
    const bool rotation = std::any_of(bases.begin(), bases.end(), [&](const std::string& b) {
      return name.size() > b.size() + 1 && name.starts_with(b) && name[b.size()] == '.';
    });
    if (!rotation || name.ends_with(".tmp")) continue;
    struct stat st;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
    if (mtime + kUnseenSlackNs <= saved_ns || files_.contains(FileKey{st.st_dev, st.st_ino})) {
      continue;
    }
    // Known by a record of its own (not of a file deleted before it took the inode).
    if (positions_->FindByIdentity({static_cast<uint64_t>(st.st_dev),
                                    static_cast<uint64_t>(st.st_ino), 0, 0, BirthNsAt(path)})) {
      continue;
    }
    if (IsGzName(name) && IsCopyOfKnownFile(path)) continue;
    out.emplace_back(mtime, std::move(path));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// A compressed copy of a file a record already knows (held, or read): not a rotation of its own.
bool FileSource::Impl::IsCopyOfKnownFile(const std::string& gz_path) {
  int fd = OpenToRead(gz_path, O_NOFOLLOW);
  if (fd < 0) return false;
  const std::optional<FileIdentity> id = GzIdentify(fd);
  ::close(fd);
  if (!id || id->fingerprint_len == 0) return false;
  for (const auto& r : positions_->All()) {
    if (r.identity.fingerprint_len == id->fingerprint_len &&
        r.identity.fingerprint == id->fingerprint) {
      return true;
    }
  }
  return false;
}

void FileSource::Impl::OpenUnseen(const std::string& path, const std::string& origin,
                                  const TargetState& t, int64_t now_ns) {
  const std::string base = path.substr(path.rfind('/') + 1);
  LOG_INFO("reading a rotation made while the agent was stopped",
           {{"path", path}, {"stream", origin}});
  int fd = OpenToRead(path, O_NOFOLLOW);
  if (fd < 0) return;
  PositionRecord rec;
  rec.path = path;
  rec.origin = origin == path ? "" : origin;
  std::optional<FileIdentity> id;
  struct stat st;
  if (IsGzName(base)) {
    id = GzIdentify(fd);
  } else if (::fstat(fd, &st) == 0) {
    if (auto r = Identify(fd, st)) id = *r;
  }
  ::close(fd);
  if (!id) return;
  rec.identity = *id;
  if (IsGzName(base)) {
    rec.compressed = true;
    OpenCompressed(path, rec, t, now_ns);
  } else {
    OpenRecovered(path, rec, t, now_ns);
  }
}

// A file of the positions file that no glob matches any more (rotated while stopped): read the
// rest from its offset, then let it go.
void FileSource::Impl::OpenRecovered(const std::string& where, const PositionRecord& rec,
                                     const TargetState& t, int64_t now_ns) {
  int fd = OpenToRead(where);
  if (fd < 0) return;
  if (!InsideSymlinkRoots(where, fd)) {
    ::close(fd);
    return;
  }
  struct stat st;
  std::optional<FileIdentity> id;
  if (::fstat(fd, &st) == 0 && SameInode(rec.identity, st) && BornAndStartsAs(fd, rec.identity) &&
      rec.offset <= static_cast<uint64_t>(st.st_size)) {
    if (auto r = Identify(fd, st)) id = *r;
  }
  if (!id) {  // another file under a reused inode, or shorter than the offset
    LOG_INFO("file found by inode has other content; not resuming it",
             {{"path", rec.path}, {"now_at", where}});
    ::close(fd);
    RemoveRecord(rec);
    return;
  }
  const std::string& origin = rec.origin_or_path();
  auto f =
      std::make_unique<TailedFile>(fd, origin, *id, rec.offset, FileLabels(t.target.labels, origin),
                                   t.target.handler, settings_);
  if (where != rec.path) RemoveRecord(rec);
  f->set_record_path(where);
  f->draining = true;
  f->drain_since_ns = now_ns;
  LOG_INFO("resuming a file rotated while stopped",
           {{"path", origin}, {"now_at", where}, {"offset", std::to_string(rec.offset)}});
  Adopt(std::move(f), t, now_ns);
}

}  // namespace skidder::sources
