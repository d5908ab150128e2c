#include "sources/syslog/syslog_source.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sources/syslog/source_impl.h"
#include "util/log.h"

namespace skidder::sources::syslog {
namespace {

constexpr size_t kReadChunk = 64 << 10;
// Bytes read from one connection per loop turn, so one busy sender cannot starve the others.
constexpr size_t kTurnBytes = 256 << 10;
constexpr int kIdlePollMs = 100;      // how often an idle loop checks Stop() and idle timeouts
constexpr int kSaturatedPollMs = 20;  // how often a backed-up loop checks the sink again
// How long a message whose newline came last waits for a continuation line (a stack trace's next
// write, or a segment TCP sends again: at least 200 ms later) before it is delivered as it is.
constexpr std::chrono::milliseconds kLineQuiet{300};

size_t DefaultMaxConnections() {
  rlimit rl{};
  size_t cap = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    cap = std::min<size_t>(cap, std::max<rlim_t>(rl.rlim_cur / 4, 16));
  }
  return cap;
}

}  // namespace

SyslogSource::SyslogSource(SyslogSourceOptions opts, EntrySink* sink,
                           telemetry::AgentMetrics* metrics, const Clock* clock)
    : impl_(std::make_unique<Impl>(std::move(opts), sink, metrics, clock)) {}

SyslogSource::~SyslogSource() { Stop(); }

SyslogSource::Impl::~Impl() {
  conns.clear();
  if (listen_fd >= 0) close(listen_fd);
}

Status SyslogSource::Start() {
  Impl& s = *impl_;
  const config::SyslogConfig& c = s.opts.config;
  s.udp = c.listen_protocol == "udp";
  s.rfc3164 = c.syslog_format == "rfc3164";
  s.raw = c.syslog_format == "raw";
  s.raw_delimiter = c.raw_format_options.use_null_terminator_delimiter ? '\0' : '\n';
  s.max_len = static_cast<size_t>(std::max(c.max_message_length, 1));
  s.max_connections = s.opts.max_connections > 0 ? static_cast<size_t>(s.opts.max_connections)
                                                 : DefaultMaxConnections();
  s.buf.resize(std::max(kReadChunk, s.max_len + 1));
  if (s.builder.needs_hostname()) {
    s.resolver =
        std::make_unique<Resolver>(s.opts.reverse_lookup ? s.opts.reverse_lookup : &ReverseLookup);
  }
  if (!s.udp && !c.tls_config.cert_file.empty()) {
    auto tls = TlsContext::Create(c.tls_config);
    if (!tls) return tls.error();
    s.tls = std::move(*tls);
  }
  auto fd = BindListener(c.listen_address, s.udp);
  if (!fd) return fd.error();
  s.listen_fd = *fd;
  LOG_INFO("syslog listening", {{"job", s.opts.job_name},
                                {"address", c.listen_address},
                                {"port", std::to_string(LocalPort(s.listen_fd))},
                                {"protocol", c.listen_protocol},
                                {"tls", s.tls ? "true" : "false"}});
  thread_ = std::thread([this] { impl_->Run(stop_); });
  return Status::Ok();
}

void SyslogSource::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

int SyslogSource::port() const { return LocalPort(impl_->listen_fd); }

void SyslogSource::Impl::Run(const std::atomic<bool>& stop) {
  pipeline::SinkEmitter out(sink);
  while (!stop) {
    Turn(out);
    opts.pipeline->Flush(clock->NowNs(), /*force=*/false, out);
    Publish();
  }
  Resolved(out, /*force=*/true, /*completed=*/false);  // held datagrams go without a hostname
  for (Connection& c : conns) FlushHeld(c, out);       // no continuation line is coming now
  // Free the port now: a reload binds it again before this object is destroyed.
  conns.clear();
  close(listen_fd);
  listen_fd = -1;
  opts.pipeline->Flush(clock->NowNs(), /*force=*/true, out);
  Publish();
}

