// FileSource::Impl, part four: holding rotated files that are not read to the end with hard
// links (see held.h), releasing them once acknowledged, and the byte budget.
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

// A file that left its name (or whose target went away) and is not read to the end yet: link
// it into the held directory, so that a crash after the kubelet deletes it loses nothing. The
// positions record names the link from now on.
void FileSource::Impl::HoldDraining(TailedFile& f) {
  const std::string at = f.record_path();
  if (!held_.enabled() || at.empty() || held_.IsHeld(at)) return;
  const std::string link = held_.Hold(at, f.identity());
  if (link.empty()) return;
  if (SameRecordFile(positions_->FindByPath(at), f.identity())) positions_->Remove(at);
  f.set_held_from(at);
  SetRecordPath(f, link);
  f.FingerprintUnread();
  const PositionRecord rec = f.Record();
  positions_->Put(rec);
  f.NotePut(rec);
  SaveHeldRecord();
}

// Saved at once (a rotation is rare; this is one small write): a link whose record did not reach
// the disk is an orphan after a crash, and orphans are removed at start.
void FileSource::Impl::SaveHeldRecord() {
  if (Status st = positions_->Save(); !st.ok()) {
    LOG_WARN("cannot save positions after holding a rotated file", {{"error", st.message()}});
  }
}

// A file read through a link, rotated beside the link's target (a directory no pass walks):
// linked from where its descriptor says it is now; the link's path, or "" when holding is off
// or impossible for it (the target on another mount: Docker's containers directory). Its record
// goes to the link without ever naming that directory: a record there would never be resolved
// nor removed, and no glob reaches the file there to read it again. No held_from either, so its
// acknowledged record is dropped with the link (ReleaseHeld finds no home for it).
std::string FileSource::Impl::HoldBesideLink(TailedFile& f) {
  if (!held_.enabled()) return "";
  const std::string at = f.WhereNow();
  if (at.empty()) return "";
  return held_.Hold(at, f.identity(), /*elsewhere=*/true);
}

// Everything in a held file is acknowledged: the link goes, and the record moves back to the
// file's own rotated name (done), so that a restart neither reopens it nor takes it for a
// rotation it never saw. True when the file was found there (looked for while the link still
// keeps its inode from a new file): a record of another file at that name is stale. When no
// name leads to it any more, the record goes to the name it was held from, where a restart may
// find its compressed copy (ResolveGone); false, since another file may have that name now.
bool FileSource::Impl::ReleaseHeld(FinishedFile& ff) {
  std::string home = ff.held_from;
  if (home.empty() || !IsAt(home, ff.record.identity)) {
    home = FindByInode(DirName(ff.record.origin_or_path()), ff.record.identity);
  }
  held_.Release(ff.record.path);
  positions_->Remove(ff.record.path);
  const bool found = !home.empty();
  ff.record.path = found ? std::move(home) : ff.held_from;
  if (ff.record.path == ff.record.origin) ff.record.origin.clear();
  return found;
}

// Disk kept alive only by held links stays within held_max_bytes: the oldest held files are let
// go first, unread, and what they still held is counted as lost.
void FileSource::Impl::EnforceHeldBudget() {
  if (held_.dir().empty()) return;
  std::vector<std::pair<uint64_t, TailedFile*>> held;  // open order, file
  uint64_t total = 0;
  // Only draining files are held, and every draining file is ticked: not a look at each file.
  // The ticked list may name a file twice (noted as draining and as polled): once here.
  for (const FileKey& key : Ticked()) {
    auto it = files_.find(key);
    if (it == files_.end()) continue;
    TailedFile* f = it->second.get();
    if (held_.IsHeld(f->record_path())) held.emplace_back(f->open_seq, f);
  }
  std::sort(held.begin(), held.end());
  held.erase(std::unique(held.begin(), held.end()), held.end());
  for (const auto& [seq, f] : held) total += HeldFiles::OnlyHeldBytes(f->record_path());
  if (total <= held_.max_bytes()) return;
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
    SetRecordPath(*f, "");
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
