// Typed configuration: Promtail's YAML schema, with defaults, as plain structs.
//
// Built by LoadConfig() (loader.h) from a file and flags; validated across fields before
// anything starts. Every field has Promtail's default; the comment says what it does. Immutable
// once loaded: a reload builds a new Config. Each block's keys are listed once, in
// config/fields.h and config/http_client_fields.h: the reader and the dump both walk those lists,
// so a field added here needs one line there (tests/unit/config/field_lists_test.cc checks it).
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/labels.h"

namespace skidder::config {

using Duration = std::chrono::nanoseconds;

struct TlsConfig {
  std::string ca_file, cert_file, key_file, server_name;
  // Prometheus' inline PEM (Alloy's ca_pem, cert_pem, key_pem): each instead of its *_file,
  // used from memory. key is a secret (masked in dumps and errors).
  std::string ca, cert, key;
  bool insecure_skip_verify = false;
  std::string min_version, max_version;  // TLS10..TLS13; "" = the TLS library's default
  bool operator==(const TlsConfig&) const = default;
};

// HTTPS for skidder's own server and a push job's (Promtail's server.http_tls_config, dskit's
// names; tls_min_version sits beside it in the server block, as in dskit).
struct ServerTlsConfig {
  std::string cert_file, key_file;  // HTTPS when set (both or neither)
  // Go's tls.ClientAuthType: NoClientCert (""), RequestClientCert, RequireAnyClientCert,
  // VerifyClientCertIfGiven, RequireAndVerifyClientCert.
  std::string client_auth_type;
  std::string client_ca_file;  // CAs a client certificate must chain to
};

struct ServerConfig {
  std::string http_listen_address;     // "" = all interfaces
  int http_listen_port = 9080;         // 0 = pick a free port (logged); -1 never
  std::string log_level = "info";      // debug|info|warn|error
  std::string log_format = "logfmt";   // logfmt|json
  std::string http_path_prefix;        // prefix for every endpoint
  bool disable = false;                // no HTTP server at all
  bool health_check_target = true;     // /ready requires at least one target
  bool enable_runtime_reload = false;  // POST /reload
  // Limits of the HTTP server against clients that hold connections (see telemetry/http_server.h).
  Duration http_server_read_timeout = std::chrono::seconds(10);  // a request must arrive in this
  Duration http_server_idle_timeout = std::chrono::seconds(30);  // silent connections are closed
  int http_listen_conn_limit = 0;  // open connections at most; 0 = an eighth of RLIMIT_NOFILE
  ServerTlsConfig http_tls_config;
  std::string tls_min_version;  // VersionTLS10..VersionTLS13; "" = TLS 1.2, as in Promtail
  // How long a shutdown may spend pushing what is buffered before exiting (what is not sent is
  // read again on the next start). Promtail's HTTP-server shutdown grace, used as our flush
  // deadline.
  Duration graceful_shutdown_timeout = std::chrono::seconds(10);
};

struct BackoffConfig {
  Duration min_period = std::chrono::milliseconds(500);  // first retry delay
  Duration max_period = std::chrono::minutes(5);         // cap on the delay
  int max_retries = 10;  // Promtail drops after this; skidder keeps retrying (see README)
};

struct BasicAuth {
  std::string username, password, password_file;
  std::string username_file;  // read like password_file (re-read when it changes)
  bool operator==(const BasicAuth&) const = default;
};

// Promtail's `authorization`: an Authorization header of any scheme.
struct Authorization {
  std::string type = "Bearer";  // the scheme: "Bearer", "Token", ...
  std::string credentials, credentials_file;
  bool operator==(const Authorization&) const = default;
};

// Proxy settings as Prometheus' common HTTP client reads them (also inside `oauth2`, for the
// token request).
struct ProxyConfig {
  std::string proxy_url;                // "" = none, unless proxy_from_environment
  std::string no_proxy;                 // hosts not to reach through the proxy (comma-separated)
  bool proxy_from_environment = false;  // use HTTP(S)_PROXY / NO_PROXY when proxy_url is empty
  // Headers of the CONNECT request to the proxy (https:// targets), e.g. Proxy-Authorization.
  std::map<std::string, std::vector<std::string>> proxy_connect_header;
  bool operator==(const ProxyConfig&) const = default;
};

// OAuth 2.0 client credentials grant (RFC 6749 4.4): a token fetched from token_url before the
// first request, cached until it expires, and fetched again when the server answers 401/403.
struct OAuth2Config : ProxyConfig {  // the proxy for token_url
  std::string client_id, client_secret, client_secret_file;
  std::vector<std::string> scopes;
  std::string token_url;
  std::map<std::string, std::string> endpoint_params;  // extra form fields of the token request
  TlsConfig tls_config;                                // for token_url
  bool operator==(const OAuth2Config&) const = default;
};

// Prometheus' common HTTP client settings (HTTPClientConfig), shared by `clients`,
// kubernetes_sd_configs and docker_sd_configs: read by one reader and dumped by one writer, which
// both walk the field list in config/http_client_fields.h.
struct HttpClientConfig : ProxyConfig {
  std::optional<BasicAuth> basic_auth;
  std::string bearer_token, bearer_token_file;
  std::optional<Authorization> authorization;
  std::optional<OAuth2Config> oauth2;
  bool follow_redirects = true;  // follow 3xx as Promtail does (up to 10)
  bool enable_http2 = true;      // false = HTTP/1.1 only
  TlsConfig tls_config;
  bool operator==(const HttpClientConfig&) const = default;
};

struct ClientConfig : HttpClientConfig {
  std::string url;        // push URL, e.g. http://loki-gateway/loki/api/v1/push
  std::string tenant_id;  // X-Scope-OrgID; "" = none
  Duration batchwait = std::chrono::seconds(1);  // max age of a batch before it is sent
  int64_t batchsize = 1048576;                   // max bytes (lines) of a batch before it is sent
  Duration timeout = std::chrono::seconds(10);   // per request
  Labels external_labels;                        // added to every stream of this client
  std::map<std::string, std::string> headers;
  BackoffConfig backoff_config;
  bool drop_rate_limited_batches = false;  // drop instead of retry on 429 (Promtail's option)
};

struct PositionsConfig {
  std::string filename = "/var/log/positions.yaml";
  Duration sync_period = std::chrono::seconds(10);
  bool ignore_invalid_yaml = false;  // corrupt file: start empty instead of setting it aside
  // skidder: rotated files not yet read to the end are hard-linked here, so a crash cannot lose
  // them when they are deleted. Must be on the same mount as the logs. "" = `.skidder-held`
  // beside `filename`; "off" disables holding.
  std::string held_dir;
  int64_t held_max_bytes = int64_t{1} << 30;  // disk that held files may keep alive after deletion
  // Not a key: Alloy's legacy_positions_file of each loki.source.file (the first is also
  // `filename` unless -positions.file names another). Their records are imported until skidder
  // has written `filename` once (sources::Positions).
  std::vector<std::string> import_files;
};

struct StageOrigin;

// One pipeline stage, parsed by the pipeline registry (which knows each stage's keys).
struct StageConfig {
  std::string type;  // e.g. "cri", "regex"
  YAML::Node body;   // the stage's own mapping (or scalar)
  std::string file;  // config file, for file:line:column errors
  // How errors name the stage where the user wrote something else than Promtail's YAML, e.g.
  // "stage.regex" for an Alloy block; "" names it by its place ("pipeline_stages[2].regex").
  std::string name = {};  // (a default: positional initialisers may stop at `file`)
  // A translated config's record of where each stage was written, so that a stage nested in
  // this one (match, fanout) is named by its own block, not by its parent's; null for YAML,
  // whose marks say it already.
  std::shared_ptr<const std::vector<StageOrigin>> origins = nullptr;
  // Set while a stage of Promtail YAML is built (pipeline::BuildStage): the stage's reader lists
  // the keys it does not know here instead of refusing them.
  std::vector<std::string>* unknown_keys = nullptr;
};

// Where a translated stage was written. `body` is the identity of the stage's YAML body
// (YAML::Node::is), which nested stages keep when their parent's body is read.
struct StageOrigin {
  YAML::Node body;
  std::string file;  // "config.alloy:12:3"
  std::string name;  // "stage.regex"
};

struct StaticConfig {
  std::vector<std::string> targets;  // accepted, unused (Promtail: localhost)
  Labels labels;                     // incl. __path__ and __path_exclude__
};

struct RelabelConfig {
  std::vector<std::string> source_labels;
  std::string separator = ";";
  std::string regex = "(.*)";  // anchored when compiled
  uint64_t modulus = 0;
  std::string target_label;
  std::string replacement = "$1";
  std::string action = "replace";
};

// The HTTP client settings: basic_auth is read once at start (password_file too); an
// `authorization` of type Bearer is read into bearer_token(_file); proxy_url "" = libcurl's
// default (the *_proxy environment variables).
struct KubernetesSdConfig : HttpClientConfig {
  std::string role = "pod";
  std::string api_server;
  std::string kubeconfig_file;
  std::vector<std::string> namespaces;
  bool own_namespace = false;
  struct Selector {
    std::string role, label, field;
    bool operator==(const Selector&) const = default;
  };
  std::vector<Selector> selectors;
  // attach_metadata.node: pod, endpoints and endpointslice targets also get the
  // __meta_kubernetes_node_name/_label_*/_labelpresent_* labels of their node (nodes are watched).
  bool attach_metadata_node = false;
  bool operator==(const KubernetesSdConfig&) const = default;
};

// Prometheus' file_sd_configs: target groups read from JSON or YAML files
// ([{targets: [...], labels: {...}}]), re-read when they change (inotify) and every
// refresh_interval. Each target becomes a label set with __address__ and __meta_filepath.
struct FileSdConfig {
  std::vector<std::string> files;  // paths; the last component may hold a `*` glob
  Duration refresh_interval = std::chrono::minutes(5);  // re-read even without inotify events
};

// Promtail's `journal` block: read the systemd journal instead of files.
struct JournalConfig {
  std::string path;  // a journal directory; "" = the local journal (/var/log, /run/log/journal)
  Duration max_age = std::chrono::hours(7);  // with no saved cursor, start this long ago
  bool json = false;                         // the line is every field as JSON, not MESSAGE
  Labels labels;                             // added to every entry, before relabel_configs
  std::string matches;                       // space-separated FIELD=value journal matches
};

// Promtail's `loki_push_api` block: receive Loki pushes on an HTTP server of the job's own
// (sources/push). Stream labels of the push, then `labels`, then relabel_configs, then the
// pipeline.
struct PushApiConfig {
  // Its own server block; Promtail's push server listens on port 80 unless told otherwise.
  ServerConfig server = [] {
    ServerConfig s;
    s.http_listen_port = 80;
    return s;
  }();
  Labels labels;                        // added to every stream, over the pushed labels
  bool use_incoming_timestamp = false;  // keep the pushed timestamps; else the time received
  // skidder: a push is answered 204 once Loki took all its entries; after this long it is
  // answered 503 instead so the sender retries (at-least-once: that may duplicate). Below the
  // 10s timeout of Promtail's, Alloy's and skidder's clients.
  Duration ack_timeout = std::chrono::seconds(8);
  // skidder: the largest request body (compressed, and again decompressed). Loki's default
  // (distributor max_recv_msg_size) is 100 MB.
  int64_t max_body_size = 100 << 20;
  // skidder: a Loki push's X-Scope-OrgID becomes its entries' tenant (__tenant_id__), as
  // Alloy's loki.source.api does; Promtail's push target ignores the header (the default).
  bool tenant_from_header = false;
  std::vector<std::string> ignored_keys;  // server keys that cannot apply (gRPC), for the log
};

// Promtail's `heroku_drain` block (Alloy's loki.source.heroku): Heroku's HTTPS log drains POST
// logplex frames to /heroku/api/v1/drain on a server of the job's own (sources/push, which
// serves it as a push API of another body). Each message's labels are `labels`,
// __heroku_drain_host, _app, _proc, _log_id and __heroku_drain_param_<name> per query
// parameter, then relabel_configs; a request's X-Scope-OrgID is its entries' tenant.
struct HerokuDrainConfig {
  ServerConfig server = [] {  // the port of Promtail's loki_push_api, for want of a better one
    ServerConfig s;
    s.http_listen_port = 80;
    return s;
  }();
  Labels labels;
  bool use_incoming_timestamp = false;  // the message's timestamp; else the time received
  // skidder, as in PushApiConfig: answered 204 once Loki took the entries, 503 after this long.
  Duration ack_timeout = std::chrono::seconds(8);
  int64_t max_body_size = 100 << 20;      // skidder: the largest request body
  std::vector<std::string> ignored_keys;  // server keys that cannot apply (gRPC), for the log
};

// Prometheus' docker_sd_configs, read as Promtail's Docker target reads it: containers of one
// Docker daemon, whose logs are read through the daemon's API (sources/docker). As in Prometheus
// the HTTP client settings apply to http:// and https:// hosts; the proxy settings to tcp:// hosts
// too; none to a unix:// socket. bearer_token(_file) are read into `authorization`.
struct DockerSdConfig : HttpClientConfig {
  std::string host;  // unix:///var/run/docker.sock, tcp://host:2375, http(s)://host:port
  int port = 80;     // __address__ port of a container that exposes no TCP port
  std::string host_networking_host = "localhost";        // __address__ of host-network containers
  Duration refresh_interval = std::chrono::seconds(60);  // how often containers are listed
  bool match_first_network = true;  // several networks: the first by name gives the labels
  // Docker API list filters (name -> values), e.g. label: [logging=promtail].
  std::vector<std::pair<std::string, std::vector<std::string>>> filters;
};

// Promtail's `syslog` block: listen for syslog messages (sources/syslog).
// Alloy's listener `raw_format_options` block (syslog_format "raw" only).
struct SyslogRawFormatOptions {
  bool use_null_terminator_delimiter = false;  // messages end at '\0' instead of '\n'
};

struct SyslogConfig {
  std::string listen_address;                         // host:port, required
  std::string listen_protocol = "tcp";                // tcp|udp
  Duration idle_timeout = std::chrono::seconds(120);  // a TCP connection silent this long closes
  bool label_structured_data = false;   // RFC 5424 SD params as __syslog_message_sd_* labels
  Labels labels;                        // added to every entry, before relabel_configs
  bool use_incoming_timestamp = false;  // the message's timestamp instead of the receive time
  bool use_rfc5424_message = false;     // the line is the whole message, not its MSG part
  int max_message_length = 8192;        // bytes of one message (see sources/syslog)
  TlsConfig tls_config;                 // TCP only: cert_file + key_file; ca_file = client auth
  // rfc5424|rfc3164|raw (Alloy's: messages as sent, one per line, <PRI> taken off; see
  // sources/syslog/framer.h)
  std::string syslog_format = "rfc5424";
  SyslogRawFormatOptions raw_format_options;
};

// Promtail's `gelf` block: receive GELF messages over UDP (sources/gelf).
struct GelfConfig {
  std::string listen_address = ":12201";  // host:port (UDP); Promtail's ":12201" is IPv4 and IPv6
  Labels labels;                          // added to every entry, before relabel_configs
  bool use_incoming_timestamp = false;    // the message's timestamp instead of the receive time
};

// skidder's `kubernetes_events` block, what Alloy's loki.source.kubernetes_events reads: the
// cluster's Kubernetes Events, listed and watched on the API server, each event a log line
// (sources/kube_events). The API server is reached as for kubernetes_sd_configs (in-cluster
// unless api_server or kubeconfig_file says otherwise). Not a Promtail key: Promtail had no such
// source, and Alloy's configs are translated to it.
struct KubernetesEventsConfig : HttpClientConfig {
  std::string api_server;
  std::string kubeconfig_file;
  std::vector<std::string> namespaces;  // empty = every namespace (a cluster-wide watch)
  std::string log_format = "logfmt";    // logfmt | json: the line's form, as Alloy writes it
  Labels labels;                        // added to every entry (Alloy: job and instance)

