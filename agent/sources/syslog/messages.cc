// SyslogSource::Impl's per-message path: parse, label, hand to the pipeline; and the counters.
#include "sources/syslog/source_impl.h"
#include "util/log.h"

namespace skidder::sources::syslog {

void SyslogSource::Impl::HandleFrame(StreamFramer::Event ev, std::string_view frame,
                                     const PeerLabels& peer, pipeline::Emitter& out) {
  int64_t times = 0;
  if (ev == StreamFramer::Event::kPartial) {  // the sender went away inside a counted frame
    ++counts.partial;
    return;
  }
  if (ev == StreamFramer::Event::kTruncated) ++counts.truncated;
  const BatchTime now = BatchTime::Of(*clock);
  Status st = raw       ? ParseRaw(frame, &msg)
              : rfc3164 ? ParseRfc3164(frame, now.wall_ns, &msg)
                        : ParseRfc5424(frame, &msg);
  if (!st.ok()) {
    ++counts.parse_errors;
    if (parse_log.Allow(&times)) {
      LOG_WARN("error parsing syslog stream", {{"job", opts.job_name},
                                               {"peer", peer.ip},
                                               {"error", st.message()},
                                               {"times", std::to_string(times)}});
    }
    return;
  }
  if (raw && !msg.message && msg.priority < 0) return;  // a blank line: skipped, as Alloy does
  if (!msg.message) {  // Promtail counts and drops messages without MSG
    ++counts.empty;
    return;
  }
  Entry e;
  if (!builder.Build(msg, frame, peer, stamps.Next(now.wall_ns), &e)) {
    ++counts.relabel;
    return;
  }
  ++counts.entries;
  opts.pipeline->Process(std::move(e), now, out);
}

void SyslogSource::Impl::FramingError(StreamFramer::Error e, const PeerLabels& peer) {
  const bool too_long = e == StreamFramer::Error::kTooLong;
  ++(too_long ? counts.too_long : counts.framing);
  int64_t times = 0;
  if (parse_log.Allow(&times)) {
    LOG_WARN(too_long ? "syslog frame longer than max_message_length; closing the connection"
                      : "invalid or unsupported syslog framing; closing the connection",
             {{"job", opts.job_name},
              {"peer", peer.ip},
              {"max_message_length", std::to_string(max_len)},
              {"times", std::to_string(times)}});
  }
}

void SyslogSource::Impl::Publish() {
  Counts c = counts;
  counts = Counts{};
  if (metrics == nullptr) return;
  const std::string& job = opts.job_name;
  const char* proto = udp ? "udp" : "tcp";
  if (c.entries > 0) {
    metrics->syslog_entries.With({job, proto})->Add(static_cast<double>(c.entries));
    metrics->syslog_promtail_entries.With({})->Add(static_cast<double>(c.entries));
  }
  if (c.bytes > 0) metrics->syslog_bytes.With({job, proto})->Add(static_cast<double>(c.bytes));
  // Promtail counts every message error (framing ones included) as a parsing error.
  const int64_t errors = c.parse_errors + c.partial + c.framing + c.too_long;
  if (errors > 0)
    metrics->syslog_promtail_parsing_errors.With({})->Add(static_cast<double>(errors));
  if (c.empty > 0)
    metrics->syslog_promtail_empty_messages.With({})->Add(static_cast<double>(c.empty));
  if (c.truncated > 0) metrics->syslog_truncated.With({job})->Add(static_cast<double>(c.truncated));
  const std::pair<const char*, int64_t> drops[] = {
      {"parse_error", c.parse_errors}, {"empty", c.empty},
      {"relabel", c.relabel},          {"partial", c.partial},
      {"saturated", c.saturated},      {"framing", c.framing},
      {"too_long", c.too_long},        {"rate_limited", c.rate_limited}};
  for (const auto& [reason, n] : drops) {
    if (n > 0) metrics->syslog_dropped.With({job, reason})->Add(static_cast<double>(n));
  }
  if (!udp) metrics->syslog_connections.With({job})->Set(static_cast<double>(conns.size()));
}

}  // namespace skidder::sources::syslog
