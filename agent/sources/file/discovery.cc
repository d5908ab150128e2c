// FileSource::Impl, part two: what files there are. Walks the targets' globs, notices files that
// moved away from their path (rotation, deletion, a removed target) and opens new ones at the
// right offset. What the positions file knows is resolved in recovery.cc, held links in
// holding.cc.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "sources/file/decompress.h"
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
using file_util::OtherFileOnInode;
using file_util::PlausiblyRotated;
using file_util::SameRecordFile;

namespace {

// Just after the last '\n' of the file's first size bytes (Alloy's tail_from_end: an unfinished
// last line is read once it ends); 0 when it has none.
uint64_t LastLineEnd(int fd, uint64_t size) {
  char buf[64 * 1024];
  uint64_t end = size;
  while (end > 0) {
    const uint64_t start = end > sizeof buf ? end - sizeof buf : 0;
    const ssize_t n = ::pread(fd, buf, end - start, static_cast<off_t>(start));
    if (n <= 0) return 0;  // unreadable now: from the start, as without tail_from_end
    for (ssize_t i = n; i > 0; --i) {
      if (buf[i - 1] == '\n') return start + static_cast<uint64_t>(i);
    }
    end = start;
  }
  return 0;
}

}  // namespace

void FileSource::Impl::Discover(int64_t now_ns, const DirSet* only, NewDirWalk* made) {
  FoundFiles found;
  WalkedDirs dirs;
  // A regular file the listing shows needs no stat when it is the file the reader holds open at
  // that path (only its identity is used then), or when no open file has its inode: a new file,
  // which OpenNew opens and fstat()s anyway. Anything else (a name whose file changed, an open
  // file under a new name) is stat'ed, so that CheckOpenFiles compares real identities.
  TargetState* walking = nullptr;  // the target the files reported now are for
  // A new file is opened as the walk lists it, on the directory's descriptor: the kernel looks
  // up one name, where opening it by path after the walk looked up every directory on the way
  // again (with the directories opened likewise, a first pass's walk and opens over 10,000 pod
  // logs take 6-19 % less: BM_WalkAndOpenNewFiles). Up to max_open_files; the rest, and
  // anything the walk did not open, OpenNew opens by path. An fd no one takes is closed.
  UniqueFd preopened;
  std::string preopened_path;
  size_t preopened_count = 0;
  const auto preopen = [&](const std::string& path, const Glob::Listed& at) {
    preopened.reset();
    if (at.dir_fd < 0 || walking == nullptr || held_.IsHeld(path)) return;
    if (walking->exclude && walking->exclude->Match(path)) return;
    if (walking->target.decompression.enabled && HasCompressedExtension(path)) return;
    if (OpenCount() + preopened_count >= std::max<size_t>(opts_.max_open_files, 1)) return;
    preopened.reset(OpenAtNoAtime(at.dir_fd, at.name, kOpenToReadFlags | O_NOFOLLOW));
    preopened_path = path;
  };
  const Glob::KnownFn known = [&](const std::string& path, const Glob::Listed& at, WalkedFile* w) {
    if (const TailedFile* f = by_path_.Find(path)) {
      if (f->identity().ino != at.ino) return false;
      *w = WalkedFile{f->identity().dev, at.ino, true, f->via_symlink};
      return true;
    }
    if (InodeOpen(at.ino)) return false;
    *w = WalkedFile{0, at.ino, false, false};
    preopen(path, at);
    return true;
  };
  const Glob::FileFn add = [&](const std::string& path, const WalkedFile& w) {
    // Per target in order, as the walk: the first one that finds a file has it.
    auto [it, fresh] = found.try_emplace(path, FoundFile{w, walking, UniqueFd()});
    if (fresh && preopened.valid() && preopened_path == path) {
      it->second.fd = std::move(preopened);
      ++preopened_count;
    }
  };
  const Glob::DirFn walk_dir = [&](const std::string& dir) {
    watcher_->Add(dir);
    dirs.Add(dir, walking);
    if (made != nullptr) made->walked.insert(dir);
  };
  const Glob::FileFn walk_file = [&](const std::string& path, const WalkedFile& w) {
    if (walking->exclude && walking->exclude->Match(path)) return;
    if (held_.IsHeld(path)) return;  // our own links are never new files
    add(path, w);
  };
  DirSet scope;  // a partial pass: the directories it listed
  if (only != nullptr) ListOnly(*only, dirs, &walking, add, known);
  if (made != nullptr) {
    for (auto& t : targets_) {
      walking = t.get();
      for (const std::string& dir : made->dirs) t->glob.WalkUnder(dir, walk_dir, walk_file, known);
    }
    scope = made->walked;
    if (only != nullptr) scope.insert(only->begin(), only->end());
    only = &scope;
  }
  if (only == nullptr) {
    watcher_->BeginPass();
    for (auto& t : targets_) {
      walking = t.get();
      t->glob.Walk(walk_dir, walk_file, known);
    }
    watcher_->EndPass();
  }
  preopened.reset();
  dirs.Seal();
  // Links no record names are orphans, but only when the records could be read: those of an
  // unreadable positions file (kept, for the operator to fix) or a corrupt one (set aside) may
  // name them still, and a link is the last copy of a deleted file's unread bytes.
  if (only == nullptr && !orphans_checked_ && held_.enabled() && !positions_->own_file_lost()) {
    orphans_checked_ = true;
    std::set<std::string> referenced;
    for (const auto& r : positions_->All()) referenced.insert(r.path);
    held_.RemoveOrphans(referenced);
  }
  CheckOpenFiles(found, now_ns, only);
  ResolveRecords(dirs, found, now_ns, only);  // before OpenNew may reuse a rotated file's path
  for (auto& [path, w] : found) {
    if (w.exact) {
      if (auto open = files_.find(FileKey{w.dev, w.ino}); open != files_.end()) {
        // A parked file being read to its end (deleted, perhaps, and its inode this new file's):
        // the new file waits for it to close (CloseDrained asks for a pass then).
        if (open->second->draining && open->second->parked()) inode_reused_.insert(open->first);
        continue;
      }
    }
    // Files resumed from their records just now (a held link, a file renamed while stopped) may
    // be what the listing shows under another name, unstat'ed: look at those by identity.
    if (!w.exact && InodeOpen(w.ino) && OpenElsewhere(path)) continue;
    OpenNew(path, w, *w.target, now_ns, std::move(w.fd));
  }
  for (auto it = rotated_since_.begin(); it != rotated_since_.end();) {
    if (only != nullptr && !only->contains(it->first)) {
      ++it;  // not listed by this pass: the next that lists it looks
      continue;
    }
    if (const TargetState* t = dirs.Find(it->first)) {
      OpenUnseenRotations(it->first, *t, found, it->second, now_ns);
    }
    it = rotated_since_.erase(it);
  }
  // Checked before a full pass's rebuild too, so that debug builds test the upkeep of every
  // pass, not the rebuild's result.
  assert(PathIndexInStep());
  if (only == nullptr) RebuildPathIndex();
  EnforceHeldBudget();
  assert(PathIndexInStep());
}

