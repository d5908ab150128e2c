// ParseConfig: a real Promtail config becomes the expected structs; every mistake is refused
// with file:line:column, the key's path and a message naming the problem.
#include <gtest/gtest.h>

#include <chrono>

#include "config/loader.h"

namespace skidder::config {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPromtailConfig = R"(server:
  http_listen_port: 3101
  grpc_listen_port: 0
  log_level: warn
positions:
  filename: /run/promtail/positions.yaml
clients:
  - url: https://loki.example.com/loki/api/v1/push
    tenant_id: team-a
    batchwait: 2s
    batchsize: 524288
    external_labels:
      cluster: prod
    headers:
      X-Extra: "1"
    basic_auth:
      username: user
      password: hunter2
    tls_config:
      ca_file: /etc/ca.pem
      insecure_skip_verify: true
    backoff_config:
      min_period: 1s
      max_period: 1m30s
      max_retries: 20
  - url: http://localhost:3100/loki/api/v1/push
scrape_configs:
  - job_name: system
    pipeline_stages:
      - regex:
          expression: '^(?P<level>\w+)'
      - labels:
          level:
    static_configs:
      - targets: [localhost]
        labels:
          job: varlogs
          __path__: /var/log/*log
  - job_name: kubernetes-pods
    pipeline_stages:
      - cri: {}
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          names: [default, kube-system]
        selectors:
          - role: pod
            label: app=web
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_node_name]
        target_label: __host__
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
      - action: hashmod
        source_labels: [__meta_kubernetes_pod_uid]
        modulus: 4
        target_label: __tmp_hash
      - action: Keep
        source_labels: [__tmp_hash]
        regex: "1"
      - replacement: /var/log/pods/*$1/*.log
        separator: /
        source_labels: [__meta_kubernetes_pod_uid, __meta_kubernetes_pod_container_name]
        target_label: __path__
limits_config:
  readline_rate_enabled: true
  readline_rate: 500.5
  readline_burst: 1000
  max_line_size: 256KB
target_config:
  sync_period: 30s
global:
  file_watch_config:
    min_poll_frequency: 100ms
    max_poll_frequency: 2s
tracing:
  enabled: false
)";

TEST(ParseConfig, ReadsAFullPromtailConfig) {
  Result<Config> cfg = ParseConfig(kPromtailConfig, "promtail.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->source_file, "promtail.yaml");
  EXPECT_EQ(cfg->server.http_listen_port, 3101);
  EXPECT_EQ(cfg->server.log_level, "warn");
  EXPECT_EQ(cfg->server.log_format, "logfmt");  // default
  EXPECT_EQ(cfg->positions.filename, "/run/promtail/positions.yaml");
  EXPECT_EQ(cfg->positions.sync_period, 10s);  // default

  ASSERT_EQ(cfg->clients.size(), 2u);
  const ClientConfig& a = cfg->clients[0];
  EXPECT_EQ(a.url, "https://loki.example.com/loki/api/v1/push");
  EXPECT_EQ(a.tenant_id, "team-a");
  EXPECT_EQ(a.batchwait, 2s);
  EXPECT_EQ(a.batchsize, 524288);
  EXPECT_EQ(a.timeout, 10s);  // default
  EXPECT_EQ(a.external_labels, (Labels{{"cluster", "prod"}}));
  EXPECT_EQ(a.headers.at("X-Extra"), "1");
  ASSERT_TRUE(a.basic_auth.has_value());
  EXPECT_EQ(a.basic_auth->username, "user");
  EXPECT_EQ(a.basic_auth->password, "hunter2");
  EXPECT_EQ(a.tls_config.ca_file, "/etc/ca.pem");
  EXPECT_TRUE(a.tls_config.insecure_skip_verify);
  EXPECT_EQ(a.backoff_config.min_period, 1s);
  EXPECT_EQ(a.backoff_config.max_period, 90s);
  EXPECT_EQ(a.backoff_config.max_retries, 20);
  const ClientConfig& b = cfg->clients[1];
  EXPECT_EQ(b.batchwait, 1s);
  EXPECT_EQ(b.batchsize, 1048576);
  EXPECT_FALSE(b.basic_auth.has_value());
  EXPECT_EQ(b.backoff_config.min_period, 500ms);
  EXPECT_EQ(b.backoff_config.max_period, 5min);
  EXPECT_EQ(b.backoff_config.max_retries, 10);

  ASSERT_EQ(cfg->scrape_configs.size(), 2u);
  const ScrapeConfig& sys = cfg->scrape_configs[0];
  EXPECT_EQ(sys.job_name, "system");
  ASSERT_EQ(sys.pipeline_stages.size(), 2u);
  EXPECT_EQ(sys.pipeline_stages[0].type, "regex");
  EXPECT_EQ(sys.pipeline_stages[0].file, "promtail.yaml");
  EXPECT_EQ(sys.pipeline_stages[0].body["expression"].Scalar(), "^(?P<level>\\w+)");
  EXPECT_EQ(sys.pipeline_stages[1].type, "labels");
  ASSERT_EQ(sys.static_configs.size(), 1u);
  EXPECT_EQ(sys.static_configs[0].targets, std::vector<std::string>{"localhost"});
  EXPECT_EQ(sys.static_configs[0].labels,
            (Labels{{"job", "varlogs"}, {"__path__", "/var/log/*log"}}));

  const ScrapeConfig& pods = cfg->scrape_configs[1];
  ASSERT_EQ(pods.kubernetes_sd_configs.size(), 1u);
  EXPECT_EQ(pods.kubernetes_sd_configs[0].role, "pod");
  EXPECT_EQ(pods.kubernetes_sd_configs[0].namespaces,
            (std::vector<std::string>{"default", "kube-system"}));
  ASSERT_EQ(pods.kubernetes_sd_configs[0].selectors.size(), 1u);
  EXPECT_EQ(pods.kubernetes_sd_configs[0].selectors[0].label, "app=web");
  ASSERT_EQ(pods.relabel_configs.size(), 5u);
  const RelabelConfig& first = pods.relabel_configs[0];
  EXPECT_EQ(first.action, "replace");
  EXPECT_EQ(first.regex, "(.*)");
  EXPECT_EQ(first.replacement, "$1");
  EXPECT_EQ(first.separator, ";");
  EXPECT_EQ(first.target_label, "__host__");
  EXPECT_EQ(pods.relabel_configs[2].modulus, 4u);
  EXPECT_EQ(pods.relabel_configs[3].action, "keep");  // case-insensitive, as Prometheus
  EXPECT_EQ(pods.relabel_configs[4].separator, "/");

  EXPECT_TRUE(cfg->limits_config.readline_rate_enabled);
  EXPECT_DOUBLE_EQ(cfg->limits_config.readline_rate, 500.5);
  EXPECT_EQ(cfg->limits_config.readline_burst, 1000);
  EXPECT_EQ(cfg->limits_config.max_line_size, 256 * 1024);
  EXPECT_EQ(cfg->target_config.sync_period, 30s);
  EXPECT_EQ(cfg->file_watch_config.min_poll_frequency, 100ms);
  EXPECT_EQ(cfg->file_watch_config.max_poll_frequency, 2s);
}

TEST(ParseConfig, EmptyFileGivesPromtailDefaults) {
  Result<Config> cfg = ParseConfig("", "empty.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->server.http_listen_port, 9080);
  EXPECT_EQ(cfg->positions.filename, "/var/log/positions.yaml");
  EXPECT_TRUE(cfg->clients.empty());
  EXPECT_EQ(cfg->file_watch_config.min_poll_frequency, 250ms);
  EXPECT_EQ(cfg->target_config.sync_period, 10s);
}

TEST(ParseConfig, AcceptsDeprecatedSingleClientAndTopLevelFileWatch) {
  Result<Config> cfg = ParseConfig(
      "clients: [{url: 'http://a:3100/loki/api/v1/push'}]\n"
      "client: {url: 'http://b:3100/loki/api/v1/push'}\n"
      "file_watch_config: {min_poll_frequency: 1s, max_poll_frequency: 1s}\n",
      "c.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  ASSERT_EQ(cfg->clients.size(), 2u);
  EXPECT_EQ(cfg->clients[1].url, "http://b:3100/loki/api/v1/push");
  EXPECT_EQ(cfg->file_watch_config.max_poll_frequency, 1s);
}

TEST(ParseConfig, ExpandsEnvironmentOnlyWhenAsked) {
  setenv("SKIDDER_TEST_LOKI", "http://env-loki:3100/loki/api/v1/push", 1);
  const char* text = "clients:\n  - url: ${SKIDDER_TEST_LOKI}\n";
  Result<Config> expanded = ParseConfig(text, "c.yaml", true);
  ASSERT_TRUE(expanded) << expanded.error().message();
  EXPECT_EQ(expanded->clients[0].url, "http://env-loki:3100/loki/api/v1/push");
  Result<Config> literal = ParseConfig(text, "c.yaml", false);
  ASSERT_FALSE(literal);
  EXPECT_EQ(literal.error().message(),
            "c.yaml:2:10: clients[0].url: must start with http:// or https://");
}

struct ErrorCase {
  const char* name;
  const char* yaml;
  const char* want;  // the full message
};

constexpr const char* kValidJobYaml =
    "scrape_configs:\n"
    "  - job_name: j\n"
    "    static_configs:\n"
    "      - labels: {__path__: /var/log/*.log}\n";

class ParseConfigErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParseConfigErrors, RefusesWithFileLineColumnAndKey) {
  Result<Config> cfg = ParseConfig(GetParam().yaml, "cfg.yaml", false);
  ASSERT_FALSE(cfg) << "accepted:\n" << GetParam().yaml;
  EXPECT_EQ(cfg.error().message(), GetParam().want);
  EXPECT_EQ(cfg.error().code(), StatusCode::kInvalidArgument);
}

const ErrorCase kErrors[] = {
    {"UnknownTopLevelKey", "server: {}\nscrape_config: []\n",
     "cfg.yaml:2:1: unknown key \"scrape_config\" (did you mean \"scrape_configs\"?)"},
    {"UnknownServerKey", "server:\n  http_port: 80\n",
     "cfg.yaml:2:3: server: unknown key \"http_port\""},
    {"UnknownClientKey", "clients:\n  - url: http://l/p\n    batch_wait: 1s\n",
     "cfg.yaml:3:5: clients[0]: unknown key \"batch_wait\" (did you mean \"batchwait\"?)"},
    {"UnknownKeyDeepInClient",
     "clients:\n  - url: http://l/p\n    backoff_config:\n      min_wait: 1s\n",
     "cfg.yaml:4:7: clients[0].backoff_config: unknown key \"min_wait\""},
    {"UnknownKeyInStaticConfig",
     "scrape_configs:\n  - job_name: j\n    static_configs:\n      - label: {a: b}\n",
     "cfg.yaml:4:9: scrape_configs[0].static_configs[0]: unknown key \"label\" (did you mean "
     "\"labels\"?)"},
    {"UnknownKeyInKubernetesNamespaces",
     "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs:\n      - role: pod\n"
     "        namespaces: {name: [a]}\n",
     "cfg.yaml:5:22: scrape_configs[0].kubernetes_sd_configs[0].namespaces: unknown key "
     "\"name\" (did you mean \"names\"?)"},
    {"PromtailOneBackoffKey",
     "clients:\n  - url: http://a/loki/api/v1/push\n    backoff_config: {maxbackoff: 5s}\n",
     "cfg.yaml:3:22: clients[0].backoff_config: unknown key \"maxbackoff\" (did you mean "
     "\"max_period\"?)"},
    {"UnknownOptionsKey", "options:\n  foo: 1\n", "cfg.yaml:2:3: options: unknown key \"foo\""},
    {"WrongTypePort", "server:\n  http_listen_port: eighty\n",
     "cfg.yaml:2:21: server.http_listen_port: expected an integer, got \"eighty\""},
    {"WrongTypeClientsNotList", "clients:\n  url: http://l/p\n",
     "cfg.yaml:2:3: clients: expected a list, got a mapping"},
    {"WrongTypeUrlIsList", "clients:\n  - url: [a]\n",
     "cfg.yaml:2:10: clients[0].url: expected a string, got a list"},
    {"BadDuration", "clients:\n  - url: http://l/p\n    batchwait: abc\n",
     "cfg.yaml:3:16: clients[0].batchwait: expected a duration like 500ms or 1m30s, got \"abc\""},
    {"BareNumberDuration", "positions:\n  sync_period: 10\n",
     "cfg.yaml:2:16: positions.sync_period: expected a duration like 500ms or 1m30s, got "
     "\"10\""},
    {"BadRegexInRelabel",
     "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs: [{role: pod}]\n"
     "    relabel_configs:\n      - regex: 'a(b'\n        target_label: x\n",
     "cfg.yaml:5:16: scrape_configs[0].relabel_configs[0].regex: invalid regular expression "
     "\"a(b\": missing )"},
    {"UnknownRelabelAction",
     "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs: [{role: pod}]\n"
     "    relabel_configs:\n      - action: remove\n",
     "cfg.yaml:5:17: scrape_configs[0].relabel_configs[0].action: unknown action \"remove\"; "
     "use one of replace, keep, drop, keepequal, dropequal, hashmod, labelmap, labeldrop, "
     "labelkeep, lowercase, uppercase"},
    {"HashmodWithoutModulus",
     "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs: [{role: pod}]\n"
     "    relabel_configs:\n      - action: hashmod\n        target_label: h\n",
     "cfg.yaml:5:9: scrape_configs[0].relabel_configs[0].modulus: must be greater than 0 for "
     "hashmod"},
    {"ReplaceWithoutTargetLabel",
     "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs: [{role: pod}]\n"
     "    relabel_configs:\n      - source_labels: [a]\n",
     "cfg.yaml:5:9: scrape_configs[0].relabel_configs[0].target_label: is required for action "
     "replace"},
    {"JournalBadMatch",
     "scrape_configs:\n  - job_name: j\n    journal:\n      matches: _SYSTEMD_UNIT\n",
     "cfg.yaml:4:16: scrape_configs[0].journal.matches: \"_SYSTEMD_UNIT\" is not a FIELD=value "
     "journal match"},
    {"JournalWithStaticConfigs",
     "scrape_configs:\n  - job_name: j\n    journal: {}\n"
     "    static_configs: [{labels: {__path__: /a}}]\n",
     "cfg.yaml:3:14: scrape_configs[0].journal: a scrape config reads either the journal or files: "
     "move static_configs, file_sd_configs and kubernetes_sd_configs to a scrape config of their "
     "own"},
    {"SyslogUnknownProtocol",
     "scrape_configs:\n  - job_name: j\n    syslog:\n      listen_address: x:1\n"
     "      listen_protocol: sctp\n",
     "cfg.yaml:5:24: scrape_configs[0].syslog.listen_protocol: must be tcp or udp, not \"sctp\""},
    // Go's net.Listen refuses these; the socket layer would take port 99999 as 34463.
    {"SyslogPortOutOfRange",
     "scrape_configs:\n  - job_name: j\n    syslog:\n      listen_address: 0.0.0.0:99999\n",
     "cfg.yaml:4:23: scrape_configs[0].syslog.listen_address: \"0.0.0.0:99999\" has an invalid "
     "port \"99999\" (a number from 0 to 65535)"},
    {"SyslogAddressWithoutPort",
     "scrape_configs:\n  - job_name: j\n    syslog:\n      listen_address: 0.0.0.0\n",
     "cfg.yaml:4:23: scrape_configs[0].syslog.listen_address: \"0.0.0.0\" has no port "
     "(host:port, e.g. \"0.0.0.0:1514\")"},
    {"GelfIPv6WithoutBrackets",
     "scrape_configs:\n  - job_name: j\n    gelf:\n      listen_address: \"::1:12201\"\n",
     "cfg.yaml:4:23: scrape_configs[0].gelf.listen_address: \"::1:12201\" has an IPv6 host "
     "without brackets (write \"[::1]:514\")"},
    {"SyslogBracketedHostWithoutPort",
     "scrape_configs:\n  - job_name: j\n    syslog:\n      listen_address: \"[::1]\"\n",
     "cfg.yaml:4:23: scrape_configs[0].syslog.listen_address: \"[::1]\" has no port "
     "(host:port, e.g. \"0.0.0.0:1514\")"},
    {"GelfNamedPort",
     "scrape_configs:\n  - job_name: j\n    gelf:\n      listen_address: \":gelf\"\n",
     "cfg.yaml:4:23: scrape_configs[0].gelf.listen_address: \":gelf\" has an invalid port "
     "\"gelf\" (a number from 0 to 65535)"},
    {"SyslogRawWithIncomingTimestamp",
     "scrape_configs:\n  - job_name: j\n    syslog:\n      listen_address: x:1\n"
     "      syslog_format: raw\n      use_incoming_timestamp: true\n",
     "cfg.yaml:6:31: scrape_configs[0].syslog.use_incoming_timestamp: has no effect when "
     "syslog_format is raw"},
    {"SyslogRawOptionsWithoutRaw",
     "scrape_configs:\n  - job_name: j\n    syslog:\n      listen_address: x:1\n"
     "      raw_format_options: {use_null_terminator_delimiter: true}\n",
     "cfg.yaml:5:27: scrape_configs[0].syslog.raw_format_options: has no effect when "
     "syslog_format is not raw"},
    {"SyslogTlsWithoutKey",
     "scrape_configs:\n  - job_name: j\n    syslog:\n      listen_address: x:1\n"
     "      tls_config: {ca_file: ca.crt}\n",
     "cfg.yaml:5:19: scrape_configs[0].syslog.tls_config: cert_file and key_file are required to "
     "serve TLS"},
    {"FileSdPatternMustNameJsonOrYaml",
     "scrape_configs:\n  - job_name: j\n    file_sd_configs: [{files: [/etc/t/*.txt]}]\n",
     "cfg.yaml:3:31: scrape_configs[0].file_sd_configs[0].files: path \"/etc/t/*.txt\" is not "
     "valid for file discovery: it must end in .json, .yml or .yaml, with a `*` only in its last "
     "component"},
    {"FileSdWithoutFiles",
     "scrape_configs:\n  - job_name: j\n    file_sd_configs: [{refresh_interval: 1m}]\n",
     "cfg.yaml:3:23: scrape_configs[0].file_sd_configs[0].files: is required: list the target "
     "files (globs allowed)"},
    {"PushApiWithStaticConfigs",
     "scrape_configs:\n  - job_name: j\n    loki_push_api: {}\n"
     "    static_configs: [{labels: {__path__: /a}}]\n",
     "cfg.yaml:3:20: scrape_configs[0].loki_push_api: a scrape config with loki_push_api reads "
     "nothing else: move static_configs, kubernetes_sd_configs, file_sd_configs, "
     "docker_sd_configs, journal, syslog and gelf to scrape configs of their own"},
    {"GelfWithStaticConfigs",
     "scrape_configs:\n  - job_name: j\n    gelf: {}\n"
     "    static_configs: [{labels: {__path__: /a}}]\n",
     "cfg.yaml:3:11: scrape_configs[0].gelf: a scrape config with gelf reads nothing else: move "
     "static_configs, kubernetes_sd_configs, file_sd_configs, docker_sd_configs, journal and "
     "syslog to scrape configs of their own"},
    {"GelfUnknownKey", "scrape_configs:\n  - job_name: j\n    gelf:\n      listen_adress: x:1\n",
     "cfg.yaml:4:7: scrape_configs[0].gelf: unknown key \"listen_adress\" (did you mean "
     "\"listen_address\"?)"},
    {"PushApiServerPortOutOfRange",
     "scrape_configs:\n  - job_name: j\n    loki_push_api:\n      server:\n"
     "        http_listen_port: 70000\n",
     "cfg.yaml:5:27: scrape_configs[0].loki_push_api.server.http_listen_port: must be between 0 "
     "and 65535 (0 picks a free port)"},
    {"PushApiUnknownKey",
     "scrape_configs:\n  - job_name: j\n    loki_push_api:\n      use_incomming_timestamp: true\n",
     "cfg.yaml:4:7: scrape_configs[0].loki_push_api: unknown key \"use_incomming_timestamp\" (did "
     "you mean \"use_incoming_timestamp\"?)"},
    {"ServerTlsCertWithoutKey", "server:\n  http_tls_config: {cert_file: a}\n",
     "cfg.yaml:2:32: server.http_tls_config.cert_file: cert_file and key_file must be set "
     "together"},
    {"ServerTlsUnknownClientAuth",
     "server:\n  http_tls_config: {cert_file: a, key_file: b, client_auth_type: Verify}\n",
     "cfg.yaml:2:66: server.http_tls_config.client_auth_type: must be NoClientCert, "
     "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
     "RequireAndVerifyClientCert, not \"Verify\""},
    {"ServerTlsVerifyNeedsCAs",
     "server:\n  http_tls_config:\n    cert_file: a\n    key_file: b\n"
     "    client_auth_type: RequireAndVerifyClientCert\n",
     "cfg.yaml:3:5: server.http_tls_config.client_ca_file: is required with client_auth_type "
     "RequireAndVerifyClientCert"},
    {"ServerTlsClientCAsNeedHttps", "server:\n  http_tls_config:\n    client_ca_file: ca.pem\n",
     "cfg.yaml:3:5: server.http_tls_config.cert_file: is required: client certificates are asked "
     "for over HTTPS only"},
    {"ServerTlsMinVersionIsDskits", "server:\n  tls_min_version: TLS12\n",
     "cfg.yaml:2:20: server.tls_min_version: must be VersionTLS10, VersionTLS11, VersionTLS12 or "
     "VersionTLS13, not \"TLS12\""},
    {"PushApiServerTlsUnknownKey",
     "scrape_configs:\n  - job_name: j\n    loki_push_api:\n      server:\n"
     "        http_tls_config: {cert_file: a, key_file: b, ca_file: c}\n",
     "cfg.yaml:5:54: scrape_configs[0].loki_push_api.server.http_tls_config: unknown key "
     "\"ca_file\""},
    {"CloudDiscoveryPointsAtWhatToUse",
     "scrape_configs:\n  - job_name: j\n    consul_sd_configs: [{server: c:8500}]\n",
     "cfg.yaml:3:24: scrape_configs[0].consul_sd_configs: \"consul_sd_configs\" is not supported "
     "by skidder: run skidder on each host (a DaemonSet or a systemd unit) and tail the local "
     "files with static_configs, or kubernetes_sd_configs for pods (see "
     "docs/migrate-from-promtail.md)"},
    {"KafkaPointsAtAlloy", "scrape_configs:\n  - job_name: j\n    kafka: {brokers: [k]}\n",
     "cfg.yaml:3:12: scrape_configs[0].kafka: \"kafka\" is not supported by skidder: use Grafana "
     "Alloy's loki.source.kafka (see docs/migrate-from-promtail.md)"},
    {"UnknownKubernetesRole",
     "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs:\n      - role: nodes\n",
     "cfg.yaml:4:15: scrape_configs[0].kubernetes_sd_configs[0].role: unknown role \"nodes\"; "
     "use one of pod, node, service, endpoints, endpointslice, ingress"},
    {"YamlSyntax", "server:\n  http_listen_port: [9080\n",
     "cfg.yaml:3:1: yaml: end of sequence flow not found"},
    {"YamlSyntaxBadIndent", "server:\n  a: 1\n b: 2\n", "cfg.yaml:3:2: yaml: end of map not found"},
    {"DuplicateJobName",
     "scrape_configs:\n  - job_name: j\n    static_configs: [{labels: {__path__: /a}}]\n"
     "  - job_name: j\n    static_configs: [{labels: {__path__: /b}}]\n",
     "cfg.yaml:4:15: scrape_configs[1].job_name: duplicate job_name \"j\""},
    {"MissingJobName", "scrape_configs:\n  - static_configs: [{labels: {__path__: /a}}]\n",
     "cfg.yaml:2:5: scrape_configs[0].job_name: is required"},
    {"StageWithTwoKeys",
     "scrape_configs:\n  - job_name: j\n    static_configs: [{labels: {__path__: /a}}]\n"
     "    pipeline_stages:\n      - cri: {}\n        regex: {}\n",
     "cfg.yaml:5:9: scrape_configs[0].pipeline_stages[0]: a stage must be a mapping with one "
     "key, the stage type (e.g. `- cri: {}`), got a mapping with 2 keys"},
    {"ClientWithoutUrl", "clients:\n  - tenant_id: a\n",
     "cfg.yaml:2:5: clients[0].url: is required: the Loki push URL, e.g. "
     "http://loki:3100/loki/api/v1/push"},
    {"ClientUrlWithoutScheme", "clients:\n  - url: loki:3100/loki/api/v1/push\n",
     "cfg.yaml:2:10: clients[0].url: must start with http:// or https://"},
    {"ClientUrlBadPort", "clients:\n  - url: http://loki:99999/push\n",
     "cfg.yaml:2:10: clients[0].url: has an invalid port \"99999\""},
    {"BatchsizeZero", "clients:\n  - url: http://l/p\n    batchsize: 0\n",
     "cfg.yaml:3:16: clients[0].batchsize: must be positive (bytes)"},
    {"BatchsizeOverAGibibyte", "clients:\n  - url: http://l/p\n    batchsize: 4294967296\n",
     "cfg.yaml:3:16: clients[0].batchsize: 4294967296 bytes is more than the most a batch holds, "
     "1GiB (1073741824)"},
    {"BackoffMinAboveMax",
     "clients:\n  - url: http://l/p\n    backoff_config: {min_period: 10s, max_period: 1s}\n",
     "cfg.yaml:3:51: clients[0].backoff_config.max_period: must not be less than min_period "
     "(10s)"},
    {"BadLogLevel", "server:\n  log_level: verbose\n",
     "cfg.yaml:2:14: server.log_level: must be debug, info, warn or error, not \"verbose\""},
    {"BadLogFormat", "server:\n  log_format: text\n",
     "cfg.yaml:2:15: server.log_format: must be logfmt or json, not \"text\""},
    {"BadLabelName", "clients:\n  - url: http://l/p\n    external_labels: {bad-name: x}\n",
     "cfg.yaml:3:23: clients[0].external_labels: invalid label name \"bad-name\": use letters, "
     "digits and _"},
    {"BadMaxLineSize", "limits_config:\n  max_line_size: huge\n",
     "cfg.yaml:2:18: limits_config.max_line_size: expected a size like 256KB or 1048576, got "
     "\"huge\""},
    {"OAuth2WithoutTokenUrl", "clients:\n  - url: http://l/p\n    oauth2: {client_id: a}\n",
     "cfg.yaml:3:13: clients[0].oauth2.token_url: is required: the OAuth2 token endpoint"},
    {"TwoWaysToAuthenticate",
     "clients:\n  - url: http://l/p\n    bearer_token: t\n    authorization: {credentials: c}\n",
     "cfg.yaml:4:20: clients[0].authorization: set only one of basic_auth, bearer_token(_file), "
     "authorization and oauth2"},
    {"AuthorizationBasicBelongsInBasicAuth",
     "clients:\n  - url: http://l/p\n    authorization: {type: Basic, credentials: c}\n",
     "cfg.yaml:3:27: clients[0].authorization.type: use basic_auth for Basic authentication, not "
     "authorization"},
    {"UnknownTlsVersion", "clients:\n  - url: http://l/p\n    tls_config: {min_version: TLS1.2}\n",
     "cfg.yaml:3:31: clients[0].tls_config.min_version: must be TLS10, TLS11, TLS12 or TLS13, not "
     "\"TLS1.2\""},
    {"TlsMaxBelowMin",
     "clients:\n  - url: http://l/p\n    tls_config: {min_version: TLS13, max_version: TLS12}\n",
     "cfg.yaml:3:51: clients[0].tls_config.max_version: must not be lower than min_version"},
    {"NoProxyWithoutProxyUrl", "clients:\n  - url: http://l/p\n    no_proxy: localhost\n",
     "cfg.yaml:3:15: clients[0].no_proxy: applies only together with proxy_url"},
    {"TopLevelNotAMap", "- a\n- b\n",
     "cfg.yaml:1:1: the file is a list, not a mapping of config sections: is it a skidder or "
     "Promtail config file?"},
};

INSTANTIATE_TEST_SUITE_P(Table, ParseConfigErrors, ::testing::ValuesIn(kErrors),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ParseConfig, ErrorCasesStartFromAValidConfig) {
  // Guards the table above: the shared scrape job it builds on is itself valid.
  Result<Config> cfg = ParseConfig(kValidJobYaml, "cfg.yaml", false);
  EXPECT_TRUE(cfg) << cfg.error().message();
}

TEST(ParseConfig, StaticConfigWithoutPathIsFineWhenRelabelSetsIt) {
  Result<Config> cfg = ParseConfig(
      "scrape_configs:\n  - job_name: j\n    static_configs: [{labels: {job: x}}]\n"
      "    relabel_configs:\n      - {replacement: /var/log/x.log, target_label: __path__}\n",
      "cfg.yaml", false);
  EXPECT_TRUE(cfg) << cfg.error().message();
}

TEST(ParseConfig, ReadsPromtailJournalScrapeConfig) {
  Result<Config> cfg = ParseConfig(
      "scrape_configs:\n  - job_name: journal\n    journal:\n      max_age: 12h\n"
      "      path: /var/log/journal\n      json: true\n"
      "      matches: _SYSTEMD_UNIT=kubelet.service + _TRANSPORT=kernel\n"
      "      labels: {job: systemd-journal}\n"
      "    relabel_configs:\n      - {source_labels: [__journal__systemd_unit], target_label: "
      "unit}\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  const ScrapeConfig& sc = cfg->scrape_configs.at(0);
  ASSERT_TRUE(sc.journal.has_value());
  EXPECT_EQ(sc.journal->max_age, 12h);
  EXPECT_EQ(sc.journal->path, "/var/log/journal");
  EXPECT_TRUE(sc.journal->json);
  EXPECT_EQ(sc.journal->matches, "_SYSTEMD_UNIT=kubelet.service + _TRANSPORT=kernel");
  EXPECT_EQ(*sc.journal->labels.Get("job"), "systemd-journal");
  EXPECT_EQ(sc.relabel_configs.size(), 1u);
}

// Promtail splits matches with strings.Fields: a tab or a `matches: |` block's newlines
// separate terms as spaces do (before, "A=a\tB=b" was one term that matched nothing).
TEST(ParseConfig, JournalMatchesAreSeparatedByAnyWhitespace) {
  Result<Config> cfg = ParseConfig(
      "scrape_configs:\n  - job_name: journal\n    journal:\n      matches: |\n"
      "        _SYSTEMD_UNIT=a.service\n        +\n        _SYSTEMD_UNIT=b.service\t_PID=1\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->scrape_configs.at(0).journal->matches,
            "_SYSTEMD_UNIT=a.service + _SYSTEMD_UNIT=b.service _PID=1 ");
}

TEST(ParseConfig, ReadsPromtailLokiPushApiScrapeConfig) {
  Result<Config> cfg = ParseConfig(
      "scrape_configs:\n  - job_name: push1\n    loki_push_api:\n      server:\n"
      "        http_listen_address: 127.0.0.1\n        http_listen_port: 3500\n"
      "        grpc_listen_port: 3600\n      labels: {pushserver: push1}\n"
      "      use_incoming_timestamp: true\n"
      "    relabel_configs:\n      - {source_labels: [app], target_label: application}\n"
      "    pipeline_stages: [{json: {expressions: {level: level}}}]\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  const ScrapeConfig& sc = cfg->scrape_configs.at(0);
  ASSERT_TRUE(sc.push.has_value());
  EXPECT_EQ(sc.push->server.http_listen_address, "127.0.0.1");
  EXPECT_EQ(sc.push->server.http_listen_port, 3500);
  EXPECT_EQ(*sc.push->labels.Get("pushserver"), "push1");
  EXPECT_TRUE(sc.push->use_incoming_timestamp);
  EXPECT_EQ(sc.push->ignored_keys,
            std::vector<std::string>{"scrape_configs[0].loki_push_api.server.grpc_listen_port"});
  EXPECT_EQ(sc.relabel_configs.size(), 1u);
  EXPECT_EQ(sc.pipeline_stages.size(), 1u);
}

TEST(ParseConfig, LokiPushApiDefaultsArePromtails) {
  Result<Config> cfg =
      ParseConfig("scrape_configs:\n  - job_name: p\n    loki_push_api: {}\n", "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  const PushApiConfig& p = *cfg->scrape_configs.at(0).push;
  EXPECT_EQ(p.server.http_listen_port, 80);
  EXPECT_FALSE(p.use_incoming_timestamp);
  EXPECT_EQ(p.ack_timeout, 8s);
  EXPECT_EQ(p.max_body_size, 100 << 20);
}

TEST(ParseConfig, ReadsPromtailSyslogScrapeConfigWithPromtailDefaults) {
  Result<Config> cfg = ParseConfig(
      "scrape_configs:\n  - job_name: syslog\n    syslog:\n"
      "      listen_address: 0.0.0.0:1514\n      label_structured_data: yes\n"
      "      labels: {job: syslog}\n      max_message_length: 0\n      idle_timeout: 0s\n"
      "      tls_config: {cert_file: s.crt, key_file: s.key, ca_file: ca.crt}\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  const SyslogConfig& s = *cfg->scrape_configs.at(0).syslog;
  EXPECT_EQ(s.listen_address, "0.0.0.0:1514");
  EXPECT_EQ(s.listen_protocol, "tcp");
  EXPECT_EQ(s.syslog_format, "rfc5424");
  EXPECT_EQ(s.idle_timeout, 120s);  // 0 means Promtail's default
  EXPECT_EQ(s.max_message_length, 8192);
  EXPECT_TRUE(s.label_structured_data);
  EXPECT_EQ(s.tls_config.ca_file, "ca.crt");
  EXPECT_EQ(*s.labels.Get("job"), "syslog");
}

TEST(ParseConfig, ReadsPromtailGelfScrapeConfigWithPromtailDefaults) {
  Result<Config> cfg = ParseConfig(
      "scrape_configs:\n  - job_name: gelf\n    gelf:\n      listen_address: 127.0.0.1:12202\n"
      "      labels: {job: gelf}\n      use_incoming_timestamp: true\n"
      "  - job_name: defaults\n    gelf: {}\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  const GelfConfig& g = *cfg->scrape_configs.at(0).gelf;
  EXPECT_EQ(g.listen_address, "127.0.0.1:12202");
  EXPECT_EQ(g.labels, (Labels{{"job", "gelf"}}));
  EXPECT_TRUE(g.use_incoming_timestamp);
  const GelfConfig& d = *cfg->scrape_configs.at(1).gelf;
  EXPECT_EQ(d.listen_address, ":12201");  // Promtail's: IPv4 and IPv6
  EXPECT_FALSE(d.use_incoming_timestamp);
}

TEST(ParseConfig, JournalDefaultsArePromtails) {
  Result<Config> cfg =
      ParseConfig("scrape_configs:\n  - job_name: journal\n    journal: {}\n", "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  const JournalConfig& j = *cfg->scrape_configs.at(0).journal;
  EXPECT_EQ(j.max_age, 7h);
  EXPECT_FALSE(j.json);
  EXPECT_EQ(j.path, "");
}

}  // namespace
}  // namespace skidder::config

namespace skidder::config {
namespace {

TEST(ParseConfig, StaticConfigWithoutPathIsDroppedWithAWarningAsPromtailDoes) {
  Result<Config> cfg = ParseConfig(
      "scrape_configs:\n  - job_name: j\n    static_configs:\n      - labels: {job: x}\n"
      "      - labels: {__path__: /var/log/*.log}\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  ASSERT_EQ(cfg->scrape_configs[0].static_configs.size(), 1u);
  EXPECT_EQ(*cfg->scrape_configs[0].static_configs[0].labels.Get("__path__"), "/var/log/*.log");
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_TRUE(cfg->warnings[0].starts_with(
      "cfg.yaml:4:9: scrape_configs[0].static_configs[0]: has no __path__ label"))
      << cfg->warnings[0];
}

TEST(ParseConfig, ServerKeysThatCannotApplyAreAcceptedAndNamed) {
  Result<Config> cfg = ParseConfig(
      "server:\n  register_instrumentation: true\n  profiling_enabled: true\n"
      "  grpc_listen_port: 9095\n  grpc_server_max_recv_msg_size: 4194304\n"
      "  graceful_shutdown_timeout: 45s\n  http_listen_network: tcp\n"
      "wal: {enabled: false}\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->server.graceful_shutdown_timeout, std::chrono::seconds(45));
  std::vector<std::string> want = {
      "server.grpc_listen_port", "server.grpc_server_max_recv_msg_size",
      "server.register_instrumentation", "server.profiling_enabled", "wal"};
  EXPECT_EQ(cfg->ignored_keys, want);
}

TEST(ParseConfig, ClientHttpSettingsAreRead) {
  Result<Config> cfg = ParseConfig(
      "clients:\n"
      "  - url: http://l/p\n"
      "    follow_redirects: false\n    enable_http2: false\n"
      "    proxy_url: http://proxy:3128\n    no_proxy: localhost,10.0.0.0/8\n"
      "    oauth2:\n      client_id: id\n      client_secret_file: /s\n"
      "      token_url: https://auth/token\n      scopes: [a, b]\n"
      "      endpoint_params: {audience: loki}\n"
      "  - url: http://l/p\n    authorization: {credentials_file: /t}\n"
      "    proxy_from_environment: true\n"
      "  - url: http://l/p\n    basic_auth: {username_file: /u, password: p}\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  const ClientConfig& a = cfg->clients[0];
  EXPECT_FALSE(a.follow_redirects);
  EXPECT_FALSE(a.enable_http2);
  EXPECT_EQ(a.no_proxy, "localhost,10.0.0.0/8");
  ASSERT_TRUE(a.oauth2);
  EXPECT_EQ(a.oauth2->client_id, "id");
  EXPECT_EQ(a.oauth2->token_url, "https://auth/token");
  EXPECT_EQ(a.oauth2->scopes, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(a.oauth2->endpoint_params.at("audience"), "loki");
  const ClientConfig& b = cfg->clients[1];
  ASSERT_TRUE(b.authorization);
  EXPECT_EQ(b.authorization->type, "Bearer");
  EXPECT_EQ(b.authorization->credentials_file, "/t");
  EXPECT_TRUE(b.proxy_from_environment);
  EXPECT_TRUE(b.follow_redirects);  // Promtail's default
  EXPECT_EQ(cfg->clients[2].basic_auth->username_file, "/u");
  // The dump parses back to the same settings (secrets aside).
  Result<Config> again = ParseConfig(DumpConfig(*cfg), "dump.yaml", false);
  ASSERT_TRUE(again) << again.error().message() << "\n" << DumpConfig(*cfg);
  EXPECT_EQ(again->clients[0].oauth2->endpoint_params.at("audience"), "loki");
  EXPECT_FALSE(again->clients[0].follow_redirects);
}

TEST(ParseConfig, KubernetesAuthorizationBearerIsTheBearerToken) {
  Result<Config> cfg = ParseConfig(
      "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs:\n"
      "      - role: pod\n        api_server: https://k:6443\n"
      "        authorization: {credentials_file: /tok}\n        follow_redirects: true\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->scrape_configs[0].kubernetes_sd_configs[0].bearer_token_file, "/tok");
}

TEST(ParseConfig, KubernetesAttachMetadataNodeIsReadAndDumped) {
  Result<Config> cfg = ParseConfig(
      "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs:\n"
      "      - role: pod\n        attach_metadata: {node: true}\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_TRUE(cfg->scrape_configs[0].kubernetes_sd_configs[0].attach_metadata_node);
  Result<Config> again = ParseConfig(DumpConfig(*cfg), "dump.yaml", false);
  ASSERT_TRUE(again) << again.error().message() << "\n" << DumpConfig(*cfg);
  EXPECT_TRUE(again->scrape_configs[0].kubernetes_sd_configs[0].attach_metadata_node);
  Result<Config> bad = ParseConfig(
      "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs:\n"
      "      - role: pod\n        attach_metadata: {nodes: true}\n",
      "cfg.yaml", false);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("unknown key \"nodes\""), std::string::npos)
      << bad.error().message();
}

}  // namespace
}  // namespace skidder::config

namespace skidder::config {
namespace {

TEST(ClientChecks, AHeaderWithALineBreakIsRefusedWithItsPosition) {
  auto cfg =
      ParseConfig("clients:\n  - url: http://loki/push\n    headers:\n      \"X-A\\r\\nX-B\": v\n",
                  "c.yaml", false);
  ASSERT_FALSE(cfg.has_value());
  EXPECT_NE(
      cfg.error().message().find("c.yaml:4:7: clients[0].headers: invalid header \"X-A\\r\\nX-B\""),
      std::string::npos)
      << cfg.error().message();
}

TEST(ClientChecks, AnUpperCaseSchemeIsAccepted) {
  auto cfg = ParseConfig("clients:\n  - url: HTTP://loki:3100/loki/api/v1/push\n", "c.yaml", false);
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
  EXPECT_EQ(cfg->clients[0].url, "http://loki:3100/loki/api/v1/push");
}

}  // namespace
}  // namespace skidder::config
