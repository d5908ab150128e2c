#include "sources/file/file_source.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>

#include "sources/file/decompress.h"
#include "sources/file/file_source_impl.h"
#include "sources/file/file_util.h"
#include "sources/file/identity.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

constexpr size_t kHardLineCap = 1 << 20;  // without limits.max_line_size
// Every file's record is compared with Positions this often even if nothing marked it touched: a
// safety net only (whatever changes a record touches the file), so that idle costs no per-file
// work.
constexpr auto kFullPositionsPass = std::chrono::seconds(60);
constexpr auto kInotifyRescanPeriod = std::chrono::minutes(5);
constexpr int kChunksPerTurn = 16;  // per file per loop turn, so one busy file cannot starve
constexpr auto kMinRescanGap = std::chrono::milliseconds(50);  // coalesces event storms
// The longest the loop sleeps with nothing due: everything it waits for raises an event or sets
// a deadline, so this is only a bound (UpdatePositions' full pass runs on a turn).
constexpr int64_t kMaxWaitMs = 60'000;
constexpr auto kNever = std::chrono::steady_clock::time_point::max();

int64_t ToNs(config::Duration d) { return d.count(); }

int64_t CoarseRealtimeNs() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Reopens a parked file at its record's name or, no longer there (renamed on, or rotated before
// a pass saw it), where it is now by inode in that directory: the name it was reopened at, ""
// when it is nowhere. Inodes are reused at once, so a file that was empty (no fingerprint for
// Reopen to check) found under another name must also have a rotation's name.
std::string ReopenParked(TailedFile& f) {
  if (f.record_path().empty()) return "";  // its file was deleted
  if (f.Reopen(f.record_path())) return f.record_path();
  const std::string at = file_util::FindByInode(file_util::DirName(f.record_path()), f.identity());
  if (at.empty()) return at;
  PositionRecord as_recorded;
  as_recorded.path = f.record_path();
  as_recorded.identity = f.identity();
  if (!file_util::PlausiblyRotated(as_recorded, at) || !f.Reopen(at)) return "";
  return at;
}

}  // namespace

