// FileSource::Impl, part two: what files there are. Walks the targets' globs, notices files that
// moved away from their path (rotation, deletion, a removed target), opens new ones at the right
// offset, and finds files of the positions file again, also under a new name (rotated while the
// agent was stopped).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sources/file/file_source_impl.h"
#include "sources/file/gz.h"
#include "sources/file/identity.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

std::string DirName(const std::string& p) {
  size_t i = p.rfind('/');
  if (i == std::string::npos) return ".";
  return i == 0 ? "/" : p.substr(0, i);
}

// Where in dir the file with this device and inode is now; "" when nowhere.
std::string FindByInode(const std::string& dir, const FileIdentity& id) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return "";
  std::string out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_ino != id.ino) continue;  // d_ino is the inode for regular file systems
    std::string p = dir + "/" + e->d_name;
    struct stat st;
    if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && SameInode(id, st)) {
      out = std::move(p);
      break;
    }
  }
  ::closedir(d);
  return out;
}

// A record of an empty file (no fingerprint yet) cannot prove that a file found under another
// name by inode is the same one (inodes are reused at once), so that name must at least look like
// a rotation of the old one, and not a compressed or temporary copy.
bool PlausiblyRotated(const PositionRecord& rec, const std::string& where) {
  if (rec.identity.fingerprint_len > 0 || where == rec.path) return true;
  auto base = [](const std::string& p) { return std::string_view(p).substr(p.rfind('/') + 1); };
  std::string_view to = base(where);
  for (std::string_view ext : {".gz", ".tmp", ".bz2", ".xz", ".zst", ".zip"}) {
    if (to.ends_with(ext)) return false;
  }
  return to.starts_with(base(rec.path));
}

// The file at path is the one recorded: same inode and the same first bytes.
bool IsRecordedFile(const std::string& path, const FileIdentity& id) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool same = ::fstat(fd, &st) == 0 && SameInode(id, st) && FingerprintMatches(fd, id);
  ::close(fd);
  return same;
}

// File times are coarse (a clock tick) and a writer may finish a file in the same moment the
// positions are saved: files up to this much older than the save still count as possibly unread
// (reading one twice duplicates; skipping one would lose it).
constexpr int64_t kUnseenSlackNs = 2'000'000'000;

bool SameRecordFile(const std::optional<PositionRecord>& r, const FileIdentity& id) {
  return r && !r->imported && r->identity.dev == id.dev && r->identity.ino == id.ino;
}

}  // namespace

void FileSource::Impl::Discover(int64_t now_ns) {
  std::map<std::string, struct stat> found;
  std::map<std::string, TargetState*> found_target;
  std::map<std::string, TargetState*> dirs;
  watcher_.BeginPass();
  for (auto& t : targets_) {
    t->glob.Walk(
        [&](const std::string& dir) {
          watcher_.Add(dir);
          dirs.emplace(dir, t.get());
        },
        [&](const std::string& path, const struct stat& st) {
          if (t->exclude && t->exclude->Match(path)) return;
          if (held_.IsHeld(path)) return;  // our own links are never new files
          if (found.emplace(path, st).second) found_target[path] = t.get();
        });
  }
  watcher_.EndPass();
  std::map<FileKey, std::string> found_by_inode;
  for (const auto& [path, st] : found) {
    found_by_inode.emplace(FileKey{st.st_dev, st.st_ino}, path);
  }
  if (!orphans_checked_ && held_.enabled()) {
    orphans_checked_ = true;
    std::set<std::string> referenced;
    for (const auto& r : positions_->All()) referenced.insert(r.path);
    held_.RemoveOrphans(referenced);
  }
  CheckOpenFiles(found, found_by_inode, now_ns);
  ResolveRecords(dirs, found, now_ns);  // before OpenNew may reuse a rotated file's path
  for (const auto& [path, st] : found) {
    if (files_.contains(FileKey{st.st_dev, st.st_ino})) continue;
    OpenNew(path, *found_target[path], now_ns);
  }
  RebuildPathIndex();
  EnforceHeldBudget();
}

