#include "app/secret_poller.h"

#include <algorithm>
#include <exception>

#include "util/log.h"

namespace skidder::app {
namespace {

// The same object of the same API server (two components may read one Secret, each with its own
// client settings: each is polled with its own).
bool SameSecret(const config::SecretRef& a, const config::SecretRef& b) {
  return a.file == b.file && a.namespace_name == b.namespace_name && a.name == b.name &&
         a.client.api_server == b.client.api_server &&
         a.client.kubeconfig_file == b.client.kubeconfig_file;
}

// poll_frequency, doubled for each refused reload in a row, at most kMaxBackoff (and never
// less than poll_frequency, which may itself be longer).
Clock::SteadyTime::duration Interval(const PolledSecret& s, int refusals) {
  using Duration = Clock::SteadyTime::duration;
  const auto every = std::chrono::duration_cast<Duration>(s.ref.poll_frequency);
  Duration d = every;
  for (int i = 0; i < refusals && d < SecretPoller::kMaxBackoff; ++i) d *= 2;
  return std::max<Duration>(std::min<Duration>(d, SecretPoller::kMaxBackoff), every);
}

}  // namespace

SecretPoller::SecretPoller(Reader read, std::function<void()> on_change, const Clock& clock)
    : read_(std::move(read)), on_change_(std::move(on_change)), clock_(clock) {}

SecretPoller::~SecretPoller() { Stop(); }

void SecretPoller::Update(std::vector<PolledSecret> secrets) { Replace(std::move(secrets), false); }

void SecretPoller::Refused(std::vector<PolledSecret> running) { Replace(std::move(running), true); }

void SecretPoller::Replace(std::vector<PolledSecret> secrets, bool refused) {
  bool start = false;
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    refusals_ = refused ? std::min(refusals_ + 1, 30) : 0;
    start = !thread_.joinable() && !secrets.empty();
    pending_ = std::move(secrets);
  }
  cv_.notify_all();
  // Started with the first Secret: a config without any costs no thread. Only the owner's
  // thread calls this, so no other call starts it meanwhile.
  if (start) thread_ = std::thread([this] { Run(); });
}

void SecretPoller::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cancel_.store(true);
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SecretPoller::Run() {
  std::vector<PolledSecret> secrets;
  std::vector<Clock::SteadyTime> due;
  int refusals = 0;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      auto woken = [&] { return stop_ || pending_.has_value(); };
      if (due.empty()) {
        cv_.wait(lock, woken);
      } else if (!woken()) {
        // May return early (the clock's contract): the polls below check their own times.
        clock_.WaitUntil(cv_, lock, std::ranges::min(due));
      }
      if (stop_) return;
      if (pending_) {
        secrets = std::move(*pending_);
        pending_.reset();
        refusals = refusals_;
        due.clear();
        for (const PolledSecret& s : secrets)
          due.push_back(clock_.Steady() + Interval(s, refusals));
        continue;
      }
    }
    bool changed = false;
    for (size_t i = 0; i < secrets.size(); ++i) {
      if (clock_.Steady() < due[i]) continue;
      if (Poll(secrets[i])) {
        changed = true;
        // The other readers of that Secret take the news too: one reload per change.
        for (PolledSecret& other : secrets) {
          if (&other != &secrets[i] && SameSecret(other.ref, secrets[i].ref)) {
            other.data = secrets[i].data;
          }
        }
      }
      due[i] = clock_.Steady() + Interval(secrets[i], refusals);
    }
    if (!changed) continue;
    {
      // A reload (the operator's, or the one asked before) has meanwhile read the Secrets and
      // handed over what it read: the list this round compared against is out of date.
      std::lock_guard lock(mu_);
      if (stop_ || pending_) continue;
    }
    try {
      on_change_();
    } catch (const std::exception& e) {
      LOG_ERROR("cannot ask for a reload after a Secret changed", {{"error", e.what()}});
    }
  }
}

bool SecretPoller::Poll(PolledSecret& s) {
  const bool file = !s.ref.file.empty();  // a local.file's
  const std::string which = file ? s.ref.file : s.ref.namespace_name + "/" + s.ref.name;
  auto read = [&]() -> Result<std::map<std::string, std::string>> {
    try {
      return read_(s.ref, &cancel_);
    } catch (const std::exception& e) {
      return Err(Status(StatusCode::kInternal, e.what()));
    }
  };
  Result<std::map<std::string, std::string>> data = read();
  if (cancel_.load()) return false;
  if (!data) {
    // As Alloy's component turning unhealthy: the config keeps the data read before.
    LOG_WARN(file ? "cannot read a local.file again: going on with the content read before"
                  : "cannot poll a Secret: going on with the data read before",
             {{file ? "file" : "secret", which}, {"error", data.error().message()}});
    return false;
  }
  if (*data == s.data) return false;
  // Remembered now: one reload is asked for per change. If it is refused, Refused() hands back
  // what the running config read, and the change is seen (and asked for) again.
  s.data = std::move(*data);
  LOG_INFO(file ? "a local.file changed: reloading the config"
                : "a Secret changed: reloading the config",
           {{file ? "file" : "secret", which}});
  return true;
}

}  // namespace skidder::app