FileSource::Impl::Impl(FileSourceOptions options, Positions* positions, EntrySink* sink,
                       telemetry::AgentMetrics* metrics, Clock* clock,
                       std::unique_ptr<Watcher> watcher)
    : opts_(std::move(options)),
      positions_(positions),
      sink_(sink),
      metrics_(metrics),
      clock_(clock),
      started_wall_ns_(CoarseRealtimeNs()),
      watcher_(watcher != nullptr ? std::move(watcher) : MakeWatcher(opts_.force_polling, metrics)),
      held_(opts_.held_dir, opts_.held_max_bytes) {
  settings_.max_line = opts_.limits.max_line_size > 0
                           ? static_cast<size_t>(opts_.limits.max_line_size)
                           : kHardLineCap;
  settings_.truncate = opts_.limits.max_line_size_truncate;
  settings_.metrics = metrics;
  settings_.crashes = opts_.crashes;
  settings_.open_files = &open_files_;
  settings_.acks = std::make_shared<std::atomic<uint64_t>>(0);
  settings_.stamps = &stamps_;
  if (opts_.limits.readline_rate_enabled) {
    limiter_.emplace(opts_.limits.readline_rate, opts_.limits.readline_burst,
                     opts_.limits.readline_rate_drop, clock_);
  }
  buf_.resize(std::max<size_t>(opts_.read_chunk_bytes, 4096));
  for (const std::string& root : opts_.symlink_roots) {
    // The roots themselves may be links (/var/log -> /data/log): compare real paths.
    char* real = ::realpath(root.c_str(), nullptr);
    real_roots_.push_back(real != nullptr ? std::string(real) : root);
    std::free(real);
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (metrics_ != nullptr) {
    // The loss series exist at zero from the start: a series born at its first loss gives
    // increase() nothing to see, and the chart's SkidderBytesLostToRotation would stay silent.
    for (const char* reason : {telemetry::kReasonRotatedAway, telemetry::kReasonHeldBudget}) {
      metrics_->lost_bytes.With({reason});
    }
  }
}

FileSource::Impl::~Impl() {
  Stop();
  files_.clear();  // before the metric pool they point into
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status FileSource::Impl::Start() {
  if (thread_.joinable()) return FailedPrecondition("file source already started");
  if (wake_fd_ < 0) return Internal(std::string("eventfd: ") + std::strerror(errno));
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void FileSource::Impl::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  Wake();
  thread_.join();
}

void FileSource::Impl::SetTargets(std::vector<FileTarget> targets) {
  {
    std::lock_guard lock(mu_);
    pending_targets_ = std::move(targets);
  }
  Wake();
}

void FileSource::Impl::Wake() {
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void FileSource::Impl::Run() {
  poison::PrepareThread();  // stages run here: a stack overflow must still be recorded
  const auto tick =
      std::max<config::Duration>(opts_.watch.min_poll_frequency, std::chrono::milliseconds(1));
  while (!stop_) {
    std::unique_lock state(state_mu_);
    ApplyTargets();
    now_ = BatchTime::Of(*clock_);  // the time of everything this turn reads
    const int64_t now_ns = now_.wall_ns;
    const auto now =
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(now_.steady_ns));
    if ((rescan_ && now - last_rescan_ >= kMinRescanGap) || now >= next_rescan_ ||
        now >= rescan_due_) {
      Discover(now_ns);
      rescan_ = false;
      last_rescan_ = now;
      next_rescan_ = std::min(now + RescanPeriod(), rescan_due_);
      rescan_due_ = std::chrono::steady_clock::time_point::max();
    }
    if (now >= next_tick_) {
      PollTick(now_ns);
      next_tick_ = now + tick;
    }
    // Published before the read too: whoever sees a line of this turn sees its file counted.
    active_files = files_.size();
    const bool more = ReadFiles(now_ns);
    CloseDrained(now_ns);
    FlushHandlers(now_ns, false);
    UpdatePositions();
    // Something to save again after the owner was told nothing was in flight: wake it (once).
    if (!Settled() && owner_settled_.load(std::memory_order_relaxed) &&
        owner_settled_.exchange(false) && opts_.on_busy) {
      opts_.on_busy();
    }
    active_files = files_.size();
    if (!NeedsTick()) {
      next_tick_ = kNever;
    } else if (next_tick_ == kNever) {
      next_tick_ = now + tick;
    }
    int timeout = WaitTimeoutMs(now, now_ns);
    if (saturated_) {
      timeout = static_cast<int>(std::min<int64_t>(timeout, opts_.saturated_recheck.count()));
    }
    if (throttled_) {
      const auto until = std::chrono::ceil<std::chrono::milliseconds>(limiter_->UntilReady());
      timeout = std::min<int>(timeout, static_cast<int>(std::min<int64_t>(until.count(), 1000)));
    }
    if (backpressure_ns_ > 0) {
      timeout = std::min<int>(
          timeout, static_cast<int>(std::min<int64_t>(backpressure_ns_ / 1'000'000 + 1, 1000)));
    }
    if (more && !throttled_) timeout = 0;  // files whose clients have room go on at once
    state.unlock();
    WaitForEvents(timeout);
  }
  std::lock_guard state(state_mu_);
  now_ = BatchTime::Of(*clock_);
  DrainUnlinked();
  FlushHandlers(now_.wall_ns, true);
  UpdatePositions();
}

// At stop: a file deleted while open and not read to the end has no copy but its descriptor
// (the kubelet deletes a rotated file right after its rename when a container logs fast, before
// a held link can be made). Read the rest now, within options.stop_drain and while the sink
// takes it; a restart cannot. What is left is logged here and counted lost (here when the file
// has no record any more, else by the next start).
void FileSource::Impl::DrainUnlinked() {
  // Real time: the exit must be bounded whatever clock the source was given (tests fake it).
  const auto deadline = std::chrono::steady_clock::now() + opts_.stop_drain;
  // Why f cannot take a chunk now (the sink full, a rate limit): waited out until the deadline.
  const auto blocked = [&](TailedFile& f) -> const char* {
    now_ = BatchTime::Of(*clock_);
    if (Full(f)) return "the clients' buffers stayed full";
    if (limiter_ && !limiter_->drop()) {
      limiter_->Refill();
      if (!limiter_->Ready()) return "the read rate limit";
    }
    if (f.handler() != nullptr && f.handler()->ReadyInNs(now_.steady_ns) > 0) {
      return "a limit stage";
    }
    return nullptr;
  };
  // Oldest first, as while running: Loki gets each stream in order.
  std::vector<TailedFile*> unlinked;
  for (auto& [key, f] : files_) {
    if (!f->parked() && f->Unlinked()) unlinked.push_back(f.get());
  }
  std::sort(unlinked.begin(), unlinked.end(),
            [](const TailedFile* a, const TailedFile* b) { return a->open_seq < b->open_seq; });
  for (TailedFile* fp : unlinked) {
    TailedFile& f = *fp;
    const char* stopped = nullptr;
    bool has_new = false;
    while (f.Check(&has_new) && has_new) {
      Touch(f);  // its record is put with the size seen, so a restart can count what is lost
      if (std::chrono::steady_clock::now() >= deadline) {
        stopped = "out of time (half of server.graceful_shutdown_timeout)";
        break;
      }
      while ((stopped = blocked(f)) != nullptr && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (stopped != nullptr) break;
      if (f.ReadChunk(buf_.data(), buf_.size(), now_, batch_, limiter_ ? &*limiter_ : nullptr) !=
          TailedFile::ReadResult::kFull) {
        break;  // at its end (or unreadable): nothing more to get from it
      }
    }
    if (stopped == nullptr) {
      f.FlushPartial(now_, batch_);  // nothing can complete its last line any more
      Touch(f);
      continue;
    }
    const uint64_t unread = f.size() - std::min(f.size(), f.read_offset());
    LOG_ERROR("deleted file could not be read to the end before exit; the rest is lost",
              {{"path", f.path()},
               {"offset", std::to_string(f.read_offset())},
               {"unread_bytes", std::to_string(unread)},
               {"reason", stopped}});
    // A file whose deletion was seen has no record left for the next start to count from.
    if (f.record_path().empty()) {
      metrics_->lost_bytes.With({telemetry::kReasonRotatedAway})->Add(static_cast<double>(unread));
    }
  }
}

// A tick has work only for files no event covers (polled, via a link, draining), for polled
// directories, for files queued to read later (a newer file of a stream waits for the rotated
// one, which may close this turn), while positions wait for acknowledgements, and while a link
// left dangling by a rotation is watched for the new file (no file of its may be open by then).
// With inotify and everything settled, the loop sleeps until an event or a deadline: an idle
// agent with 1000 files woke 4 times a second for ticks that did nothing.
bool FileSource::Impl::NeedsTick() {
  return !Ticked().empty() || watcher_->AnyPolled() || !read_queue_.empty() || !Settled() ||
         !relinked_.empty();
}

// Every record as put, nothing in flight.
bool FileSource::Impl::Settled() const {
  return touched_.empty() && waiting_.empty() && finished_.empty();
}

// Until the next tick, timed pass or handler flush (a partial CRI line, an open multiline block).
int FileSource::Impl::WaitTimeoutMs(std::chrono::steady_clock::time_point now,
                                    int64_t now_ns) const {
  auto next = std::min({next_tick_, next_rescan_, rescan_due_});
  if (rescan_) next = std::min(next, last_rescan_ + kMinRescanGap);
  int64_t wait_ms = kMaxWaitMs;
  if (next != kNever) {
    wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(next - clock_->Steady()).count();
  }
  if (next_flush_ns_ != INT64_MAX) {
    const int64_t flush_in = next_flush_ns_ <= now_ns ? 0 : next_flush_ns_ - now_ns;
    const int64_t since_turn_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Steady() - now).count();
    wait_ms = std::min(wait_ms, flush_in / 1'000'000 - since_turn_ms);
  }
  return static_cast<int>(std::clamp<int64_t>(wait_ms + 1, 0, kMaxWaitMs));
}

// sync_period, as Promtail. While inotify watches every directory the globs reach, a new file
// raises an event that opens it at once, and a renamed or deleted one an event that asks for a
// pass, so the timed pass is only a safety net and runs at most every kInotifyRescanPeriod: with
// 10,000 files a pass lists 20,000 directories (about 0.3 s of CPU on the benchmark VM), which
// every 60 s was most of an idle agent's CPU.
config::Duration FileSource::Impl::RescanPeriod() const {
  if (watcher_->AnyPolled()) return opts_.rescan_period;
  return std::max<config::Duration>(opts_.rescan_period, kInotifyRescanPeriod);
}

bool FileSource::Impl::SyncPositions() {
  std::lock_guard state(state_mu_);
  // The owner saves what this puts: files recorded before their first read take their
  // fingerprint first (a pread each, only for files still waiting to be read at a save).
  for (auto& [key, f] : files_) {
    if (f->FingerprintUnread()) Touch(*f);
  }
  UpdatePositions();
  const bool settled = Settled();
  owner_settled_.store(settled, std::memory_order_relaxed);
  return settled;
}

void FileSource::Impl::WaitForEvents(int timeout_ms) {
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {watcher_->fd(), POLLIN, 0}};
  int n = ::poll(fds, watcher_->fd() >= 0 ? 2 : 1, timeout_ms);
  if (n <= 0) return;
  if (fds[0].revents & POLLIN) {
    uint64_t v;
    (void)!::read(wake_fd_, &v, sizeof v);
  }
  std::lock_guard state(state_mu_);
  WatchEvents& ev = events_;
  ev.Clear();
  watcher_->ReadEvents(&ev);
  if (ev.rescan) rescan_ = true;
  if (ev.overflow) {  // lost events: what they said is found by a pass and a look at each file
    rescan_ = true;
    for (auto& [key, f] : files_) MarkDirty(*f);
  }
  // Files moved away or deleted: a pass over their directories alone (a full one when unsure).
  const DirSet listed = DiscoverEventDirs(ev, clock_->NowNs());
  // With a pass due, it finds the new files as well (and sorts out what moved).
  if (!rescan_) {
    for (const auto& path : ev.created) {
      if (!listed.contains(file_util::DirNameView(path))) OpenCreated(path, clock_->NowNs());
    }
  }
  for (const auto& path : ev.written) {
    if (TailedFile* f = by_path_.Find(path)) {
      MarkDirty(*f);
    } else if (!rescan_ && HasCompressedExtension(path)) {
      ArchiveWritten(path, clock_->NowNs());
    }
  }
  // A file renamed over a parked file's name (written elsewhere, then moved into place) raises
  // no write there; if it took the parked file's inode, no pass can tell it from that file
  // (only its birth time and first bytes do): the parked file looks, by reopening.
  for (const auto& path : ev.created) {
    if (TailedFile* f = by_path_.Find(path); f != nullptr && f->parked()) MarkDirty(*f);
  }
}

void FileSource::Impl::ApplyTargets() {
  std::optional<std::vector<FileTarget>> next;
  {
    std::lock_guard lock(mu_);
    next.swap(pending_targets_);
  }
  if (!next) return;
  targets_.clear();
  for (auto& t : *next) {
    auto st = std::make_unique<TargetState>(TargetState{t, Glob(""), std::nullopt});
    if (const std::string* p = t.labels.Get(kPathLabel)) st->glob = Glob(*p);
    if (const std::string* p = t.labels.Get(kPathExcludeLabel)) st->exclude.emplace(*p);
    targets_.push_back(std::move(st));
  }
  active_targets = targets_.size();
  HandlersChanged();
  metrics_->targets_active.With({})->Set(static_cast<double>(targets_.size()));
  const int64_t now_ns = clock_->NowNs();
  for (auto& [key, f] : files_) {
    const TargetState* t = FindTarget(f->target_id);
    // Its target went away but another one matches the file (a pod known by its path only is
    // now discovered, or its labels changed): the open file moves over at its read offset, so
    // nothing is read twice and no line waits for a drain.
    if (t == nullptr && !f->draining) t = MatchingTarget(*f);
    if (t != nullptr) {
      if (f->target_id != t->target.id) {
        LOG_INFO("file moves to another target",
                 {{"path", f->path()}, {"from", f->target_id}, {"to", t->target.id}});
        f->target_id = t->target.id;
      }
      f->Retarget(FileLabels(t->target.labels, f->path()), t->target.handler);
      if (f->linger_until_ns != 0) {
        EndLinger(*f);  // back before its time was up: an ordinary file again
        ticked_stale_ = true;
        // Its directory's watch went with the last glob listing it; this turn's pass watches
        // it again, and what came in between no event told.
        MarkDirty(*f);
      }
    } else if (f->draining || f->linger_until_ns != 0) {
      // already on its way out
    } else if (opts_.removed_target_linger.count() > 0 && StillAtItsPath(*f)) {
      // Its target is gone but the file is where it was: a force-deleted pod leaves the API at
      // once while its containers may still write. Read on until it leaves its path (rotated or
      // deleted: then it drains as any) or its time is up (CloseDrained). No glob lists its
      // directory any more: it is looked at every tick, and a file the kubelet makes in its
      // place after a rotation is not opened (no target has it).
      const auto steady =
          std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->Steady().time_since_epoch());
      StartLinger(*f, (steady + opts_.removed_target_linger).count());
      LOG_INFO(
          "target of file removed; reading it while it stays at its path",
          {{"path", f->path()},
           {"at_most_s", std::to_string(opts_.removed_target_linger.count() / 1'000'000'000)}});
    } else {
      StartDrain(*f, now_ns);  // its target is gone: finish what is there, then let go
    }
  }
  rescan_ = true;
  last_rescan_ = {};
}

const TargetState* FileSource::Impl::FindTarget(const std::string& id) const {
  for (const auto& t : targets_) {
    if (t->target.id == id) return t.get();
  }
  return nullptr;
}

const TargetState* FileSource::Impl::MatchingTarget(const TailedFile& f) const {
  const std::string& path = f.record_path();
  if (path.empty() || path != f.path()) return nullptr;  // rotated or deleted: no longer its path
  for (const auto& t : targets_) {
    if (t->glob.Match(path) && !(t->exclude && t->exclude->Match(path))) return t.get();
  }
  return nullptr;
}

void FileSource::Impl::MarkDirty(TailedFile& f) {
  f.dirty = true;
  if (f.queued) return;
  f.queued = true;
  read_queue_.push_back(KeyOf(f.identity()));
}

// Frees an fd by parking a file that is idle (at EOF, not draining), if there is one. The search
// goes round robin from the last victim, and a search that found nothing is not repeated until
// some file went idle: with thousands of files behind a backlog, every parked file asks for a
// slot each turn, and each answer must not cost a pass over all files.
bool FileSource::Impl::EnsureFdSlot(const TailedFile* keep) {
  if (OpenCount() < std::max<size_t>(opts_.max_open_files, 1)) return true;
  if (no_victim_gen_ == idle_gen_) return false;
  auto it = files_.lower_bound(victim_at_);
  for (size_t n = 0; n < files_.size(); ++n, ++it) {
    if (it == files_.end()) it = files_.begin();
    TailedFile& f = *it->second;
    // Not a lingering file either: no event would tell it was rotated while parked.
    if (&f == keep || f.parked() || f.draining || f.dirty || f.linger_until_ns != 0) continue;
    f.Park();
    victim_at_ = std::next(it) == files_.end() ? FileKey{} : std::next(it)->first;
    return true;
  }
  no_victim_gen_ = idle_gen_;
  return false;
}

bool FileSource::Impl::Unpark(TailedFile& f, int64_t now_ns) {
  if (!EnsureFdSlot(&f)) return false;
  if (const std::string at = ReopenParked(f); at == f.record_path()) {
    return true;
  } else if (!at.empty()) {
    // Rotated while parked, before a pass saw it: read on under its new name, as a rotated file
    // (the pass this asks for finds the new file at its old name).
    StartDrain(f, now_ns);
    rescan_ = true;
    return true;
  }
  // Not at its path any more (rotated while parked): rediscovery finds what is there now, and
  // the bytes this file got after it was parked, if any, cannot be read.
  LetGoParked(f, "parked file was replaced before it could be reopened");
  return false;
}

// A stream's files are read oldest first: while a rotated file of a stream (draining) still has
// bytes to read, files of the same stream opened after it wait, so Loki gets the stream in order.
// Returns, per stream file name, the open order of its oldest file with bytes left; empty when no
// file is draining (the common case costs one pass and no allocation). A parked file does not
// count: it waits for a descriptor, which files waiting for it would never give up.
std::unordered_map<std::string_view, uint64_t> FileSource::Impl::OldestUnread() {
  std::unordered_map<std::string_view, uint64_t> oldest;
  for (const FileKey& key : Ticked()) {  // every draining file is ticked
    auto file = files_.find(key);
    if (file == files_.end()) continue;
    const TailedFile* f = file->second.get();
    if (!f->draining || !f->dirty || f->parked()) continue;
    auto [it, fresh] = oldest.emplace(f->path(), f->open_seq);
    if (!fresh) it->second = std::min(it->second, f->open_seq);
  }
  return oldest;
}

bool FileSource::Impl::ReadFiles(int64_t now_ns) {
  UpdateHandlers();  // AllFull looks at every job's handler
  saturated_ = false;
  throttled_ = false;
  backpressure_ns_ = 0;
  bool more = false;
  const auto oldest = OldestUnread();
  reading_.clear();
  reading_.swap(read_queue_);  // files marked dirty while this turn runs wait for the next
  for (size_t i = 0; i < reading_.size(); ++i) {
    auto it = files_.find(reading_[i]);
    if (it == files_.end()) continue;  // closed since it was queued
    TailedFile& f = *it->second;
    f.queued = false;
    if (!f.dirty) continue;
    const FileTurn turn = ReadFile(f, now_ns, oldest);
    switch (turn) {
      case FileTurn::kDone:
        break;
      case FileTurn::kMore:
        more = true;
        [[fallthrough]];
      case FileTurn::kWait:
        MarkDirty(f);
        break;
      case FileTurn::kBlocked:
      case FileTurn::kCut:
      case FileTurn::kStop: {
        const bool cut = turn == FileTurn::kCut || (turn == FileTurn::kStop && cut_after_chunk_);
        f.queued = true;
        (cut ? cut_ : blocked_).push_back(it->first);
        // The read rate limit (one for every file), or every job's clients full: no file could
        // go on, so the turn ends here (no look at each of thousands of files) and the files not
        // reached wait in their order, as this one.
        if (turn == FileTurn::kStop || AllFull()) {
          blocked_.insert(blocked_.end(), reading_.begin() + static_cast<ptrdiff_t>(i) + 1,
                          reading_.end());
          more = false;
          i = reading_.size();
        }
        break;
      }
    }
  }
  RequeueWaiting();
  return more;
}

// Files that waited for room go first next turn, in their order, those that got no chunk before
// those cut short (which had part of their share), then the files queued during the turn
// (read in full, or newly dirty): under backpressure each file gets its turn in a round, where
// a file read first in every turn would take all the room the clients free.
void FileSource::Impl::RequeueWaiting() {
  if (blocked_.empty() && cut_.empty()) return;
  blocked_.insert(blocked_.end(), cut_.begin(), cut_.end());
  blocked_.insert(blocked_.end(), read_queue_.begin(), read_queue_.end());
  read_queue_.swap(blocked_);
  blocked_.clear();
  cut_.clear();
}

// One file's turn: up to kChunksPerTurn chunks.
FileSource::Impl::FileTurn FileSource::Impl::ReadFile(
    TailedFile& f, int64_t now_ns, const std::unordered_map<std::string_view, uint64_t>& oldest) {
  // Bytes known to be unread (or parked: reopening would take a descriptor) while the file's
  // clients are full: it waits without a system call. In a routed config with a writer down,
  // every dirty file sent to it is asked each turn (a file with nothing known to read is
  // checked below, so one read to its end still goes idle and can close; so is a parked
  // draining one, which may have been deleted meanwhile and is then done).
  const bool parked_draining = f.parked() && f.draining;
  if (!parked_draining && (f.parked() || f.size() > f.read_offset()) && Full(f)) {
    saturated_ = true;
    return FileTurn::kBlocked;
  }
  if (f.parked() && f.draining) {
    // Rotated (or its target gone) while parked: StartDrain moved its record to the name it has
    // now (or to its held link), and it is read on there to its end. Closed unread, its record
    // was marked done over the bytes it never read. Only a file deleted meanwhile is gone. (The
    // stream's newer file does not wait for it, see OldestUnread: waiting for a descriptor held
    // by files that wait could last forever.)
    if (f.record_path().empty()) {
      f.dirty = false;
      return FileTurn::kDone;
    }
    if (!EnsureFdSlot(&f)) return FileTurn::kWait;  // stays dirty: read once a descriptor frees
    const std::string at = ReopenParked(f);
    if (!at.empty() && at != f.record_path()) MoveRecord(f, at);  // renamed on again since
    if (at.empty()) {
      // Its inode may be a new file's at its name already (the pass that found that file took
      // it for this one): that file is opened once this one closed. (A draining file's name is
      // a rotation's: not truncated in place.)
      if (file_util::OtherFileOnInode(f.record_path(), f.identity())) {
        LetGoReused(f);
        return FileTurn::kDone;
      }
      LOG_WARN("parked file was deleted before it could be read to the end",
               {{"path", f.record_path()}, {"offset", std::to_string(f.read_offset())}});
      // Its record stays; it names the file's birth time, so a new file on its inode does not
      // take it for its own (StartOffset).
      f.dirty = false;
      return FileTurn::kDone;
    }
  }
  if (!oldest.empty()) {
    auto o = oldest.find(f.path());
    if (o != oldest.end() && o->second < f.open_seq) return FileTurn::kWait;  // older goes first
  }
  if (f.parked() && !Unpark(f, now_ns)) return f.dirty ? FileTurn::kWait : FileTurn::kDone;
  bool has_new = false;
  Touch(f);  // Check may restart it (truncation) or grow its fingerprint: its record may change
  if (!f.Check(&has_new) || !has_new) {
    SetIdle(f);
    return FileTurn::kDone;
  }
  TailedFile::ReadResult r = TailedFile::ReadResult::kFull;
  for (int i = 0; i < kChunksPerTurn && r == TailedFile::ReadResult::kFull; ++i) {
    // Backpressure: the file on disk holds the backlog, never memory; nothing is dropped. Only
    // the clients this file's entries go to count: with an Alloy config routing jobs to
    // different writers, a writer that is down holds back only the files sent to it. (After
    // Check: a file with nothing new goes idle, so a rotated one read to its end can close.)
    if (Full(f)) {
      saturated_ = true;
      return i > 0 ? FileTurn::kCut : FileTurn::kBlocked;
    }
    if (limiter_) {
      limiter_->Refill();  // once per chunk: the hot path stays free of clock calls
      if (!limiter_->drop() && !limiter_->Ready()) throttled_ = true;
    }
    // A stage applying backpressure (limit with drop: false): this file waits, others go on.
    if (ReadHandler* h = f.handler(); h != nullptr) {
      if (const int64_t wait = h->ReadyInNs(now_.steady_ns); wait > 0) {
        backpressure_ns_ = backpressure_ns_ == 0 ? wait : std::min(backpressure_ns_, wait);
        return FileTurn::kWait;
      }
    }
    if (throttled_) {
      cut_after_chunk_ = i > 0;
      return FileTurn::kStop;
    }
    r = f.ReadChunk(buf_.data(), buf_.size(), now_, batch_, limiter_ ? &*limiter_ : nullptr);
  }
  if (r == TailedFile::ReadResult::kFull) return FileTurn::kMore;
  SetIdle(f);
  return FileTurn::kDone;
}

bool FileSource::Impl::Full(const TailedFile& f) const {
  const ReadHandler* h = f.handler();
  return h != nullptr ? h->SaturatedFor(f.sink_target()) : sink_->Saturated();
}

bool FileSource::Impl::AllFull() const {
  for (const ReadHandler* h : handlers_) {
    if (!h->Saturated()) return false;
  }
  return true;
}

void FileSource::Impl::SetIdle(TailedFile& f) {
  f.dirty = false;
  ++idle_gen_;  // EnsureFdSlot may find a victim now
}

// Files whose writes raise no inotify event are checked on every tick (a cheap fstat): those in
// polled directories, those opened through a symlink (the writes happen in the target's
// directory) and rotated or deleted ones. The others wait for their events: with inotify, an
// idle file costs nothing per tick, not even a look (the list is rebuilt only when files change).
void FileSource::Impl::PollTick(int64_t now_ns) {
  if (watcher_->PollDirs()) rescan_ = true;
  const bool any_polled = watcher_->AnyPolled();
  // A file opened through a link is rotated where no watch of ours sees it (the kubelet or
  // Docker renames it in the link target's directory): whether the link still names it is
  // checked once a second, a stat each. Left to the timed pass (5 minutes), the file after it
  // went unread, and was skipped whole if rotated again before that pass.
  const bool check_links = now_.steady_ns >= next_link_check_ns_;
  if (check_links) next_link_check_ns_ = now_.steady_ns + kLinkCheckPeriodNs;
  for (const FileKey& key : Ticked()) {
    auto it = files_.find(key);
    if (it == files_.end()) continue;
    TailedFile& f = *it->second;
    MarkDirty(f);
    if (f.draining) continue;
    const bool polled = any_polled && watcher_->IsPolled(file_util::DirName(f.path()));
    if (!polled && !(check_links && f.via_symlink)) continue;
    if (!IsAt(f.record_path(), f.identity())) {
      rescan_ = true;  // renamed or deleted: discovery sorts out what is where
      // The runtime creates the new file a moment after the rename: a pass in between finds
      // the link dangling and drops it, and nothing would look at it again before the timed
      // pass. So the link is looked at each second for a while, until it names a new file.
      if (f.via_symlink) relinked_[f.path()] = now_.steady_ns + kRelinkWatchNs;
    }
  }
  if (!check_links) return;
  for (auto it = relinked_.begin(); it != relinked_.end();) {
    struct stat st;
    const bool named = ::stat(it->first.c_str(), &st) == 0 && S_ISREG(st.st_mode);
    if (named && !files_.contains(FileKey{st.st_dev, st.st_ino})) rescan_ = true;  // a new file
    it = named || now_.steady_ns >= it->second ? relinked_.erase(it) : std::next(it);
  }
}

const std::vector<FileKey>& FileSource::Impl::Ticked() {
  if (!ticked_stale_) return ticked_;
  ticked_.clear();
  const bool any_polled = watcher_->AnyPolled();
  for (auto& [key, f] : files_) {
    const bool polled = any_polled && watcher_->IsPolled(file_util::DirName(f->path()));
    if (polled || f->draining || f->via_symlink || f->linger_until_ns != 0) {
      ticked_.push_back(key);
    }
  }
  ticked_stale_ = false;
  return ticked_;
}

void FileSource::Impl::NoteTicked(const TailedFile& f) {
  if (!ticked_stale_) ticked_.push_back(KeyOf(f.identity()));
}

void FileSource::Impl::StartLinger(TailedFile& f, int64_t until) {
  if (f.linger_until_ns == 0) ++lingering_;
  f.linger_until_ns = until;
  NoteTicked(f);
}

void FileSource::Impl::EndLinger(TailedFile& f) {
  if (f.linger_until_ns == 0) return;
  f.linger_until_ns = 0;
  --lingering_;
}

// Whether the file is still at the path it was opened under.
bool FileSource::Impl::StillAtItsPath(const TailedFile& f) const {
  const std::string& at = f.record_path();
  return !at.empty() && at == f.path() && IsAt(at, f.identity());
}

// Only draining files close, and every draining or lingering file is ticked: the others cost
// nothing here. A lingering file (its target gone, see ApplyTargets) starts draining when it has
// left its path or its time is up; while data comes, it is not even looked at.
void FileSource::Impl::CloseDrained(int64_t now_ns) {
  const int64_t grace = std::max<int64_t>(4 * ToNs(opts_.watch.min_poll_frequency), 200'000'000);
  if (lingering_ > 0 && now_.steady_ns >= next_linger_look_ns_) {
    next_linger_look_ns_ = now_.steady_ns + ToNs(opts_.watch.min_poll_frequency);
    std::vector<TailedFile*> let_go;
    for (const FileKey& key : Ticked()) {
      auto it = files_.find(key);
      if (it == files_.end() || it->second->linger_until_ns == 0) continue;
      TailedFile& f = *it->second;
      const bool due = now_.steady_ns >= f.linger_until_ns;
      if (!due && (f.dirty || now_ns - f.idle_since_ns < grace)) continue;  // data coming
      if (!due && StillAtItsPath(f)) continue;
      let_go.push_back(&f);
    }
    for (TailedFile* f : let_go) {  // after the walk: StartDrain adds to the list walked
      if (f->linger_until_ns != 0) StartDrain(*f, now_ns);  // (listed twice if ticked twice)
    }
  }
  bool closed = false;
  for (const FileKey& key : Ticked()) {
    auto it = files_.find(key);
    if (it == files_.end()) continue;
    TailedFile& f = *it->second;
    const bool quiet = now_ns - std::max(f.drain_since_ns, f.idle_since_ns) >= grace;
    if (!f.draining || f.dirty || !quiet) continue;
    // Given up inside its stream (cut): the line it was cut in is not a line yet. Kept back, it
    // is read whole if the archive grows after all (a writer that paused past the grace), when
    // the reader keeps its last compressed bytes to tell that (decompression jobs' readers).
    // An archive written over while it was read is read again whole: its cut line is no line.
    const bool waiting = f.compressed_waiting();
    if (waiting && !WriterGone(f, now_ns)) continue;
    const uint32_t tail = waiting ? f.compressed_tail() : 0;
    const bool cut = tail != 0;
    const bool rewritten = f.compressed() && f.compressed_size() == DecompressingReader::kRewritten;
    if (!cut && !rewritten) f.FlushPartial(now_, batch_);
    const uint64_t end = cut || rewritten ? f.lines_end() : f.read_offset();
    LOG_INFO("finished reading file", {{"path", f.path()}, {"offset", std::to_string(end)}});
    finished_.push_back({f.Record(), f.held_from(), f.tracker(), end});
    // A compressed file's record keeps the compressed size it was read at: an archive rewritten
    // in place (same inode and birth time) or grown by another member has another one.
    if (f.compressed()) {
      finished_.back().record.size = f.compressed_size();
      finished_.back().record.cut = cut;
      finished_.back().record.tail = tail;
    }
    // Its entries in touched_ and waiting_, if any, are dropped by the next UpdatePositions;
    // its unacknowledged bytes are counted with finished_ from now on.
    unacked_files_ -= f.unacked_counted;
    // A new file took its inode: no event is left to come for it, and no timed pass may come
    // for minutes (kInotifyRescanPeriod). Its lines were written, so they are read now.
    if (inode_reused_.erase(key) > 0) rescan_ = true;
    by_path_.Remove(&f);
    files_.erase(it);
    closed = true;
  }
  if (closed) {  // after the loop, which walks Ticked()
    if (!ticked_stale_) {
      std::erase_if(ticked_, [&](const FileKey& key) { return !files_.contains(key); });
    }
    HandlersChanged();  // perhaps the last file of a handler whose target went away
  }
}

// A compressed file read to the end of its bytes inside the stream is not finished: its writer
// may be adding the rest. Whether one still is: the file's mtime, and the bytes the reader got
// since the last look (a bzip2 block in progress gives no output). Not the ctime, which our own
// held link moves. The fstat is taken only for such a file, once per turn.
bool FileSource::Impl::WriterGone(TailedFile& f, int64_t now_ns) {
  struct stat st;
  if (!f.Stat(&st)) {  // parked: let go (EnforceHeldBudget), nothing to wait for
    f.EndTruncated();
    return true;
  }
  if (f.TakeInputProgress()) f.idle_since_ns = now_ns;  // read more of it since the last look
  int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
  if (mtime > now_ns) mtime = 0;  // in the future (clock skew): it would wait forever
  const int64_t changed = std::max(mtime, f.idle_since_ns);
  if (now_ns - changed < ToNs(opts_.compressed_writer_grace)) {
    if (!std::exchange(f.awaiting, true)) {
      LOG_INFO("compressed file ends inside its stream; waiting for its writer to finish it",
               {{"path", f.path()}, {"decompressed_offset", std::to_string(f.read_offset())}});
    }
    return false;
  }
  LOG_ERROR(
      "compressed file is truncated: it ends inside its stream and its writer is gone; the "
      "lines before the cut were read, the rest is not there",
      {{"path", f.path()},
       {"decompressed_offset", std::to_string(f.read_offset())},
       {"unchanged_for_ms", std::to_string((now_ns - changed) / 1'000'000)}});
  f.EndTruncated();
  return true;
}

// Puts changed records into Positions. Only files read or moved since the last call are looked
// at (touched_), files waiting for acks only when an ack came (waiting_), and every file once per
// kFullPositionsPass in case a change came another way: an idle turn does no work per file.
void FileSource::Impl::UpdatePositions() {
  const auto now = clock_->Steady();
  const bool full = now >= next_full_positions_;
  if (full) next_full_positions_ = now + kFullPositionsPass;
  // Loaded before any committed offset is read: an ack that lands after this load raises the
  // count again, and the next call looks.
  const uint64_t acks = settings_.acks->load(std::memory_order_acquire);
  const bool acked = acks != acks_seen_;
  acks_seen_ = acks;
  // Puts f's record if it changed; true once f is settled (nothing in flight, its record put).
  auto update = [&](TailedFile& f) {
    const uint64_t pending = f.read_offset() - std::min(f.read_offset(), f.committed());
    unacked_files_ = unacked_files_ - f.unacked_counted + pending;
    f.unacked_counted = pending;
    if (!f.record_path().empty() && f.RecordChanged()) {
      f.FillRecord(&record_);
      positions_->Put(record_);
      f.NotePut(record_);
    }
    return pending == 0;
  };
  auto wait_for_acks = [&](const FileKey& key, TailedFile& f) {
    if (f.waiting) return;
    f.waiting = true;
    waiting_.push_back(key);
  };
  if (full) {
    for (auto& [key, f] : files_) {
      if (!update(*f)) wait_for_acks(key, *f);
    }
  }
  // In both lists, an entry whose file is gone, or whose file's flag is already down, is a
  // closed file's or a second entry of one key (a closed file's inode reused by a new file):
  // dropped, so that no file is looked at twice. A file looked at leaves touched_ (to waiting_
  // if bytes are still in flight); in waiting_, the flag stays down during the loop and goes up
  // again for the files kept.
  for (const FileKey& key : touched_) {
    auto f = files_.find(key);
    if (f == files_.end() || !f->second->touched) continue;
    f->second->touched = false;
    if (!update(*f->second)) wait_for_acks(key, *f->second);
  }
  touched_.clear();
  if (acked || full) {
    size_t kept = 0;
    for (const FileKey& key : waiting_) {
      auto f = files_.find(key);
      if (f == files_.end() || !f->second->waiting) continue;
      f->second->waiting = false;
      if (!update(*f->second)) waiting_[kept++] = key;
    }
    waiting_.resize(kept);
    for (const FileKey& key : waiting_) files_.find(key)->second->waiting = true;
  }

  double unacked = static_cast<double>(unacked_files_);
  std::erase_if(finished_, [&](FinishedFile& ff) {
    ff.record.offset = ff.tracker->Committed();
    // Read to the end and all acknowledged: the record stays (marked done) while the file
    // exists, so that a restart neither reopens it nor takes it for an unseen rotation.
    ff.record.done = ff.record.offset >= ff.final_offset;
    // An archive written again while it was read is read again whole, and one given up inside
    // its stream may have grown since (its events came while this record was not done yet):
    // once done, a pass looks at it now, not in minutes.
    if (ff.record.done && (ff.record.cut || ff.record.size == DecompressingReader::kRewritten)) {
      rescan_ = true;
    }
    const bool found = ff.record.done && held_.IsHeld(ff.record.path) && ReleaseHeld(ff);
    // Its name may be another file's by now (a new file made there once this one was deleted,
    // or a rotation's record moved there): acknowledgements arriving after that file's record
    // was put must not put this one back over it, or a restart would read that file again.
    // (A held file released to a name it was found at: a record of another file is stale.)
    if (!found && !ff.record.path.empty() &&
        file_util::OtherFilesRecord(positions_->FindByPath(ff.record.path), ff.record.identity)) {
      ff.record.path.clear();
    }
    if (!ff.record.path.empty()) positions_->Put(ff.record);
    unacked += static_cast<double>(ff.final_offset - std::min(ff.final_offset, ff.record.offset));
    return ff.record.done || ff.record.path.empty();
  });
  metrics_->unacked_bytes.With({})->Set(unacked);
  metrics_->files_active.With({})->Set(static_cast<double>(files_.size()));
}

void FileSource::Impl::UpdateHandlers() {
  if (handlers_stale_) {  // recomputed when targets or files change, not per turn
    // A few handlers among many files: a look at the list per file, not a set node each.
    // A handler that still holds entries (an open multiline block, a partial CRI line) stays
    // listed although its job has no target or file left (the node's last pod of the job was
    // deleted): its entries would wait for another target of the job, and a stop or reload
    // would drop them, the lines of a dying pod. Handlers outlive the source (FileTarget).
    std::vector<ReadHandler*> holding;
    for (ReadHandler* h : handlers_) {
      if (h->NextFlushNs() != INT64_MAX) holding.push_back(h);
    }
    handlers_.clear();
    const auto note = [&](ReadHandler* h) {
      if (h != nullptr && std::find(handlers_.begin(), handlers_.end(), h) == handlers_.end()) {
        handlers_.push_back(h);
      }
    };
    for (ReadHandler* h : holding) note(h);
    for (const auto& t : targets_) note(t->target.handler);
    ReadHandler* last = nullptr;
    for (const auto& [key, f] : files_) {
      if (f->handler() != last) note(last = f->handler());
    }
    handlers_stale_ = false;
  }
}

// A partial CRI line or a multiline block of a file that still has bytes queued (paused by
// backpressure, behind in a backlog, waiting for a descriptor or for an older file of its
// stream) is held on: the rest may be in those bytes, and emitting it after its wait would cut
// one line into two entries. Its wait starts again once the file is read. Those of files read
// to their end are sent on time, whatever the job's other files do. The queue is looked at only
// while some handler holds such a line.
void FileSource::Impl::HoldBehind(int64_t now_ns) {
  holding_.clear();
  for (ReadHandler* h : handlers_) {
    if (h->Holding()) holding_.push_back(h);
  }
  if (holding_.empty() || read_queue_.empty()) return;
  unread_.clear();
  for (const FileKey& key : read_queue_) {
    auto it = files_.find(key);
    if (it == files_.end() || !it->second->dirty) continue;
    if (std::find(holding_.begin(), holding_.end(), it->second->handler()) == holding_.end()) {
      continue;
    }
    unread_.push_back(it->second->tracker().get());
  }
  if (unread_.empty()) return;
  std::sort(unread_.begin(), unread_.end(), std::less<>());
  const UnreadSources unread{unread_};
  for (ReadHandler* h : holding_) h->Hold(now_ns, unread);
}

void FileSource::Impl::FlushHandlers(int64_t now_ns, bool force) {
  UpdateHandlers();
  if (!force) HoldBehind(now_ns);
  next_flush_ns_ = INT64_MAX;
  for (ReadHandler* h : handlers_) {
    h->Flush(now_ns, force);
    next_flush_ns_ = std::min(next_flush_ns_, h->NextFlushNs());
  }
}

FileSource::FileSource(FileSourceOptions options, Positions* positions, EntrySink* sink,
                       telemetry::AgentMetrics* metrics, Clock* clock,
                       std::unique_ptr<Watcher> watcher)
    : impl_(std::make_unique<Impl>(std::move(options), positions, sink, metrics, clock,
                                   std::move(watcher))) {}
FileSource::~FileSource() = default;
Status FileSource::Start() { return impl_->Start(); }
void FileSource::SetTargets(std::vector<FileTarget> targets) {
  impl_->SetTargets(std::move(targets));
}
void FileSource::Stop() { impl_->Stop(); }
void FileSource::Wake() { impl_->Wake(); }
bool FileSource::SyncPositions() { return impl_->SyncPositions(); }
size_t FileSource::ActiveFiles() const { return impl_->active_files.load(); }
size_t FileSource::ActiveTargets() const { return impl_->active_targets.load(); }

}  // namespace skidder::sources
