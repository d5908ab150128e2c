#include "kubernetes/discovery.h"

#include <random>

#include "kubernetes/watcher.h"
#include "telemetry/agent_metrics.h"
#include "util/log.h"

namespace skidder::kubernetes {
namespace {

// Exponential backoff with jitter: each delay is drawn from [d/2, d], d doubling up to max.
class Backoff {
 public:
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max) : min_(min), max_(max) {}
  std::chrono::milliseconds Next(std::mt19937& rng) {
    const auto d = cur_.count() == 0 ? min_ : std::min(max_, cur_ * 2);
    cur_ = d;
    std::uniform_int_distribution<int64_t> dist(d.count() / 2, std::max<int64_t>(d.count(), 1));
    return std::chrono::milliseconds(dist(rng));
  }
  void Reset() { cur_ = std::chrono::milliseconds(0); }

 private:
  std::chrono::milliseconds min_, max_, cur_{0};
};

}  // namespace

PodDiscovery::PodDiscovery(config::KubernetesSdConfig cfg, Callback callback, DiscoveryOptions opts)
    : cfg_(std::move(cfg)), callback_(std::move(callback)), opts_(std::move(opts)) {}

PodDiscovery::~PodDiscovery() { Stop(); }

Status PodDiscovery::Start() {
  auto resolved = ResolveSdConfig(cfg_, opts_.env);
  if (!resolved) return resolved.error();
  resolved->client.token_refresh = opts_.token_refresh;
  stop_.store(false);
  for (PodQuery& q : resolved->queries) {
    LOG_INFO("kubernetes pod discovery starting",
             {{"server", resolved->client.server},
              {"namespace", q.namespace_name.empty() ? "(all)" : q.namespace_name},
              {"field_selector", q.field_selector},
              {"label_selector", q.label_selector}});
    watchers_.push_back(std::make_unique<Watcher>(std::move(q), resolved->client));
  }
  for (auto& w : watchers_) w->thread = std::thread([this, &w = *w] { Run(w); });
  return Status::Ok();
}

void PodDiscovery::Stop() {
  {
    std::lock_guard lock(sleep_mu_);
    stop_.store(true);
  }
  sleep_cv_.notify_all();
  for (auto& w : watchers_) w->client.Interrupt();
  for (auto& w : watchers_) {
    if (w->thread.joinable()) w->thread.join();
  }
  watchers_.clear();
}

bool PodDiscovery::Synced() const {
  std::lock_guard lock(state_mu_);
  if (watchers_.empty()) return false;
  for (const auto& w : watchers_) {
    if (!w->synced) return false;
  }
  return true;
}

bool PodDiscovery::Sleep(std::chrono::milliseconds d) {
  std::unique_lock lock(sleep_mu_);
  return !sleep_cv_.wait_for(lock, d, [this] { return stop_.load(); });
}

void PodDiscovery::CountError(const char* reason) {
  if (opts_.metrics != nullptr) opts_.metrics->kubernetes_api_errors.With({reason})->Add();
}

void PodDiscovery::CountRestart(const char* reason) {
  if (opts_.metrics != nullptr) opts_.metrics->kubernetes_watch_restarts.With({reason})->Add();
}

void PodDiscovery::Run(Watcher& w) {
  Backoff backoff(opts_.backoff_min, opts_.backoff_max);
  bool need_list = true;
  while (!stop_.load()) {
    if (need_list) {
      if (!List(w)) {
        if (!Sleep(backoff.Next(w.rng))) return;
        continue;
      }
      need_list = false;
      backoff.Reset();
    }
    bool got_data = false;
    switch (WatchOnce(w, got_data)) {
      case WatchEnd::kStopped:
        return;
      case WatchEnd::kRelist:
        // Backed off too: a server answering every watch with 410 must not get a list storm.
        CountRestart("gone");
        need_list = true;
        if (!Sleep(backoff.Next(w.rng))) return;
        break;
      case WatchEnd::kRewatch:
        // A watch that ends without a byte, again and again, must not spin.
        if (got_data) {
          backoff.Reset();
        } else if (!Sleep(backoff.Next(w.rng))) {
          return;
        }
        break;
      case WatchEnd::kError:
        CountRestart("error");
        if (!Sleep(backoff.Next(w.rng))) return;
        break;
    }
  }
}

// Publishes the union of every watcher's targets when it differs from the last one published.
// Caller holds state_mu_.
void PodDiscovery::Publish() {
  std::vector<Labels> all;
  for (const auto& w : watchers_) {
    for (const auto& [key, targets] : w->pods)
      all.insert(all.end(), targets.begin(), targets.end());
  }
  if (published_ && all == last_) return;
  published_ = true;
  last_ = all;
  callback_(std::move(all));
}

}  // namespace skidder::kubernetes
