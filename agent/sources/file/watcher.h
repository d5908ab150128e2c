// Watcher: tells the reading thread which directories changed and which files were written.
//
// One inotify instance for the whole process, watching directories only (never files, so the
// watch count stays at one per directory). A directory that cannot be watched (inotify disabled
// by -no-inotify or unavailable: EMFILE/ENOSPC on init or add_watch) is polled instead: its
// mtime is compared on every poll tick, and a change asks for a rescan. Each fallback is counted
// in skidder_watcher_fallbacks_total{reason}; a queue overflow asks for a full rescan.
// Owned and called by the FileSource reading thread only.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "telemetry/agent_metrics.h"

namespace skidder::sources {

struct WatchEvents {
  bool rescan = false;               // entries created, moved or deleted somewhere: rediscover
  bool overflow = false;             // events were lost: rediscover and re-check every file
  std::vector<std::string> written;  // paths written to (IN_MODIFY, IN_CLOSE_WRITE)
};

class Watcher {
 public:
  Watcher(bool force_polling, telemetry::AgentMetrics* metrics);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // The inotify fd for poll(2); -1 when everything is polled.
  int fd() const { return fd_; }
  // A discovery pass: BeginPass, Add every directory it visits, EndPass drops the others.
  void BeginPass();
  void Add(const std::string& dir);
  void EndPass();
  // Reads queued events without blocking.
  void ReadEvents(WatchEvents* out);
  // Stats the polled directories; true when one changed since the last call.
  bool PollDirs();
  bool AnyPolled() const { return !polled_.empty(); }
  bool IsPolled(const std::string& dir) const { return fd_ < 0 || polled_.contains(dir); }
  size_t watched() const { return wd_by_dir_.size(); }

 private:
  void Fallback(const std::string& dir, const char* reason);
  void Unwatch(const std::string& dir);

  telemetry::AgentMetrics* metrics_;
  int fd_ = -1;
  std::unordered_map<std::string, int> wd_by_dir_;
  std::unordered_map<int, std::string> dir_by_wd_;
  std::unordered_map<std::string, int64_t> polled_;  // dir -> last mtime (ns), -1 if missing
  std::unordered_set<std::string> visited_;
};

}  // namespace skidder::sources