// One poll() and the work it reports.
void SyslogSource::Impl::Turn(pipeline::Emitter& out) {
  const bool held = Held();
  std::vector<pollfd> fds;
  std::vector<Connection*> polled;
  fds.reserve(conns.size() + 1);
  // UDP keeps being read while held, to count (and drop) what arrives; TCP keeps accepting,
  // closing at once what is over the cap, so a flood of connections is seen and counted.
  // Not while accept() waits out EMFILE/ENFILE: the connection stays in the backlog, and polling
  // its fd would report it at once, turn after turn.
  const bool accepting = udp || clock->Steady() >= accept_paused_until;
  fds.push_back({listen_fd, static_cast<short>(accepting ? POLLIN : 0), 0});
  bool ready_now = false;  // a connection with data already read past poll()'s view
  if (!held) {
    for (Connection& c : conns) {
      if (c.resolving) continue;
      fds.push_back(
          {c.stream.fd(), static_cast<short>(POLLIN | (c.stream.wants_write() ? POLLOUT : 0)), 0});
      polled.push_back(&c);
      ready_now |= c.more || c.stream.has_buffered();
    }
  }
  if (resolver) fds.push_back({resolver->fd(), POLLIN, 0});
  const int timeout = ready_now ? 0 : (held ? kSaturatedPollMs : kIdlePollMs);
  if (poll(fds.data(), fds.size(), timeout) < 0) return;  // EINTR: next turn
  if (resolver) {
    const bool completed = (fds.back().revents & POLLIN) != 0;
    if (completed) resolver->Drain();
    Resolved(out, /*force=*/false, completed);
  }
  if (fds[0].revents & POLLIN) {
    if (udp) {
      ReadDatagrams(out);
    } else {
      AcceptAll();
    }
  }
  // Each turn starts at the next connection: one that refills the sink at once (after an
  // outage) must not be the only one read, turn after turn, while the others wait.
  const size_t first = polled.empty() ? 0 : (next_first++) % polled.size();
  for (size_t k = 0; k < polled.size(); ++k) {
    const size_t i = (first + k) % polled.size();
    Connection& c = *polled[i];
    if (fds[i + 1].revents != 0 || c.more || c.stream.has_buffered()) ReadConnection(c, out);
  }
  const auto now = clock->Steady();
  const bool reading = !held && !Held();  // as the turn began, and still (reads may fill it)
  for (Connection& c : conns) {
    // A newline-framed message whose newline came last, with nothing after it for a moment:
    // no continuation line is coming (StreamFramer::HoldsLine). Only when we are reading and the
    // socket was emptied: while the sink is full, the continuation may be waiting in it.
    if (reading && !c.closed && !c.more && c.drained && c.framer.HoldsLine() &&
        now - c.last_read >= kLineQuiet) {
      FlushHeld(c, out);
    }
    // Not while held: then it is us who are not reading, not the client who is silent.
    if (!held && !c.closed && !c.resolving && now - c.last_active > opts.config.idle_timeout) {
      FlushHeld(c, out);  // silent that long: what it holds is whole
      CloseConnection(c, "idle");
    }
  }
  conns.remove_if([](const Connection& c) { return c.closed; });
}

void SyslogSource::Impl::FlushHeld(Connection& c, pipeline::Emitter& out) {
  c.framer.FlushLine(
      [&](StreamFramer::Event ev, std::string_view f) { HandleFrame(ev, f, c.peer, out); });
}

