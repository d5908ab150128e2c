#include "sources/file/watcher.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/log.h"

namespace skidder::sources {
namespace {

constexpr uint32_t kDirMask = IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_MODIFY |
                              IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB |
                              IN_ONLYDIR;

int64_t DirMtime(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

Watcher::Watcher(bool force_polling, telemetry::AgentMetrics* metrics) : metrics_(metrics) {
  if (force_polling) return;
  fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) {
    LOG_WARN("inotify unavailable; polling files instead", {{"error", std::strerror(errno)}});
    metrics_->watcher_fallbacks.With({"inotify_init"})->Add();
  }
}

Watcher::~Watcher() {
  if (fd_ >= 0) ::close(fd_);
}

void Watcher::BeginPass() { visited_.clear(); }

void Watcher::Add(const std::string& dir) {
  if (!visited_.insert(dir).second) return;
  if (fd_ < 0) {
    if (!polled_.contains(dir)) polled_[dir] = DirMtime(dir);
    return;
  }
  if (wd_by_dir_.contains(dir)) return;
  int wd = ::inotify_add_watch(fd_, dir.c_str(), kDirMask);
  if (wd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return;  // gone already
    Fallback(dir, errno == ENOSPC ? "watch_limit" : "add_watch");
    return;
  }
  polled_.erase(dir);  // a directory polled earlier is watched again once the limit allows
  wd_by_dir_[dir] = wd;
  dir_by_wd_[wd] = dir;
}

void Watcher::Fallback(const std::string& dir, const char* reason) {
  if (polled_.contains(dir)) return;
  polled_[dir] = DirMtime(dir);
  metrics_->watcher_fallbacks.With({reason})->Add();
  LOG_WARN("cannot watch directory; polling it", {{"dir", dir}, {"error", std::strerror(errno)}});
}

void Watcher::Unwatch(const std::string& dir) {
  auto it = wd_by_dir_.find(dir);
  if (it == wd_by_dir_.end()) return;
  ::inotify_rm_watch(fd_, it->second);  // EINVAL when the kernel dropped it already: fine
  dir_by_wd_.erase(it->second);
  wd_by_dir_.erase(it);
}

void Watcher::EndPass() {
  std::vector<std::string> gone;
  for (const auto& [dir, wd] : wd_by_dir_) {
    if (!visited_.contains(dir)) gone.push_back(dir);
  }
  for (const auto& dir : gone) Unwatch(dir);
  std::erase_if(polled_, [this](const auto& kv) { return !visited_.contains(kv.first); });
}

void Watcher::ReadEvents(WatchEvents* out) {
  if (fd_ < 0) return;
  alignas(inotify_event) char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // EAGAIN: drained
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<inotify_event*>(p);
      p += sizeof(inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        out->overflow = out->rescan = true;
        metrics_->watcher_fallbacks.With({"queue_overflow"})->Add();
        continue;
      }
      auto dir = dir_by_wd_.find(ev->wd);
      if (dir == dir_by_wd_.end()) continue;
      if (ev->mask & IN_IGNORED) {  // the directory is gone; the kernel removed the watch
        wd_by_dir_.erase(dir->second);
        dir_by_wd_.erase(dir);
        out->rescan = true;
        continue;
      }
      if ((ev->mask & (IN_MODIFY | IN_CLOSE_WRITE)) && ev->len > 0) {
        out->written.push_back(dir->second + "/" + ev->name);
      }
      if (ev->mask & ~(IN_MODIFY | IN_CLOSE_WRITE | IN_ISDIR)) out->rescan = true;
    }
  }
}

bool Watcher::PollDirs() {
  bool changed = false;
  for (auto& [dir, mtime] : polled_) {
    int64_t now = DirMtime(dir);
    if (now != mtime) {
      mtime = now;
      changed = true;
    }
  }
  return changed;
}

}  // namespace skidder::sources