  // The client settings as the kubernetes_sd_config the API client is resolved from.
  KubernetesSdConfig AsSdConfig() const {
    KubernetesSdConfig sd;
    static_cast<HttpClientConfig&>(sd) = *this;
    sd.api_server = api_server;
    sd.kubeconfig_file = kubeconfig_file;
    return sd;
  }
};

// Promtail's `decompression` block: files the job's globs match whose names end in .gz, .z or
// .bz2 are decompressed with `format` and read whole, once (see sources/file/decompress.h).
struct DecompressionConfig {
  bool enabled = false;
  Duration initial_delay{0};  // wait this long after a file is found before reading it
  std::string format;         // gz | z | bz2 (required when enabled)
};

struct ScrapeConfig {
  std::string job_name;
  std::vector<StageConfig> pipeline_stages;
  std::vector<StaticConfig> static_configs;
  std::vector<KubernetesSdConfig> kubernetes_sd_configs;
  std::vector<FileSdConfig> file_sd_configs;
  std::vector<RelabelConfig> relabel_configs;
  std::string encoding;                     // accepted: "" or utf-8 only for now
  std::optional<JournalConfig> journal;     // set: this job reads the journal (sources/journal)
  std::optional<PushApiConfig> push;        // set: this job receives Loki pushes (sources/push)
  std::optional<HerokuDrainConfig> heroku;  // set: this job is a Heroku drain (sources/push)
  std::vector<DockerSdConfig> docker_sd_configs;  // containers read through the Docker API
  std::optional<SyslogConfig> syslog;  // set: this job listens for syslog (sources/syslog)
  std::optional<GelfConfig> gelf;      // set: this job receives GELF (sources/gelf)
  // set: this job reads Kubernetes Events (sources/kube_events)
  std::optional<KubernetesEventsConfig> kubernetes_events;
  DecompressionConfig decompression;
  // Not a key: where an Alloy config declares the job ("config.alloy:12:1: loki.source.api.push"),
  // which errors at start name; "" for a Promtail config (errors say scrape_configs[i]).
  std::string origin;
  // Not a key: Alloy's loki.source.file `tail_from_end`. A file with no stored position that was
  // there before the agent started is read from its last line's end (sources/file: FileTarget).
  bool tail_from_end = false;
};

// The push server that serves a loki_push_api or heroku_drain job; nullopt for other jobs.
std::optional<PushApiConfig> PushServerOf(const ScrapeConfig& sc);

struct LimitsConfig {
  bool readline_rate_enabled = false;
  double readline_rate = 10000;
  int readline_burst = 10000;
  bool readline_rate_drop = true;
  int max_streams = 0;  // streams per batch (per client and tenant); 0 = unlimited
  // skidder: a longer label value (bytes), which Loki's limit of the same name would refuse, is
  // shortened with a hash suffix and counted; 0 = unlimited.
  int max_label_value_length = 2048;
  int64_t max_line_size = 0;            // bytes; 0 = unlimited (skidder still caps at 256 KiB*4)
  bool max_line_size_truncate = false;  // truncate instead of drop
};

struct FileWatchConfig {
  Duration min_poll_frequency = std::chrono::milliseconds(250);
  Duration max_poll_frequency = std::chrono::milliseconds(250);
};

struct TargetConfig {
  Duration sync_period = std::chrono::seconds(10);  // how often globs are re-scanned
  // skidder: when set, a file is read only if its real path (symlinks resolved) lies under one
  // of these directories; empty = follow links anywhere (as Promtail).
  std::vector<std::string> symlink_roots;
  // skidder: how long a file whose target went away (its pod left the API) is still read while
  // it stays at its path. A force-deleted pod leaves the API at once, but its containers write
  // until the kubelet stops them (up to terminationGracePeriodSeconds, 30s by default); the
  // kubelet's removal of the pod's log directory ends the wait early. 0 = read to the end, close.
  Duration removed_target_linger = std::chrono::seconds(30);
};

struct Config {
  std::string source_file;  // where it came from ("" for built-in)
  // Promtail keys that cannot apply to skidder (gRPC, Go profiling...): accepted, and named in
  // one info line at start ("server.register_instrumentation", ...).
  std::vector<std::string> ignored_keys;
  // Accepted as Promtail accepts them but worth a warning at start (one line each).
  std::vector<std::string> warnings;
  // Not a key: -client.url filled Promtail's deprecated `client:` block (the flag's url wins, the
  // block's other keys stay), as in Promtail, where the flag and the block set the same client
  // and flags are applied after the file; the flag then adds no client of its own.
  bool client_flag_merged = false;
  ServerConfig server;
  std::vector<ClientConfig> clients;
  PositionsConfig positions;
  std::vector<ScrapeConfig> scrape_configs;
  // Alloy: the stages of loki.process components no source reaches. Alloy evaluates every
  // component, so their stages are built at start too (a typo must not wait for the day they
  // are wired in), then dropped: nothing flows through them.
  std::vector<std::vector<StageConfig>> unused_pipelines;
  LimitsConfig limits_config;
  TargetConfig target_config;
  FileWatchConfig file_watch_config;
};

}  // namespace skidder::config
