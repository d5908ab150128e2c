// FileSource::Impl: the state of the reading thread. Internal to sources/file; split over
// file_source.cc (thread, loop, reading, positions) and discovery.cc (globs, new, rotated and
// recovered files). The file state is the reading thread's; other threads touch only the
// `mu_`-guarded pending targets, the atomics, and (via SyncPositions) the state under state_mu_.
#pragma once

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sources/file/file_source.h"
#include "sources/file/file_util.h"
#include "sources/file/glob.h"
#include "sources/file/held.h"
#include "sources/file/positions.h"
#include "sources/file/readline_limiter.h"
#include "sources/file/tailed_file.h"
#include "sources/file/watcher.h"
#include "util/unique_fd.h"

namespace skidder::sources {

using FileKey = std::pair<uint64_t, uint64_t>;  // dev, inode
inline FileKey KeyOf(const FileIdentity& id) { return {id.dev, id.ino}; }

struct TargetState;

// A file a discovery pass found, with the target it is for (the first whose glob matched).
struct FoundFile : WalkedFile {
  TargetState* target = nullptr;
  UniqueFd fd;  // the new file, when the walk opened it on its directory's descriptor
};
// A discovery pass's files by path (40 bytes each, not a struct stat's 144 and a map entry for
// the target: with 10,000 files this map is part of the agent's peak of memory).
using FoundFiles = std::map<std::string, FoundFile>;

struct TargetState {
  FileTarget target;
  Glob glob;
  std::optional<Glob> exclude;
};

// The directories a discovery pass walked, each with the first target that walked it: hashes
// of the names, not copies (with 10,000 files a pass walks 20,000 directories, and a map of
// their names was ~3.4 MB at the agent's peak of memory). 64-bit hashes of a few hundred
// thousand names do not collide in practice; a collision would only make a pass look for
// rotations in a directory it did not walk.
class WalkedDirs {
 public:
  void Add(std::string_view dir, TargetState* t) { v_.emplace_back(Hash(dir), t); }
  // After the last Add: sorted for Find, the first target of each directory kept.
  void Seal() {
    std::stable_sort(v_.begin(), v_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    v_.erase(std::unique(v_.begin(), v_.end(),
                         [](const auto& a, const auto& b) { return a.first == b.first; }),
             v_.end());
  }
  TargetState* Find(std::string_view dir) const {
    const uint64_t h = Hash(dir);
    auto it = std::lower_bound(v_.begin(), v_.end(), h,
                               [](const auto& e, uint64_t k) { return e.first < k; });
    return it != v_.end() && it->first == h ? it->second : nullptr;
  }

 private:
  static uint64_t Hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
  std::vector<std::pair<uint64_t, TargetState*>> v_;
};

// Open files by their current location (record_path), and by its directory, as hashes of the
// names instead of copies (~130 bytes per file with 10,000 files; the directory's entry is 40
// more). Kept in step with every open file (Adopt, CloseDrained and SetRecordPath, which
// re-keys a file that moves): a pass over a few directories costs nothing per other open file.
// A lookup compares the file's path as it is now.
class PathIndex {
 public:
  TailedFile* Find(std::string_view path) const {
    auto [b, e] = by_path_.equal_range(Hash(path));
    for (auto it = b; it != e; ++it) {
      if (it->second->record_path() == path) return it->second;
    }
    return nullptr;
  }
  // The open files directly in dir (appended to *out: a caller may move them meanwhile).
  void FilesIn(std::string_view dir, std::vector<TailedFile*>* out) const {
    auto [b, e] = by_dir_.equal_range(Hash(dir));
    for (auto it = b; it != e; ++it) {
      if (file_util::DirNameView(it->second->record_path()) == dir) out->push_back(it->second);
    }
  }
  void Add(TailedFile* f) {
    const std::string& p = f->record_path();
    if (p.empty()) return;
    by_path_.emplace(Hash(p), f);
    by_dir_.emplace(Hash(file_util::DirNameView(p)), f);
  }
  // Before f is destroyed or moves: looked up under f's path as it is now (a file without one
  // was never added).
  void Remove(const TailedFile* f) {
    const std::string& p = f->record_path();
    if (p.empty()) return;
    Erase(by_path_, Hash(p), f);
    Erase(by_dir_, Hash(file_util::DirNameView(p)), f);
  }
  void Clear() {
    by_path_.clear();
    by_dir_.clear();
  }
  // Whether f is found under its path and directory as they are now; and the number of
  // entries (tests of the index's upkeep, in debug builds).
  bool Has(const TailedFile* f) const {
    const auto in = [f](const Map& m, uint64_t h) {
      auto [b, e] = m.equal_range(h);
      return std::any_of(b, e, [f](const auto& kv) { return kv.second == f; });
    };
    const std::string& p = f->record_path();
    return in(by_path_, Hash(p)) && in(by_dir_, Hash(file_util::DirNameView(p)));
  }
  size_t size() const { return by_path_.size(); }
  size_t dir_entries() const { return by_dir_.size(); }