// Whether an open file has this inode, on any device (a listing gives the inode alone). files_
// is ordered by device: a lookup per device with open files (a few). A set of every open inode,
// built per pass, made even a pass over one directory cost time per open file.
bool FileSource::Impl::InodeOpen(uint64_t ino) const {
  for (auto it = files_.begin(); it != files_.end();) {
    const uint64_t dev = it->first.first;
    if (files_.contains(FileKey{dev, ino})) return true;
    if (dev == UINT64_MAX) break;
    it = files_.lower_bound(FileKey{dev + 1, 0});
  }
  return false;
}

// The file at path (found by a listing that gave only its inode) is one the reader has open,
// under another name.
bool FileSource::Impl::OpenElsewhere(const std::string& path) const {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && files_.contains(FileKey{st.st_dev, st.st_ino});
}

// A pass over the directories in `dirs` alone: each is listed once, for the first target whose
// walk lists it (as a walk would have), and its files go to the first target that matches them.
void FileSource::Impl::ListOnly(const DirSet& only, WalkedDirs& dirs, TargetState** walking,
                                const Glob::FileFn& add, const Glob::KnownFn& known) {
  std::vector<TargetState*> listing;
  for (const std::string& dir : only) {
    listing.clear();
    for (auto& t : targets_) {
      if (t->glob.ListsDir(dir)) listing.push_back(t.get());
    }
    if (listing.empty()) continue;
    dirs.Add(dir, listing.front());
    const auto want = [&](const std::string& path) {
      if (held_.IsHeld(path)) return false;
      for (TargetState* t : listing) {
        if (t->glob.Match(path) && !(t->exclude && t->exclude->Match(path))) {
          *walking = t;
          return true;
        }
      }
      return false;
    };
    Glob::ListFiles(dir, want, add, known);
  }
}