void FileSource::Impl::CheckOpenFiles(const std::map<std::string, struct stat>& found,
                                      const std::map<FileKey, std::string>& found_by_inode,
                                      int64_t now_ns) {
  for (auto& [key, f] : files_) {
    if (f->draining) continue;
    if (FindTarget(f->target_id) == nullptr) {
      StartDrain(*f, now_ns);
      continue;
    }
    auto it = found.find(f->record_path());
    if (it != found.end() && SameInode(f->identity(), it->second)) continue;
    auto moved = found_by_inode.find(key);
    if (moved != found_by_inode.end()) {
      f->set_record_path(moved->second);  // renamed to a name the glob matches too: keep going
      continue;
    }
    StartDrain(*f, now_ns);
  }
}

void FileSource::Impl::StartDrain(TailedFile& f, int64_t now_ns) {
  f.draining = true;
  f.drain_since_ns = now_ns;
  f.dirty = true;
  const std::string old = f.record_path();
  std::string where;
  struct stat st;
  if (!old.empty() && ::stat(old.c_str(), &st) == 0 && SameInode(f.identity(), st)) {
    where = old;  // still there (its target went away)
  } else if (!old.empty()) {
    where = FindByInode(DirName(old), f.identity());  // rotated by rename, or "" when deleted
  }
  if (where != old) {
    if (SameRecordFile(positions_->FindByPath(old), f.identity())) positions_->Remove(old);
    f.set_record_path(where);
    f.last_put = {};
  }
  LOG_INFO("file rotated or removed; reading it to the end",
           {{"path", f.path()}, {"now_at", where.empty() ? "(deleted)" : where}});
  HoldDraining(f);
}

void FileSource::Impl::ResolveRecords(const std::map<std::string, TargetState*>& dirs,
                                      const std::map<std::string, struct stat>& found,
                                      int64_t now_ns) {
  std::set<FileKey> busy;
  for (const auto& [key, f] : files_) busy.insert(key);
  for (const auto& ff : finished_) busy.insert(KeyOf(ff.record.identity));
  const std::vector<PositionRecord> records = positions_->All();
  if (resolved_.size() > 2 * records.size() + 1024) {  // forget records long gone
    std::set<std::pair<std::string, uint64_t>> live;
    for (const auto& r : records) {
      if (resolved_.contains({r.path, r.identity.ino})) live.insert({r.path, r.identity.ino});
    }
    resolved_.swap(live);
  }
  std::set<std::string> rotated_dirs;  // directories with records seen for the first time
  for (const PositionRecord& rec : records) {
    if (rec.imported || busy.contains(KeyOf(rec.identity))) continue;
    // A held link is resolved with the directory of the stream it came from.
    const std::string dir = DirName(held_.IsHeld(rec.path) ? rec.origin_or_path() : rec.path);
    auto d = dirs.find(dir);
    if (d == dirs.end()) continue;  // not (yet) a directory of ours: leave the record alone
    const bool first = resolved_.insert({rec.path, rec.identity.ino}).second;
    if (rec.compressed) {
      ResolveCompressed(rec, *d->second, first, now_ns);
      continue;
    }
    std::string where;
    struct stat st;
    if (held_.IsHeld(rec.path)) {
      if (::stat(rec.path.c_str(), &st) == 0 && SameInode(rec.identity, st)) where = rec.path;
    } else if (::stat(rec.path.c_str(), &st) != 0 || !SameInode(rec.identity, st)) {
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
      ResolveGone(dir, rec, *d->second, now_ns);
      continue;
    }
    if (found.contains(where) || rec.done) {
      if (where != rec.path) {  // re-key, so that opening it resumes by path
        PositionRecord moved = rec;
        moved.path = where;
        if (moved.origin.empty()) moved.origin = rec.path;
        if (moved.origin == where) moved.origin.clear();
        positions_->Remove(rec.path);
        positions_->Put(moved);
      }
      continue;
    }
    if (first) OpenRecovered(where, rec, *d->second, now_ns);
  }
  for (const std::string& dir : rotated_dirs) {
    if (scanned_dirs_.insert(dir).second) OpenUnseenRotations(dir, *dirs.at(dir), found, now_ns);
  }
}

