// DockerSource: one scrape config's docker_sd_configs, as Promtail's Docker target manager runs
// them. A discovery thread lists each daemon's running containers every refresh_interval (GET
// /containers/json with the filters, GET /networks for the network labels) and keeps one
// ContainerReader per container: started when the container appears, started again when it
// is listed after its log stream ended (restarted, or the daemon was unreachable), and dropped
// once it is no longer listed, has ended and Loki acknowledged everything it read. The position
// of a dropped container stays (a stopped container may start again) until the daemon says it
// no longer has it (removed: `docker rm`, `--rm`), checked at the following refreshes.
//
// The job's pipeline is shared by the readers under one mutex; the discovery thread flushes it
// (multiline and other buffering stages) about once a second.
//
// Threads: Start/Stop/SyncPositions/Targets on the owner's (main) thread; discovery on the
// source's own thread; each container on its reader's thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "kubernetes/relabel.h"
#include "model/sink.h"
#include "pipeline/pipeline.h"
#include "sources/docker/container_reader.h"
#include "sources/docker/containers.h"
#include "sources/file/positions.h"
#include "telemetry/agent_metrics.h"
#include "util/clock.h"
#include "util/log_limiter.h"

namespace skidder::sources::docker {

struct DockerSourceOptions {
  std::string job_name;
  std::vector<config::DockerSdConfig> configs;
  kubernetes::RelabelRules relabel;
  pipeline::Pipeline* pipeline = nullptr;
  size_t max_line = 256 * 1024;  // limits_config.max_line_size when set, else Promtail's 256 KiB
  // Every Docker position the agent keeps is of this source's daemon (the config names one
  // Docker host): positions of containers it does not list are its own, and go once the daemon
  // no longer has the container (AdoptUnlisted).
  bool sole_daemon = false;
};

class DockerSource {
 public:
  DockerSource(DockerSourceOptions opts, Positions* positions, EntrySink* sink,
               telemetry::AgentMetrics* metrics, const Clock* clock);
  ~DockerSource() { Stop(); }

  void Start();
  // Stops discovery and every reader, then flushes the pipeline; entries in flight stay tracked.
  void Stop();
  // Puts each container's acknowledged position into the positions (not saved here).
  void SyncPositions();
  // Containers being read (for /ready).
  size_t Targets() const;
  // One line per container for /targets: "docker/<job>/<container id> <labels>".
  std::string Describe() const;

 private:
  void Run();
  void Refresh(size_t daemon);
  void Sync(size_t daemon, const std::vector<ContainerTarget>& found);
  using Readers = std::map<std::string, std::unique_ptr<ContainerReader>>;  // by container id
  // Another endpoint of the same daemon reads the container (mu_ held); see the .cc.
  bool HeldByAnother(size_t d, const std::string& id);
  // mu_ held. may_be_removed: the container is not listed, and its position goes once the
  // daemon no longer has it (ForgetRemoved).
  Readers::iterator Retire(size_t daemon, Readers::iterator it, bool may_be_removed = true);
  void ForgetRemoved(size_t daemon, DockerApi& api);
  void AdoptUnlisted(size_t daemon);  // mu_ held
  Position SavedPosition(const std::string& id) const;

  DockerSourceOptions opts_;
  Positions* positions_;
  EntrySink* sink_;
  telemetry::AgentMetrics* metrics_;
  const Clock* clock_;
  std::vector<Endpoint> endpoints_;
  std::mutex pipeline_mu_;
  log::LogLimiter errors_;
  ReaderContext ctx_;

  mutable std::mutex mu_;  // guards readers_, retired_, checked_last_
  // Per daemon: container id -> its reader.
  std::vector<Readers> readers_;
  // Per daemon: the containers whose reader was dropped in this run, whose positions go once the
  // daemon no longer has them; and the last one checked (the checks take turns).
  std::vector<std::set<std::string>> retired_;
  std::vector<std::string> checked_last_;
  bool adopted_ = false;  // AdoptUnlisted ran
  std::vector<std::chrono::steady_clock::time_point> next_refresh_;
  std::condition_variable cv_;
  bool stop_ = false;                // guarded by mu_
  std::atomic<bool> cancel_{false};  // set with stop_: ends a discovery request in flight
  std::thread thread_;
};

}  // namespace skidder::sources::docker
