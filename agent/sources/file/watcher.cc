#include "sources/file/watcher.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/log.h"

namespace skidder::sources {
namespace {

constexpr uint32_t kDirMask = IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_MODIFY |
                              IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB |
                              IN_ONLYDIR;
constexpr uint32_t kWritten = IN_MODIFY | IN_CLOSE_WRITE;
constexpr uint32_t kCreated = IN_CREATE | IN_MOVED_TO;

int64_t DirMtime(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

}  // namespace

void PollingWatcher::Add(const std::string& dir) {
  auto [it, fresh] = polled_.try_emplace(dir, Polled{0, pass_});
  if (fresh) it->second.mtime = DirMtime(dir);
  it->second.pass = pass_;
}

void PollingWatcher::EndPass() {
  std::erase_if(polled_, [this](const auto& kv) { return kv.second.pass != pass_; });
}

bool PollingWatcher::PollDirs() {
  bool changed = false;
  for (auto& [dir, p] : polled_) {
    int64_t now = DirMtime(dir);
    if (now != p.mtime) {
      p.mtime = now;
      changed = true;
    }
  }
  return changed;
}

std::unique_ptr<InotifyWatcher> InotifyWatcher::Create(telemetry::AgentMetrics* metrics) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    LOG_WARN("inotify unavailable; polling files instead", {{"error", std::strerror(errno)}});
    metrics->watcher_fallbacks.With({"inotify_init"})->Add();
    return nullptr;
  }
  return std::unique_ptr<InotifyWatcher>(new InotifyWatcher(fd, metrics));
}

InotifyWatcher::~InotifyWatcher() { ::close(fd_); }

void InotifyWatcher::BeginPass() {
  ++pass_;
  fallback_.BeginPass();
}

void InotifyWatcher::Add(const std::string& dir) {
  if (auto it = wd_by_dir_.find(dir); it != wd_by_dir_.end()) {
    it->second.pass = pass_;
    if (it->second.suspect) Renew(it);
    return;
  }
  int wd = ::inotify_add_watch(fd_, dir.c_str(), kDirMask);
  if (wd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return;  // gone already
    Fallback(dir, errno == ENOSPC ? "watch_limit" : "add_watch");
    return;
  }
  fallback_.Drop(dir);  // a directory polled earlier is watched again once the limit allows
  auto it = wd_by_dir_.emplace(dir, Watch{wd, pass_}).first;
  dir_by_wd_.Set(wd, &it->first);
}

size_t InotifyWatcher::WdIndex::Slot(int wd) const {
  const auto it =
      std::lower_bound(v_.begin(), v_.end(), wd, [](const auto& e, int w) { return e.first < w; });
  return static_cast<size_t>(it - v_.begin());
}

void InotifyWatcher::WdIndex::Set(int wd, const std::string* dir) {
  if (v_.empty() || v_.back().first < wd) {
    v_.emplace_back(wd, dir);
    return;
  }
  const size_t i = Slot(wd);
  if (i < v_.size() && v_[i].first == wd) {
    if (v_[i].second == nullptr) --holes_;
    v_[i].second = dir;  // the same directory under another name (the kernel's wd is per inode)
  } else {
    v_.emplace(v_.begin() + static_cast<std::ptrdiff_t>(i), wd, dir);  // the wds wrapped around
  }
}

const std::string* InotifyWatcher::WdIndex::Find(int wd) const {
  const size_t i = Slot(wd);
  return i < v_.size() && v_[i].first == wd ? v_[i].second : nullptr;
}

void InotifyWatcher::WdIndex::Erase(int wd) {
  const size_t i = Slot(wd);
  if (i == v_.size() || v_[i].first != wd || v_[i].second == nullptr) return;
  v_[i].second = nullptr;
  if (++holes_ * 2 < v_.size()) return;
  std::erase_if(v_, [](const auto& e) { return e.second == nullptr; });
  holes_ = 0;
}

void InotifyWatcher::Fallback(const std::string& dir, const char* reason) {
  const bool known = fallback_.Polls(dir);
  fallback_.Add(dir);
  if (known) return;
  metrics_->watcher_fallbacks.With({reason})->Add();
  LOG_WARN("cannot watch directory; polling it", {{"dir", dir}, {"error", std::strerror(errno)}});
}

void InotifyWatcher::Unwatch(const std::string& dir) {
  auto it = wd_by_dir_.find(dir);
  if (it == wd_by_dir_.end()) return;
  // The kernel's watch is per directory, not per name: a directory moved and watched at its new
  // name has the same descriptor, and the index names the newer. The old name goes alone then.
  if (dir_by_wd_.Find(it->second.wd) == &it->first) {
    ::inotify_rm_watch(fd_, it->second.wd);  // EINVAL when the kernel dropped it already: fine
    dir_by_wd_.Erase(it->second.wd);
  }
  wd_by_dir_.erase(it);
}