// A record of a compressed rotation: read on inside it, or keep it known while it exists.
void FileSource::Impl::ResolveCompressed(const PositionRecord& rec, const TargetState& t,
                                         bool first, int64_t now_ns) {
  struct stat st;
  if (::stat(rec.path.c_str(), &st) == 0 && SameInode(rec.identity, st)) {
    if (first && !rec.done) OpenCompressed(rec.path, rec, t, now_ns);
    return;
  }
  if (!rec.done) {
    LOG_WARN("compressed rotation was deleted before it was read to the end",
             {{"path", rec.path}, {"offset", std::to_string(rec.offset)}});
  }
  positions_->Remove(rec.path);
}

// A file of the positions file is gone from its name and from its directory (compressed or
// deleted, while the agent was stopped or before it got to it). Its bytes may live on in a
// compressed copy: read the rest there. Only what no copy holds is lost.
void FileSource::Impl::ResolveGone(const std::string& dir, const PositionRecord& rec,
                                   const TargetState& t, int64_t now_ns) {
  positions_->Remove(rec.path);
  const std::string copy = FindCompressedCopy(dir, rec.origin_or_path(), rec.identity);
  if (copy.empty()) {
    if (rec.done) return;
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
  PositionRecord gz = rec;
  gz.path = copy;
  gz.compressed = true;
  gz.origin = rec.origin_or_path();
  if (rec.done) {  // read to the end before it was compressed: only keep the copy known
    struct stat st;
    if (::stat(copy.c_str(), &st) != 0) return;
    gz.identity.dev = static_cast<uint64_t>(st.st_dev);
    gz.identity.ino = static_cast<uint64_t>(st.st_ino);
    positions_->Put(gz);
    return;
  }
  LOG_INFO("file was compressed before it was read to the end; reading on inside the copy",
           {{"path", rec.path}, {"compressed_copy", copy}, {"offset", std::to_string(rec.offset)}});
  OpenCompressed(copy, gz, t, now_ns);
}

// Opens the gzip file at path and reads on from the record's (decompressed) offset.
void FileSource::Impl::OpenCompressed(const std::string& path, const PositionRecord& rec,
                                      const TargetState& t, int64_t now_ns) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return;
  struct stat st;
  std::unique_ptr<GzReader> reader;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && GzFingerprintMatches(fd, rec.identity)) {
    reader = GzReader::Open(fd);
  }
  if (!reader || files_.contains(FileKey{st.st_dev, st.st_ino})) {
    ::close(fd);
    return;
  }
  FileIdentity id = rec.identity;
  id.dev = static_cast<uint64_t>(st.st_dev);
  id.ino = static_cast<uint64_t>(st.st_ino);
  const std::string& origin = rec.origin_or_path();
  auto f = std::make_unique<TailedFile>(fd, origin, id, rec.offset,
                                        FileLabels(t.target.labels, origin), t.target.pipeline,
                                        metric_pool_.Get(origin), settings_);
  f->UseGzip(std::move(reader));
  f->set_record_path(path);
  f->draining = true;
  f->drain_since_ns = now_ns;
  Adopt(std::move(f), t, now_ns);
}