void SyslogSource::Impl::AcceptAll() {
  for (int n = 0; n < 64; ++n) {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    auto* to = reinterpret_cast<sockaddr*>(&addr);
    const int flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
    int fd =
        opts.accept ? opts.accept(listen_fd, to, &len, flags) : accept4(listen_fd, to, &len, flags);
    if (fd < 0) {
      const int err = errno;
      if (err != EAGAIN && err != EWOULDBLOCK && err != EINTR && metrics != nullptr) {
        metrics->syslog_connections_refused.With({opts.job_name, "accept"})->Add();
      }
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // Out of descriptors (files being tailed hold them) or memory: try again later, 5 ms
        // doubling to 1 s as Go's server does, instead of a poll loop at 100 % CPU.
        accept_backoff = std::clamp(accept_backoff * 2, std::chrono::milliseconds(5),
                                    std::chrono::milliseconds(1000));
        accept_paused_until = clock->Steady() + accept_backoff;
        if (int64_t times = 0; conn_log.Allow(&times)) {
          LOG_WARN("cannot accept a syslog connection; retrying",
                   {{"job", opts.job_name},
                    {"error", std::strerror(err)},
                    {"times", std::to_string(times)}});
        }
      }
      return;
    }
    accept_backoff = std::chrono::milliseconds(0);
    if (conns.size() >= max_connections) {  // the cap: close at once rather than hold the fd
      // Counted before the close, so whoever sees the close sees the count.
      if (metrics != nullptr)
        metrics->syslog_connections_refused.With({opts.job_name, "limit"})->Add();
      close(fd);
      int64_t times = 0;
      if (conn_log.Allow(&times)) {
        LOG_WARN("syslog connection limit reached; closing new connections",
                 {{"job", opts.job_name},
                  {"max_connections", std::to_string(max_connections)},
                  {"times", std::to_string(times)}});
      }
      continue;
    }
    Connection& c = conns.emplace_back(fd, tls ? tls->get() : nullptr, NewFramer());
    c.resolving = !Peer(addr, len, &c.peer);
    c.last_active = clock->Steady();
    c.resolve_by = c.last_active + opts.lookup_timeout;
  }
}

bool SyslogSource::Impl::Peer(const sockaddr_storage& addr, socklen_t len, PeerLabels* p) {
  p->ip = PeerIp(addr);
  if (!resolver) return true;
  std::optional<std::string> name = resolver->Find(p->ip, addr, len);
  if (!name) return false;
  p->hostname = std::move(*name);
  return true;
}

void SyslogSource::Impl::Resolved(pipeline::Emitter& out, bool force, bool completed) {
  if (!resolver) return;
  const auto now = clock->Steady();
  // Settles p: its name when known, none once it waited long enough. True when settled.
  auto settle = [&](PeerLabels& p, std::chrono::steady_clock::time_point by) {
    if (std::optional<std::string> name = resolver->Known(p.ip)) {
      p.hostname = std::move(*name);
      return true;
    }
    if (!force && now < by) return false;
    if (int64_t times = 0; dns_log.Allow(&times)) {
      LOG_WARN(
          "reverse DNS lookup of a syslog sender took too long; its messages go without "
          "__syslog_connection_hostname",
          {{"job", opts.job_name},
           {"peer", p.ip},
           {"lookup_timeout", fmt::format("{}ms", opts.lookup_timeout.count())},
           {"times", std::to_string(times)}});
    }
    return true;
  };
  for (Connection& c : conns) {
    if (!c.resolving || !settle(c.peer, c.resolve_by)) continue;
    c.resolving = false;
    c.more = true;  // what it sent meanwhile is read at once
    c.last_active = now;
  }
  // Walked only when something changed: a lookup completed, or the oldest one's time is up
  // (held in arrival order, so theirs come first).
  if (held.empty() || !(force || completed || held.front().resolve_by <= now)) return;
  std::deque<HeldDatagram> waiting;
  for (HeldDatagram& h : held) {
    if (settle(h.peer, h.resolve_by)) {
      Release(h, out);
    } else {
      waiting.push_back(std::move(h));
    }
  }
  held.swap(waiting);
}

void SyslogSource::Impl::ReleaseOldest(pipeline::Emitter& out) {
  HeldDatagram& h = held.front();
  if (std::optional<std::string> name = resolver->Known(h.peer.ip)) h.peer.hostname = *name;
  Release(h, out);
  held.pop_front();
}

void SyslogSource::Impl::Release(const HeldDatagram& h, pipeline::Emitter& out) {
  HandleDatagram(h.data, h.peer, out);
  held_bytes -= h.data.size();
  if (auto n = held_ips.find(h.peer.ip); --n->second == 0) held_ips.erase(n);
}

void SyslogSource::Impl::HandleDatagram(std::string_view data, const PeerLabels& peer,
                                        pipeline::Emitter& out) {
  StreamFramer framer = NewFramer();  // a datagram is a whole stream (Promtail parses it so)
  auto err = framer.Feed(
      data, /*end_of_stream=*/true,
      [&](StreamFramer::Event ev, std::string_view f) { HandleFrame(ev, f, peer, out); });
  if (err != StreamFramer::Error::kNone) FramingError(err, peer);
}