DirSet FileSource::Impl::DiscoverEventDirs(const WatchEvents& ev, int64_t now_ns) {
  std::optional<DirSet> dirs = EventDirs(ev);
  if (!dirs) {
    rescan_ = true;
    return {};
  }
  if (ev.new_dirs.empty()) {
    if (!dirs->empty()) Discover(now_ns, &*dirs);
    return std::move(*dirs);
  }
  // One pass for both, so that a file renamed from a listed directory into a new one is found
  // open under its new name.
  NewDirWalk made{ev.new_dirs, {}};
  Discover(now_ns, dirs->empty() ? nullptr : &*dirs, &made);
  dirs->merge(made.walked);
  return std::move(*dirs);
}

std::optional<DirSet> FileSource::Impl::EventDirs(const WatchEvents& ev) const {
  DirSet dirs;
  if (rescan_ || ev.rescan) return std::nullopt;
  dirs.insert(ev.rescan_dirs.begin(), ev.rescan_dirs.end());
  // A file renamed into another directory: listing both finds it open under its new name.
  if (!dirs.empty()) {
    for (const std::string& path : ev.created) dirs.insert(DirName(path));
  }
  for (const std::string& dir : dirs) {
    const bool listed = std::any_of(targets_.begin(), targets_.end(),
                                    [&](const auto& t) { return t->glob.ListsDir(dir); });
    if (!listed || watcher_->IsPolled(dir)) return std::nullopt;  // unsure what walks it
  }
  // A directory gone: listing it finds nothing, and its open files are read to their end. One
  // no glob lists held no file of ours (a pod's own directory above its containers').
  for (const std::string& dir : ev.gone_dirs) {
    if (std::any_of(targets_.begin(), targets_.end(),
                    [&](const auto& t) { return t->glob.ListsDir(dir); })) {
      dirs.insert(dir);
    }
  }
  return dirs;
}

void FileSource::Impl::CheckOpenFiles(const FoundFiles& found, int64_t now_ns, const DirSet* only) {
  // The files to look at: every open one, or those in the listed directories alone.
  std::vector<TailedFile*> check;
  if (only == nullptr) {
    check.reserve(files_.size());
    for (auto& [key, f] : files_) check.push_back(f.get());
  } else {
    for (const std::string& dir : *only) by_path_.FilesIn(dir, &check);
    // And an open file the pass found under a new name whose old directory it did not list:
    // renamed into a directory made since the last pass, before that one was watched, so no
    // event about the old directory has come yet (when it comes, the file is at its new name).
    // Unless the old name is still there too (a second link to the file).
    for (const auto& [path, w] : found) {
      if (!w.exact) continue;
      auto it = files_.find(FileKey{w.dev, w.ino});
      if (it == files_.end()) continue;
      TailedFile* f = it->second.get();
      const std::string& old = f->record_path();
      if (old == path || old.empty() || only->contains(file_util::DirNameView(old))) continue;
      if (IsAt(old, f->identity())) continue;
      check.push_back(f);
    }
  }
  // Built only when an open file is not at its path: the found files by inode (a rename to a
  // name the glob also matches).
  std::map<FileKey, const std::string*> found_by_inode;
  bool indexed = false;
  for (TailedFile* f : check) {
    if (f->draining) continue;
    if (FindTarget(f->target_id) == nullptr) {
      // No glob finds it now; one lingering (ApplyTargets) goes on while it is at its path.
      if (f->linger_until_ns == 0 || !StillAtItsPath(*f)) StartDrain(*f, now_ns);
      continue;
    }
    auto it = found.find(f->record_path());
    if (it != found.end() && it->second.exact &&
        KeyOf(f->identity()) == FileKey{it->second.dev, it->second.ino}) {
      continue;
    }
    if (!indexed) {
      // Only exact entries: the others are files no open file is (Discover's KnownFn).
      for (const auto& [path, w] : found) {
        if (w.exact) found_by_inode.emplace(FileKey{w.dev, w.ino}, &path);
      }
      indexed = true;
    }
    auto moved = found_by_inode.find(KeyOf(f->identity()));
    if (moved != found_by_inode.end() && f->parked() &&
        OtherFileOnInode(*moved->second, f->identity())) {
      LetGoReused(*f);
      continue;
    }
    if (moved != found_by_inode.end()) {
      MoveRecord(*f, *moved->second);  // renamed to a name the glob matches too: keep going
      Touch(*f);
      MarkDirty(*f);  // written where no watch saw it, perhaps (a directory made since a pass)
      if (found.at(*moved->second).via_link && !f->via_symlink) {
        f->via_symlink = true;  // found through a link now: its writes raise no event of ours
        NoteTicked(*f);
      }
      continue;
    }
    StartDrain(*f, now_ns);
  }
}

