// remote.kubernetes.secret polls its Secret every poll_frequency, as Alloy does, so that a
// rotated credential reaches loki.write without a restart. skidder's configuration is fixed
// between loads, so a change is applied the way an operator would apply it: by a reload, which
// reads every Secret again and rebuilds what reads them. A refused reload keeps the old config
// and says why, as for SIGHUP; the poller then compares against what the running config read
// again, so the change is asked for again, less and less often (see Refused()). A local.file's
// file is polled the same way (config::SecretRef::file): a rotated token file is applied too.
//
// Threads: Update, Refused and Stop on the owner's (main) thread; the reads and on_change on the
// poller's own thread, started by the first Update that names a Secret.
#pragma once

#include <atomic>
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
#include "util/clock.h"

namespace skidder::app {

// A Secret a load read, and the data that load used (key -> base64, as the API gives it).
struct PolledSecret {
  config::SecretRef ref;
  std::map<std::string, std::string> data;
};

class SecretPoller {
 public:
  // Blocks up to the ref's poll_timeout (kubernetes::ReadSecretData); ends early, failing, once
  // *cancel is true.
  using Reader = std::function<Result<std::map<std::string, std::string>>(
      const config::SecretRef&, const std::atomic<bool>* cancel)>;
  // Waited for longest between polls after refused reloads.
  static constexpr std::chrono::hours kMaxBackoff{1};

  // `on_change` runs on the poller's thread once for each round of polls that finds some
  // Secret's data changed. Polls are timed, and waited for, on `clock`.
  SecretPoller(Reader read, std::function<void()> on_change,
               const Clock& clock = SystemClock::Get());
  ~SecretPoller();
  SecretPoller(const SecretPoller&) = delete;
  SecretPoller& operator=(const SecretPoller&) = delete;

  // What the config now running read (it has just started): polled from now on, each Secret
  // first a poll_frequency from now. Replaces what was polled before; a round of polls under way
  // asks for no reload. An empty list leaves the thread waiting.
  void Update(std::vector<PolledSecret> secrets);
  // A reload was refused; `running` is what the config still running read. Compared against
  // that again, a change it does not have is asked for again, but each refusal in a row doubles
  // the time between polls (up to kMaxBackoff), so a Secret the config cannot use, or a config
  // file broken on disk, does not reload the agent every poll_frequency. Update() resets it.
  void Refused(std::vector<PolledSecret> running);
  // Ends the thread; a read in progress is cancelled (it ends within about 100 ms).
  void Stop();

 private:
  void Run();
  // One poll of `s`: true when its data changed (and is now the data remembered).
  bool Poll(PolledSecret& s);
  void Replace(std::vector<PolledSecret> secrets, bool refused);

  Reader read_;
  std::function<void()> on_change_;
  const Clock& clock_;
  std::atomic<bool> cancel_{false};  // set by Stop(): ends a read in progress
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::vector<PolledSecret>> pending_;  // guarded by mu_
  int refusals_ = 0;                                  // in a row; guarded by mu_
  bool stop_ = false;                                 // guarded by mu_
  std::thread thread_;
};

}  // namespace skidder::app
