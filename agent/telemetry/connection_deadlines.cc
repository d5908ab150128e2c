#include "telemetry/connection_deadlines.h"

#include <sys/socket.h>

#include <algorithm>

namespace skidder::telemetry {

namespace {
enum Phase { kWaiting, kReading, kAnswering };
}  // namespace

struct ConnectionDeadlines::Conn {
  int fd;
  int phase = kWaiting;
  bool closing = false;
  Clock::time_point since;  // of the phase
  Clock::time_point deadline;
  std::list<Conn>::iterator self;
};

ConnectionDeadlines::ConnectionDeadlines(std::chrono::milliseconds waiting,
                                         std::chrono::milliseconds reading, int max_open,
                                         Counter* late, Counter* evicted)
    : waiting_(waiting),
      reading_(reading),
      max_open_(static_cast<size_t>(std::max(max_open, 2))),
      late_(late),
      evicted_(evicted) {}

ConnectionDeadlines::~ConnectionDeadlines() { Stop(); }

void ConnectionDeadlines::Start() {
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void ConnectionDeadlines::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

ConnectionDeadlines::Conn* ConnectionDeadlines::OnOpened(int fd) {
  std::lock_guard lock(mu_);
  conns_.emplace_front();
  Conn& c = conns_.front();
  c.fd = fd;
  c.since = Clock::now();
  c.deadline = c.since + waiting_;
  c.self = conns_.begin();
  if (sleeping_) cv_.notify_all();
  if (conns_.size() - closing_ >= max_open_) EvictOldestLocked();
  return &c;
}

void ConnectionDeadlines::EvictOldestLocked() {
  Conn* oldest = nullptr;
  for (Conn& c : conns_) {
    if (c.phase == kAnswering || c.closing) continue;
    if (oldest == nullptr || c.since < oldest->since) oldest = &c;
  }
  if (oldest == nullptr || oldest == &conns_.front()) return;
  // The event thread sees end-of-stream and closes the connection (calling OnClosed).
  ::shutdown(oldest->fd, SHUT_RDWR);
  oldest->closing = true;
  ++closing_;
  oldest->deadline = Clock::time_point::max();
  evicted_->Add();
}

void ConnectionDeadlines::OnClosed(Conn* c) {
  if (c == nullptr) return;
  std::lock_guard lock(mu_);
  if (c->phase == kAnswering) --answering_;
  if (c->closing) --closing_;
  conns_.erase(c->self);
}

void ConnectionDeadlines::SetPhase(Conn* c, int phase, std::chrono::milliseconds budget) {
  if (c == nullptr) return;
  std::lock_guard lock(mu_);
  if (c->phase == kAnswering) --answering_;
  if (phase == kAnswering) ++answering_;
  c->phase = phase;
  c->since = Clock::now();
  if (!c->closing) c->deadline = phase == kAnswering ? Clock::time_point::max() : c->since + budget;
  if (sleeping_ && c->deadline != Clock::time_point::max()) cv_.notify_all();
}

bool ConnectionDeadlines::AnyDeadlineLocked() const {
  for (const Conn& c : conns_) {
    if (c.deadline != Clock::time_point::max()) return true;
  }
  return false;
}

void ConnectionDeadlines::OnRequestStarted(Conn* c) { SetPhase(c, kReading, reading_); }
void ConnectionDeadlines::OnRequestRead(Conn* c) { SetPhase(c, kAnswering, {}); }
void ConnectionDeadlines::OnResponseSent(Conn* c) { SetPhase(c, kWaiting, waiting_); }

int ConnectionDeadlines::Answering() const {
  std::lock_guard lock(mu_);
  return answering_;
}

void ConnectionDeadlines::Run() {
  // A tenth of the shorter budget: deadlines hold to within 10%, at a few wakeups a second.
  auto step = std::clamp(std::min(waiting_, reading_) / 10, std::chrono::milliseconds(20),
                         std::chrono::milliseconds(1000));
  std::unique_lock lock(mu_);
  while (!stop_) {
    // No deadline to watch (no connection, or all being answered): sleep until one is set, so
    // an idle agent's server costs no wakeups.
    if (!AnyDeadlineLocked()) {
      sleeping_ = true;
      cv_.wait(lock);
      sleeping_ = false;
      continue;
    }
    if (cv_.wait_for(lock, step, [this] { return stop_; })) break;
    auto now = Clock::now();
    for (Conn& c : conns_) {
      if (c.deadline > now) continue;
      ::shutdown(c.fd, SHUT_RDWR);  // as in EvictOldestLocked
      c.closing = true;
      ++closing_;
      c.deadline = Clock::time_point::max();
      late_->Add();
    }
  }
}

}  // namespace skidder::telemetry
