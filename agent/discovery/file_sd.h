// FileDiscovery: one file_sd_configs entry. Expands its globs, reads each target file
// (config/target_groups.h) and reports the union of their targets.
//
// Re-reads when a watched directory changes (inotify on the directory of each pattern, which
// also sees files created, renamed over or deleted) and every refresh_interval in any case (a
// directory that does not exist yet, an NFS mount, a lost event). A file that cannot be read or
// parsed logs one error naming file:line:column and keeps the targets it had; a file no glob
// matches any more takes its targets away.
//
// Owned by the app's Runtime, one per entry. Start() and Stop() are called from the owner's
// thread; the callback runs on the discovery's own thread, first once the files were read at
// Start() (even with no targets), then only when the target set changed.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "model/labels.h"
#include "util/status.h"

namespace skidder::discovery {

class FileDiscovery {
 public:
  using Callback = std::function<void(std::vector<Labels> targets)>;

  FileDiscovery(config::FileSdConfig cfg, Callback callback);
  ~FileDiscovery();  // Stop()
  FileDiscovery(const FileDiscovery&) = delete;
  FileDiscovery& operator=(const FileDiscovery&) = delete;

  // Reads the files once (publishing the result) and starts the watch thread.
  Status Start();
  // Wakes and joins the thread; prompt.
  void Stop();

  // Expands the patterns, re-reads every matched file and publishes when the targets changed.
  // Called by the thread; public for tests that drive it without one.
  void Refresh();

 private:
  void Run();
  void AddWatches();  // inotify on each pattern's directory; retried on every refresh

  config::FileSdConfig cfg_;
  Callback callback_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;                    // eventfd: Stop() wakes the thread
  std::map<std::string, int> watched_;  // directory -> watch descriptor
  std::thread thread_;
  std::atomic<bool> stop_{false};
  // Owned by whoever calls Refresh() (Start(), then the thread).
  std::map<std::string, std::vector<Labels>> by_file_;  // the last good targets of each file
  std::map<std::string, std::string> failing_;          // file -> error last logged
  std::vector<Labels> last_;
  bool published_ = false;
};

}  // namespace skidder::discovery
