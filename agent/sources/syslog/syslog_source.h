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
// __syslog_connection_hostname (only when the rules read it): looked up on a thread of its own
// (resolver.h), so a slow PTR lookup stalls no other sender; a connection is not read, and a
// datagram is held (in order, behind its sender's earlier ones), until its sender's name is
// known or lookup_timeout passed (then it goes without one, as for a name not found); past 4 MiB
// held, the oldest go on first, named if their sender's name is known by then.
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

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
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
  // The reverse lookup of __syslog_connection_hostname (tests give a slow one); null: DNS.
  std::function<std::string(const sockaddr_storage&, socklen_t)> reverse_lookup;
  // How long a sender's messages wait for its hostname before they go without it.
  std::chrono::milliseconds lookup_timeout = std::chrono::seconds(10);
  size_t max_held_bytes = 4 << 20;  // UDP datagrams held for their senders' names, at most
  // accept4(2), which tests replace to run out of descriptors (a process really out of them
  // leaves the sanitizers none either); null: accept4.
  std::function<int(int fd, sockaddr* addr, socklen_t* len, int flags)> accept;
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
