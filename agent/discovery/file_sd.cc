#include "discovery/file_sd.h"

#include <glob.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "config/target_groups.h"
#include "util/log.h"

namespace skidder::discovery {
namespace {

// A burst of events (an editor writes a temp file, then renames it) is read once, this long
// after its first event.
constexpr int kCoalesceMs = 50;
constexpr size_t kMaxTargetFile = 64 << 20;  // a target file larger than this is refused

std::string DirOf(const std::string& pattern) {
  const size_t slash = pattern.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : pattern.substr(0, slash);
}

std::vector<std::string> Expand(const std::vector<std::string>& patterns) {
  std::set<std::string> out;
  for (const std::string& p : patterns) {
    glob_t g{};
    if (::glob(p.c_str(), 0, nullptr, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) out.insert(g.gl_pathv[i]);
    }
    ::globfree(&g);
  }
  return {out.begin(), out.end()};
}

Result<std::vector<Labels>> ReadTargetFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(NotFound(path + ": cannot be read"));
  std::string text;
  text.resize(kMaxTargetFile + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxTargetFile) {
    return Err(InvalidArgument(path + ": larger than 64 MiB, not read"));
  }
  return config::ParseTargetGroups(text, path);
}

}  // namespace

FileDiscovery::FileDiscovery(config::FileSdConfig cfg, Callback callback)
    : cfg_(std::move(cfg)), callback_(std::move(callback)) {}

FileDiscovery::~FileDiscovery() {
  Stop();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Status FileDiscovery::Start() {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Internal("file_sd_configs: eventfd failed");
  if (inotify_fd_ < 0) {
    LOG_WARN(
        "file_sd_configs: inotify unavailable; target files are re-read every "
        "refresh_interval only",
        {});
  }
  AddWatches();
  Refresh();
  stop_.store(false);
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void FileDiscovery::Stop() {
  stop_.store(true);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
}

void FileDiscovery::AddWatches() {
  if (inotify_fd_ < 0) return;
  for (const std::string& p : cfg_.files) {
    const std::string dir = DirOf(p);
    if (watched_.contains(dir)) continue;
    const int wd =
        ::inotify_add_watch(inotify_fd_, dir.c_str(),
                            IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO |
                                IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
    if (wd >= 0) watched_[dir] = wd;  // else: not there yet; tried again on every refresh
  }
}

void FileDiscovery::Run() {
  const auto interval =
      std::chrono::duration_cast<std::chrono::milliseconds>(cfg_.refresh_interval);
  auto next_refresh = std::chrono::steady_clock::now() + interval;
  bool pending = false;  // an event arrived; read once the burst is over
  while (!stop_.load()) {
    const auto now = std::chrono::steady_clock::now();
    int timeout =
        pending ? kCoalesceMs
                : static_cast<int>(std::max<int64_t>(
                      0, std::chrono::duration_cast<std::chrono::milliseconds>(next_refresh - now)
                             .count()));
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    const int n = ::poll(fds, inotify_fd_ >= 0 ? 2 : 1, timeout);
    if (stop_.load()) return;
    if (n > 0 && (fds[1].revents & POLLIN)) {
      alignas(inotify_event) char buf[8192];
      bool lost_dir = false;
      for (ssize_t got; (got = ::read(inotify_fd_, buf, sizeof buf)) > 0;) {
        for (ssize_t at = 0; at < got;) {
          const auto* ev = reinterpret_cast<const inotify_event*>(buf + at);
          if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) lost_dir = true;
          at += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        }
      }
      if (lost_dir) {  // the directory went away: watch it again once it is back
        for (const auto& [dir, wd] : watched_) ::inotify_rm_watch(inotify_fd_, wd);
        watched_.clear();
      }
      pending = true;
      continue;
    }
    if (n == 0 && (pending || std::chrono::steady_clock::now() >= next_refresh)) {
      pending = false;
      AddWatches();
      Refresh();
      next_refresh = std::chrono::steady_clock::now() + interval;
    }
  }
}

void FileDiscovery::Refresh() {
  std::map<std::string, std::vector<Labels>> fresh;
  const std::vector<std::string> matched = Expand(cfg_.files);
  for (const std::string& path : matched) {
    auto targets = ReadTargetFile(path);
    if (targets) {
      if (failing_.erase(path) > 0) {
        LOG_INFO("file_sd_configs: target file valid again", {{"file", path}});
      }
      fresh[path] = std::move(*targets);
      continue;
    }
    // Keep what the file said last time it was valid (Prometheus does the same).
    if (auto old = by_file_.find(path); old != by_file_.end()) fresh[path] = old->second;
    const std::string msg = targets.error().message();
    auto [it, inserted] = failing_.try_emplace(path, msg);
    if (inserted || it->second != msg) {
      it->second = msg;
      LOG_ERROR("file_sd_configs: cannot use target file; keeping its previous targets",
                {{"file", path}, {"error", msg}});
    }
  }
  std::erase_if(failing_, [&](const auto& kv) {
    return !std::binary_search(matched.begin(), matched.end(), kv.first);
  });
  by_file_ = std::move(fresh);
  std::vector<Labels> all;
  for (const auto& [path, targets] : by_file_)
    all.insert(all.end(), targets.begin(), targets.end());
  if (published_ && all == last_) return;
  published_ = true;
  last_ = all;
  callback_(std::move(all));
}

}  // namespace skidder::discovery
