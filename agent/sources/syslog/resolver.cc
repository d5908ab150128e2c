#include "sources/syslog/resolver.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace skidder::sources::syslog {
namespace {

constexpr size_t kMaxNames = 1024;    // names kept (the oldest forgotten first)
constexpr size_t kMaxWaiting = 1024;  // lookups asked for and not done (UDP senders may be many)
// Lookups at once, each on a thread of its own that ends when nothing is left to look up: a
// few hanging PTR lookups do not hold the others back.
constexpr int kMaxWorkers = 8;

}  // namespace

// Shared with the worker, which outlives the Resolver when a lookup is still running.
struct Resolver::Shared {
  explicit Shared(LookupFn fn)
      : lookup(std::move(fn)), efd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Shared() {
    if (efd >= 0) close(efd);
  }
  struct Ask {
    std::string ip;
    sockaddr_storage addr;
    socklen_t len;
  };

  // A worker: looks up what is asked until nothing is, then ends.
  void Work() {
    std::unique_lock lock(mu);
    while (true) {
      if (stop || queue.empty()) {
        --workers;
        return;
      }
      Ask ask = std::move(queue.front());
      queue.pop_front();
      lock.unlock();
      std::string name = lookup(ask.addr, ask.len);
      lock.lock();
      // The oldest name goes first, one at a time: a name just found stays until the loop has
      // read it (clearing them all could take it before, leaving its sender waiting).
      auto [it, fresh] = names.insert_or_assign(ask.ip, std::move(name));
      if (fresh) order.push_back(ask.ip);
      if (names.size() > kMaxNames) {
        names.erase(order.front());
        order.pop_front();
      }
      asked.erase(ask.ip);
      const uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(efd, &one, sizeof one);
    }
  }

  const LookupFn lookup;
  const int efd;
  mutable std::mutex mu;
  int workers = 0;
  std::deque<Ask> queue;
  std::unordered_set<std::string> asked;  // in queue, or being looked up
  std::unordered_map<std::string, std::string> names;
  std::deque<std::string> order;  // names' keys, oldest first
  bool stop = false;
};

Resolver::Resolver(LookupFn lookup) : s_(std::make_shared<Shared>(std::move(lookup))) {}

Resolver::~Resolver() {
  std::lock_guard lock(s_->mu);
  s_->stop = true;
}

std::optional<std::string> Resolver::Find(const std::string& ip, const sockaddr_storage& addr,
                                          socklen_t len) {
  std::lock_guard lock(s_->mu);
  if (auto it = s_->names.find(ip); it != s_->names.end()) return it->second;
  if (s_->asked.contains(ip)) return std::nullopt;
  if (s_->asked.size() >= kMaxWaiting) return std::string();
  s_->asked.insert(ip);
  s_->queue.push_back({ip, addr, len});
  if (s_->workers < kMaxWorkers) {
    ++s_->workers;
    std::thread([s = s_] { s->Work(); }).detach();
  }
  return std::nullopt;
}

std::optional<std::string> Resolver::Known(const std::string& ip) const {
  std::lock_guard lock(s_->mu);
  auto it = s_->names.find(ip);
  if (it == s_->names.end()) return std::nullopt;
  return it->second;
}

int Resolver::fd() const { return s_->efd; }

void Resolver::Drain() {
  uint64_t n = 0;
  [[maybe_unused]] ssize_t r = read(s_->efd, &n, sizeof n);
}

}  // namespace skidder::sources::syslog
