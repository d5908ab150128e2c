// FakeWatcher: a Watcher the test drives. Events it is given are handed to the file source at
// its next read (an eventfd wakes the source's poll); it counts discovery passes and the
// directories each pass added, so a test can tell whether an event cost a pass.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "sources/file/watcher.h"

namespace skidder::sources::testing {

class FakeWatcher final : public Watcher {
 public:
  // The test's view, which outlives the watcher (the source owns and destroys the watcher).
  struct State {
    std::atomic<int> passes{0};  // discovery passes begun
    std::mutex mu;
    std::set<std::string> dirs;  // added during the last pass, and since
    WatchEvents pending;         // handed over at the next ReadEvents
    int fd = -1;
  };

  explicit FakeWatcher(State* state) : s_(state) {
    s_->fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  }
  ~FakeWatcher() override {
    ::close(s_->fd);
    s_->fd = -1;
  }

  int fd() const override { return s_->fd; }
  void BeginPass() override {
    std::lock_guard lock(s_->mu);
    s_->dirs.clear();
    ++s_->passes;
  }
  void Add(const std::string& dir) override {
    std::lock_guard lock(s_->mu);
    s_->dirs.insert(dir);
  }
  void EndPass() override {}
  void ReadEvents(WatchEvents* out) override {
    uint64_t v;
    (void)!::read(s_->fd, &v, sizeof v);
    std::lock_guard lock(s_->mu);
    *out = std::exchange(s_->pending, {});
  }
  bool PollDirs() override { return false; }
  bool AnyPolled() const override { return false; }
  bool IsPolled(const std::string&) const override { return false; }

 private:
  State* s_;
};

// Queues events for the source and wakes it. Any thread.
inline void Deliver(FakeWatcher::State& s, const WatchEvents& ev) {
  {
    std::lock_guard lock(s.mu);
    WatchEvents& p = s.pending;
    p.rescan |= ev.rescan;
    p.overflow |= ev.overflow;
    p.created.insert(p.created.end(), ev.created.begin(), ev.created.end());
    p.written.insert(p.written.end(), ev.written.begin(), ev.written.end());
    p.rescan_dirs.insert(p.rescan_dirs.end(), ev.rescan_dirs.begin(), ev.rescan_dirs.end());
    p.new_dirs.insert(p.new_dirs.end(), ev.new_dirs.begin(), ev.new_dirs.end());
    p.gone_dirs.insert(p.gone_dirs.end(), ev.gone_dirs.begin(), ev.gone_dirs.end());
  }
  uint64_t one = 1;
  (void)!::write(s.fd, &one, sizeof one);
}

}  // namespace skidder::sources::testing
