// GelfSource: one `gelf` scrape config (Promtail's gelf target, Alloy's loki.source.gelf).
// Listens on UDP, reassembles chunked messages and decompresses them (message.h), labels each
// message with Promtail's __gelf_message_level, _host, _version and _facility and the config's
// labels, runs relabel_configs, drops the `__` labels, and hands the entry to the job's pipeline
// and the EntrySink. The line is the message as JSON, as Promtail writes it.
//
// One thread per source polls the socket. UDP cannot push back: while the sink is Saturated()
// or a `limit` stage waits, datagrams are read and dropped, and counted
// (skidder_gelf_dropped_total{reason="saturated"|"rate_limited"}), as syslog over UDP. GELF
// cannot be read again, so there are no positions.
//
// Threads: Start/Stop/port on the owner's (main) thread; everything else on the source's own.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "config/config.h"
#include "kubernetes/relabel.h"
#include "model/sink.h"
#include "pipeline/pipeline.h"
#include "telemetry/agent_metrics.h"
#include "util/clock.h"
#include "util/status.h"

namespace skidder::sources::gelf {

struct GelfSourceOptions {
  std::string job_name;
  config::GelfConfig config;
  kubernetes::RelabelRules relabel;
  pipeline::Pipeline* pipeline = nullptr;  // the job's; used on the source's thread only
};

class GelfSource {
 public:
  GelfSource(GelfSourceOptions opts, EntrySink* sink, telemetry::AgentMetrics* metrics,
             const Clock* clock);
  ~GelfSource();

  // Binds the UDP address, then reads on its own thread. Error: the address cannot be bound.
  Status Start();
  // Stops reading, closes the socket and flushes the pipeline.
  void Stop();
  // The bound port (useful with port 0).
  int port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace skidder::sources::gelf