void FileSource::Impl::StartDrain(TailedFile& f, int64_t now_ns) {
  f.draining = true;
  f.drain_since_ns = now_ns;
  EndLinger(f);
  MarkDirty(f);
  Touch(f);
  NoteTicked(f);
  const std::string old = f.record_path();
  std::string where;
  if (!old.empty() && IsAt(old, f.identity())) {
    where = old;  // still there (its target went away)
  } else if (!old.empty()) {
    where = FindByInode(DirName(old), f.identity());  // rotated by rename, or "" when deleted
  }
  if (f.parked() && !where.empty() && OtherFileOnInode(where, f.identity())) {
    // Deleted while parked, and its inode a new file's: nothing of this file is left to read,
    // hold or point its record at.
    LetGoReused(f);
    return;
  }
  // A file read through a link (/var/log/containers/*.log) is rotated beside the link's target,
  // in a directory no glob of ours names: held from there (HoldBesideLink), its record names the
  // link at once, never that directory.
  bool held_beside_link = false;
  if (where.empty() && !old.empty() && f.via_symlink) {
    where = HoldBesideLink(f);
    held_beside_link = !where.empty();
    // The runtime creates the new file a moment after the rename; this pass may have found the
    // link dangling, and with the rotated file closed no tick would look at it again (PollTick).
    struct stat st;
    if (::stat(f.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      relinked_[f.path()] = now_.steady_ns + kRelinkWatchNs;
    }
  }
  if (where != old) MoveRecord(f, where);
  LOG_INFO("file rotated or removed; reading it to the end",
           {{"path", f.path()}, {"now_at", where.empty() ? "(deleted)" : where}});
  if (where != old && !old.empty()) {
    // Under load a file can be created and rotated between two passes, never seen: look.
    auto [it, fresh] = rotated_since_.emplace(DirName(old), f.opened_wall_ns);
    if (!fresh) it->second = std::min(it->second, f.opened_wall_ns);
  }
  if (held_beside_link) {
    SaveHeldRecord();
  } else {
    HoldDraining(f);
  }
}

void FileSource::Impl::LetGoParked(TailedFile& f, const char* why) {
  LOG_WARN(why, {{"path", f.record_path()}, {"offset", std::to_string(f.read_offset())}});
  f.draining = true;
  EndLinger(f);
  // Nothing more of it can be read: its record says so (done, at what was read), so that the
  // pass that finds the record's file gone counts no loss for entries still in flight. The
  // record is no longer this file's: when this one's entries are acknowledged, nothing is put
  // back over a new file's there.
  if (!f.record_path().empty()) {
    f.FillRecord(&record_);
    record_.offset = f.read_offset();
    record_.done = true;
    positions_->Put(record_);
    if (let_go_paths_.size() >= 4096) let_go_paths_.clear();  // a hint only: bounded
    let_go_paths_.insert(f.record_path());
  }
  SetRecordPath(f, "");
  f.dirty = false;
  Touch(f);
  NoteTicked(f);
  rescan_ = true;
}

void FileSource::Impl::LetGoReused(TailedFile& f) {
  LetGoParked(f, "parked file was deleted and its inode taken by a new file");
  // The new file shares this one's key: a pass opens it once this one has closed (CloseDrained).
  inode_reused_.insert(KeyOf(f.identity()));
}

void FileSource::Impl::OpenNew(const std::string& path, const WalkedFile& walked,
                               const TargetState& t, int64_t now_ns, UniqueFd opened) {
  if (t.target.decompression.enabled && HasCompressedExtension(path)) {
    struct stat st;  // the archive's own identity (the walk may know only the listing's)
    if (::stat(path.c_str(), &st) == 0) OpenDecompressed(path, st, t, now_ns);
    return;
  }
  int fd = opened.valid() ? opened.release() : OpenNoAtime(path.c_str(), kOpenToReadFlags);
  if (fd < 0) {
    LOG_WARN("cannot open file", {{"path", path}, {"error", std::strerror(errno)}});
    return;
  }
  if (!InsideSymlinkRoots(path, fd)) {
    ::close(fd);
    return;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      MovedSinceWalk(path, walked, st, t, now_ns) ||
      files_.contains(FileKey{st.st_dev, st.st_ino})) {
    ::close(fd);
    return;
  }
  // Where it starts needs only the inode and birth time (records' fingerprints are checked
  // against the file).
  std::string superseded;  // a record of this file under another name: removed once it opened
  FileIdentity inode = InodeIdentity(st);
  inode.born_ns = BirthNs(fd);
  uint64_t offset = StartOffset(path, fd, inode, static_cast<uint64_t>(st.st_size), &superseded);
  const FileKey key{st.st_dev, st.st_ino};
  if (offset == 0 && superseded.empty() && t.target.tail_from_end && TailsFromEnd(path, fd)) {
    // The end as first seen: a retry after a failed open must not skip what came since.
    auto [it, fresh] = tail_starts_.try_emplace(key, 0);
    if (fresh) it->second = LastLineEnd(fd, static_cast<uint64_t>(st.st_size));
    offset = it->second;
  }
  Result<FileIdentity> id = OpeningIdentity(fd, st, offset);
  if (!id) {  // unreadable: the next pass tries again, from the record still there
    ::close(fd);
    return;
  }
  tail_starts_.erase(key);
  let_go_paths_.erase(path);
  if (!superseded.empty()) positions_->Remove(superseded);
  LOG_INFO("tailing file", {{"path", path}, {"offset", std::to_string(offset)}});
  auto f = std::make_unique<TailedFile>(fd, path, *id, offset, FileLabels(t.target.labels, path),
                                        t.target.handler, settings_);
  f->NoteOpened(st);
  f->via_symlink = walked.via_link;
  Adopt(std::move(f), t, now_ns);
}

// Whether the file the walk saw at path (walked) is not the one opened there (st) because it was
// rotated between the walk and now: it left its name before it was ever opened, and no glob will
// find it again. It is opened where it went; the next pass takes the new file at the path.
// An inode from the listing alone may also differ for good: d_ino of a mount point is the
// covered inode, not the mounted file's. So without a file by that inode beside path (or with
// it open already), the opened file is path's own; else every pass would find it "rotated".
bool FileSource::Impl::MovedSinceWalk(const std::string& path, const WalkedFile& walked,
                                      const struct stat& st, const TargetState& t, int64_t now_ns) {
  if (walked.exact) {
    if (SameInode(FileIdentity{.dev = walked.dev, .ino = walked.ino}, st)) return false;
    rescan_ = true;
    OpenMovedAway(path, walked, t, now_ns);
    return true;
  }
  if (walked.ino == static_cast<uint64_t>(st.st_ino)) return false;
  // A rotation keeps a file on its file system: the one opened at path tells the device.
  const WalkedFile left{static_cast<uint64_t>(st.st_dev), walked.ino, true, false};
  if (!OpenMovedAway(path, left, t, now_ns)) return false;
  rescan_ = true;
  return true;
}

// Where a newly found file starts: its own position (same identity, or imported from Promtail
// and still within the file), a position recorded under another name (renamed while stopped),
// or 0.
uint64_t FileSource::Impl::StartOffset(const std::string& path, int fd, const FileIdentity& id,
                                       uint64_t size, std::string* superseded) {
  if (auto r = positions_->FindByPath(path)) {
    if (r->imported) return r->offset <= size ? r->offset : 0;
    if (r->identity.dev == id.dev && r->identity.ino == id.ino &&
        BornAndStartsAs(fd, r->identity)) {
      return r->offset <= size ? r->offset : 0;
    }
  }
  if (auto r = positions_->FindByIdentity(id)) {
    if (r->path != path && BornAndStartsAs(fd, r->identity) && r->offset <= size) {
      if (superseded != nullptr) {
        *superseded = r->path;
      } else {
        positions_->Remove(r->path);
      }
      return r->offset;
    }
  }
  return 0;
}

bool FileSource::Impl::TailsFromEnd(const std::string& path, int fd) const {
  // A file where one of ours was, or is, replaced it: a rotation (or a parked file's name whose
  // file was let go), read from its start. Without the positions the file held, no file can be
  // told to be one we had read: all are read whole.
  if (positions_->lost() || by_path_.Find(path) != nullptr || positions_->FindByPath(path) ||
      let_go_paths_.contains(path)) {
    return false;
  }
  // Born since the agent last ran (the positions file's last write; else this start): its lines
  // are new, whether it replaced a file of ours while the agent was stopped (its record moved
  // with the old file) or is a new file.
  if (const int64_t born = BirthNs(fd); born != 0) {
    const int64_t ran = positions_->loaded_mtime_ns();
    return born < (ran != 0 ? std::min(ran, started_wall_ns_) : started_wall_ns_);
  }
  return true;  // no birth time on this file system: as Alloy, from the end
}

void FileSource::Impl::Adopt(std::unique_ptr<TailedFile> f, const TargetState& t, int64_t now_ns) {
  const FileKey key = KeyOf(f->identity());
  if (auto open = files_.find(key); open != files_.end()) {
    // The last guard (the callers check): the file open under another name keeps its offset and
    // acknowledgements, where replacing it would read the file again from this one's offset.
    LOG_WARN("file already open under another name; not opening it twice",
             {{"path", f->record_path()}, {"open_as", open->second->record_path()}});
    return;
  }
  f->target_id = t.target.id;
  f->open_seq = next_open_seq_++;
  f->opened_wall_ns = now_ns;
  f->idle_since_ns = now_ns;
  if (f->draining) HoldDraining(*f);
  // Over max_open_files with nothing idle to close: wait parked, read when a slot frees.
  if (!f->draining && !EnsureFdSlot(nullptr)) f->Park();
  TailedFile& added = *f;
  files_[key] = std::move(f);
  added.adopted = true;
  by_path_.Add(&added);
  MarkDirty(added);
  Touch(added);
  if (added.draining || added.via_symlink || watcher_->IsPolled(DirName(added.path()))) {
    NoteTicked(added);
  }
  // A new file mostly has its target's handler, already flushed: no rebuild of the list.
  if (added.handler() != nullptr &&
      std::find(handlers_.begin(), handlers_.end(), added.handler()) == handlers_.end()) {
    HandlersChanged();
  }
}

// Only the plain case: a name no open file has, a file not open under another name, which a
// target wants. Anything else asks for a pass, which sorts out what moved where.
void FileSource::Impl::OpenCreated(const std::string& path, int64_t now_ns) {
  if (held_.IsHeld(path)) return;  // our own links are never new files
  if (by_path_.Find(path) != nullptr) {
    rescan_ = true;  // replaced an open file's name (rename over it)
    return;
  }
  const TargetState* t = nullptr;
  for (const auto& ts : targets_) {
    if (ts->glob.Match(path) && !(ts->exclude && ts->exclude->Match(path))) {
      t = ts.get();
      break;
    }
  }
  if (t == nullptr) return;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return;  // gone again
  const bool link = S_ISLNK(st.st_mode);
  if (link && ::stat(path.c_str(), &st) != 0) return;
  if (!S_ISREG(st.st_mode)) return;
  const FileKey key{st.st_dev, st.st_ino};
  if (files_.contains(key)) {
    rescan_ = true;  // a file we read, under a new name
    return;
  }
  OpenNew(path, WalkedFile{key.first, key.second, true, link}, *t, now_ns);
}

// After a full pass, which may have made directories polled (their open files then need ticks):
// the lists of ticked files and (as a safety net) the path index are built anew.
void FileSource::Impl::RebuildPathIndex() {
  TickedChanged();
  by_path_.Clear();
  for (auto& [key, f] : files_) {
    by_path_.Add(f.get());
  }
}

// f is now at `path` ("": nowhere, deleted): its record follows, put under the new name before
// the old one goes. Left to the next SyncPositions, a save between (the runtime syncs, then
// saves, while a pass may run) wrote neither, and a crash then read the file again from its
// start.
void FileSource::Impl::MoveRecord(TailedFile& f, const std::string& path, int depth) {
  const std::string old = f.record_path();
  if (!path.empty() && path != old) MoveAside(path, f.identity(), depth);
  SetRecordPath(f, path);
  if (!path.empty()) {
    f.FingerprintUnread();
    f.FillRecord(&record_);
    positions_->Put(record_);
    f.NotePut(record_);
  }
  if (SameRecordFile(positions_->FindByPath(old), f.identity())) positions_->Remove(old);
}

// logrotate's numbered names move every file on at each rotation (app.log.1 -> app.log.2, then
// app.log -> app.log.1), often within one batch of events. Put at app.log.1, the new rotation's
// record would replace the record of the file that was there, which then, with no record by path
// or inode, looks like a rotation never seen and is read again, whole. So that record follows its
// file first: by inode (the same first bytes), down a chain of renames; or, compressed and
// deleted meanwhile (delaycompress: app.log.1 -> app.log.1.gz -> app.log.2.gz), to its copy, as
// ResolveGone would have put it (ResolveRecords, later in the pass, reads on inside the copy if
// the file was not read to its end).
void FileSource::Impl::MoveAside(const std::string& path, const FileIdentity& incoming, int depth) {
  const std::optional<PositionRecord> there = positions_->FindByPath(path);
  if (!there || there->imported || depth > 64 ||
      (there->identity.dev == incoming.dev && there->identity.ino == incoming.ino)) {
    return;
  }
  if (there->compressed) {  // a copy moved up a number (app.log.1.gz -> app.log.2.gz)
    const std::string to = FindCompressedByInode(DirName(path), there->identity);
    if (to.empty() || to == path) return;
    if (auto open = files_.find(KeyOf(there->identity));
        open != files_.end() && open->second->record_path() == path) {
      MoveRecord(*open->second, to, depth + 1);  // being read (a Loki outage over the run)
      return;
    }
    MoveAside(to, there->identity, depth + 1);
    PositionRecord moved = *there;
    moved.path = to;
    positions_->Put(moved);
    return;
  }
  auto open = files_.find(KeyOf(there->identity));
  TailedFile* owner =
      open != files_.end() && open->second->record_path() == path ? open->second.get() : nullptr;
  // Closed but not all acknowledged: its record lives in finished_ (UpdatePositions puts it back
  // at its path as acknowledgements come), and that one must follow the file, not a second
  // record beside it with the offset of the last save.
  FinishedFile* closed = nullptr;
  for (FinishedFile& ff : finished_) {
    if (ff.record.path == path && KeyOf(ff.record.identity) == KeyOf(there->identity)) {
      closed = &ff;
    }
  }
  // Moves the closed file's record to `where` ("" when its file is gone): see above.
  const auto move_closed = [&](const std::string& where) {
    if (!where.empty()) MoveAside(where, closed->record.identity, depth + 1);
    closed->record.path = where;
    if (!where.empty()) positions_->Put(closed->record);
  };
  // An open file's identity is newer than its last record (the fingerprint of a file opened
  // empty grows as it is written).
  if (owner != nullptr) owner->FingerprintUnread();
  const FileIdentity id = owner != nullptr ? owner->identity() : there->identity;
  std::string to = FindByInode(DirName(path), id);
  // Inodes are reused at once (a deleted file's by the next copy logrotate writes): a file found
  // by inode must also start with the recorded bytes, else the recorded one is gone.
  if (!to.empty() && (to == path || !PlausiblyRotated(*there, to) || !IsRecordedFile(to, id))) {
    to.clear();
  }
  if (to.empty()) {
    const std::optional<FoundCopy> copy =
        FindCompressedCopy(DirName(path), there->origin_or_path(), id);
    const std::string copy_path = copy ? copy->path : std::string();
    if (owner != nullptr) {
      // Still open (draining): read to its end through its descriptor. Its record goes to the
      // copy if there is one, which keeps the copy known; ResolveGone makes it the copy's own
      // record once the file is closed.
      MoveRecord(*owner, copy_path, depth + 1);
      return;
    }
    if (closed != nullptr) {  // likewise: the copy stays known through it
      move_closed(copy_path);
      return;
    }
    if (!copy) return;  // deleted: replaced, as always
    PositionRecord gz = *there;
    gz.path = copy->path;
    gz.compressed = true;
    gz.origin = there->origin_or_path();
    gz.identity = OnCopy(gz.identity, copy->dev, copy->ino);
    MoveAside(copy->path, gz.identity, depth + 1);
    positions_->Put(gz);
    return;
  }
  if (owner != nullptr) {
    MoveRecord(*owner, to, depth + 1);  // still open (draining): its record moves with it
    return;
  }
  if (closed != nullptr) {
    move_closed(to);
    return;
  }
  MoveAside(to, id, depth + 1);
  PositionRecord moved = *there;
  moved.path = to;
  if (moved.origin.empty()) moved.origin = path;
  positions_->Put(moved);
}

void FileSource::Impl::SetRecordPath(TailedFile& f, std::string path) {
  if (f.adopted) by_path_.Remove(&f);
  f.set_record_path(std::move(path));
  if (f.adopted) by_path_.Add(&f);
}

bool FileSource::Impl::PathIndexInStep() const {
  size_t with_path = 0;
  for (const auto& [key, f] : files_) {
    if (f->record_path().empty()) continue;
    ++with_path;
    if (!by_path_.Has(f.get())) return false;
  }
  return with_path == by_path_.size() && with_path == by_path_.dir_entries();
}

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
    LOG_WARN(
        "not reading a file whose real path is outside target_config.symlink_roots",
        {{"path", path}, {"real_path", n > 0 ? std::string(buf, static_cast<size_t>(n)) : "?"}});
  }
  return false;
}

