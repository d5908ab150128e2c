#include "sources/gelf/gelf_source.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <optional>
#include <unordered_map>
#include <vector>

#include "io/listen.h"
#include "sources/gelf/message.h"
#include "util/arrival_stamps.h"
#include "util/log.h"
#include "util/log_limiter.h"

namespace skidder::sources::gelf {
namespace {

constexpr size_t kMaxDatagram = 65536;  // the largest a UDP datagram can be, and then some
constexpr int kPollMs = 100;            // how often an idle loop checks Stop() and expiry
constexpr int kBatch = 256;             // datagrams per turn before the pipeline is flushed
constexpr size_t kMaxCached = 1024;     // relabel outcomes kept (a sender has few combinations)

}  // namespace

struct GelfSource::Impl {
  // Per-turn counts, added to the metrics once per turn rather than per message. (A member
  // type: one from an anonymous namespace in a member would warn in unity builds.)
  struct Counts {
    int64_t decoded = 0, entries = 0, bytes = 0, invalid = 0, chunk_errors = 0, expired = 0;
    int64_t relabel = 0, saturated = 0, rate_limited = 0;
  };

  Impl(GelfSourceOptions o, EntrySink* s, telemetry::AgentMetrics* m, const Clock* c)
      : opts(std::move(o)), sink(s), metrics(m), clock(c), buf(kMaxDatagram) {}
  ~Impl() {
    if (fd >= 0) close(fd);
  }

  void Run(const std::atomic<bool>& stop);
  void ReadDatagrams(pipeline::Emitter& out);
  void Handle(std::string_view payload, const BatchTime& now, pipeline::Emitter& out);
  std::optional<Labels> LabelsOf(const GelfMessage& m);  // nullopt: relabel_configs drop it
  void Warn(std::string_view what, std::string_view error);
  void Publish();

  GelfSourceOptions opts;
  EntrySink* sink;
  telemetry::AgentMetrics* metrics;
  const Clock* clock;
  int fd = -1;
  std::vector<char> buf;
  std::string payload;  // a reassembled message
  Reassembler chunks;
  GelfMessage msg;  // reused between messages
  ArrivalStamps stamps;
  std::unordered_map<std::string, std::optional<Labels>>
      cache;        // relabel outcomes by the meta labels' values
  std::string key;  // scratch: the cache key of one message
  Counts counts;
  log::LogLimiter warn_log;
};

GelfSource::GelfSource(GelfSourceOptions opts, EntrySink* sink, telemetry::AgentMetrics* metrics,
                       const Clock* clock)
    : impl_(std::make_unique<Impl>(std::move(opts), sink, metrics, clock)) {}

GelfSource::~GelfSource() { Stop(); }

Status GelfSource::Start() {
  Impl& s = *impl_;
  auto fd = io::BindListener(s.opts.config.listen_address, /*udp=*/true);
  if (!fd) return fd.error();
  s.fd = *fd;
  LOG_INFO("listening for GELF", {{"job", s.opts.job_name},
                                  {"address", s.opts.config.listen_address},
                                  {"port", std::to_string(io::LocalPort(s.fd))},
                                  {"protocol", "udp"}});
  thread_ = std::thread([this] { impl_->Run(stop_); });
  return Status::Ok();
}

void GelfSource::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

int GelfSource::port() const { return io::LocalPort(impl_->fd); }

void GelfSource::Impl::Run(const std::atomic<bool>& stop) {
  pipeline::BatchEmitter out(sink);  // one hand-off to the sink per turn
  while (!stop) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, kPollMs) > 0 && (p.revents & POLLIN) != 0) ReadDatagrams(out);
    counts.expired += static_cast<int64_t>(chunks.Expire(BatchTime::Of(*clock).steady_ns));
    opts.pipeline->Flush(clock->NowNs(), /*force=*/false, out);
    out.Flush();
    Publish();
  }
  // Free the port now: a reload binds it again before this object is destroyed.
  close(fd);
  fd = -1;
  opts.pipeline->Flush(clock->NowNs(), /*force=*/true, out);
  out.Flush();
  Publish();
}

void GelfSource::Impl::ReadDatagrams(pipeline::Emitter& out) {
  for (int n = 0; n < kBatch; ++n) {
    const ssize_t r = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (r < 0) return;
    counts.bytes += r;
    const BatchTime now = BatchTime::Of(*clock);
    // UDP cannot wait: what arrives while the sink is backed up, or while a `limit` stage
    // without `drop` waits for its rate, is counted and dropped (as syslog over UDP).
    if (sink->Saturated()) {
      ++counts.saturated;
      continue;
    }
    if (opts.pipeline->ReadyInNs(now.steady_ns) > 0) {
      ++counts.rate_limited;
      continue;
    }
    const std::string_view datagram(buf.data(), static_cast<size_t>(r));
    if (!Reassembler::IsChunk(datagram)) {
      Handle(datagram, now, out);
      continue;
    }
    std::string error;
    switch (chunks.Add(datagram, now.steady_ns, &payload, &error)) {
      case Reassembler::Outcome::kIncomplete:
        break;
      case Reassembler::Outcome::kComplete:
        Handle(payload, now, out);
        break;
      case Reassembler::Outcome::kInvalid:
        ++counts.chunk_errors;
        Warn("invalid GELF chunk", error);
        break;
    }
  }
}