// Rotations that happened while the agent was stopped, beyond the one its positions file knows:
// files beside a stream's file, named like its rotations (plain or compressed), that no record
// knows and that were written after the positions file was last saved. They were never read, so
// they are read whole.
void FileSource::Impl::OpenUnseenRotations(const std::string& dir, const TargetState& t,
                                           const std::map<std::string, struct stat>& found,
                                           int64_t now_ns) {
  const int64_t saved_ns = positions_->loaded_mtime_ns();
  if (saved_ns == 0) return;
  std::set<std::string> bases;  // the stream files of this directory
  for (const auto& [path, st] : found) {
    if (DirName(path) == dir) bases.insert(path.substr(path.rfind('/') + 1));
  }
  for (const auto& r : positions_->All()) {
    const std::string& o = r.origin_or_path();
    if (DirName(o) == dir) bases.insert(o.substr(o.rfind('/') + 1));
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
    const std::string& dir, const std::set<std::string>& bases,
    const std::map<std::string, struct stat>& found, int64_t saved_ns) {
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
    if (positions_->FindByIdentity({static_cast<uint64_t>(st.st_dev),
                                    static_cast<uint64_t>(st.st_ino), 0, 0})) {
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
  int fd = ::open(gz_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
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
  int fd = ::open(where.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  if (!InsideSymlinkRoots(where, fd)) {
    ::close(fd);
    return;
  }
  struct stat st;
  std::optional<FileIdentity> id;
  if (::fstat(fd, &st) == 0 && SameInode(rec.identity, st) &&
      FingerprintMatches(fd, rec.identity) && rec.offset <= static_cast<uint64_t>(st.st_size)) {
    if (auto r = Identify(fd, st)) id = *r;
  }
  if (!id) {  // another file under a reused inode, or shorter than the offset
    LOG_INFO("file found by inode has other content; not resuming it",
             {{"path", rec.path}, {"now_at", where}});
    ::close(fd);
    positions_->Remove(rec.path);
    return;
  }
  const std::string& origin = rec.origin_or_path();
  auto f = std::make_unique<TailedFile>(fd, origin, *id, rec.offset,
                                        FileLabels(t.target.labels, origin), t.target.pipeline,
                                        metric_pool_.Get(origin), settings_);
  if (where != rec.path) positions_->Remove(rec.path);
  f->set_record_path(where);
  f->draining = true;
  f->drain_since_ns = now_ns;
  LOG_INFO("resuming a file rotated while stopped",
           {{"path", origin}, {"now_at", where}, {"offset", std::to_string(rec.offset)}});
  Adopt(std::move(f), t, now_ns);
}

void FileSource::Impl::OpenNew(const std::string& path, const TargetState& t, int64_t now_ns) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    LOG_WARN("cannot open file", {{"path", path}, {"error", std::strerror(errno)}});
    return;
  }
  if (!InsideSymlinkRoots(path, fd)) {
    ::close(fd);
    return;
  }
  struct stat st;
  Result<FileIdentity> id = Err(Internal("fstat"));
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) id = Identify(fd, st);
  if (!id || files_.contains(KeyOf(*id))) {
    ::close(fd);
    return;
  }
  const uint64_t offset = StartOffset(path, fd, *id, static_cast<uint64_t>(st.st_size));
  LOG_INFO("tailing file", {{"path", path}, {"offset", std::to_string(offset)}});
  auto f = std::make_unique<TailedFile>(fd, path, *id, offset, FileLabels(t.target.labels, path),
                                        t.target.pipeline, metric_pool_.Get(path), settings_);
  struct stat link;
  f->via_symlink = ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
  Adopt(std::move(f), t, now_ns);
}

// Where a newly found file starts: its own position (same identity, or imported from Promtail
// and still within the file), a position recorded under another name (renamed while stopped),
// or 0.
uint64_t FileSource::Impl::StartOffset(const std::string& path, int fd, const FileIdentity& id,
                                       uint64_t size) {
  if (auto r = positions_->FindByPath(path)) {
    if (r->imported) return r->offset <= size ? r->offset : 0;
    if (r->identity.dev == id.dev && r->identity.ino == id.ino &&
        FingerprintMatches(fd, r->identity)) {
      return r->offset <= size ? r->offset : 0;
    }
  }
  if (auto r = positions_->FindByIdentity(id)) {
    if (r->path != path && FingerprintMatches(fd, r->identity) && r->offset <= size) {
      positions_->Remove(r->path);
      return r->offset;
    }
  }
  return 0;
}

void FileSource::Impl::Adopt(std::unique_ptr<TailedFile> f, const TargetState& t, int64_t now_ns) {
  f->target_id = t.target.id;
  f->open_seq = next_open_seq_++;
  f->idle_since_ns = now_ns;
  f->dirty = true;
  if (f->draining) HoldDraining(*f);
  // Over max_open_files with nothing idle to close: wait parked, read when a slot frees.
  if (!f->draining && !EnsureFdSlot(nullptr)) f->Park();
  FileKey key = KeyOf(f->identity());
  files_[key] = std::move(f);
}

void FileSource::Impl::RebuildPathIndex() {
  by_path_.clear();
  for (auto& [key, f] : files_) {
    if (!f->record_path().empty()) by_path_[f->record_path()] = f.get();
  }
}

}  // namespace skidder::sources