// A directory was made (or moved in) at `made`. A watch we hold under that name, or under a name
// below it, may be of the directory removed from there: the kernel ends a removed directory's
// watch (IN_DELETE_SELF, IN_IGNORED) only when the directory's last reference goes, and a file
// in it that the reader still has open (deleted, read to its end) is one. A pod's log directory
// removed and made again under the same name (a static pod's keeps its UID) would otherwise go
// unwatched until that file closes. Rare: the names are scanned, and Add looks again at each.
void InotifyWatcher::SuspectStale(const std::string& made) {
  auto it = wd_by_dir_.find(made);
  if (it == wd_by_dir_.end()) return;  // nothing was watched there (its subdirectories neither)
  it->second.suspect = true;
  for (auto& [dir, w] : wd_by_dir_) {
    if (dir.size() > made.size() && dir[made.size()] == '/' && dir.starts_with(made)) {
      w.suspect = true;
    }
  }
}

// Adds the watch again: the kernel returns the same descriptor for the same directory, a new
// one for a new directory under the old name. The old descriptor is dropped from the index
// (its last events, IN_IGNORED among them, are then ignored), and removed unless another name
// holds it (a directory moved away and watched at its new name).
void InotifyWatcher::Renew(std::unordered_map<std::string, Watch>::iterator it) {
  it->second.suspect = false;
  const int old = it->second.wd;
  const int wd = ::inotify_add_watch(fd_, it->first.c_str(), kDirMask);
  const int err = errno;
  if (wd == old) return;  // the same directory
  if (dir_by_wd_.Find(old) == &it->first) {
    ::inotify_rm_watch(fd_, old);
    dir_by_wd_.Erase(old);
  }
  if (wd < 0) {
    const std::string dir = it->first;
    wd_by_dir_.erase(it);
    if (err == ENOENT || err == ENOTDIR) return;  // gone again
    errno = err;
    Fallback(dir, err == ENOSPC ? "watch_limit" : "add_watch");
    return;
  }
  it->second.wd = wd;
  dir_by_wd_.Set(wd, &it->first);
}

void InotifyWatcher::EndPass() {
  std::vector<std::string> gone;
  for (const auto& [dir, w] : wd_by_dir_) {
    if (w.pass != pass_) gone.push_back(dir);
  }
  for (const auto& dir : gone) Unwatch(dir);
  fallback_.EndPass();
}

void WatchEvents::AddWritten(std::string_view dir, std::string_view name) {
  std::string path;
  if (!spare_.empty()) {
    path = std::move(spare_.back());
    spare_.pop_back();
  }
  path.assign(dir);
  path += '/';
  path += name;
  written.push_back(std::move(path));
}

void WatchEvents::Clear() {
  rescan = overflow = false;
  rescan_dirs.clear();
  new_dirs.clear();
  gone_dirs.clear();
  created.clear();
  for (std::string& path : written) {
    if (spare_.size() == kSpare) break;
    spare_.push_back(std::move(path));
  }
  written.clear();
}

void InotifyWatcher::ReadEvents(WatchEvents* out) {
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
      const std::string* dir = dir_by_wd_.Find(ev->wd);
      if (dir == nullptr) continue;
      const std::string& dir_name = *dir;
      if (ev->mask & IN_IGNORED) {  // the directory is gone; the kernel removed the watch
        out->gone_dirs.push_back(dir_name);
        auto w = wd_by_dir_.find(dir_name);
        dir_by_wd_.Erase(ev->wd);
        if (w != wd_by_dir_.end()) wd_by_dir_.erase(w);  // dir_name is not used after this
        continue;
      }
      const bool named = ev->len > 0;
      const bool file = named && !(ev->mask & IN_ISDIR);
      if (file && (ev->mask & kWritten)) out->AddWritten(dir_name, ev->name);
      // A new file needs no pass (the source opens it by name); a new directory a walk from it
      // alone. A directory removed needs nothing here: its own watch tells of its files, then of
      // its end (IN_DELETE_SELF, IN_IGNORED). Anything that moves or removes a file's name needs
      // a pass over its directory; a directory moved (its files have new names), a full one.
      if (file && (ev->mask & kCreated)) out->created.push_back(dir_name + "/" + ev->name);
      if (named && !file && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
        std::string made = dir_name + "/" + ev->name;
        SuspectStale(made);
        if (ev->mask & IN_CREATE) out->new_dirs.push_back(std::move(made));
      }
      const uint32_t handled = kWritten | (file ? kCreated : 0) |
                               (named && !file ? IN_CREATE | IN_DELETE : 0) |
                               (named ? 0 : IN_DELETE_SELF) | IN_ISDIR;
      if ((ev->mask & ~handled) == 0) continue;
      if (file && (out->rescan_dirs.empty() || out->rescan_dirs.back() != dir_name)) {
        out->rescan_dirs.push_back(dir_name);  // a file's name moved or went: this directory
      } else if (!file) {
        out->rescan = true;
      }
    }
  }
}

std::unique_ptr<Watcher> MakeWatcher(bool force_polling, telemetry::AgentMetrics* metrics) {
  if (!force_polling) {
    if (auto w = InotifyWatcher::Create(metrics)) return w;
  }
  return std::make_unique<PollingWatcher>();
}

}  // namespace skidder::sources