 private:
  using Map = std::unordered_multimap<uint64_t, TailedFile*>;
  static uint64_t Hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
  static void Erase(Map& m, uint64_t h, const TailedFile* f) {
    auto [b, e] = m.equal_range(h);
    for (auto it = b; it != e; ++it) {
      if (it->second == f) {
        m.erase(it);
        return;
      }
    }
  }
  Map by_path_;
  Map by_dir_;
};

// A closed file whose last entries are still in flight: its record follows their acks.
struct FinishedFile {
  PositionRecord record;  // offset follows the tracker; path "" when the file has no name left
  std::string held_from;  // where a held file was when it was linked
  std::shared_ptr<AckTracker> tracker;
  uint64_t final_offset;
};

class FileSource::Impl {
 public:
  Impl(FileSourceOptions options, Positions* positions, EntrySink* sink,
       telemetry::AgentMetrics* metrics, Clock* clock, std::unique_ptr<Watcher> watcher);
  ~Impl();

  Status Start();
  void Stop();
  void SetTargets(std::vector<FileTarget> targets);
  void Wake();
  // Any thread: copies committed offsets into Positions now; true when nothing is in flight.
  bool SyncPositions();

  std::atomic<size_t> active_files{0};
  // SyncPositions' last answer was "settled" (see FileSourceOptions::on_busy).
  std::atomic<bool> owner_settled_{false};
  std::atomic<size_t> active_targets{0};

