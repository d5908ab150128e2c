// Internal to agent/config/: every field of the Promtail config sections, described once. The
// reader (FieldReader, field_reader.h) and the dump (FieldWriter, dump.cc) both walk these lists
// with a visitor, so a new key is added in one place. tests/unit/config/field_lists_test.cc
// checks each section: its struct has as many fields as its list has keys, and every listed key
// a config sets shows in the dump and parses back.
//
// A visitor V has, for a key and a field (const when dumping):
//   Str(key, s)       string whose default is "" (left out of dumps when empty)
//   Text(key, s)      string whose default is not "" (always dumped)
//   Secret(key, s)    string shown as <secret> in dumps
//   Url(key, s)       URL (userinfo and query redacted in dumps)
//   Bool(key, b)      Int(key, int or int64_t)   Double(key, d)   Dur(key, Duration)
//   PromDur(key, Duration): Prometheus's model.Duration (1d, 2w), service discovery's settings
//   List(key, vector<string>)                  Params(key, map<string,string>)
//   Headers(key, map<string, vector<string>>)  (values are secrets)
//   LabelSet(key, Labels)                      label names checked by the reader
//   Count(key, uint64_t)                       a non-negative integer whose default is 0 (left
//                                              out of dumps when 0)
//   Size(key, int64_t, example)                a byte size ("1GB" or a number of bytes)
//   PositiveSize(key, int64_t)                 the same, which must be above zero
//   Nested(key, T)    a block always present (backoff_config, tls_config): walks Fields(v, T)
//   Block(key, optional<T>)                    a block that may be absent: walks Fields(v, T)
//   Receiver(key, optional<T>)                 the same, set when the key is present even empty
//   Items(key, vector<T>)                      a list of blocks, each walking Fields(v, T)
//   Stages(key, vector<StageConfig>)           pipeline stages, kept raw for the registry
//   Group(key, f)     a mapping whose keys are fields of the enclosing struct: calls f(v) with
//                     the visitor of that mapping (kubernetes' namespaces: {names: [...]})
//   Server(key, ServerConfig, ignored_keys)    a server block (read by ReadServer)
//   Jobs(key, vector<ScrapeConfig>, warnings)  scrape_configs (read by ReadScrapeConfig, which
//                                              warns of targets it drops; job names are unique)
// Validation across fields stays with the reader of each section (or Validate(MapReader&, T&) of
// a nested block, field_reader.h). Keys a reader accepts without storing them (Promtail no-ops,
// refused sources) are not fields and stay with that reader.
//
// pipeline_stages are described by key only: a stage's keys belong to that stage (the pipeline
// registry reads each body with its own MapReader), and the dump writes bodies as they came.
// The top level is a field list too (the last below). Its two old spellings are not fields and
// stay with ReadTop: Promtail's deprecated `client` is appended to `clients`, and a top-level
// file_watch_config is read as `global.file_watch_config` (the dump writes only the new places).
#pragma once

#include <type_traits>
#include <utility>

#include "config/http_client_fields.h"