void SyslogSource::Impl::ReadConnection(Connection& c, pipeline::Emitter& out) {
  c.more = false;
  size_t turn = 0;
  while (!c.closed) {
    // Backpressure (leave the rest in the socket), or this turn's share read. Either way it is
    // us not reading, not the client being silent: its idle time starts again now, or the idle
    // check below (`held` was sampled before this turn filled the sink) would close a
    // connection with data waiting, and drop what its sender had sent.
    if (Held() || turn >= kTurnBytes) {
      c.more = true;
      c.last_active = clock->Steady();
      return;
    }
    size_t n = 0;
    switch (c.stream.ReadSome(buf.data(), kReadChunk, &n)) {
      case Stream::Read::kWouldBlock:
        c.drained = true;
        return;
      case Stream::Read::kEof:
        c.framer.Feed({}, /*end_of_stream=*/true, [&](StreamFramer::Event ev, std::string_view f) {
          HandleFrame(ev, f, c.peer, out);
        });
        CloseConnection(c, nullptr);
        return;
      case Stream::Read::kError:
        FlushHeld(c, out);  // a whole message held for a continuation line
        if (!c.stream.handshake_done() && metrics != nullptr) {
          metrics->syslog_connections_refused.With({opts.job_name, "tls"})->Add();
        }
        CloseConnection(c, "read error");
        return;
      case Stream::Read::kData:
        break;
    }
    turn += n;
    c.drained = false;
    counts.bytes += static_cast<int64_t>(n);
    c.last_active = c.last_read = clock->Steady();
    auto err = c.framer.Feed(
        std::string_view(buf.data(), n), false,
        [&](StreamFramer::Event ev, std::string_view f) { HandleFrame(ev, f, c.peer, out); });
    if (err != StreamFramer::Error::kNone) {
      FramingError(err, c.peer);
      CloseConnection(c, nullptr);
    }
  }
}

void SyslogSource::Impl::CloseConnection(Connection& c, const char* why) {
  if (why != nullptr) {
    LOG_DEBUG("closing syslog connection", {{"job", opts.job_name},
                                            {"peer", c.peer.ip},
                                            {"reason", why},
                                            {"error", c.stream.error()}});
  }
  c.closed = true;
}

void SyslogSource::Impl::ReadDatagrams(pipeline::Emitter& out) {
  for (int n = 0; n < 256; ++n) {
    sockaddr_storage addr{};
    iovec iov{buf.data(), max_len};
    msghdr mh{};
    mh.msg_name = &addr;
    mh.msg_namelen = sizeof addr;
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    ssize_t r = recvmsg(listen_fd, &mh, MSG_TRUNC | MSG_DONTWAIT);
    if (r < 0) return;
    counts.bytes += r;
    if (sink->Saturated()) {  // UDP cannot wait: count what we cannot take
      ++counts.saturated;
      continue;
    }
    if (Limited()) {
      ++counts.rate_limited;
      continue;
    }
    // Promtail reads a datagram into max_message_length bytes: the rest is cut off.
    const size_t len = std::min(static_cast<size_t>(r), max_len);
    if (static_cast<size_t>(r) > max_len) ++counts.truncated;
    PeerLabels peer;
    // Held while its sender's name is looked up, and behind its sender's datagrams held before
    // it (order kept). Past max_held_bytes the oldest held ones go on first, without the name if
    // it is still unknown, rather than any being dropped.
    const bool known = Peer(addr, mh.msg_namelen, &peer);
    if (known && !held_ips.contains(peer.ip)) {
      HandleDatagram(std::string_view(buf.data(), len), peer, out);
      continue;
    }
    while (!held.empty() && held_bytes + len > opts.max_held_bytes) ReleaseOldest(out);
    ++held_ips[peer.ip];
    held.push_back(
        {std::move(peer), std::string(buf.data(), len), clock->Steady() + opts.lookup_timeout});
    held_bytes += len;
  }
}

}  // namespace skidder::sources::syslog
