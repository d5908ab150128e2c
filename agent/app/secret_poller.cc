#include "app/secret_poller.h"

#include <algorithm>

#include "util/log.h"

namespace skidder::app {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Two components reading one Secret (with the same client) are one poll.
bool SameSecret(const config::SecretRef& a, const config::SecretRef& b) {
  return a.namespace_name == b.namespace_name && a.name == b.name &&
         a.client.api_server == b.client.api_server &&
         a.client.kubeconfig_file == b.client.kubeconfig_file;
}

std::vector<PolledSecret> Distinct(std::vector<PolledSecret> in) {
  std::vector<PolledSecret> out;
  for (PolledSecret& s : in) {
    auto same = [&](const PolledSecret& o) { return SameSecret(o.ref, s.ref); };
    if (auto it = std::ranges::find_if(out, same); it != out.end()) {
      // Polled as often as its most eager reader asks.
      it->ref.poll_frequency = std::min(it->ref.poll_frequency, s.ref.poll_frequency);
    } else {
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace

SecretPoller::SecretPoller(config::SecretReader read, std::function<void()> on_change)
    : read_(std::move(read)), on_change_(std::move(on_change)) {}

SecretPoller::~SecretPoller() { Stop(); }

void SecretPoller::Update(std::vector<PolledSecret> secrets) {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    pending_ = Distinct(std::move(secrets));
    // Started with the first Secret: a config without any costs no thread.
    if (!thread_.joinable() && !pending_->empty()) thread_ = std::thread([this] { Run(); });
  }
  cv_.notify_all();
}

void SecretPoller::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SecretPoller::Run() {
  std::vector<PolledSecret> secrets;
  std::vector<SteadyClock::time_point> due;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      auto woken = [&] { return stop_ || pending_.has_value(); };
      if (due.empty()) {
        cv_.wait(lock, woken);
      } else {
        cv_.wait_until(lock, std::ranges::min(due), woken);
      }
      if (stop_) return;
      if (pending_) {
        secrets = std::move(*pending_);
        pending_.reset();
        due.assign(secrets.size(), SteadyClock::time_point{});
        for (size_t i = 0; i < secrets.size(); ++i) {
          due[i] = SteadyClock::now() + secrets[i].ref.poll_frequency;
        }
        continue;
      }
    }
    bool changed = false;
    for (size_t i = 0; i < secrets.size(); ++i) {
      if (SteadyClock::now() < due[i]) continue;
      changed = Poll(secrets[i]) || changed;
      due[i] = SteadyClock::now() + secrets[i].ref.poll_frequency;
    }
    if (changed) on_change_();
  }
}

bool SecretPoller::Poll(PolledSecret& s) {
  const std::string which = s.ref.namespace_name + "/" + s.ref.name;
  Result<std::map<std::string, std::string>> data = read_(s.ref);
  if (!data) {
    // As Alloy's component turning unhealthy: the config keeps the data read before.
    LOG_WARN("cannot poll a Secret: going on with the data read before",
             {{"secret", which}, {"error", data.error().message()}});
    return false;
  }
  if (*data == s.data) return false;
  // Remembered now, so a reload that is refused (a value the config cannot use) is tried once
  // per change, not at every poll.
  s.data = std::move(*data);
  LOG_INFO("a Secret changed: reloading the config", {{"secret", which}});
  return true;
}

}  // namespace skidder::app