 private:
  // file_source.cc
  void Run();
  void ApplyTargets();
  bool ReadFiles(int64_t now_ns);
  // read all / has more / later / its clients are full (before a chunk; after some: kCut) /
  // stop all (the read rate limit)
  enum class FileTurn { kDone, kMore, kWait, kBlocked, kCut, kStop };
  FileTurn ReadFile(TailedFile& f, int64_t now_ns,
                    const std::unordered_map<std::string_view, uint64_t>& oldest);
  void SetIdle(TailedFile& f);
  void RequeueWaiting();
  // The clients f's entries go to are full (its handler's sink: the job's clients only).
  bool Full(const TailedFile& f) const;
  // Every handler's clients are full (a config without routing: its one mask is).
  bool AllFull() const;
  void UpdateHandlers();  // handlers_ anew, after targets or files changed
  std::unordered_map<std::string_view, uint64_t> OldestUnread();
  bool EnsureFdSlot(const TailedFile* keep);
  bool Unpark(TailedFile& f, int64_t now_ns);
  void PollTick(int64_t now_ns);
  void CloseDrained(int64_t now_ns);
  bool WriterGone(TailedFile& f, int64_t now_ns);
  bool StillAtItsPath(const TailedFile& f) const;
  void DrainUnlinked();
  void UpdatePositions();
  void FlushHandlers(int64_t now_ns, bool force);
  void HoldBehind(int64_t now_ns);  // ReadHandler::Hold with the files still queued
  void WaitForEvents(int timeout_ms);
  // Idle is idle (file_source.cc): whether a tick has work, and how long the loop may wait.
  bool NeedsTick();
  bool Settled() const;
  int WaitTimeoutMs(std::chrono::steady_clock::time_point now, int64_t now_ns) const;
  config::Duration RescanPeriod() const;
  size_t OpenCount() const { return open_files_; }
  // Marks f as having data to read and queues it for ReadFiles (once). Every "may have new
  // data" goes through here: a turn then costs per file with data, not per file known.
  void MarkDirty(TailedFile& f);
  // f's position record may change (read, acknowledged, moved): UpdatePositions looks at it.
  void Touch(TailedFile& f) {
    if (f.touched) return;
    f.touched = true;
    touched_.push_back(KeyOf(f.identity()));
  }
  void HandlersChanged() { handlers_stale_ = true; }
  // Which files PollTick must look at may have changed (files added, removed, draining).
  void TickedChanged() { ticked_stale_ = true; }
  // The files a tick looks at: polled, draining or opened through a link (rebuilt when stale).
  const std::vector<FileKey>& Ticked();
  // f now needs a look on every tick (draining, or opened through a link): added to the list
  // without rebuilding it.
  void NoteTicked(const TailedFile& f);
  // A file whose target went away while it stays at its path: read on until `until` (steady ns).
  void StartLinger(TailedFile& f, int64_t until);
  void EndLinger(TailedFile& f);
  // discovery.cc
  // Directories made since the last pass, and (filled by the pass) every directory its walks
  // from them reached.
  struct NewDirWalk {
    const std::vector<std::string>& dirs;
    DirSet walked;
  };
  // A pass over every target's directories; or over these alone: `only` listed, `made` walked
  // from (Glob::WalkUnder).
  void Discover(int64_t now_ns, const DirSet* only = nullptr, NewDirWalk* made = nullptr);
  void ListOnly(const DirSet& only, WalkedDirs& dirs, TargetState** walking,
                const Glob::FileFn& add, const Glob::KnownFn& known);
  // The directories of a batch of events that need listing: those whose files moved or went,
  // those files moved into, and those gone. nullopt when a full pass is due (or a directory is
  // no target's, or polled: unsure what walks it).
  std::optional<DirSet> EventDirs(const WatchEvents& ev) const;
  // Runs the pass EventDirs asks for, with the walk from new directories (or asks for a full
  // pass): the directories it listed.
  DirSet DiscoverEventDirs(const WatchEvents& ev, int64_t now_ns);
  // A file an event says was created: opened without a pass when that is all it takes.
  void OpenCreated(const std::string& path, int64_t now_ns);
  bool InodeOpen(uint64_t ino) const;
  bool OpenElsewhere(const std::string& path) const;
  void CheckOpenFiles(const FoundFiles& found, int64_t now_ns, const DirSet* only = nullptr);
  // only: the directories a partial pass listed (their records alone are looked at).
  void ResolveRecords(const WalkedDirs& dirs, const FoundFiles& found, int64_t now_ns,
                      const DirSet* only);
  void ResolveGone(const std::string& dir, const PositionRecord& rec, const TargetState& t,
                   int64_t now_ns);
  // True when the record's archive was replaced by another on its inode (the record removed):
  // the caller looks for rotations no record knows in its directory.
  bool ResolveCompressed(const PositionRecord& rec, const TargetState& t, bool first,
                         int64_t now_ns);
  void OpenCompressed(const std::string& path, const PositionRecord& rec, const TargetState& t,
                      int64_t now_ns);
  // Rotations of dir's streams no record knows, written since since_ns: opened oldest first.
  void OpenUnseenRotations(const std::string& dir, const TargetState& t, const FoundFiles& found,
                           int64_t since_ns, int64_t now_ns);
  std::vector<std::pair<int64_t, std::string>> UnseenRotations(const std::string& dir,
                                                               const std::set<std::string>& bases,
                                                               const FoundFiles& found,
                                                               int64_t saved_ns);
  bool IsCopyOfKnownFile(const std::string& gz_path);
  bool InsideSymlinkRoots(const std::string& path, int fd);
  void OpenUnseen(const std::string& path, const std::string& origin, const TargetState& t,
                  int64_t now_ns);
  // opened: the file at path if the walk opened it already (else OpenNew opens path).
  void OpenNew(const std::string& path, const WalkedFile& walked, const TargetState& t,
               int64_t now_ns, UniqueFd opened = {});
  bool MovedSinceWalk(const std::string& path, const WalkedFile& walked, const struct stat& st,
                      const TargetState& t, int64_t now_ns);
  bool OpenMovedAway(const std::string& path, const WalkedFile& walked, const TargetState& t,
                     int64_t now_ns);
  void OpenRecovered(const std::string& where, const PositionRecord& rec, const TargetState& t,
                     int64_t now_ns);
  // decompressed_files.cc: a decompression job's archive, read whole once.
  void OpenDecompressed(const std::string& path, const struct stat& walked, const TargetState& t,
                        int64_t now_ns);
  // The decompression job whose glob matches path, else t (a compressed rotation of t's stream).
  const TargetState& ArchiveOwner(const std::string& path, const TargetState& t) const;
  bool DecompressedBefore(const std::string& path, const struct stat& walked) const;
  void ArchiveWritten(const std::string& path, int64_t now_ns);
  uint64_t DecompressedStart(const std::string& path, const FileIdentity& id,
                             CompressedReader& reader, int fd, Compression c, uint64_t size) const;
  // Where a file opened at path resumes. A record of it under another name (renamed while
  // stopped) is removed, or, with `superseded`, named there for the caller to remove once the
  // open cannot fail any more.
  uint64_t StartOffset(const std::string& path, int fd, const FileIdentity& id, uint64_t size,
                       std::string* superseded = nullptr);
  // FileTarget::tail_from_end: whether a file with no position of its own starts at its end.
  bool TailsFromEnd(const std::string& path, int fd) const;
  void StartDrain(TailedFile& f, int64_t now_ns);
  // A parked file no longer at its name (deleted, and perhaps its inode a new file's: no
  // descriptor keeps a parked file's inode) reads no more and closes; why is logged.
  void LetGoParked(TailedFile& f, const char* why);
  // LetGoParked for a parked file whose inode a new file now has (OtherFileOnInode).
  void LetGoReused(TailedFile& f);
  void Adopt(std::unique_ptr<TailedFile> f, const TargetState& t, int64_t now_ns);
  void RebuildPathIndex();
  // Moves f's record to path; an open file's path index entry follows.
  void SetRecordPath(TailedFile& f, std::string path);
  // SetRecordPath, and the record in Positions moved with it at once (discovery.cc); depth: see
  // MoveAside.
  void MoveRecord(TailedFile& f, const std::string& path, int depth = 0);
  // Before a record of the file `incoming` is put at path: a record there of another file that
  // was renamed on follows it by inode (discovery.cc). depth bounds a chain of such moves.
  void MoveAside(const std::string& path, const FileIdentity& incoming, int depth = 0);
  // Removes rec from the positions unless another file's record took its path (recovery.cc).
  void RemoveRecord(const PositionRecord& rec);
  // Debug builds: the path index has every open file with a path under it, and nothing else.
  bool PathIndexInStep() const;
  // held files (discovery.cc)
  void HoldDraining(TailedFile& f);
  std::string HoldBesideLink(TailedFile& f);
  void SaveHeldRecord();
  bool ReleaseHeld(FinishedFile& ff);
  void EnforceHeldBudget();
  const TargetState* FindTarget(const std::string& id) const;
  // The first target whose glob matches the file's current path (not excluded), or nullptr.
  const TargetState* MatchingTarget(const TailedFile& f) const;

