// Watcher: tells the reading thread which directories changed and which files were created or
// written. An interface with two backends (as Fluent Bit's tail_fs_inotify / tail_fs_stat) and a
// fake for tests (tests/unit/sources/fake_watcher.h):
//
// - InotifyWatcher: one inotify instance for the whole process, watching directories only
//   (never files, so the watch count stays at one per directory). A directory that cannot be
//   watched (EMFILE/ENOSPC on add_watch) is polled instead, by a PollingWatcher inside it. A
//   queue overflow asks for a full rescan.
// - PollingWatcher: no descriptor; each directory's mtime is compared on every poll tick, and a
//   change asks for a rescan (-no-inotify, or inotify unavailable).
//
// Each fallback is counted in skidder_watcher_fallbacks_total{reason}. Owned and called by the
// FileSource reading thread only (a fake may be fed from another thread).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "telemetry/agent_metrics.h"

namespace skidder::sources {

struct WatchEvents {
  bool rescan = false;  // directories moved, or a change no other field says: rediscover all
  // Directories whose files moved away or were deleted (IN_MOVED_FROM, IN_DELETE, IN_ATTRIB):
  // a pass over these (and where files moved in) finds what became of them, not one over all.
  std::vector<std::string> rescan_dirs;
  // Directories made (IN_CREATE of a directory): a walk from each alone watches them and finds
  // their files, as a full pass would have. A pod that comes and goes costs no pass over the
  // directories of every other pod (benchmarks/e2e.py --churn).
  std::vector<std::string> new_dirs;
  // Watched directories that are gone (IN_IGNORED after a removal): what was open in them is
  // sorted out by a pass over them alone, which finds them empty.
  std::vector<std::string> gone_dirs;
  bool overflow = false;             // events were lost: rediscover and re-check every file
  std::vector<std::string> created;  // files created or moved in (a pass is not needed for them)
  std::vector<std::string> written;  // paths written to (IN_MODIFY, IN_CLOSE_WRITE)

  // Adds dir/name to written, in a string kept from before Clear() when there is one: a node
  // whose files each grow a line at a time wakes the reader for a write or two, and a new
  // string and list for each cost three allocations a line.
  void AddWritten(std::string_view dir, std::string_view name);
  // Empties every list for the next ReadEvents, keeping their memory (up to kSpare strings).
  void Clear();

 private:
  static constexpr size_t kSpare = 64;
  std::vector<std::string> spare_;
};

class Watcher {
 public:
  virtual ~Watcher() = default;
  // A descriptor for poll(2) that is readable when ReadEvents has something; -1 when none (then
  // only PollDirs tells of changes).
  virtual int fd() const = 0;
  // A discovery pass: BeginPass, Add every directory it visits, EndPass drops the others.
  virtual void BeginPass() = 0;
  virtual void Add(const std::string& dir) = 0;
  virtual void EndPass() = 0;
  // Reads queued events without blocking.
  virtual void ReadEvents(WatchEvents* out) = 0;
  // Checks the polled directories; true when one changed since the last call.
  virtual bool PollDirs() = 0;
  // Whether some directories, or this one, are polled (their files' writes raise no events).
  virtual bool AnyPolled() const = 0;
  virtual bool IsPolled(const std::string& dir) const = 0;
};

// Stats every directory added on each PollDirs. No write raises an event: every file is polled.
class PollingWatcher final : public Watcher {
 public:
  int fd() const override { return -1; }
  void BeginPass() override { ++pass_; }
  void Add(const std::string& dir) override;
  void EndPass() override;
  void ReadEvents(WatchEvents*) override {}
  bool PollDirs() override;
  bool AnyPolled() const override { return true; }
  bool IsPolled(const std::string&) const override { return true; }
  // For InotifyWatcher's fallback: which directories are in the polled set.
  bool Polls(const std::string& dir) const { return polled_.contains(dir); }
  bool empty() const { return polled_.empty(); }
  // Removes dir from the polled set (it is watched by other means now).
  void Drop(const std::string& dir) { polled_.erase(dir); }

 private:
  struct Polled {
    int64_t mtime;  // last mtime (ns), -1 if missing
    uint64_t pass;  // the last pass that added it
  };
  std::unordered_map<std::string, Polled> polled_;
  uint64_t pass_ = 0;
};

class InotifyWatcher final : public Watcher {
 public:
  // Fails (nullptr) when inotify cannot be initialised; counted and logged.
  static std::unique_ptr<InotifyWatcher> Create(telemetry::AgentMetrics* metrics);
  ~InotifyWatcher() override;
  InotifyWatcher(const InotifyWatcher&) = delete;
  InotifyWatcher& operator=(const InotifyWatcher&) = delete;

  int fd() const override { return fd_; }
  void BeginPass() override;
  void Add(const std::string& dir) override;
  void EndPass() override;
  void ReadEvents(WatchEvents* out) override;
  bool PollDirs() override { return fallback_.PollDirs(); }
  bool AnyPolled() const override { return !fallback_.empty(); }
  bool IsPolled(const std::string& dir) const override { return fallback_.Polls(dir); }
  size_t watched() const { return wd_by_dir_.size(); }

 private:
  InotifyWatcher(int fd, telemetry::AgentMetrics* metrics) : metrics_(metrics), fd_(fd) {}
  void Fallback(const std::string& dir, const char* reason);
  void Unwatch(const std::string& dir);
  void SuspectStale(const std::string& made);
  struct Watch;
  void Renew(std::unordered_map<std::string, Watch>::iterator it);

  struct Watch {
    int wd;
    uint64_t pass;  // the last pass that added it (EndPass drops the others)
    // A directory of this name was made since the watch was added: the watch may be of the
    // directory that had the name before (see SuspectStale). The next Add looks again.
    bool suspect = false;
  };
  telemetry::AgentMetrics* metrics_;
  int fd_;
  // The directories by watch descriptor: a vector sorted by wd, 16 bytes per directory where a
  // hash map's node and bucket were ~56 (20,000 directories with 10,000 pod logs). The kernel
  // hands out wds in increasing order (cyclically), so a new one is appended; a removed one
  // leaves a hole, and the holes are swept out once they are as many as the live entries.
  class WdIndex {
   public:
    void Set(int wd, const std::string* dir);
    const std::string* Find(int wd) const;  // nullptr when unknown
    void Erase(int wd);

   private:
    size_t Slot(int wd) const;  // where wd is, or would go
    std::vector<std::pair<int, const std::string*>> v_;
    size_t holes_ = 0;
  };
  // Each directory's name is stored once (a pass over 20,000 directories used to copy each
  // into a visited set, and both maps held a copy): dir_by_wd_ points at wd_by_dir_'s keys,
  // which stay put in an unordered_map's nodes.
  std::unordered_map<std::string, Watch> wd_by_dir_;
  WdIndex dir_by_wd_;
  uint64_t pass_ = 0;
  PollingWatcher fallback_;  // directories inotify could not watch
};

// inotify, or polling when force_polling or inotify is unavailable.
std::unique_ptr<Watcher> MakeWatcher(bool force_polling, telemetry::AgentMetrics* metrics);

}  // namespace skidder::sources