namespace skidder::sources {

// A file that left its name (or whose target went away) and is not read to the end yet: link
// it into the held directory, so that a crash after the kubelet deletes it loses nothing. The
// positions record names the link from now on.
void FileSource::Impl::HoldDraining(TailedFile& f) {
  const std::string at = f.record_path();
  if (!held_.enabled() || at.empty() || held_.IsHeld(at)) return;
  const std::string link = held_.Hold(at, f.identity());
  if (link.empty()) return;
  if (SameRecordFile(positions_->FindByPath(at), f.identity())) positions_->Remove(at);
  f.held_from = at;
  f.set_record_path(link);
  // Saved at once (a rotation is rare; this is one small write): a link whose record did not
  // reach the disk is an orphan after a crash, and orphans are removed at start.
  f.last_put = f.Record();
  positions_->Put(f.last_put);
  if (Status st = positions_->Save(); !st.ok()) {
    LOG_WARN("cannot save positions after holding a rotated file", {{"error", st.message()}});
  }
}

// Everything in a held file is acknowledged: the link goes, and the record moves back to the
// file's own rotated name (done), so that a restart neither reopens it nor takes it for a
// rotation it never saw.
void FileSource::Impl::ReleaseHeld(FinishedFile& ff) {
  held_.Release(ff.record.path);
  std::string home = ff.held_from;
  struct stat st;
  if (home.empty() || ::stat(home.c_str(), &st) != 0 || !SameInode(ff.record.identity, st)) {
    home = FindByInode(DirName(ff.record.origin_or_path()), ff.record.identity);
  }
  positions_->Remove(ff.record.path);
  ff.record.path = home.empty() ? ff.held_from : home;
  if (ff.record.path == ff.record.origin) ff.record.origin.clear();
}

// Disk kept alive only by held links stays within held_max_bytes: the oldest held files are let
// go first, unread, and what they still held is counted as lost.
void FileSource::Impl::EnforceHeldBudget() {
  if (held_.dir().empty()) return;
  std::vector<std::pair<uint64_t, TailedFile*>> held;  // open order, file
  uint64_t total = 0;
  for (auto& [key, f] : files_) {
    if (!held_.IsHeld(f->record_path())) continue;
    total += HeldFiles::OnlyHeldBytes(f->record_path());
    held.emplace_back(f->open_seq, f.get());
  }
  if (total <= held_.max_bytes()) return;
  std::sort(held.begin(), held.end());
  for (auto& [seq, f] : held) {
    if (total <= held_.max_bytes()) break;
    const std::string link = f->record_path();
    const uint64_t only = HeldFiles::OnlyHeldBytes(link);
    struct stat st;
    uint64_t size = f->read_offset();
    if (::stat(link.c_str(), &st) == 0) size = static_cast<uint64_t>(st.st_size);
    const uint64_t lost = f->compressed() ? 0 : size - std::min(size, f->read_offset());
    held_.Release(link);
    positions_->Remove(link);
    f->set_record_path("");
    f->Park();  // stop reading it: what it still held is gone
    f->dirty = false;
    total -= std::min(total, only);
    metrics_->lost_bytes.With({telemetry::kReasonHeldBudget})->Add(static_cast<double>(lost));
    LOG_ERROR("held rotated files are over positions.held_max_bytes; letting the oldest go unread",
              {{"path", f->path()},
               {"held_as", link},
               {"lost_bytes", std::to_string(lost)},
               {"held_max_bytes", std::to_string(held_.max_bytes())}});
  }
}

}  // namespace skidder::sources

namespace skidder::sources {

// With target_config.symlink_roots, the file actually opened (its real path, read back from the
// open descriptor so a link swapped after the check cannot slip through) must lie under a root.
bool FileSource::Impl::InsideSymlinkRoots(const std::string& path, int fd) {
  if (real_roots_.empty()) return true;
  char buf[4096];
  const std::string proc = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(proc.c_str(), buf, sizeof buf - 1);
  if (n > 0) {
    const std::string_view real(buf, static_cast<size_t>(n));
    for (const std::string& root : real_roots_) {
      if (real.size() > root.size() && real.starts_with(root) &&
          (root.back() == '/' || real[root.size()] == '/')) {
        return true;
      }
    }
  }
  metrics_->symlinks_refused.With({})->Add();
  if (refused_links_.insert(path).second) {
    LOG_WARN("not reading a file whose real path is outside target_config.symlink_roots",
             {{"path", path}, {"real_path", n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?"}});
  }
  return false;
}

}  // namespace skidder::sources
