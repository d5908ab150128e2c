// ParseConfig: YAML text -> Config. The top level and the small sections live here; clients,
// scrape configs and relabel rules have their own files.
#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>

#include "config/field_reader.h"
#include "config/loader.h"
#include "util/log.h"

namespace skidder::config {
namespace internal {

// Server keys of Promtail (dskit's server.Config) that cannot apply to skidder: there is no gRPC
// server, no Go profiler, and request logging is not Promtail's. Accepted; named at start.
void AcceptServerNoOps(MapReader& r, std::vector<std::string>* ignored) {
  AcceptIgnored(r,
                {"grpc_listen_network",
                 "grpc_listen_address",
                 "grpc_listen_port",
                 "grpc_listen_conn_limit",
                 "grpc_tls_config",
                 "grpc_server_max_recv_msg_size",
                 "grpc_server_max_send_msg_size",
                 "grpc_server_max_concurrent_streams",
                 "grpc_server_max_connection_idle",
                 "grpc_server_max_connection_age",
                 "grpc_server_max_connection_age_grace",
                 "grpc_server_keepalive_time",
                 "grpc_server_keepalive_timeout",
                 "grpc_server_min_time_between_pings",
                 "grpc_server_ping_without_stream_allowed",
                 "grpc_server_num_workers",
                 "grpc_server_stats_tracking_enabled",
                 "grpc_server_recv_buffer_pools_enabled",
                 "register_instrumentation",
                 "report_grpc_codes_in_instrumentation_label_enabled",
                 "profiling_enabled",
                 "external_url",
                 "log_source_ips_enabled",
                 "log_source_ips_header",
                 "log_source_ips_regex",
                 "log_request_headers",
                 "log_request_at_info_level_enabled",
                 "log_request_exclude_headers_list",
                 "http_log_closed_connections_without_response_enabled",
                 "http_server_write_timeout",
                 "http_server_read_header_timeout",
                 "tls_cipher_suites"},
                ignored);
}

Status ReadServer(const YAML::Node& node, const std::string& file, ServerConfig* out,
                  std::vector<std::string>* ignored, const std::string& path) {
  MapReader r(node, file, path);
  std::string network = "tcp";
  r.Str("http_listen_network", &network);
  FieldReader fields(r);
  Fields(fields, *out);
  if (!fields.status().ok()) return fields.status();  // http_tls_config's own error
  AcceptServerNoOps(r, ignored);
  if (std::string why = TlsMinVersionProblem(out->tls_min_version); !why.empty()) {
    r.Fail("tls_min_version", why);
  }
  if (network != "tcp" && network != "tcp4" && network != "tcp6") {
    r.Fail("http_listen_network",
           fmt::format("must be tcp (tcp4 and tcp6 are taken as tcp), not {}", Quote(network)));
  }
  if (out->graceful_shutdown_timeout < Duration::zero()) {
    r.Fail("graceful_shutdown_timeout", "must not be negative");
  }
  log::Level level;
  log::Format format;
  if (!log::ParseLevel(out->log_level, &level)) {
    r.Fail("log_level",
           fmt::format("must be debug, info, warn or error, not {}", Quote(out->log_level)));
  }
  if (!log::ParseFormat(out->log_format, &format)) {
    r.Fail("log_format", fmt::format("must be logfmt or json, not {}", Quote(out->log_format)));
  }
  if (out->http_listen_port < 0 || out->http_listen_port > 65535) {
    r.Fail("http_listen_port", "must be between 0 and 65535 (0 picks a free port)");
  }
  if (out->http_server_read_timeout <= Duration::zero()) {
    r.Fail("http_server_read_timeout", "must be positive");
  }
  if (out->http_server_idle_timeout <= Duration::zero()) {
    r.Fail("http_server_idle_timeout", "must be positive");
  }
  if (out->http_listen_conn_limit < 0) {
    r.Fail("http_listen_conn_limit", "must not be negative (0 derives it from RLIMIT_NOFILE)");
  }
  return r.Finish();
}

std::string TlsMinVersionProblem(std::string_view v) {
  if (v.empty() || v == "VersionTLS10" || v == "VersionTLS11" || v == "VersionTLS12" ||
      v == "VersionTLS13") {
    return "";
  }
  return fmt::format("must be VersionTLS10, VersionTLS11, VersionTLS12 or VersionTLS13, not {}",
                     Quote(v));
}

std::string ClientAuthTypeProblem(std::string_view a) {
  // RequireClientCert: exporter-toolkit's older name for RequireAnyClientCert, which Promtail
  // takes too.
  if (a.empty() || a == "NoClientCert" || a == "RequestClientCert" || a == "RequireAnyClientCert" ||
      a == "RequireClientCert" || a == "VerifyClientCertIfGiven" ||
      a == "RequireAndVerifyClientCert") {
    return "";
  }
  return fmt::format(
      "must be NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
      "RequireAndVerifyClientCert, not {}",
      Quote(a));
}

// The files are read when the runtime is built (at start and on each reload, before the running
// config stops), where an unreadable one is named; here only what can be told from the text.
void CheckServerTls(const ServerTlsConfig& t,
                    const std::function<void(std::string_view key, std::string why)>& fail) {
  if (t.cert_file.empty() != t.key_file.empty()) {
    fail(t.cert_file.empty() ? "key_file" : "cert_file",
         "cert_file and key_file must be set together");
  }
  const std::string& a = t.client_auth_type;
  if (std::string why = ClientAuthTypeProblem(a); !why.empty()) {
    fail("client_auth_type", why);
  } else if ((a == "VerifyClientCertIfGiven" || a == "RequireAndVerifyClientCert") &&
             t.client_ca_file.empty()) {
    fail("client_ca_file", fmt::format("is required with client_auth_type {}", a));
  }
  if (t.cert_file.empty() && (!a.empty() || !t.client_ca_file.empty())) {
    fail("cert_file", "is required: client certificates are asked for over HTTPS only");
  }
}

void Validate(MapReader& r, ServerTlsConfig& t) {
  CheckServerTls(t, [&r](std::string_view key, std::string why) { r.Fail(key, why); });
}

void Validate(MapReader& r, PositionsConfig& p) {
  if (p.filename.empty()) r.Fail("filename", "must not be empty");
  if (p.sync_period <= Duration::zero()) r.Fail("sync_period", "must be positive");
}

void Validate(MapReader& r, LimitsConfig& l) {
  if (l.readline_rate_enabled && l.readline_rate <= 0) {
    r.Fail("readline_rate", "must be positive when readline_rate_enabled is true");
  }
  if (l.readline_rate_enabled && l.readline_burst <= 0) {
    r.Fail("readline_burst", "must be positive when readline_rate_enabled is true");
  }
  if (l.max_streams < 0) r.Fail("max_streams", "must not be negative (0 = unlimited)");
  if (l.max_label_value_length < 0) {
    r.Fail("max_label_value_length", "must not be negative (0 = unlimited)");
  }
}

void Validate(MapReader& r, TargetConfig& t) {
  for (const auto& root : t.symlink_roots) {
    if (root.empty() || root[0] != '/') {
      r.Fail("symlink_roots", "must be absolute directories, got \"" + root + "\"");
    }
  }
  RefuseUnsupported(r, {"stdin"});
  if (t.sync_period <= Duration::zero()) r.Fail("sync_period", "must be positive");
}

void Validate(MapReader& r, FileWatchConfig& f) {
  if (f.min_poll_frequency <= Duration::zero()) r.Fail("min_poll_frequency", "must be positive");
  if (f.max_poll_frequency < f.min_poll_frequency) {
    r.Fail("max_poll_frequency", "must not be less than min_poll_frequency");
  }
}

}  // namespace internal

namespace {

using namespace internal;

// Accepted for compatibility; skidder has no tracing and Promtail's stream_lag_labels is a no-op.
Status ReadNoOps(MapReader& top) {
  MapReader tracing(top.Node("tracing"), top.file(), "tracing");
  bool enabled = false;
  tracing.Bool("enabled", &enabled);
  if (Status s = tracing.Finish(); !s.ok()) return s;
  MapReader options(top.Node("options"), top.file(), "options");
  std::vector<std::string> stream_lag_labels;
  options.StrList("stream_lag_labels", &stream_lag_labels);
  return options.Finish();
}

Status ReadTop(const YAML::Node& root, const std::string& file, std::string_view client_url,
               Config* cfg) {
  MapReader top(root, file, "");
  FieldReader fields(top);
  Fields(fields, *cfg);
  Status s = fields.status();
  // Promtail's deprecated single `client:` block is appended after `clients:`, as Promtail does.
  // -client.url sets the same client in Promtail: the block may leave its url to the flag, and
  // the flag wins over the block's url (flags are applied after the file).
  if (YAML::Node single = top.Node("client"); s.ok() && single.IsDefined() && !single.IsNull()) {
    ClientConfig client;
    client.url = std::string(client_url);
    s = ReadClient(single, file, "client", &client);
    if (!client_url.empty()) {
      client.url = std::string(client_url);
      cfg->client_flag_merged = true;
    }
    if (s.ok()) cfg->clients.push_back(std::move(client));
  }
  // Promtail moved file_watch_config under `global:`; the old top-level place is accepted too.
  if (s.ok() && top.Has("file_watch_config")) {
    s = ReadBlock(top.Node("file_watch_config"), file, "file_watch_config", cfg->file_watch_config);
  }
  if (s.ok()) s = ReadNoOps(top);
  // Promtail's experimental WAL: skidder re-reads unacknowledged lines from the files instead.
  AcceptIgnored(top, {"wal"}, &cfg->ignored_keys);
  if (!s.ok()) return s;
  return top.Finish();
}

}  // namespace

Result<Config> ParseConfig(const std::string& yaml_text, const std::string& file, bool expand_env,
                           std::string_view client_url) {
  const std::string text = expand_env ? ExpandEnv(yaml_text) : yaml_text;
  Config cfg;
  cfg.source_file = file;
  try {
    YAML::Node root = LoadYamlBounded(text);
    // Not a mapping: some other file (-config.file=/etc/shadow). Say what it is, never what it
    // holds.
    if (root.IsScalar() || root.IsSequence()) {
      return Err(ErrorAt(file, root, "",
                         fmt::format("the file is {}, not a mapping of config sections: is it a "
                                     "skidder or Promtail config file?",
                                     root.IsScalar() ? "a single text value" : "a list")));
    }
    if (Status s = ReadTop(root, file, client_url, &cfg); !s.ok()) return Err(std::move(s));
  } catch (const YAML::Exception& e) {
    // Syntax errors, and anything yaml-cpp throws that the readers did not foresee. yaml-cpp
    // stops nesting at 500 levels, calling it a "bad file".
    const bool deep = dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr;
    const std::string msg = deep ? "nested more than 500 levels deep" : e.msg;
    if (e.mark.is_null()) return Err(InvalidArgument(fmt::format("{}: {}", file, msg)));
    return Err(InvalidArgument(
        fmt::format("{}:{}:{}: yaml: {}", file, e.mark.line + 1, e.mark.column + 1, msg)));
  }
  return cfg;
}

}  // namespace skidder::config