void GelfSource::Impl::Handle(std::string_view data, const BatchTime& now, pipeline::Emitter& out) {
  if (Status st = DecodeMessage(data, &msg); !st.ok()) {
    ++counts.invalid;
    Warn("error while reading GELF message", st.message());
    return;
  }
  ++counts.decoded;  // Promtail counts a message once read, whatever relabeling does with it
  std::optional<Labels> labels = LabelsOf(msg);
  if (!labels) {
    ++counts.relabel;
    return;
  }
  // A set left empty goes on, as in Promtail: a stage may add labels, and the client drops
  // what still has none (missing_labels).
  Entry e;
  e.labels = *std::move(labels);
  // Go's time.Unix(0, int64(seconds * 1e9)); a time past what nanoseconds hold is the read time.
  const double ns = msg.timestamp * 1e9;
  const bool incoming = opts.config.use_incoming_timestamp && msg.timestamp != 0 &&
                        std::isfinite(ns) && std::abs(ns) < 9.2e18;
  e.timestamp_ns = incoming ? static_cast<int64_t>(ns) : stamps.Next(now.wall_ns);
  e.line = std::move(msg.line);
  ++counts.entries;
  opts.pipeline->Process(std::move(e), now, out);
}

// The config's labels and the message's meta labels, relabeled, without the `__` ones. The
// outcome depends on those four values only, so it is cached by them.
std::optional<Labels> GelfSource::Impl::LabelsOf(const GelfMessage& m) {
  if (opts.relabel.empty()) {  // every meta label starts with "__": only the config's remain
    Labels l = opts.config.labels;
    l.RemoveInternal();
    return l;
  }
  const std::string_view level = LevelName(m.level);
  key.clear();
  for (std::string_view v : {level, std::string_view(m.host), std::string_view(m.version),
                             std::string_view(m.facility)}) {
    key.append(std::to_string(v.size())).push_back(':');
    key.append(v);
  }
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  LabelsBuilder b(opts.config.labels);
  b.Reserve(4);
  // An empty value is no label, as Prometheus's label builder treats it.
  const std::pair<const char*, std::string_view> meta[] = {{"__gelf_message_level", level},
                                                           {"__gelf_message_host", m.host},
                                                           {"__gelf_message_version", m.version},
                                                           {"__gelf_message_facility", m.facility}};
  for (const auto& [name, value] : meta) {
    if (!value.empty()) b.Add(name, std::string(value));
  }
  std::optional<Labels> labels = b.Build();
  if (kubernetes::Relabel(opts.relabel, *labels)) {
    labels->RemoveInternal();
  } else {
    labels.reset();
  }
  if (key.size() > kubernetes::kMaxRelabelCacheKey) return labels;  // a long host: not kept
  if (cache.size() >= kMaxCached) cache.clear();
  cache.emplace(key, labels);
  return labels;
}

void GelfSource::Impl::Warn(std::string_view what, std::string_view error) {
  int64_t times = 0;
  if (warn_log.Allow(&times)) {
    LOG_WARN(
        std::string(what),
        {{"job", opts.job_name}, {"error", std::string(error)}, {"times", std::to_string(times)}});
  }
}

void GelfSource::Impl::Publish() {
  const Counts c = std::exchange(counts, Counts{});
  if (metrics == nullptr) return;
  const std::string& job = opts.job_name;
  if (c.entries > 0) metrics->gelf_entries.With({job})->Add(static_cast<double>(c.entries));
  if (c.decoded > 0) {
    metrics->gelf_promtail_entries.With({})->Add(static_cast<double>(c.decoded));
  }
  if (c.bytes > 0) metrics->gelf_bytes.With({job})->Add(static_cast<double>(c.bytes));
  // Promtail counts every datagram it could not read (a bad chunk, a bad message) as an error.
  if (const int64_t errors = c.invalid + c.chunk_errors; errors > 0) {
    metrics->gelf_promtail_errors.With({})->Add(static_cast<double>(errors));
  }
  const std::pair<const char*, int64_t> drops[] = {
      {"invalid", c.invalid}, {"chunk", c.chunk_errors},  {"expired", c.expired},
      {"relabel", c.relabel}, {"saturated", c.saturated}, {"rate_limited", c.rate_limited}};
  for (const auto& [reason, n] : drops) {
    if (n > 0) metrics->gelf_dropped.With({job, reason})->Add(static_cast<double>(n));
  }
}

}  // namespace skidder::sources::gelf
