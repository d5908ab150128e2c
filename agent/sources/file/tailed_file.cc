#include "sources/file/tailed_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "model/line_buffers.h"
#include "sources/file/identity.h"
#include "util/log.h"

namespace skidder::sources {

Labels FileLabels(const Labels& target_labels, const std::string& path) {
  Labels l = target_labels;
  l.Remove(kPathLabel);  // discovery inputs, not stream labels
  l.Remove(kPathExcludeLabel);
  l.Set(kFilenameLabel, path);
  return l;
}

TailedFile::TailedFile(int fd, std::string_view path, const FileIdentity& id, uint64_t offset,
                       Labels labels, ReadHandler* handler, const TailSettings& settings)
    : fd_(fd),
      id_(id),
      labels_(std::move(labels)),
      handler_(handler),
      series_(settings.metrics->files.Acquire(path)),
      settings_(settings),
      splitter_(settings.max_line, settings.truncate, offset),
      tracker_(AckTracker::Create(offset)) {
  if (fd_ >= 0 && settings_.open_files != nullptr) ++*settings_.open_files;
  // Identities from a gzip's decompressed start, or from callers that looked only at the inode,
  // carry no birth time: the file's own is what a reopen compares.
  if (fd_ >= 0 && id_.born_ns == 0) id_.born_ns = BirthNs(fd_);
  if (settings_.acks != nullptr) {
    tracker_->OnAdvance([acks = settings_.acks](uint64_t) {
      acks->fetch_add(1, std::memory_order_release);  // after the committed offset's store
    });
  }
}

TailedFile::~TailedFile() { Park(); }

void TailedFile::Retarget(Labels labels, ReadHandler* handler) {
  labels_ = std::move(labels);
  handler_ = handler;
}

TailedFile::ReadResult TailedFile::ReadChunk(char* buf, size_t cap, const BatchTime& now,
                                             ReadBatch& batch, ReadlineLimiter* limiter) {
  if (fd_ < 0) return ReadResult::kError;
  batch.Clear();
  batch.Start(now, id_.dev, id_.ino);
  const uint64_t start = splitter_.read_offset();
  ssize_t n;
  if (gz_ != nullptr) {
    n = gz_->ReadAt(buf, cap, start);
    if (n < 0) errno = EBADMSG;  // corrupt gzip data
  } else {
    do {
      n = ::pread(fd_, buf, cap, static_cast<off_t>(start));
    } while (n < 0 && errno == EINTR);
  }
  if (n < 0) {
    LOG_WARN("read failed", {{"path", path()}, {"error", std::strerror(errno)}});
    return ReadResult::kError;
  }
  if (n == 0) return ReadResult::kEof;
  if (start == 0 && id_.fingerprint_len == 0 && gz_ == nullptr) {
    // A file read from its start is fingerprinted by the bytes its first read got (see
    // InodeIdentity); Check grows the fingerprint later while the file is shorter than that.
    SetFingerprint(&id_, std::string_view(buf, static_cast<size_t>(n)));
  } else if (start == 0 && gz_ != nullptr && (id_.fingerprint_len < kFingerprintMaxLen) &&
             (static_cast<size_t>(n) > id_.fingerprint_len)) {
    // An archive opened while its writer had written less than a fingerprint: its record must
    // name its first bytes for a restart to resume inside it (OpenMatchingCopy, via a held
    // link, compares them).
    SetFingerprint(&id_, std::string_view(buf, static_cast<size_t>(n)));
  }
  // Every '\n' ends a line, so the checkpoint covers up to the last one in the chunk.
  const auto* last_nl = static_cast<const char*>(::memrchr(buf, '\n', static_cast<size_t>(n)));
  AckRef hold;
  if (last_nl != nullptr) hold = tracker_->Open(start + (last_nl - buf) + 1);
  uint64_t lines = 0;
  uint64_t limited = 0;
  splitter_.Feed(std::string_view(buf, static_cast<size_t>(n)), [&](std::string_view line) {
    ++lines;
    if (limiter != nullptr && !limiter->TakeLine()) {
      ++limited;
      return;
    }
    Emit(line, batch);
  });
  batch.ShareAll(labels_, hold);
  hold.Reset();  // the reader's own hold: from here on only the entries keep it open
  HandOff(batch);
  idle_since_ns = now.wall_ns;
  if (live()) {
    series_->SetRead(splitter_.read_offset(), lines);
  } else {
    series_->AddLines(lines);
  }
  if (limited > 0) {
    settings_.metrics->dropped_lines.With({kReasonReadlineRateLimited})
        ->Add(static_cast<double>(limited));
  }
  if (uint64_t t = splitter_.TakeTruncated()) settings_.metrics->truncated_lines.With({})->Add(t);
  if (uint64_t d = splitter_.TakeDropped()) {
    settings_.metrics->dropped_lines.With({telemetry::kReasonLineTooLong})->Add(d);
  }
  return static_cast<size_t>(n) < cap ? ReadResult::kEof : ReadResult::kFull;
}

bool TailedFile::Check(bool* has_new_data) {
  *has_new_data = false;
  if (gz_ != nullptr) {
    *has_new_data = !gz_->complete();
    return fd_ >= 0;
  }
  if (fd_ < 0) return false;
  // A new file (read from its start) just opened with bytes in it: the open's fstat
  // (NoteOpened) is this look, an fstat per file saved on a backlog of many files. Reading from
  // the start goes to the end of the file whatever size was seen, so a change since the open
  // (growth, truncation, a rewrite) is read as the file is now, and the next Check compares
  // against the open's size and time. Otherwise the look is taken again: a write since may be
  // what brought this turn, and a file resumed at an offset must not be read there if it was
  // truncated and rewritten since the open.
  if (std::exchange(opened_stat_unused_, false) && splitter_.read_offset() == 0 && size_ > 0) {
    *has_new_data = true;
    return true;
  }
  struct stat st;
  if (::fstat(fd_, &st) != 0) return false;
  const auto size = static_cast<uint64_t>(st.st_size);
  // The first bytes are compared again only when the file changed since the last look (its size,
  // or its modification time: rewritten in place to exactly the old length changes only that). A
  // backlog read over many turns, or a file just opened (NoteOpened), costs no pread per turn.
  const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  const bool changed = size != size_ || mtime != mtime_ns_;
  size_ = size;
  if (live()) series_->SetSize(size);
  mtime_ns_ = mtime;
  if (size < splitter_.read_offset()) {
    Restart("file shrank below the read offset (copytruncate)");
  } else if (changed && !fingerprint_check_.Matches(fd_, id_)) {
    Restart("first bytes changed (truncated and rewritten)");
  }
  if (id_.fingerprint_len < kFingerprintMaxLen && size > id_.fingerprint_len) {
    if (auto id = Identify(fd_, st)) id_ = *id;
  }
  *has_new_data = size > splitter_.read_offset();
  return true;
}

// The descriptor is the inode id_ names, and size_ is the open's or the last Check's look: no
// fstat here (a save during a backlog of 10,000 new files made 10,000 of them).
bool TailedFile::TakeFingerprint() { return FingerprintOpenFile(fd_, size_, &id_); }

void TailedFile::NoteOpened(const struct stat& st) {
  size_ = static_cast<uint64_t>(st.st_size);
  if (live()) {  // a file resumed at an offset shows it before its first read
    series_->SetSize(size_);
    series_->SetRead(read_offset(), 0);
  }
  mtime_ns_ = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  opened_stat_unused_ = true;
}

void TailedFile::Restart(const char* why) {
  LOG_INFO(
      "file truncated; reading it again from the start",
      {{"path", path()}, {"reason", why}, {"old_offset", std::to_string(splitter_.read_offset())}});
  tracker_->Reset(0);
  splitter_.Reset(0);
  if (live()) series_->SetRead(0, 0);
  struct stat st;
  if (::fstat(fd_, &st) == 0) {
    if (auto id = Identify(fd_, st)) id_ = *id;
  }
}

bool TailedFile::Stat(struct stat* st) const { return fd_ >= 0 && ::fstat(fd_, st) == 0; }

bool TailedFile::Unlinked() const {
  struct stat st;
  return fd_ >= 0 && gz_ == nullptr && ::fstat(fd_, &st) == 0 && st.st_nlink == 0;
}

std::string TailedFile::WhereNow() const {
  if (fd_ < 0 || gz_ != nullptr) return "";
  char buf[4096];
  const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
  const ssize_t n = ::readlink(proc.c_str(), buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf || buf[0] != '/') return "";
  std::string at(buf, static_cast<size_t>(n));
  struct stat st;  // a deleted file reads as "<path> (deleted)", which names nothing (or another)
  if (::stat(at.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !SameInode(id_, st)) return "";
  return at;
}

void TailedFile::FlushPartial(const BatchTime& now, ReadBatch& batch) {
  if (!splitter_.has_partial()) return;
  batch.Clear();
  batch.Start(now, id_.dev, id_.ino);
  AckRef hold = tracker_->Open(splitter_.read_offset());
  splitter_.FlushPartial([&](std::string_view line) { Emit(line, batch); });
  batch.ShareAll(labels_, hold);
  hold.Reset();
  HandOff(batch);
}

void TailedFile::Emit(std::string_view line, ReadBatch& batch) {
  if (settings_.crashes != nullptr && !settings_.crashes->empty() && IsPoison(line)) return;
  Entry e;
  e.timestamp_ns =
      settings_.stamps != nullptr ? settings_.stamps->Next(batch.now.wall_ns) : batch.now.wall_ns;
  e.line = line_buffers::Take();  // the buffer of a line this thread already handed on
  e.line.assign(line);
  batch.Add(std::move(e), splitter_.offset());  // the start of this line, during Feed and Flush
}

void TailedFile::HandOff(ReadBatch& batch) {
  if (!batch.empty() && handler_ != nullptr) {
    batch.target = &sink_target_;
    handler_->Handle(batch);
    batch.target = nullptr;
  }
  batch.Clear();  // what the handler left goes now: its refs are released
}

// The agent died on this line before (twice): skip it, once, loudly.
bool TailedFile::IsPoison(std::string_view line) {
  const uint64_t at = splitter_.offset();
  if (!settings_.crashes->ShouldSkip(id_.dev, id_.ino, at)) return false;
  settings_.metrics->dropped_lines.With({telemetry::kReasonPoison})->Add();
  LOG_ERROR("skipping a line the agent crashed on repeatedly",
            {{"path", path()},
             {"offset", std::to_string(at)},
             {"crashes", std::to_string(settings_.crashes->Count(id_.dev, id_.ino, at))},
             {"bytes", std::to_string(line.size())}});
  return true;
}

PositionRecord TailedFile::Record() const {
  PositionRecord r;
  FillRecord(&r);
  return r;
}

void TailedFile::FillRecord(PositionRecord* r) const {
  // Every field as in a new record, the two strings written into r's old buffers.
  std::string path_buf = std::move(r->path.assign(record_path()));
  const std::string_view origin = record_is_path_ ? std::string_view() : path();
  std::string origin_buf = std::move(r->origin.assign(origin));
  *r = PositionRecord{};
  r->path = std::move(path_buf);
  r->origin = std::move(origin_buf);
  r->identity = id_;
  r->offset = committed();
  r->compressed = gz_ != nullptr;
  if (gz_ == nullptr) r->size = std::max(size_, read_offset());
}

void TailedFile::set_record_path(std::string p) {
  record_is_path_ = p == path();
  if (!record_is_path_) {
    if (elsewhere_ == nullptr) elsewhere_ = std::make_unique<Elsewhere>();
    elsewhere_->record_path = std::move(p);
  } else if (elsewhere_ != nullptr) {
    std::string().swap(elsewhere_->record_path);
  }
  ++path_gen_;
}

const std::string& TailedFile::held_from() const {
  static const std::string kNone;
  return elsewhere_ != nullptr ? elsewhere_->held_from : kNone;
}

void TailedFile::set_held_from(std::string p) {
  if (elsewhere_ == nullptr) elsewhere_ = std::make_unique<Elsewhere>();
  elsewhere_->held_from = std::move(p);
}

bool TailedFile::RecordChanged() const {
  const uint64_t size = gz_ == nullptr ? std::max(size_, read_offset()) : 0;
  return committed() != put_.offset || size != put_.size || !(id_ == put_.identity) ||
         path_gen_ != put_.path_gen || (gz_ != nullptr) != put_.compressed;
}

void TailedFile::NotePut(const PositionRecord& r) {
  put_ = {r.identity, r.offset, r.size, path_gen_, r.compressed};
}

void TailedFile::Park() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  opened_stat_unused_ = false;  // a reopened file is looked at afresh
  if (settings_.open_files != nullptr) --*settings_.open_files;
}

bool TailedFile::Reopen(const std::string& path) {
  Park();
  int fd = OpenToRead(path);
  if (fd < 0) return false;
  struct stat st;
  // A new file on its inode (the same inode alone says nothing once a parked file is deleted)
  // is told by its birth time even when it starts with the same bytes or with none.
  if (::fstat(fd, &st) != 0 || !SameInode(id_, st) || !BornAndStartsAs(fd, id_)) {
    ::close(fd);
    return false;
  }
  fd_ = fd;
  if (settings_.open_files != nullptr) ++*settings_.open_files;
  return true;
}

}  // namespace skidder::sources