  FileSourceOptions opts_;
  Positions* positions_;
  EntrySink* sink_;
  telemetry::AgentMetrics* metrics_;
  Clock* clock_;
  // The coarse wall clock the file system stamps files with (not clock_: it is compared with
  // birth times) when the source was made; files born before it were there at the start.
  int64_t started_wall_ns_ = 0;
  // tail_from_end: where a file whose open failed after its end was found starts on the next
  // try (erased once it opens; a file that never opens leaves 24 bytes).
  std::map<FileKey, uint64_t> tail_starts_;
  TailSettings settings_;
  ArrivalStamps stamps_;   // TailSettings::stamps; used on the read thread only
  size_t open_files_ = 0;  // descriptors open (TailSettings::open_files)
  ReadBatch batch_;        // one read's entries on their way to a handler (reused)
  BatchTime now_;          // read once per turn: the time of what the turn reads
  std::unique_ptr<Watcher> watcher_;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};

  std::mutex mu_;  // guards pending_targets_
  std::optional<std::vector<FileTarget>> pending_targets_;
  // Held by the reading thread for each loop turn (not while it waits), so that SyncPositions()
  // from another thread sees files_ and finished_ between turns.
  std::mutex state_mu_;

  std::vector<std::unique_ptr<TargetState>> targets_;
  std::map<FileKey, std::unique_ptr<TailedFile>> files_;
  PathIndex by_path_;  // current location -> file
  // Reused from one wake-up (or UpdatePositions) to the next, strings and lists with their
  // memory: on a node whose files each grow a line at a time, each line passes through both.
  WatchEvents events_;
  PositionRecord record_;
  std::vector<FinishedFile> finished_;
  std::set<std::pair<std::string, uint64_t>> resolved_;  // records seen (path, inode)
  std::set<std::string> scanned_dirs_;  // looked for rotations made while stopped (once each)
  // Directories where a file was seen rotated away, with the wall time since which rotations
  // there may have come and gone between two passes (the rotated file's opening).
  std::map<std::string, int64_t> rotated_since_;
  // Files being read to their end whose inode a pass found at a name that is not theirs: a
  // parked file deleted, its inode reused at once by a new file (logrotate's next copy, a new
  // pod log). The new file waits for the old one to close, which asks for a pass then.
  std::set<FileKey> inode_reused_;
  // Names of parked files let go (LetGoParked): the file there now, opened as new, replaced a
  // file of ours and is read from its start, never from its end (TailsFromEnd), though the
  // pass resolved the old record away. Until a file opens there; bounded.
  std::set<std::string> let_go_paths_;
  std::vector<char> buf_;
  HeldFiles held_;
  std::vector<std::string> real_roots_;  // symlink_roots, resolved
  std::set<std::string> refused_links_;  // logged once each
  // Archives of decompression jobs with an initial_delay: when each was first found.
  std::map<std::string, int64_t> archives_seen_;
  bool orphans_checked_ = false;
  bool rescan_ = true;
  bool saturated_ = false;  // a file waited this turn for the clients it sends to
  // limits_config.readline_rate*: one bucket for all files; throttled_ = wait mode ran dry.
  std::optional<ReadlineLimiter> limiter_;
  bool throttled_ = false;
  int64_t backpressure_ns_ = 0;  // shortest wait a handler asked for this turn (0: none)
  // Dirty files in the order they get their turn: a turn cut short by the sink or the limiter
  // resumes where it stopped, so the first files cannot starve the others.
  std::vector<FileKey> read_queue_;
  std::vector<FileKey> reading_;  // ReadFiles' copy of the queue (reused)
  // Files that waited this turn for their clients (or the rate limit): first in the next turn,
  // those that got no chunk before those cut short (reused).
  std::vector<FileKey> blocked_, cut_;
  // Files whose record may differ from what Positions has; the rest are checked every
  // kFullPositionsPass. Keeps an idle turn free of per-file work.
  // A vector and a flag per file (TailedFile::touched): a set node was 64 bytes per file.
  std::vector<FileKey> touched_;
  // Files with bytes read but not yet acknowledged (flag: TailedFile::waiting). Their records
  // change only when an ack moves a committed offset, so they are looked at only when
  // settings_.acks moved since the last look (acks_seen_): with 1000 files each growing a line
  // a second, every file waits for the next push nearly all the time, and looking at them all
  // on every turn was a fifth of the agent's CPU.
  std::vector<FileKey> waiting_;
  uint64_t acks_seen_ = 0;
  uint64_t unacked_files_ = 0;  // sum of the files' unacked_counted
  std::chrono::steady_clock::time_point next_full_positions_{};
  // The files PollTick looks at (polled, draining or opened through a link), kept between
  // changes so that a tick costs nothing per idle file.
  std::vector<FileKey> ticked_;
  bool ticked_stale_ = true;
  // EnsureFdSlot found nothing idle to close at this value of idle_gen_; until a file goes idle
  // (idle_gen_ moves) the answer stays "no" without another scan.
  uint64_t idle_gen_ = 0, no_victim_gen_ = ~uint64_t{0};
  FileKey victim_at_{};                 // where the next victim search starts (round robin)
  std::vector<ReadHandler*> handlers_;  // distinct handlers of targets and files
  std::vector<ReadHandler*> holding_;   // HoldBehind's, kept for their capacity
  std::vector<const AckTracker*> unread_;
  bool handlers_stale_ = true;
  bool cut_after_chunk_ = false;  // the limiter stopped the turn after the file got a chunk
  // A pass wanted before the timed one (an archive's initial_delay runs out then).
  std::chrono::steady_clock::time_point rescan_due_ = std::chrono::steady_clock::time_point::max();
  uint64_t next_open_seq_ = 0;  // TailedFile::open_seq
  // Files lingering after their target went away (TailedFile::linger_until_ns), and when
  // CloseDrained looks at them next (steady ns): once a tick, and not at all when there are none.
  size_t lingering_ = 0;
  int64_t next_linger_look_ns_ = 0;
  // When PollTick next checks that the links of files opened through one still name them
  // (steady ns), once a kLinkCheckPeriodNs.
  static constexpr int64_t kLinkCheckPeriodNs = 1'000'000'000;
  int64_t next_link_check_ns_ = 0;
  // Links whose file was rotated behind them, looked at with the links until they name a new
  // file or kRelinkWatchNs has passed: link path -> until (steady ns).
  static constexpr int64_t kRelinkWatchNs = 60'000'000'000;
  std::map<std::string, int64_t> relinked_;
  std::chrono::steady_clock::time_point next_rescan_{}, next_tick_{}, last_rescan_{};
  int64_t next_flush_ns_ = INT64_MAX;  // the handlers' earliest NextFlushNs after FlushHandlers
};

}  // namespace skidder::sources
