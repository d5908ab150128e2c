// Runtime: one running agent built from a Config: pipelines, clients, file source, discovery,
// positions and the HTTP server, wired sources -> pipelines -> sink.
//
// Owned by the main thread, which calls Start, Tick (about once a second) and Shutdown. Build()
// does everything that can fail on bad config without touching the outside world, so
// -check-syntax runs exactly the validation a real start runs, and a reload can refuse a bad
// config while the running Runtime carries on.
//
// Reload replaces the whole Runtime: the old one stops reading, flushes and saves positions; the
// new one loads them. Entries the old one could not deliver in time were never acknowledged, so
// the new one reads them again: a reload may duplicate, never lose.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "telemetry/agent_metrics.h"
#include "util/status.h"

namespace skidder::app {

// How long Runtime::Tick waits between position saves while lines are in flight: 250 ms, or
// longer for a positions file of `saved_bytes` written faster than 1 MiB/s.
std::chrono::milliseconds PositionsSaveGap(uint64_t saved_bytes);

// The memory a Loki client may hold before readers pause (ClientOptions::max_buffered_bytes):
// two of its batches, at least 2 MiB.
int64_t ClientBudget(const config::ClientConfig& cc);

class Runtime {
 public:
  // metrics outlive Runtimes so counters survive reloads.
  static Result<std::unique_ptr<Runtime>> Build(const config::Config& cfg,
                                                const config::Flags& flags,
                                                telemetry::AgentMetrics* metrics);
  ~Runtime();
  // The config's warnings with those building it found (keys a Promtail stage ignores).
  const std::vector<std::string>& warnings() const;

  // reload_request is called by POST /reload (on an HTTP thread): it validates and asks the main
  // thread to reload, returning the validation error if any.
  // wake is called from another thread when Tick should run again soon (the file source reads
  // after an idle spell while Tick waits sync_period); the caller's loop then calls Tick.
  Status Start(std::function<Status()> reload_request = {}, std::function<void()> wake = {});
  // Periodic work on the main thread: saving positions, scanning pod log roots. Returns how long
  // the main thread may wait before the next call (a signal may come sooner).
  std::chrono::milliseconds Tick();
  // SIGTERM: stop reading, flush within the deadline, save positions. True when everything read
  // was acknowledged.
  bool Shutdown();

 private:
  Runtime();
  void StartStdin();
  Status StartFileSources();
  Status StartJournals();
  Status StartKubeEvents();
  Status StartPushServers();
  void StartDockers();
  Status StartListeners();
  Status StartHttp(std::function<Status()> reload_request);
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace skidder::app
