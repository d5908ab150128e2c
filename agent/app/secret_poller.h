// remote.kubernetes.secret polls its Secret every poll_frequency, as Alloy does, so that a
// rotated credential reaches loki.write without a restart. skidder's configuration is fixed
// between loads, so a change is applied the way an operator would apply it: by a reload, which
// reads every Secret again and rebuilds what reads them (a refused reload keeps the old config
// and says why, as for SIGHUP).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/alloy.h"

namespace skidder::app {

// A Secret a load read, and the data that load used (key -> base64, as the API gives it).
struct PolledSecret {
  config::SecretRef ref;
  std::map<std::string, std::string> data;
};

class SecretPoller {
 public:
  // `read` blocks up to the ref's poll_timeout (kubernetes::ReadSecretData). `on_change` runs on
  // the poller's thread once for each poll that finds some Secret's data changed.
  SecretPoller(config::SecretReader read, std::function<void()> on_change);
  ~SecretPoller();
  SecretPoller(const SecretPoller&) = delete;
  SecretPoller& operator=(const SecretPoller&) = delete;

  // What the config now running read: polled from now on, each Secret first a poll_frequency
  // from now (a load has just read it). Replaces what was polled before; an empty list leaves
  // the thread waiting. Does not wait for a poll in progress.
  void Update(std::vector<PolledSecret> secrets);
  // Ends the thread; waits for a poll in progress (at most its poll_timeout).
  void Stop();

 private:
  void Run();
  // One poll of `s`: true when its data changed (and is now the data remembered).
  bool Poll(PolledSecret& s);

  config::SecretReader read_;
  std::function<void()> on_change_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::vector<PolledSecret>> pending_;  // guarded by mu_
  bool stop_ = false;                                 // guarded by mu_
  std::thread thread_;
};

}  // namespace skidder::app