namespace skidder::config::internal {

// U with T's constness: a field list hands a base-class part to the base's list.
template <typename T, typename U>
using LikeConst = std::conditional_t<std::is_const_v<T>, const U, U>;

template <typename V, FieldsOf<ServerConfig> T>
void Fields(V& v, T& s) {
  v.Str("http_listen_address", s.http_listen_address);
  v.Int("http_listen_port", s.http_listen_port);
  v.Text("log_level", s.log_level);
  v.Text("log_format", s.log_format);
  v.Str("http_path_prefix", s.http_path_prefix);
  v.Bool("disable", s.disable);
  v.Bool("health_check_target", s.health_check_target);
  v.Bool("enable_runtime_reload", s.enable_runtime_reload);
  v.Dur("http_server_read_timeout", s.http_server_read_timeout);
  v.Dur("http_server_idle_timeout", s.http_server_idle_timeout);
  v.Int("http_listen_conn_limit", s.http_listen_conn_limit);
  v.Dur("graceful_shutdown_timeout", s.graceful_shutdown_timeout);
  v.Nested("http_tls_config", s.http_tls_config);
  v.Str("tls_min_version", s.tls_min_version);
}

template <typename V, FieldsOf<ServerTlsConfig> T>
void Fields(V& v, T& t) {
  v.Str("cert_file", t.cert_file);
  v.Str("key_file", t.key_file);
  v.Str("client_auth_type", t.client_auth_type);
  v.Str("client_ca_file", t.client_ca_file);
}

template <typename V, FieldsOf<BackoffConfig> T>
void Fields(V& v, T& b) {
  v.Dur("min_period", b.min_period);
  v.Dur("max_period", b.max_period);
  v.Int("max_retries", b.max_retries);
}

template <typename V, FieldsOf<ClientConfig> T>
void Fields(V& v, T& c) {
  v.Url("url", c.url);
  v.Str("tenant_id", c.tenant_id);
  v.Dur("batchwait", c.batchwait);
  v.Int("batchsize", c.batchsize);
  v.Dur("timeout", c.timeout);
  v.LabelSet("external_labels", c.external_labels);
  v.Params("headers", c.headers);
  Fields(v, static_cast<LikeConst<T, HttpClientConfig>&>(c));
  v.Nested("backoff_config", c.backoff_config);
  v.Bool("drop_rate_limited_batches", c.drop_rate_limited_batches);
}

template <typename V, FieldsOf<PositionsConfig> T>
void Fields(V& v, T& p) {
  v.Text("filename", p.filename);
  v.Dur("sync_period", p.sync_period);
  v.Bool("ignore_invalid_yaml", p.ignore_invalid_yaml);
  v.Str("held_dir", p.held_dir);
  v.Size("held_max_bytes", p.held_max_bytes, "1GB or 1073741824");
}

template <typename V, FieldsOf<LimitsConfig> T>
void Fields(V& v, T& l) {
  v.Bool("readline_rate_enabled", l.readline_rate_enabled);
  v.Double("readline_rate", l.readline_rate);
  v.Int("readline_burst", l.readline_burst);
  v.Bool("readline_rate_drop", l.readline_rate_drop);
  v.Int("max_streams", l.max_streams);
  v.Int("max_label_value_length", l.max_label_value_length);
  v.Size("max_line_size", l.max_line_size, "256KB or 1048576");
  v.Bool("max_line_size_truncate", l.max_line_size_truncate);
}

template <typename V, FieldsOf<TargetConfig> T>
void Fields(V& v, T& t) {
  v.Dur("sync_period", t.sync_period);
  v.List("symlink_roots", t.symlink_roots);
  v.Dur("removed_target_linger", t.removed_target_linger);
}

template <typename V, FieldsOf<FileWatchConfig> T>
void Fields(V& v, T& f) {
  v.Dur("min_poll_frequency", f.min_poll_frequency);
  v.Dur("max_poll_frequency", f.max_poll_frequency);
}

// The receivers of a scrape config.

template <typename V, FieldsOf<StaticConfig> T>
void Fields(V& v, T& s) {
  v.List("targets", s.targets);
  v.LabelSet("labels", s.labels);
}

template <typename V, FieldsOf<FileSdConfig> T>
void Fields(V& v, T& f) {
  v.List("files", f.files);
  v.PromDur("refresh_interval", f.refresh_interval);  // Prometheus's form: 1d, 2w
}

template <typename V, FieldsOf<JournalConfig> T>
void Fields(V& v, T& j) {
  v.Str("path", j.path);
  v.Dur("max_age", j.max_age);
  v.Bool("json", j.json);
  v.Str("matches", j.matches);
  v.LabelSet("labels", j.labels);
}

template <typename V, FieldsOf<PushApiConfig> T>
void Fields(V& v, T& p) {
  v.Server("server", p.server, p.ignored_keys);
  v.LabelSet("labels", p.labels);
  v.Bool("use_incoming_timestamp", p.use_incoming_timestamp);
  v.Dur("ack_timeout", p.ack_timeout);
  v.PositiveSize("max_body_size", p.max_body_size);
  v.Bool("tenant_from_header", p.tenant_from_header);
}

template <typename V, FieldsOf<HerokuDrainConfig> T>
void Fields(V& v, T& h) {
  v.Server("server", h.server, h.ignored_keys);
  v.LabelSet("labels", h.labels);
  v.Bool("use_incoming_timestamp", h.use_incoming_timestamp);
  v.Dur("ack_timeout", h.ack_timeout);
  v.PositiveSize("max_body_size", h.max_body_size);
}

template <typename V, FieldsOf<SyslogConfig> T>
void Fields(V& v, T& y) {
  v.Text("listen_address", y.listen_address);
  v.Text("listen_protocol", y.listen_protocol);
  v.Dur("idle_timeout", y.idle_timeout);
  v.Bool("label_structured_data", y.label_structured_data);
  v.LabelSet("labels", y.labels);
  v.Bool("use_incoming_timestamp", y.use_incoming_timestamp);
  v.Bool("use_rfc5424_message", y.use_rfc5424_message);
  v.Int("max_message_length", y.max_message_length);
  v.Nested("tls_config", y.tls_config);
  v.Text("syslog_format", y.syslog_format);
  v.Nested("raw_format_options", y.raw_format_options);
}

template <typename V, FieldsOf<SyslogRawFormatOptions> T>
void Fields(V& v, T& o) {
  v.Bool("use_null_terminator_delimiter", o.use_null_terminator_delimiter);
}

template <typename V, FieldsOf<GelfConfig> T>
void Fields(V& v, T& g) {
  v.Text("listen_address", g.listen_address);
  v.LabelSet("labels", g.labels);
  v.Bool("use_incoming_timestamp", g.use_incoming_timestamp);
}

template <typename V, FieldsOf<DecompressionConfig> T>
void Fields(V& v, T& d) {
  v.Bool("enabled", d.enabled);
  v.Dur("initial_delay", d.initial_delay);
  v.Str("format", d.format);
}

// Discovery and relabeling.

template <typename V, FieldsOf<RelabelConfig> T>
void Fields(V& v, T& r) {
  v.List("source_labels", r.source_labels);
  v.Text("separator", r.separator);
  v.Text("regex", r.regex);
  v.Count("modulus", r.modulus);
  v.Str("target_label", r.target_label);
  v.Text("replacement", r.replacement);
  v.Text("action", r.action);
}

template <typename V, FieldsOf<KubernetesSdConfig::Selector> T>
void Fields(V& v, T& s) {
  v.Text("role", s.role);
  v.Str("label", s.label);
  v.Str("field", s.field);
}

template <typename V, FieldsOf<KubernetesSdConfig> T>
void Fields(V& v, T& k) {
  v.Text("role", k.role);
  v.Url("api_server", k.api_server);
  v.Str("kubeconfig_file", k.kubeconfig_file);
  Fields(v, static_cast<LikeConst<T, HttpClientConfig>&>(k));
  v.Group("namespaces", [&](auto& g) {
    g.List("names", k.namespaces);
    g.Bool("own_namespace", k.own_namespace);
  });
  v.Items("selectors", k.selectors);
  v.Group("attach_metadata", [&](auto& g) { g.Bool("node", k.attach_metadata_node); });
}

// One of docker_sd_configs' filters: a Docker API list filter and its values.
template <typename V, FieldsOf<std::pair<std::string, std::vector<std::string>>> T>
void Fields(V& v, T& f) {
  v.Text("name", f.first);
  v.List("values", f.second);
}

template <typename V, FieldsOf<KubernetesEventsConfig> T>
void Fields(V& v, T& e) {
  v.Url("api_server", e.api_server);
  v.Str("kubeconfig_file", e.kubeconfig_file);
  Fields(v, static_cast<LikeConst<T, HttpClientConfig>&>(e));
  v.List("namespaces", e.namespaces);
  v.Text("log_format", e.log_format);
  v.LabelSet("labels", e.labels);
}

template <typename V, FieldsOf<DockerSdConfig> T>
void Fields(V& v, T& d) {
  v.Text("host", d.host);
  v.Int("port", d.port);
  v.Text("host_networking_host", d.host_networking_host);
  v.PromDur("refresh_interval", d.refresh_interval);  // Prometheus's form: 1d, 2w
  v.Bool("match_first_network", d.match_first_network);
  Fields(v, static_cast<LikeConst<T, HttpClientConfig>&>(d));
  v.Items("filters", d.filters);
}

template <typename V, FieldsOf<ScrapeConfig> T>
void Fields(V& v, T& s) {
  v.Text("job_name", s.job_name);
  v.Str("encoding", s.encoding);
  v.Stages("pipeline_stages", s.pipeline_stages);
  v.Items("static_configs", s.static_configs);
  v.Items("file_sd_configs", s.file_sd_configs);
  v.Items("kubernetes_sd_configs", s.kubernetes_sd_configs);
  v.Items("docker_sd_configs", s.docker_sd_configs);
  v.Receiver("journal", s.journal);
  v.Receiver("loki_push_api", s.push);
  v.Receiver("heroku_drain", s.heroku);
  v.Receiver("syslog", s.syslog);
  v.Receiver("gelf", s.gelf);
  v.Receiver("kubernetes_events", s.kubernetes_events);
  v.Nested("decompression", s.decompression);
  v.Items("relabel_configs", s.relabel_configs);
}

// The top level: every section of a config file.
template <typename V, FieldsOf<Config> T>
void Fields(V& v, T& c) {
  v.Server("server", c.server, c.ignored_keys);
  v.Items("clients", c.clients);
  v.Nested("positions", c.positions);
  v.Nested("limits_config", c.limits_config);
  v.Nested("target_config", c.target_config);
  v.Group("global", [&](auto& g) { g.Nested("file_watch_config", c.file_watch_config); });
  v.Jobs("scrape_configs", c.scrape_configs, c.warnings);
}

}  // namespace skidder::config::internal
