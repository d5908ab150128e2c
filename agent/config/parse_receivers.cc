// The checks of a scrape config's receivers and target lists, once their fields are read
// (fields.h): syslog, gelf, journal, loki_push_api, decompression, static_configs and
// file_sd_configs.
#include <fmt/format.h>

#include <algorithm>

#include "config/field_reader.h"

namespace skidder::config::internal {
namespace {

// Prometheus accepts only these file names: a `*` may appear in the last path component only,
// and the name ends in .json, .yml or .yaml (which also says how the file is parsed).
bool ValidFileSdPattern(std::string_view p) {
  const size_t star = p.find('*');
  if (star != std::string_view::npos && p.find('/', star) != std::string_view::npos) return false;
  if (star != std::string_view::npos && p.find('*', star + 1) != std::string_view::npos)
    return false;
  for (std::string_view ext : {".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"}) {
    if (p.ends_with(ext)) return true;
  }
  return false;
}

}  // namespace

// Targets without __path__ are dropped by ReadScrapeConfig, which knows the relabel rules.
void Validate(MapReader&, StaticConfig&) {}

void Validate(MapReader& r, FileSdConfig& f) {
  if (f.files.empty()) r.Fail("files", "is required: list the target files (globs allowed)");
  for (const std::string& file : f.files) {
    if (!ValidFileSdPattern(file)) {
      r.Fail("files", fmt::format("path {} is not valid for file discovery: it must end in "
                                  ".json, .yml or .yaml, with a `*` only in its last component",
                                  Quote(file)));
    }
  }
  if (f.refresh_interval <= Duration(0)) r.Fail("refresh_interval", "must be positive");
}

// Promtail's journal block; matches are checked here so a typo fails at load, not at start.
void Validate(MapReader& r, JournalConfig& j) {
  // Terms are separated by any whitespace, as Promtail's strings.Fields splits them (a
  // `matches: |` block puts a newline between them): made single spaces here, the reader's
  // separator.
  for (char& c : j.matches) {
    if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') c = ' ';
  }
  for (size_t i = 0; i < j.matches.size();) {
    size_t end = std::min(j.matches.find(' ', i), j.matches.size());
    std::string_view m = std::string_view(j.matches).substr(i, end - i);
    if (!m.empty() && m != "+" && (m.find('=') == std::string_view::npos || m.front() == '=')) {
      r.Fail("matches", fmt::format("{} is not a FIELD=value journal match", Quote(m)));
    }
    i = end + 1;
  }
  if (j.max_age <= Duration(0)) r.Fail("max_age", "must be positive");
}

// Promtail's loki_push_api block. Its server block is read like the top-level one; keys that
// cannot apply (gRPC) are kept in ignored_keys and named when the push server starts.
void Validate(MapReader& r, PushApiConfig& p) {
  if (p.ack_timeout <= Duration::zero()) r.Fail("ack_timeout", "must be positive");
}

void Validate(MapReader& r, HerokuDrainConfig& h) {
  if (h.ack_timeout <= Duration::zero()) r.Fail("ack_timeout", "must be positive");
}

// Promtail's syslog block (Promtail's defaults; 0 means the default, as in Promtail).
void Validate(MapReader& r, SyslogConfig& c) {
  if (c.listen_address.empty()) {
    r.Fail("listen_address", "is required (host:port)");
  } else if (std::string why = ListenAddressProblem(c.listen_address); !why.empty()) {
    r.Fail("listen_address", fmt::format("{} {}", Quote(c.listen_address), why));
  }
  if (c.listen_protocol.empty()) c.listen_protocol = "tcp";
  if (c.listen_protocol != "tcp" && c.listen_protocol != "udp") {
    r.Fail("listen_protocol", fmt::format("must be tcp or udp, not {}", Quote(c.listen_protocol)));
  }
  if (c.syslog_format.empty()) c.syslog_format = "rfc5424";
  if (c.syslog_format != "rfc5424" && c.syslog_format != "rfc3164" && c.syslog_format != "raw") {
    r.Fail("syslog_format",
           fmt::format("must be rfc5424, rfc3164 or raw, not {}", Quote(c.syslog_format)));
  }
  if (c.syslog_format == "raw") {  // Alloy's checks: a raw message has no timestamp nor MSG part
    if (c.use_incoming_timestamp) {
      r.Fail("use_incoming_timestamp", "has no effect when syslog_format is raw");
    }
    if (c.use_rfc5424_message)
      r.Fail("use_rfc5424_message", "has no effect when syslog_format is raw");
  } else if (c.raw_format_options.use_null_terminator_delimiter) {
    r.Fail("raw_format_options", "has no effect when syslog_format is not raw");
  }
  if (c.idle_timeout == Duration(0)) c.idle_timeout = std::chrono::seconds(120);
  if (c.idle_timeout < Duration(0)) r.Fail("idle_timeout", "must not be negative");
  if (c.max_message_length == 0) c.max_message_length = 8192;
  if (c.max_message_length < 0 || c.max_message_length > (64 << 20)) {
    r.Fail("max_message_length", "must be between 1 and 67108864 bytes");
  }
  const TlsConfig& t = c.tls_config;
  // The listener's OpenSSL context reads files; Promtail's syslog target takes files only too.
  if (!t.ca.empty() || !t.cert.empty() || !t.key.empty()) {
    r.Fail("tls_config",
           "the syslog listener reads its certificate from files: use cert_file, "
           "key_file and ca_file instead of cert, key and ca");
  }
  if ((!t.ca_file.empty() || !t.cert_file.empty()) && (t.cert_file.empty() || t.key_file.empty())) {
    r.Fail("tls_config", "cert_file and key_file are required to serve TLS");
  }
  if (!t.cert_file.empty() && c.listen_protocol == "udp") {
    r.Fail("tls_config", "TLS applies to listen_protocol tcp only");
  }
}

// Promtail's gelf block: UDP only, as in Promtail; an empty address is Promtail's default.
void Validate(MapReader& r, GelfConfig& c) {
  if (c.listen_address.empty()) c.listen_address = ":12201";
  if (std::string why = ListenAddressProblem(c.listen_address); !why.empty()) {
    r.Fail("listen_address", fmt::format("{} {}", Quote(c.listen_address), why));
  }
}

// Promtail's decompression block. The format is required when enabled (Promtail fails at the
// first file otherwise); a disabled block may leave it out.
void Validate(MapReader& r, DecompressionConfig& d) {
  if (d.format != "gz" && d.format != "z" && d.format != "bz2" &&
      (d.enabled || !d.format.empty())) {
    r.Fail("format",
           fmt::format("unsupported compression format {}: use gz, z or bz2", Quote(d.format)));
  }
  if (d.initial_delay < Duration(0)) r.Fail("initial_delay", "must not be negative");
}

}  // namespace skidder::config::internal

namespace skidder::config {

// A Heroku drain is a push server with another body. A request's X-Scope-OrgID (from a proxy in
// front) is its entries' tenant, as in Promtail's heroku target.
std::optional<PushApiConfig> PushServerOf(const ScrapeConfig& sc) {
  if (sc.push) return sc.push;
  if (!sc.heroku) return std::nullopt;
  PushApiConfig p;
  p.server = sc.heroku->server;
  p.labels = sc.heroku->labels;
  p.use_incoming_timestamp = sc.heroku->use_incoming_timestamp;
  p.ack_timeout = sc.heroku->ack_timeout;
  p.max_body_size = sc.heroku->max_body_size;
  p.tenant_from_header = true;
  p.ignored_keys = sc.heroku->ignored_keys;
  return p;
}

}  // namespace skidder::config