// The file a discovery pass found at path (walked) was renamed before it could be opened: find
// it by inode beside path and read it as a rotated file of path's stream, from its position if
// it has one. True when it was found (and not open already).
bool FileSource::Impl::OpenMovedAway(const std::string& path, const WalkedFile& walked,
                                     const TargetState& t, int64_t now_ns) {
  if (files_.contains(FileKey{walked.dev, walked.ino})) return false;
  FileIdentity want;
  want.dev = walked.dev;
  want.ino = walked.ino;
  const std::string where = FindByInode(DirName(path), want);
  if (where.empty()) return false;  // compressed or deleted at once: a restart looks for the copy
  int fd = OpenToRead(where, O_NOFOLLOW);
  if (fd < 0) return false;
  struct stat st;
  Result<FileIdentity> id = Err(Internal("fstat"));
  if (::fstat(fd, &st) == 0 && SameInode(want, st)) id = Identify(fd, st);
  if (!id) {
    ::close(fd);
    return false;
  }
  PositionRecord rec;
  rec.path = where;
  rec.origin = path;
  rec.identity = *id;
  rec.offset = StartOffset(path, fd, *id, static_cast<uint64_t>(st.st_size));
  ::close(fd);
  LOG_INFO("file rotated before it was opened; reading it where it went",
           {{"path", path}, {"now_at", where}, {"offset", std::to_string(rec.offset)}});
  OpenRecovered(where, rec, t, now_ns);
  return true;
}

}  // namespace skidder::sources
