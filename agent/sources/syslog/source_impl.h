// SyslogSource::Impl: the state of one listener's poll loop (see syslog_source.h). Internal to
// sources/syslog; touched only by the source's thread after Start().
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sources/syslog/entry_builder.h"
#include "sources/syslog/framer.h"
#include "sources/syslog/net.h"
#include "sources/syslog/resolver.h"
#include "sources/syslog/syslog_source.h"
#include "util/arrival_stamps.h"
#include "util/log_limiter.h"

namespace skidder::sources::syslog {

struct Connection {
  Connection(int fd, SSL_CTX* tls, StreamFramer framer)
      : stream(fd, tls), framer(std::move(framer)) {}
  Stream stream;
  StreamFramer framer;
  PeerLabels peer;
  std::chrono::steady_clock::time_point last_active;
  std::chrono::steady_clock::time_point last_read;  // bytes last arrived (a held line's age)
  bool more = false;     // reading stopped for backpressure before the socket was drained
  bool drained = false;  // the last read found the socket empty (EAGAIN)
  bool closed = false;   // to be removed at the end of this loop turn
  // Not read until its hostname is known (the rules read it), or until resolve_by.
  bool resolving = false;
  std::chrono::steady_clock::time_point resolve_by;
};

// A UDP datagram waiting for its sender's hostname (or for its deadline).
struct HeldDatagram {
  PeerLabels peer;
  std::string data;
  std::chrono::steady_clock::time_point resolve_by;
};

// Per-turn counts, added to the metrics once per turn rather than per message.
struct Counts {
  int64_t entries = 0, bytes = 0, parse_errors = 0, empty = 0, relabel = 0, truncated = 0;
  int64_t partial = 0, saturated = 0, framing = 0, too_long = 0, rate_limited = 0;
};

struct SyslogSource::Impl {
  Impl(SyslogSourceOptions o, EntrySink* s, telemetry::AgentMetrics* m, const Clock* c)
      : opts(std::move(o)), sink(s), metrics(m), clock(c), builder(opts.config, opts.relabel) {}
  ~Impl();

  void Run(const std::atomic<bool>& stop);
  void Turn(pipeline::Emitter& out);
  void AcceptAll();
  // Reads what the connection has (until it would block, or the sink fills up).
  void ReadConnection(Connection& c, pipeline::Emitter& out);
  void CloseConnection(Connection& c, const char* why);
  // The message the framer holds for a continuation line, delivered as it is (FlushLine).
  void FlushHeld(Connection& c, pipeline::Emitter& out);
  void ReadDatagrams(pipeline::Emitter& out);
  // One framed message: parse, label, hand to the pipeline.
  void HandleFrame(StreamFramer::Event ev, std::string_view frame, const PeerLabels& peer,
                   pipeline::Emitter& out);
  void FramingError(StreamFramer::Error e, const PeerLabels& peer);
  // The sender's labels; false while its hostname is being looked up (p->hostname empty).
  bool Peer(const sockaddr_storage& addr, socklen_t len, PeerLabels* p);
  // Connections and datagrams whose hostname arrived, or that waited long enough, go on
  // (force: every one, at stop; completed: a lookup completed since the last call).
  void Resolved(pipeline::Emitter& out, bool force, bool completed);
  // The oldest held datagram goes on, with its sender's name if known by now.
  void ReleaseOldest(pipeline::Emitter& out);
  // A held datagram goes on as its peer now is (still in held: the caller takes it out).
  void Release(const HeldDatagram& h, pipeline::Emitter& out);
  // A whole datagram (as Promtail parses it): frames, parses, labels.
  void HandleDatagram(std::string_view data, const PeerLabels& peer, pipeline::Emitter& out);
  void Publish();
  // A `limit` stage without `drop` is waiting for its rate: Promtail's limiter blocks its reader
  // then, so skidder stops reading too (TCP senders wait; UDP datagrams are counted and dropped).
  bool Limited() const {
    using std::chrono::nanoseconds;
    const auto steady = std::chrono::duration_cast<nanoseconds>(clock->Steady().time_since_epoch());
    return opts.pipeline->ReadyInNs(steady.count()) > 0;
  }
  // Connections are not read: the sink is backed up, or a limit waits.
  bool Held() const { return sink->Saturated() || Limited(); }

  SyslogSourceOptions opts;
  EntrySink* sink;
  telemetry::AgentMetrics* metrics;
  const Clock* clock;
  ArrivalStamps stamps;  // receive times
  EntryBuilder builder;
  bool udp = false;
  bool rfc3164 = false;
  bool raw = false;           // Alloy's "raw" format: no RFC, messages end at raw_delimiter
  char raw_delimiter = '\n';  // '\0' with use_null_terminator_delimiter
  size_t max_len = 8192;
  // A framer for one stream (a connection, or a datagram) in the job's format.
  StreamFramer NewFramer() const {
    return raw ? StreamFramer(max_len, raw_delimiter) : StreamFramer(max_len);
  }
  size_t max_connections = 1024;
  int listen_fd = -1;
  std::unique_ptr<TlsContext> tls;
  std::list<Connection> conns;
  size_t next_first = 0;  // Turn: where in the polled connections reading starts
  // accept() failed for want of descriptors: the listener is not polled until then.
  std::chrono::steady_clock::time_point accept_paused_until;
  std::chrono::milliseconds accept_backoff{0};
  std::unique_ptr<Resolver> resolver;  // when the rules read __syslog_connection_hostname
  std::deque<HeldDatagram> held;       // waiting for the resolver, in arrival order
  size_t held_bytes = 0;
  std::unordered_map<std::string, size_t> held_ips;  // datagrams held per sender
  std::vector<char> buf;                             // one read
  SyslogMessage msg;                                 // reused between messages
  Counts counts;
  log::LogLimiter parse_log, conn_log, dns_log;
};

}  // namespace skidder::sources::syslog
