// SyslogSource: one `syslog` scrape config. Listens on TCP (optionally TLS) or UDP, frames and
// parses messages (framer.h, parser.h), builds entries with Promtail's __syslog_* labels and
// relabel_configs (entry_builder.h), and hands them to the job's pipeline and the EntrySink.
//
// One thread per source runs a poll() loop over the listening socket and every connection.
//
// Backpressure: while the sink is Saturated(), TCP connections are not read (the kernel's
// buffers, then the sender, hold the backlog: nothing is lost once Loki is back). UDP cannot
// push back: datagrams that arrive meanwhile are read and dropped, and counted
// (skidder_syslog_dropped_total{reason="saturated"}). A `limit` stage without `drop` holds the
// source the same way while it waits for its rate (UDP: reason="rate_limited"), as Promtail's
// blocking limiter holds its reader.
//
// Limits against hostile clients: at most max_connections TCP connections (more are accepted and
// closed at once, counted); a connection silent for idle_timeout is closed (not while we are
// the ones not reading); at most max_message_length (+ one read) buffered per connection.
//
// Delivery: syslog cannot be read again, so there are no positions; entries in the sink's
// buffer when the agent stops are flushed within the shutdown grace like any other.
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

namespace skidder::sources::syslog {

struct SyslogSourceOptions {
  std::string job_name;
  config::SyslogConfig config;
  kubernetes::RelabelRules relabel;
  pipeline::Pipeline* pipeline = nullptr;  // the job's; used on the source's thread only
  int max_connections = 0;                 // 0 = 1024, at most a quarter of RLIMIT_NOFILE
};

class SyslogSource {
 public:
  SyslogSource(SyslogSourceOptions opts, EntrySink* sink, telemetry::AgentMetrics* metrics,
               const Clock* clock);
  ~SyslogSource();

  // Binds the address and loads the TLS files; then listens on its own thread. Errors: the
  // address cannot be bound, or the certificate, key or CA cannot be loaded.
  Status Start();
  // Stops listening, closes every connection and flushes the pipeline.
  void Stop();
  // The bound port (useful with port 0).
  int port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace skidder::sources::syslog
