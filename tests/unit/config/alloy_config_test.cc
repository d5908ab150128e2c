// Alloy configurations: the same Config as the equivalent Promtail YAML, and clear refusals.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdlib>
#include <set>

#include "alloy_file.h"
#include "config/alloy.h"
#include "config/loader.h"
#include "support/test_certs.h"
#include "support/test_util.h"

namespace skidder::config {
namespace {

using namespace std::chrono_literals;

Result<Config> LoadFile(const std::string& path, const std::string& format = "") {
  Flags flags;
  flags.config_file = path;
  flags.config_format = format;
  flags.expand_env = true;  // as the chart runs it: ${NODE_NAME} in YAML, sys.env in Alloy
  return LoadConfig(flags);
}

// Both dumps as YAML trees, so flow and block styles of the same value compare equal.
bool SameTree(const YAML::Node& a, const YAML::Node& b, std::string* where) {
  if (a.Type() != b.Type()) return false;
  if (a.IsScalar()) return a.Scalar() == b.Scalar();
  if (a.size() != b.size()) return false;
  if (a.IsSequence()) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (!SameTree(a[i], b[i], where))
        return (*where = "[" + std::to_string(i) + "]" + *where, false);
    }
    return true;
  }
  for (const auto& kv : a) {
    const std::string key = kv.first.Scalar();
    if (!b[key] || !SameTree(kv.second, b[key], where)) return (*where = "." + key + *where, false);
  }
  return true;
}

void ExpectSameConfig(const std::string& yaml_file, const std::string& alloy_file,
                      const std::string& job_name) {
  ::setenv("NODE_NAME", "node-1", 1);
  Result<Config> y = LoadFile(std::string(SKIDDER_SOURCE_DIR) + "/" + yaml_file);
  Result<Config> a = LoadFile(std::string(SKIDDER_SOURCE_DIR) + "/" + alloy_file);
  ASSERT_TRUE(y) << y.error().message();
  ASSERT_TRUE(a) << a.error().message();
  // What Alloy's syntax cannot say: the job's name (labels are identifiers) and skidder's own
  // settings, the held-files directory and the symlink roots (see docs/migrate-from-alloy.md).
  ASSERT_EQ(a->scrape_configs.size(), y->scrape_configs.size());
  a->scrape_configs[0].job_name = job_name;  // the journal job is named "journal" in both
  a->positions.held_dir = y->positions.held_dir;
  // loki.source.docker has no legacy_positions_file: docker-host.alloy says to pass the flag.
  if (alloy_file.ends_with("docker-host.alloy") || alloy_file.ends_with("cluster-events.alloy")) {
    a->positions.filename = y->positions.filename;
  }
  a->target_config.symlink_roots = y->target_config.symlink_roots;
  // The journal's node_name: Alloy reads NODE_NAME with sys.env(); the YAML config, run without
  // -config.expand-env, takes the journal's _HOSTNAME (the chart's config.expandEnv is off).
  for (size_t j = 0; j < y->scrape_configs.size(); ++j) {
    for (size_t r = 0; r < y->scrape_configs[j].relabel_configs.size(); ++r) {
      config::RelabelConfig& rule = y->scrape_configs[j].relabel_configs[r];
      if (rule.target_label == "node_name" &&
          rule.source_labels == std::vector<std::string>{"__journal__hostname"}) {
        rule = a->scrape_configs[j].relabel_configs[r];
      }
    }
  }
  y->source_file = a->source_file = "";
  std::string where;
  EXPECT_TRUE(SameTree(YAML::Load(DumpConfig(*y)), YAML::Load(DumpConfig(*a)), &where))
      << "first difference at " << where << "\nYAML:\n"
      << DumpConfig(*y) << "\nAlloy:\n"
      << DumpConfig(*a);
}

TEST(AlloyConfig, KubernetesExampleMatchesKubernetesYaml) {
  ExpectSameConfig("config/kubernetes.yaml", "config/kubernetes.alloy", "kubernetes-pods");
}

TEST(AlloyConfig, ServiceExamplesMatchTheirYaml) {
  for (const char* name :
       {"airflow", "java-service", "python-service", "docker-host", "cluster-events"}) {
    SCOPED_TRACE(name);
    Result<Config> y =
        LoadFile(std::string(SKIDDER_SOURCE_DIR) + "/config/examples/" + name + ".yaml");
    ASSERT_TRUE(y);
    ExpectSameConfig(std::string("config/examples/") + name + ".yaml",
                     std::string("config/examples/") + name + ".alloy",
                     y->scrape_configs.at(0).job_name);
  }
}

// Loads Alloy text written to a temp file named c.alloy.
// As the chart runs it: ${NODE_NAME} expanded.
struct Alloy : AlloyFile {
  Alloy() { expand_env = true; }
};

constexpr const char* kWrite = R"(
loki.write "default" {
  endpoint { url = "http://loki:3100/loki/api/v1/push" }
}
)";

// Alloy's http block: its tls block serves the agent's port over HTTPS, as
// server.http_tls_config does for a Promtail config.
TEST(AlloyConfig, HttpTlsBlockIsServerHttpTlsConfig) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(http {
  tls {
    cert_file        = "/etc/tls/tls.crt"
    key_file         = "/etc/tls/tls.key"
    client_ca_file   = "/etc/tls/ca.crt"
    client_auth_type = "RequireAndVerifyClientCert"
    min_version      = "TLS12"
    cipher_suites    = ["TLS_AES_128_GCM_SHA256"]
  }
}
)") + kWrite);
  ASSERT_TRUE(c.has_value()) << c.error().message();
  const ServerTlsConfig& t = c->server.http_tls_config;
  EXPECT_EQ(t.cert_file, "/etc/tls/tls.crt");
  EXPECT_EQ(t.key_file, "/etc/tls/tls.key");
  EXPECT_EQ(t.client_ca_file, "/etc/tls/ca.crt");
  EXPECT_EQ(t.client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(c->server.tls_min_version, "VersionTLS12");
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find(
                "c.alloy:8:5: http.tls: cipher_suites has no effect in skidder (GnuTLS picks"),
            std::string::npos)
      << c->warnings[0];
}

TEST(AlloyConfig, HttpBlockSettingsSkidderCannotHonourAreRefusedWhereWritten) {
  Alloy a;
  EXPECT_EQ(a.Error(std::string("http {\n  tls {\n    cert_file = \"c\"\n  }\n}\n") + kWrite),
            "c.alloy:2:3: http.tls.cert_file: cert_file and key_file must be set together");
  EXPECT_EQ(a.Error(std::string("http {\n  tls {\n    cert_file = \"c\"\n    key_file = \"k\"\n"
                                "    client_auth_type = \"VerifyClientCertIfGiven\"\n  }\n}\n") +
                    kWrite),
            "c.alloy:2:3: http.tls.client_ca_file: is required with client_auth_type "
            "VerifyClientCertIfGiven");
  EXPECT_EQ(a.Error(std::string("http {\n  tls {\n    cert_pem = \"x\"\n  }\n}\n") + kWrite),
            "c.alloy:3:5: http: cert_pem is not supported by skidder, which reads certificates "
            "from files: use cert_file");
  EXPECT_EQ(a.Error(std::string("http {\n  tls {\n    min_version = \"1.2\"\n  }\n}\n") + kWrite),
            "c.alloy:3:5: http.tls.min_version: must be TLS10, TLS11, TLS12 or TLS13");
  EXPECT_EQ(a.Error(std::string("http {\n  tls {\n    min_version = \"TLS13\"\n  }\n}\n") + kWrite),
            "c.alloy:2:3: http.tls: cert_file and key_file are required (without them the port "
            "would be served over plain HTTP)");
  EXPECT_EQ(a.Error(std::string("http {\n  tls {\n    cert_file = \"c\"\n    key_file = \"k\"\n"
                                "  }\n  tls {\n  }\n}\n") +
                    kWrite),
            "c.alloy:6:3: http: the tls block is given twice");
  EXPECT_EQ(a.Error(std::string("http {\n  auth {\n    basic {\n      username = \"u\"\n"
                                "      password = \"p\"\n    }\n  }\n}\n") +
                    kWrite)
                .rfind("c.alloy:2:3: http: the auth block is not supported by skidder", 0),
            0u);
}

TEST(AlloyConfig, DecompressionBlockIsPromtailsDecompression) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.alloy", R"(
loki.source.file "archives" {
  targets    = [{"__path__" = "/data/*.gz"}]
  forward_to = [loki.write.default.receiver]
  decompression {
    enabled       = true
    initial_delay = "10s"
    format        = "gz"
  }
}
loki.write "default" {
  endpoint { url = "http://loki:3100/loki/api/v1/push" }
}
)");
  Result<Config> c = LoadFile(dir / "c.alloy");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 1u);
  const DecompressionConfig& d = c->scrape_configs[0].decompression;
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.format, "gz");
  EXPECT_EQ(d.initial_delay, std::chrono::seconds(10));
}

// tail_from_end is the job's (not a Promtail key): set on the source's job only.
TEST(AlloyConfig, TailFromEndIsTheSourcesJobs) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.alloy", R"(
loki.source.file "new_only" {
  targets       = [{"__path__" = "/data/a/*.log"}]
  forward_to    = [loki.write.default.receiver]
  tail_from_end = true
}
loki.source.file "all" {
  targets    = [{"__path__" = "/data/b/*.log"}]
  forward_to = [loki.write.default.receiver]
}
loki.write "default" {
  endpoint { url = "http://loki:3100/loki/api/v1/push" }
}
)");
  Result<Config> c = LoadFile(dir / "c.alloy");
  ASSERT_TRUE(c.has_value()) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  EXPECT_TRUE(c->scrape_configs[0].tail_from_end);
  EXPECT_FALSE(c->scrape_configs[1].tail_from_end);
}

TEST(AlloyConfig, ChosenByExtensionOrFlag) {
  Alloy a;
  testing::WriteFile(a.dir / "config.txt", std::string(kWrite));
  Result<Config> as_yaml = LoadFile(a.dir / "config.txt");
  ASSERT_FALSE(as_yaml);
  EXPECT_NE(as_yaml.error().message().find("(this looks like an Alloy config: name the file "
                                           "*.alloy or pass -config.format=alloy)"),
            std::string::npos)
      << as_yaml.error().message();
  Result<Config> as_alloy = LoadFile(a.dir / "config.txt", "alloy");
  ASSERT_TRUE(as_alloy) << as_alloy.error().message();
  EXPECT_EQ(as_alloy->clients.at(0).url, "http://loki:3100/loki/api/v1/push");
}

TEST(AlloyConfig, FormatFlagTakesYamlOrAlloyOnly) {
  Result<Flags> alloy = ParseFlags({"-config.format=alloy"});
  ASSERT_TRUE(alloy);
  EXPECT_EQ(alloy->config_format, "alloy");
  EXPECT_TRUE(ParseFlags({"-config.format=yaml"}));
  Result<Flags> toml = ParseFlags({"-config.format=toml"});
  ASSERT_FALSE(toml);
  EXPECT_EQ(toml.error().message(),
            "invalid value \"toml\" for flag -config.format: must be yaml or alloy");
  EXPECT_TRUE(IsAlloyConfig("", "/etc/alloy/config.alloy"));
  EXPECT_FALSE(IsAlloyConfig("yaml", "/etc/alloy/config.alloy"));
  EXPECT_FALSE(IsAlloyConfig("", "/etc/promtail/config.yaml"));
}

// Alloy's ca_pem, cert_pem and key_pem are Promtail's inline ca, cert and key, on loki.write
// endpoints and discovery clients alike.
TEST(AlloyConfig, PemInTlsConfigBlocksIsUsedInline) {
  Alloy a;
  const testing::TestPem& pem = testing::SelfSignedPem();
  testing::WriteFile(a.dir / "client.crt", pem.cert);
  testing::WriteFile(a.dir / "client.key", pem.key);
  Result<Config> c = a.Load(std::string(R"(
local.file "crt" { filename = ")") +
                            (a.dir / "client.crt") + R"(" }
local.file "key" {
  filename  = ")" + (a.dir / "client.key") +
                            R"("
  is_secret = true
}
discovery.docker "d" {
  host = "https://docker:2376"
  tls_config {
    ca_pem = local.file.crt.content
  }
}
loki.source.docker "d" {
  host       = "https://docker:2376"
  targets    = discovery.docker.d.targets
  forward_to = [loki.write.default.receiver]
}
loki.write "default" {
  endpoint {
    url = "https://loki.example/loki/api/v1/push"
    tls_config {
      ca_pem   = local.file.crt.content
      cert_pem = local.file.crt.content
      key_pem  = local.file.key.content
    }
  }
}
)");
  ASSERT_TRUE(c) << c.error().message();
  const TlsConfig& t = c->clients.at(0).tls_config;
  EXPECT_EQ(t.ca, pem.cert);
  EXPECT_EQ(t.cert, pem.cert);
  EXPECT_EQ(t.key, pem.key);
  ASSERT_FALSE(c->scrape_configs.empty());
  ASSERT_FALSE(c->scrape_configs.at(0).docker_sd_configs.empty());
  EXPECT_EQ(c->scrape_configs.at(0).docker_sd_configs.at(0).tls_config.ca, pem.cert);
  // is_secret content goes only where a secret may, as in Alloy: key_pem, not ca_pem.
  EXPECT_NE(a.Error("local.file \"key\" {\n  filename  = \"" + (a.dir / "client.key") +
                    "\"\n  is_secret = true\n}\nloki.write \"default\" {\n  endpoint {\n    url "
                    "= \"https://l/p\"\n    tls_config {\n      ca_pem = local.file.key.content\n  "
                    "  }\n  }\n}\n")
                .find("c.alloy:9:7: ca_pem: a secret value cannot be used here"),
            std::string::npos);
  // Named as written in Alloy; Promtail's inline names are not Alloy's.
  EXPECT_EQ(
      a.Error(std::string("loki.write \"default\" {\n  endpoint {\n    url = \"https://l/p\"\n"
                          "    tls_config {\n      ca_pem = \"not pem\"\n    }\n  }\n}\n")),
      "c.alloy:2:3: loki.write.default.endpoint[0].tls_config.ca_pem: holds no PEM "
      "certificate");
  EXPECT_EQ(
      a.Error(std::string("loki.write \"default\" {\n  endpoint {\n    url = \"https://l/p\"\n"
                          "    tls_config {\n      ca = \"x\"\n    }\n  }\n}\n")),
      "c.alloy:5:7: tls_config: ca is Promtail's name; Alloy's is ca_pem");
}

TEST(AlloyConfig, WriteEndpointsBecomeClientsWithEveryOption) {
  Alloy a;
  testing::WriteFile(a.dir / "password", "s3cret");
  Result<Config> c = a.Load(R"(
local.file "pw" { filename = ")" +
                            (a.dir / "password") + R"(" }
loki.write "default" {
  endpoint {
    url                 = "https://loki.example/loki/api/v1/push"
    tenant_id           = "team-a"
    headers             = { "X-Extra" = "1" }
    batch_wait          = "2s"
    batch_size          = "512KiB"
    remote_timeout      = "5s"
    min_backoff_period  = "1s"
    max_backoff_period  = "1m"
    max_backoff_retries = 3
    retry_on_http_429   = false
    basic_auth {
      username = "u"
      password = local.file.pw.content
    }
    tls_config { insecure_skip_verify = true }
  }
  endpoint {
    url = "http://second:3100/loki/api/v1/push"
    authorization {
      type        = "Bearer"
      credentials = "tok"
    }
  }
  external_labels = { cluster = "prod" }
  max_streams     = 500
}
logging { level = "debug" format = "json" }
)");
  EXPECT_FALSE(c);  // two statements on one line
  c = a.Load(std::string(R"(
local.file "pw" { filename = ")") +
             (a.dir / "password") + R"(" }
loki.write "default" {
  endpoint {
    url                 = "https://loki.example/loki/api/v1/push"
    tenant_id           = "team-a"
    headers             = { "X-Extra" = "1" }
    batch_wait          = "2s"
    batch_size          = "512KiB"
    remote_timeout      = "5s"
    min_backoff_period  = "1s"
    max_backoff_period  = "1m"
    max_backoff_retries = 3
    retry_on_http_429   = false
    basic_auth {
      username = "u"
      password = local.file.pw.content
    }
    tls_config { insecure_skip_verify = true }
  }
  endpoint {
    url = "http://second:3100/loki/api/v1/push"
    authorization {
      type        = "Bearer"
      credentials = "tok"
    }
  }
  external_labels = { cluster = "prod" }
  max_streams     = 500
}
logging {
  level  = "debug"
  format = "json"
}
)");
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->clients.size(), 2u);
  const ClientConfig& first = c->clients[0];
  EXPECT_EQ(first.tenant_id, "team-a");
  EXPECT_EQ(first.headers.at("X-Extra"), "1");
  EXPECT_EQ(first.batchwait, 2s);
  EXPECT_EQ(first.batchsize, 512 * 1024);
  EXPECT_EQ(first.timeout, 5s);
  EXPECT_EQ(first.backoff_config.min_period, 1s);
  EXPECT_EQ(first.backoff_config.max_period, 1min);
  EXPECT_EQ(first.backoff_config.max_retries, 3);
  EXPECT_TRUE(first.drop_rate_limited_batches);
  ASSERT_TRUE(first.basic_auth);
  EXPECT_EQ(first.basic_auth->password, "s3cret");
  EXPECT_TRUE(first.tls_config.insecure_skip_verify);
  EXPECT_EQ(first.external_labels.ToString(), R"({cluster="prod"})");
  EXPECT_EQ(c->clients[1].external_labels.ToString(), R"({cluster="prod"})");
  EXPECT_EQ(c->clients[1].bearer_token, "tok");
  EXPECT_EQ(c->limits_config.max_streams, 500);
  EXPECT_EQ(c->server.log_level, "debug");
  EXPECT_EQ(c->server.log_format, "json");
  EXPECT_EQ(DumpConfig(*c).find("s3cret"), std::string::npos) << "secrets are masked";
}

TEST(AlloyConfig, KubernetesSourceReadsThePodsFilesWithCriFirst) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
discovery.kubernetes "pods" {
  role = "pod"
  namespaces { names = ["shop"] }
  selectors {
    role  = "pod"
    field = "spec.nodeName=" + sys.env("SKIDDER_TEST_NODE")
  }
}
loki.relabel "drop_debug" {
  rule {
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }
  forward_to = [loki.process.json.receiver]
}
loki.source.kubernetes "pods" {
  targets    = discovery.kubernetes.pods.targets
  forward_to = [loki.relabel.drop_debug.receiver]
}
loki.process "json" {
  stage.json { expressions = { level = "" } }
  stage.match {
    selector = "{namespace=\"shop\"}"
    stage.static_labels { values = { team = "shop" } }
  }
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  const ScrapeConfig& sc = c->scrape_configs.at(0);
  ASSERT_EQ(sc.kubernetes_sd_configs.size(), 1u);
  EXPECT_EQ(sc.kubernetes_sd_configs[0].namespaces, std::vector<std::string>{"shop"});
  ASSERT_EQ(sc.kubernetes_sd_configs[0].selectors.size(), 1u);
  ASSERT_EQ(sc.pipeline_stages.size(), 5u);
  EXPECT_EQ(sc.pipeline_stages[0].type, "cri");
  // Alloy streams these lines from the API: no file's `filename`, no cri `stream` label, and
  // nothing extracted (a stage.labels of `stream` or `flags` finds none).
  EXPECT_EQ(sc.pipeline_stages[1].type, "labeldrop");
  EXPECT_EQ(sc.pipeline_stages[1].body[0].Scalar(), "filename");
  EXPECT_EQ(sc.pipeline_stages[1].body[1].Scalar(), "stream");
  EXPECT_EQ(sc.pipeline_stages[2].type, "reset_extracted");
  EXPECT_EQ(sc.pipeline_stages[3].type, "json");
  EXPECT_EQ(sc.pipeline_stages[4].type, "match");
  EXPECT_EQ(sc.pipeline_stages[4].body["stages"][0]["static_labels"]["team"].Scalar(), "shop");
  EXPECT_NE(sc.pipeline_stages[3].file.find("c.alloy:22:3"), std::string::npos)
      << sc.pipeline_stages[3].file;
  // loki.relabel's rule, the pods' file paths, then Alloy's default job and instance.
  ASSERT_EQ(sc.relabel_configs.size(), 5u);
  EXPECT_EQ(sc.relabel_configs[0].target_label, "namespace");
  EXPECT_EQ(sc.relabel_configs[1].target_label, "__path__");
  // Set only where the target has none (a rule matching "", which an absent label is).
  const RelabelConfig& job = sc.relabel_configs[3];
  EXPECT_EQ(job.target_label, "job");
  EXPECT_EQ(job.source_labels, std::vector<std::string>{"job"});
  EXPECT_EQ(job.regex, "");
  EXPECT_EQ(job.replacement, "loki.source.kubernetes.pods");
  const RelabelConfig& instance = sc.relabel_configs[4];
  EXPECT_EQ(instance.target_label, "instance");
  EXPECT_EQ(instance.source_labels.at(0), "instance");
  EXPECT_EQ(instance.regex, ";(.*);(.*);(.*)");
  EXPECT_EQ(instance.replacement, "$1/$2:$3");
}

// local.file_match makes one target per file in Alloy, so a discovery.relabel after it reads each
// file's path in __path__; skidder's target is the glob, so from the first rule reading __path__
// the rules run per entry, over the file's `filename`, before anything the source forwards to.
TEST(AlloyConfig, RelabelRulesReadingThePathAfterFileMatchRunPerFile) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
local.file_match "apps" {
  path_targets = [{"__path__" = "/srv/apps/*/*.log", "job" = "apps"}]
}
discovery.relabel "apps" {
  targets = local.file_match.apps.targets
  rule {
    target_label = "env"
    replacement  = "prod"
  }
  rule {
    source_labels = ["__path__"]
    regex         = "/srv/apps/([^/]+)/.*"
    target_label  = "app"
  }
  rule {
    source_labels = ["app"]
    regex         = "scratch"
    action        = "drop"
  }
}
loki.source.file "apps" {
  targets    = discovery.relabel.apps.output
  forward_to = [loki.process.p.receiver]
}
loki.process "p" {
  stage.static_labels { values = { team = "a" } }
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  const ScrapeConfig& sc = c->scrape_configs.at(0);
  ASSERT_EQ(sc.relabel_configs.size(), 1u);  // the rule before: on the target
  EXPECT_EQ(sc.relabel_configs[0].target_label, "env");
  ASSERT_EQ(sc.pipeline_stages.size(), 2u);
  EXPECT_EQ(sc.pipeline_stages[0].type, "relabel");
  const YAML::Node& rules = sc.pipeline_stages[0].body;
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0]["source_labels"][0].Scalar(), "filename");
  EXPECT_EQ(rules[0]["target_label"].Scalar(), "app");
  EXPECT_EQ(rules[1]["action"].Scalar(), "drop");
  EXPECT_NE(sc.pipeline_stages[0].file.find("c.alloy:5:1"), std::string::npos)
      << sc.pipeline_stages[0].file;
  EXPECT_EQ(sc.pipeline_stages[1].type, "static_labels");
  EXPECT_NE(a.Error(std::string(R"(
local.file_match "m" {
  path_targets = [{"__path__" = "/srv/*.log"}]
}
discovery.relabel "r" {
  targets = local.file_match.m.targets
  rule {
    source_labels = ["__path__"]
    target_label  = "__path__"
    replacement   = "/other/$1"
  }
}
loki.source.file "f" {
  targets    = discovery.relabel.r.output
  forward_to = [loki.write.default.receiver]
}
)") + kWrite)
                .find("c.alloy:7:3: a rule after local.file_match that reads __path__"),
            std::string::npos);
  // A meta label (kept on the target in Alloy) is gone from the entries: refused where written,
  // where it would have read "" (and a replace set or removed a label by it).
  const std::string meta = R"(
local.file_match "m" {
  path_targets = [{"__path__" = "/srv/*.log", "__meta_app" = "web"}]
}
discovery.relabel "r" {
  targets = local.file_match.m.targets
  rule {
    source_labels = ["__path__"]
    target_label  = "__tmp_file"
  }
  rule {
    source_labels = ["__tmp_file", "__meta_app"]
    target_label  = "app"
  }
}
loki.source.file "f" {
  targets    = discovery.relabel.r.output
  forward_to = [loki.write.default.receiver]
}
)";
  EXPECT_EQ(a.Error(meta + kWrite),
            "c.alloy:11:3: this rule comes after one that reads __path__ behind local.file_match, "
            "so it runs on each file's entries, which carry no __meta_app: move it before that "
            "rule");
}

// Alloy's journal source labels entries job="loki.source.journal.<label>" unless labels set one.
TEST(AlloyConfig, JournalSourceHasAlloysDefaultJob) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.source.journal "node" {
  forward_to = [loki.write.default.receiver]
}
loki.source.journal "own" {
  labels     = {job = "systemd", host = "h"}
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  EXPECT_EQ(c->scrape_configs[0].journal->labels, (Labels{{"job", "loki.source.journal.node"}}));
  EXPECT_EQ(c->scrape_configs[1].journal->labels, (Labels{{"host", "h"}, {"job", "systemd"}}));
}

// loki.source.syslog: a Promtail syslog job per listener, relabel_rules as its relabel_configs.
TEST(AlloyReceivers, SyslogListenersBecomeSyslogJobs) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.relabel "sys" {
  rule {
    source_labels = ["__syslog_message_hostname"]
    target_label  = "host"
  }
  forward_to = []
}
loki.source.syslog "net" {
  listener {
    address               = "0.0.0.0:1514"
    labels                = { job = "syslog" }
    idle_timeout          = "60s"
    label_structured_data = true
    max_message_length    = 4096
    use_rfc5424_message   = true
  }
  listener {
    address                         = "0.0.0.0:1515"
    protocol                        = "udp"
    syslog_format                   = "rfc3164"
    use_incoming_timestamp          = true
    rfc3164_default_to_current_year = true
  }
  relabel_rules = loki.relabel.sys.rules
  forward_to    = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  const ScrapeConfig& tcp = c->scrape_configs[0];
  const ScrapeConfig& udp = c->scrape_configs[1];
  EXPECT_EQ(tcp.job_name, "net_0");
  EXPECT_EQ(udp.job_name, "net_1");
  ASSERT_TRUE(tcp.syslog && udp.syslog);
  EXPECT_EQ(tcp.syslog->listen_address, "0.0.0.0:1514");
  EXPECT_EQ(tcp.syslog->listen_protocol, "tcp");  // Alloy's default
  EXPECT_EQ(tcp.syslog->labels, (Labels{{"job", "syslog"}}));
  EXPECT_EQ(tcp.syslog->idle_timeout, 60s);
  EXPECT_TRUE(tcp.syslog->label_structured_data);
  EXPECT_EQ(tcp.syslog->max_message_length, 4096);
  EXPECT_TRUE(tcp.syslog->use_rfc5424_message);
  EXPECT_EQ(tcp.syslog->syslog_format, "rfc5424");
  EXPECT_EQ(udp.syslog->listen_protocol, "udp");
  EXPECT_EQ(udp.syslog->syslog_format, "rfc3164");
  EXPECT_TRUE(udp.syslog->use_incoming_timestamp);
  EXPECT_TRUE(udp.syslog->labels.empty());  // Alloy adds no job label to syslog entries
  for (const ScrapeConfig* sc : {&tcp, &udp}) {
    ASSERT_EQ(sc->relabel_configs.size(), 1u);
    EXPECT_EQ(sc->relabel_configs[0].source_labels,
              std::vector<std::string>{"__syslog_message_hostname"});
    EXPECT_EQ(sc->relabel_configs[0].target_label, "host");
  }
}

// Job names never repeat, whatever the labels: metrics and pipeline state are per job.
TEST(AlloyReceivers, JobNamesStayUnique) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.source.journal "a_0" {
  forward_to = [loki.write.default.receiver]
}
loki.source.syslog "a" {
  listener {
    address = "127.0.0.1:1514"
  }
  listener {
    address = "127.0.0.1:1515"
  }
  forward_to = [loki.write.default.receiver]
}
loki.source.syslog "a_0" {
  listener {
    address = "127.0.0.1:1516"
  }
  forward_to = [loki.write.default.receiver]
}
loki.source.api "a_0" {
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  std::set<std::string> names;
  for (const ScrapeConfig& sc : c->scrape_configs) {
    EXPECT_TRUE(names.insert(sc.job_name).second) << sc.job_name;
  }
  EXPECT_EQ(names.size(), 5u);
}

// A loki.relabel in a receiver's forward_to is a stage over the entry's labels, as in Alloy
// (after the `__` labels are dropped, for raw pushes too); relabel_rules stay the job's rules.
TEST(AlloyReceivers, ALokiRelabelInForwardToIsAStage) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.relabel "tenant" {
  rule {
    target_label = "__tenant_id__"
    replacement  = "team-a"
  }
  forward_to = [loki.write.default.receiver]
}
loki.relabel "host" {
  rule {
    source_labels = ["__syslog_message_hostname"]
    target_label  = "host"
  }
  forward_to = []
}
loki.source.syslog "s" {
  listener {
    address = "127.0.0.1:1514"
  }
  relabel_rules = loki.relabel.host.rules
  forward_to    = [loki.relabel.tenant.receiver]
}
loki.source.api "p" {
  forward_to = [loki.relabel.tenant.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  const ScrapeConfig& syslog = c->scrape_configs[0];
  ASSERT_EQ(syslog.relabel_configs.size(), 1u);
  EXPECT_EQ(syslog.relabel_configs[0].target_label, "host");
  for (const ScrapeConfig& sc : c->scrape_configs) {
    ASSERT_EQ(sc.pipeline_stages.size(), 1u) << sc.job_name;
    EXPECT_EQ(sc.pipeline_stages[0].type, "relabel");
  }
  EXPECT_TRUE(c->scrape_configs[1].relabel_configs.empty());
}

// loki.source.api: a Promtail loki_push_api job with Alloy's server defaults (port 8080).
TEST(AlloyReceivers, ApiBecomesAPushJobWithAlloysDefaults) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.source.api "plain" {
  forward_to = [loki.write.default.receiver]
}
loki.source.api "tuned" {
  http {
    listen_address      = "127.0.0.1"
    listen_port         = "3500"
    conn_limit          = 64
    server_read_timeout = "5s"
    tls_config {
      cert_file        = "/etc/tls/tls.crt"
      key_file         = "/etc/tls/tls.key"
      client_auth_type = "RequireAndVerifyClientCert"
      client_ca_file   = "/etc/tls/ca.crt"
    }
  }
  grpc {
    listen_port = 9095
    tls_config {
      cert_file = "/etc/tls/cert.pem"
    }
  }
  labels                    = { forwarded = "true", hop = 2, big = 1e21, small = 0.0000001 }
  use_incoming_timestamp    = true
  max_send_message_size     = "10MiB"
  graceful_shutdown_timeout = "5s"
  forward_to                = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  const PushApiConfig& plain = c->scrape_configs[0].push.value();
  EXPECT_EQ(plain.server.http_listen_port, 8080);
  EXPECT_EQ(plain.server.http_listen_address, "");
  EXPECT_EQ(plain.server.http_server_read_timeout, 30s);
  EXPECT_EQ(plain.server.http_server_idle_timeout, 120s);
  EXPECT_TRUE(plain.labels.empty());
  EXPECT_FALSE(plain.use_incoming_timestamp);
  EXPECT_TRUE(plain.tenant_from_header);  // Alloy forwards a push's X-Scope-OrgID
  EXPECT_EQ(plain.max_body_size, 100 << 20);
  const PushApiConfig& tuned = c->scrape_configs[1].push.value();
  EXPECT_EQ(c->scrape_configs[1].job_name, "tuned");
  EXPECT_EQ(tuned.server.http_listen_address, "127.0.0.1");
  EXPECT_EQ(tuned.server.http_listen_port, 3500);
  EXPECT_EQ(tuned.server.http_listen_conn_limit, 64);
  EXPECT_EQ(tuned.server.http_server_read_timeout, 5s);
  EXPECT_EQ(tuned.server.http_tls_config.cert_file, "/etc/tls/tls.crt");
  EXPECT_EQ(tuned.server.http_tls_config.key_file, "/etc/tls/tls.key");
  EXPECT_EQ(tuned.server.http_tls_config.client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(tuned.server.http_tls_config.client_ca_file, "/etc/tls/ca.crt");
  EXPECT_TRUE(plain.server.http_tls_config.cert_file.empty());
  // Numbers become strings as Alloy writes them (fixed notation, shortest digits).
  EXPECT_EQ(tuned.labels, (Labels{{"big", "1000000000000000000000"},
                                  {"forwarded", "true"},
                                  {"hop", "2"},
                                  {"small", "0.0000001"}}));
  EXPECT_TRUE(tuned.use_incoming_timestamp);
  EXPECT_EQ(tuned.max_body_size, 10 << 20);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("c.alloy:18:3: the grpc block of loki.source.api.tuned has no "
                                "effect: skidder serves the push API over HTTP only"),
            std::string::npos)
      << c->warnings[0];
}

// loki.source.heroku: a Promtail heroku_drain job, with the server defaults of loki.source.api
// and no max_send_message_size.
TEST(AlloyReceivers, HerokuBecomesAHerokuDrainJob) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.source.heroku "drain" {
  http {
    listen_port = 4040
  }
  labels                 = { component = "heroku" }
  use_incoming_timestamp = true
  relabel_rules          = loki.relabel.h.rules
  forward_to             = [loki.write.default.receiver]
}
loki.relabel "h" {
  rule {
    source_labels = ["__heroku_drain_app"]
    target_label  = "app"
  }
  forward_to = []
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 1u);
  const ScrapeConfig& sc = c->scrape_configs[0];
  EXPECT_FALSE(sc.push.has_value());
  ASSERT_TRUE(sc.heroku.has_value());
  EXPECT_EQ(sc.heroku->server.http_listen_port, 4040);
  EXPECT_EQ(sc.heroku->server.http_server_read_timeout, 30s);
  EXPECT_EQ(sc.heroku->labels, (Labels{{"component", "heroku"}}));
  EXPECT_TRUE(sc.heroku->use_incoming_timestamp);
  ASSERT_EQ(sc.relabel_configs.size(), 1u);
  EXPECT_EQ(sc.relabel_configs[0].source_labels, std::vector<std::string>{"__heroku_drain_app"});
  // The push server it runs takes the request's tenant, as Promtail's heroku target.
  EXPECT_TRUE(PushServerOf(sc)->tenant_from_header);

  EXPECT_EQ(a.Error("loki.source.heroku \"p\" {\n  max_send_message_size = \"1MiB\"\n"
                    "  forward_to = [loki.write.default.receiver]\n}\n" +
                    std::string(kWrite)),
            "c.alloy:2:3: unknown attribute max_send_message_size in loki.source.heroku");
}

// loki.source.gelf: a Promtail gelf job, with Alloy's (and Promtail's) default address.
TEST(AlloyReceivers, GelfBecomesAGelfJob) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.relabel "g" {
  rule {
    source_labels = ["__gelf_message_host"]
    target_label  = "host"
  }
  forward_to = []
}
loki.source.gelf "apps" {
  listen_address         = "127.0.0.1:12202"
  use_incoming_timestamp = true
  relabel_rules          = loki.relabel.g.rules
  forward_to             = [loki.write.default.receiver]
}
loki.source.gelf "defaults" {
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  const ScrapeConfig& apps = c->scrape_configs[0];
  ASSERT_TRUE(apps.gelf);
  EXPECT_EQ(apps.job_name, "apps");
  EXPECT_EQ(apps.gelf->listen_address, "127.0.0.1:12202");
  EXPECT_TRUE(apps.gelf->use_incoming_timestamp);
  EXPECT_TRUE(apps.gelf->labels.empty());
  // The rules, then Alloy's job label for entries they leave without one.
  ASSERT_EQ(apps.relabel_configs.size(), 2u);
  EXPECT_EQ(apps.relabel_configs[0].target_label, "host");
  EXPECT_EQ(apps.relabel_configs[1].source_labels, std::vector<std::string>{"job"});
  EXPECT_EQ(apps.relabel_configs[1].regex, "");
  EXPECT_EQ(apps.relabel_configs[1].replacement, "loki.source.gelf.apps");
  EXPECT_EQ(apps.relabel_configs[1].target_label, "job");
  ASSERT_TRUE(c->scrape_configs[1].gelf);
  EXPECT_EQ(c->scrape_configs[1].gelf->listen_address, "0.0.0.0:12201");
  EXPECT_FALSE(c->scrape_configs[1].gelf->use_incoming_timestamp);
  auto gelf = [&](const std::string& attrs) {
    return a.Error("loki.source.gelf \"g\" {\n" + attrs +
                   "  forward_to = [loki.write.default.receiver]\n}\n" + kWrite);
  };
  EXPECT_EQ(gelf("  use_incoming_timestamp = \"yes\"\n"),
            "c.alloy:2:3: use_incoming_timestamp: expected true or false");
  EXPECT_EQ(gelf("  labels = { a = \"b\" }\n"),
            "c.alloy:2:3: unknown attribute labels in loki.source.gelf");
}

// A loki.relabel in forward_to that reads the source's meta labels matches nothing (they are
// dropped before forward_to, in Alloy too): the load says so, once per rule, naming the fix.
TEST(AlloyReceivers, ForwardToRulesOnMetaLabelsAreWarnedAbout) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.relabel "late" {
  rule {
    source_labels = ["__syslog_message_hostname"]
    target_label  = "host"
  }
  rule {
    source_labels = ["job", "__syslog_message_app_name"]
    target_label  = "app"
  }
  rule {
    source_labels = ["__tmp"]
    target_label  = "t"
  }
  forward_to = [loki.write.default.receiver]
}
loki.source.syslog "net" {
  listener {
    address = "0.0.0.0:1514"
  }
  forward_to = [loki.relabel.late.receiver]
}
loki.source.gelf "g" {
  forward_to = [loki.write.default.receiver, loki.relabel.late.receiver]
}
// Two paths to the same loki.relabel: still one warning per rule.
loki.process "a" {
  forward_to = [loki.relabel.late.receiver]
}
loki.process "b" {
  forward_to = [loki.relabel.late.receiver]
}
loki.source.syslog "diamond" {
  listener {
    address = "0.0.0.0:1515"
  }
  forward_to = [loki.process.a.receiver, loki.process.b.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->warnings.size(), 4u) << ::testing::PrintToString(c->warnings);
  EXPECT_NE(c->warnings[2].find("loki.source.syslog.diamond"), std::string::npos);
  EXPECT_NE(c->warnings[3].find("reads __syslog_message_app_name, which entries of "
                                "loki.source.syslog.diamond"),
            std::string::npos);
  EXPECT_TRUE(c->warnings[0].ends_with(
      "/c.alloy:2:1: loki.relabel.late reads __syslog_message_hostname, which entries of "
      "loki.source.syslog.net no longer carry in forward_to (labels starting with __ are "
      "dropped first, as in Alloy): give the rules to the source instead, relabel_rules = "
      "loki.relabel.late.rules"))
      << c->warnings[0];
  EXPECT_NE(c->warnings[1].find("reads __syslog_message_app_name"), std::string::npos);
  // The gelf source has its own meta labels: nothing to say about __syslog_* there.
}

// Alloy's raw format with its options block.
TEST(AlloyReceivers, RawSyslogIsTheRawFormatWithItsDelimiter) {
  Alloy a;
  Result<Config> c = a.Load(R"(loki.source.syslog "net" {
  listener {
    address       = "0.0.0.0:1514"
    syslog_format = "raw"
    raw_format_options {
      use_null_terminator_delimiter = true
    }
  }
  forward_to = [loki.write.default.receiver]
}
)" + std::string(kWrite));
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 1u);
  const SyslogConfig& s = *c->scrape_configs[0].syslog;
  EXPECT_EQ(s.syslog_format, "raw");
  EXPECT_TRUE(s.raw_format_options.use_null_terminator_delimiter);
}

// Each mistake is named where it is written.
TEST(AlloyReceivers, ErrorsNameTheAttributeOrBlock) {
  Alloy a;
  auto syslog = [&](const std::string& listener) {
    return a.Error("loki.source.syslog \"s\" {\n  listener {\n" + listener +
                   "  }\n  forward_to = [loki.write.default.receiver]\n}\n" + kWrite);
  };
  EXPECT_EQ(syslog("    address = \"0.0.0.0:1514\"\n    protocol = \"sctp\"\n"),
            "c.alloy:4:5: protocol: must be \"tcp\" or \"udp\"");
  EXPECT_EQ(syslog("    address = \"0.0.0.0:1514\"\n    max_message_length = \"big\"\n"),
            "c.alloy:4:5: max_message_length: expected a whole number of at least 0");
  EXPECT_EQ(syslog("    address = \"0.0.0.0:1514\"\n    syslog_format = \"cef\"\n"),
            "c.alloy:4:5: syslog_format: must be \"rfc5424\" or \"rfc3164\" or \"raw\"");
  EXPECT_EQ(syslog("    address = \"0.0.0.0:1514\"\n    syslog_format = \"raw\"\n"
                   "    raw_format_options {\n      use_null_terminator_delimiter = 1\n    }\n"),
            "c.alloy:6:7: use_null_terminator_delimiter: expected true or false");
  // Alloy's checks of the raw format's settings.
  EXPECT_EQ(syslog("    address = \"0.0.0.0:1514\"\n    raw_format_options {\n    }\n"),
            "c.alloy:4:5: raw_format_options has no effect when syslog_format is not \"raw\"");
  EXPECT_EQ(syslog("    address = \"0.0.0.0:1514\"\n    syslog_format = \"raw\"\n"
                   "    rfc3164_default_to_current_year = true\n"),
            "c.alloy:5:5: rfc3164_default_to_current_year has no effect when syslog_format is "
            "\"raw\"");
  EXPECT_EQ(syslog("    labels = { a = \"b\" }\n"),
            "c.alloy:2:3: listener: address is required, e.g. address = \"0.0.0.0:1514\"");
  EXPECT_EQ(syslog("    address = \"0.0.0.0:1514\"\n    colour = \"red\"\n"),
            "c.alloy:4:5: unknown attribute colour in listener (skidder reads address, protocol, "
            "idle_timeout, label_structured_data, labels, max_message_length, syslog_format, "
            "use_incoming_timestamp, use_rfc5424_message, rfc3164_default_to_current_year)");
  // Checked by the Promtail reader, which names the listener.
  EXPECT_NE(syslog("    address = \"0.0.0.0:1514\"\n    max_message_length = 999999999\n")
                .find("c.alloy:2:3: loki.source.syslog.s.listener.syslog.max_message_length: "
                      "must be between 1 and 67108864 bytes"),
            std::string::npos);
  auto api_tls = [&](const std::string& body) {
    return a.Error("loki.source.api \"p\" {\n  http {\n    tls_config {\n" + body +
                   "    }\n  }\n  forward_to = [loki.write.default.receiver]\n}\n" + kWrite);
  };
  EXPECT_EQ(api_tls(""), "c.alloy:3:5: http.tls_config: cert_file and key_file are required");
  // An unset environment variable: empty, which would serve plain HTTP.
  EXPECT_EQ(api_tls("      cert_file = sys.env(\"SKIDDER_TEST_UNSET\")\n"
                    "      key_file  = sys.env(\"SKIDDER_TEST_UNSET\")\n"),
            "c.alloy:3:5: http.tls_config: cert_file and key_file are required");
  EXPECT_EQ(api_tls("      cert_file = \"/c\"\n      key_file = \"/k\"\n"
                    "      client_auth_type = \"Mutual\"\n"),
            "c.alloy:3:5: http.tls_config.client_auth_type: must be NoClientCert, "
            "RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or "
            "RequireAndVerifyClientCert, not \"Mutual\"");
  EXPECT_EQ(api_tls("      cert_file = \"/c\"\n      key_pem = \"k\"\n"),
            "c.alloy:5:7: http.tls_config: key_pem is not supported by skidder, which reads server "
            "certificates from files: use key_file");
  EXPECT_EQ(api_tls("      client_ca = \"x\"\n"),
            "c.alloy:4:7: http.tls_config: client_ca is not supported by skidder, which reads "
            "server certificates from files: use client_ca_file");
  EXPECT_EQ(a.Error(std::string("loki.source.api \"p\" {\n  http {\n  }\n  http {\n  }\n"
                                "  forward_to = [loki.write.default.receiver]\n}\n") +
                    kWrite),
            "c.alloy:4:3: loki.source.api: the http block is given twice");
  EXPECT_EQ(a.Error(std::string("loki.source.syslog \"s\" {\n"
                                "  forward_to = [loki.write.default.receiver]\n}\n") +
                    kWrite),
            "c.alloy:1:1: loki.source.syslog: a listener block is required, e.g. listener { "
            "address = \"0.0.0.0:1514\" }");
  EXPECT_EQ(a.Error(std::string("loki.source.api \"p\" {\n  http {\n    listen_port = \"x\"\n"
                                "  }\n  forward_to = [loki.write.default.receiver]\n}\n") +
                    kWrite),
            "c.alloy:3:5: listen_port: expected a whole number of at least 0");
  EXPECT_EQ(a.Error(std::string("loki.source.api \"p\" {\n  labels = { a = [1] }\n"
                                "  forward_to = [loki.write.default.receiver]\n}\n") +
                    kWrite),
            "c.alloy:2:3: labels: expected an object of label values, e.g. { job = \"syslog\" }");
  EXPECT_EQ(a.Error("loki.source.api \"p\" {\n}\n" + std::string(kWrite)),
            "c.alloy:1:1: loki.source.api: forward_to is required");
}

// Alloy 1.11's file_match block: the source expands its own globs, as a local.file_match in
// front of it would; both spellings give the same configuration.
TEST(AlloyConfig, FileMatchBlockIsLocalFileMatch) {
  Alloy a;
  Result<Config> block = a.Load(std::string(R"(
loki.source.file "app" {
  targets    = [{"__path__" = "/var/log/app/*.log", "__path_exclude__" = "/var/log/app/x.log", job = "app"}]
  file_match {
    enabled           = true
    sync_period       = "5s"
    ignore_older_than = "0s"
  }
  on_positions_file_error = "restart_from_beginning"
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(block) << block.error().message();
  Result<Config> component = a.Load(std::string(R"(
local.file_match "app" {
  path_targets = [{"__path__" = "/var/log/app/*.log", "__path_exclude__" = "/var/log/app/x.log", job = "app"}]
  sync_period  = "5s"
}
loki.source.file "app" {
  targets    = local.file_match.app.targets
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(component) << component.error().message();
  EXPECT_EQ(block->target_config.sync_period, 5s);
  ASSERT_EQ(block->scrape_configs.size(), 1u);
  ASSERT_EQ(block->scrape_configs[0].static_configs.size(), 1u);
  EXPECT_EQ(block->scrape_configs[0].static_configs[0].labels,
            (Labels{{"__path__", "/var/log/app/*.log"},
                    {"__path_exclude__", "/var/log/app/x.log"},
                    {"job", "app"}}));
  block->source_file = component->source_file = "";
  EXPECT_EQ(DumpConfig(*block), DumpConfig(*component));
}

// skidder has one glob rescan period: the shortest any component asks for. A file_match block
// that is not enabled (Alloy's default) neither globs nor rescans in Alloy: its period is not
// read.
TEST(AlloyConfig, SyncPeriodIsTheShortestEnabledOne) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
local.file_match "slow" {
  path_targets = [{"__path__" = "/a/*.log"}]
  sync_period  = "30s"
}
loki.source.file "slow" {
  targets    = local.file_match.slow.targets
  forward_to = [loki.write.default.receiver]
}
loki.source.file "fast" {
  targets    = [{"__path__" = "/b/*.log"}]
  file_match {
    enabled     = true
    sync_period = "2s"
  }
  forward_to = [loki.write.default.receiver]
}
loki.source.file "off" {
  targets    = [{"__path__" = "/c/x.log"}]
  file_match {
    sync_period       = "1s"
    ignore_older_than = "1h"
  }
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->target_config.sync_period, 2s);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("sync_period 2s: skidder rescans every glob at one period; the "
                                "shortest given is used"),
            std::string::npos)
      << c->warnings[0];
}

// skidder keeps one positions file: the first legacy_positions_file, into which the others
// are imported (sources::Positions), where Alloy imports each into its component's own.
TEST(AlloyConfig, EveryLegacyPositionsFileIsImported) {
  Alloy a;
  auto source = [](const std::string& name, const std::string& legacy) {
    return "loki.source.file \"" + name + "\" {\n  targets = [{\"__path__\" = \"/l/" + name +
           "/*.log\"}]\n  legacy_positions_file = " + legacy +
           "\n  forward_to = [loki.write.default.receiver]\n}\n";
  };
  Result<Config> c = a.Load(source("a", "\"/p/a.yaml\"") + source("b", "\"/p/b.yaml\"") +
                            source("c", "\"/p/a.yaml\"") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_EQ(c->positions.filename, "/p/a.yaml");
  EXPECT_EQ(c->positions.import_files, (std::vector<std::string>{"/p/a.yaml", "/p/b.yaml"}));
  EXPECT_EQ(a.Error(source("a", "5") + kWrite),
            "c.alloy:3:3: legacy_positions_file: expected a file name");
}

TEST(AlloyConfig, FileMatchOptionsSkidderLacksAreRefusedWhereWritten) {
  Alloy a;
  auto source = [&](const std::string& body) {
    return a.Error("loki.source.file \"app\" {\n  targets = [{\"__path__\" = \"/l/*.log\"}]\n" +
                   body + "  forward_to = [loki.write.default.receiver]\n}\n" + kWrite);
  };
  EXPECT_EQ(source("  file_match {\n    enabled = true\n    ignore_older_than = \"1h\"\n  }\n"),
            "c.alloy:5:5: ignore_older_than is not supported by skidder yet: every matched file "
            "is read (remove it, or set \"0s\")");
  EXPECT_EQ(source("  file_match {\n    enabled = \"yes\"\n  }\n"),
            "c.alloy:4:5: enabled: expected true or false");
  EXPECT_EQ(source("  file_match {\n    enabled = true\n    sync_period = 10\n  }\n"),
            "c.alloy:5:5: sync_period: expected a duration like \"10s\"");
  EXPECT_EQ(source("  file_match {\n    enabled = true\n    sync_period = \"0s\"\n  }\n"),
            "c.alloy:5:5: sync_period: must be positive");
  EXPECT_EQ(source("  on_positions_file_error = \"skip\"\n"),
            "c.alloy:3:3: on_positions_file_error: skidder reads a file whose position is "
            "unreadable from its start (\"restart_from_beginning\"); \"skip\" and "
            "\"restart_from_end\" are not supported");
  EXPECT_EQ(a.Error("local.file_match \"m\" {\n  path_targets = [{\"__path__\" = \"/l/*.log\"}]\n"
                    "  ignore_older_than = \"24h\"\n}\n" +
                    std::string(kWrite)),
            "c.alloy:3:3: ignore_older_than is not supported by skidder yet: every matched file "
            "is read (remove it, or set \"0s\")");
}

// discovery.file: Promtail's file_sd_configs, through discovery.relabel (its rules become the
// job's relabel_configs) or local.file_match.
TEST(AlloyConfig, DiscoveryFileIsFileSdConfigs) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
discovery.file "t" {
  files            = ["/etc/targets/*.json", "/etc/targets/*.yaml"]
  refresh_interval = "1m"
}
discovery.relabel "r" {
  targets = discovery.file.t.targets
  rule {
    source_labels = ["__meta_filepath"]
    target_label  = "sd_file"
  }
}
loki.source.file "f" {
  targets    = discovery.relabel.r.output
  forward_to = [loki.write.default.receiver]
}
discovery.file "d" {
  files = ["/etc/other/*.json"]
}
local.file_match "m" {
  path_targets = discovery.file.d.targets
}
loki.source.file "g" {
  targets    = local.file_match.m.targets
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  const ScrapeConfig& f = c->scrape_configs[0];
  ASSERT_EQ(f.file_sd_configs.size(), 1u);
  EXPECT_EQ(f.file_sd_configs[0].files,
            (std::vector<std::string>{"/etc/targets/*.json", "/etc/targets/*.yaml"}));
  EXPECT_EQ(f.file_sd_configs[0].refresh_interval, 1min);
  ASSERT_EQ(f.relabel_configs.size(), 1u);
  EXPECT_EQ(f.relabel_configs[0].target_label, "sd_file");
  EXPECT_TRUE(f.static_configs.empty());
  const ScrapeConfig& g = c->scrape_configs[1];
  ASSERT_EQ(g.file_sd_configs.size(), 1u);
  EXPECT_EQ(g.file_sd_configs[0].refresh_interval, 5min);  // Alloy's default, Promtail's too

  EXPECT_EQ(a.Error("discovery.file \"t\" {\n  refresh_interval = \"1m\"\n}\n"
                    "loki.source.file \"f\" {\n  targets = discovery.file.t.targets\n"
                    "  forward_to = [loki.write.default.receiver]\n}\n" +
                    std::string(kWrite)),
            "c.alloy:1:1: discovery.file: files is required, e.g. files = "
            "[\"/etc/alloy/targets/*.json\"]");
  EXPECT_EQ(a.Error("discovery.file \"t\" {\n  files = [\"/a/*.json\"]\n  port = 1\n}\n"
                    "loki.source.file \"f\" {\n  targets = discovery.file.t.targets\n"
                    "  forward_to = [loki.write.default.receiver]\n}\n" +
                    std::string(kWrite)),
            "c.alloy:3:3: unknown attribute port in discovery.file");
  EXPECT_EQ(a.Error("discovery.file \"t\" {\n  files = [\"/a/*.json\"]\n}\n"
                    "loki.source.kubernetes \"k\" {\n  targets = discovery.file.t.targets\n"
                    "  forward_to = [loki.write.default.receiver]\n}\n" +
                    std::string(kWrite)),
            "c.alloy:5:3: loki.source.kubernetes: targets must come from discovery.kubernetes");
  // The Promtail reader checks the patterns.
  EXPECT_NE(a.Error("discovery.file \"t\" {\n  files = [\"/a/*.txt\"]\n}\n"
                    "loki.source.file \"f\" {\n  targets = discovery.file.t.targets\n"
                    "  forward_to = [loki.write.default.receiver]\n}\n" +
                    std::string(kWrite))
                .find("is not valid for file discovery"),
            std::string::npos);
  // Also in a discovery.file nothing reads yet.
  EXPECT_NE(a.Error("discovery.file \"t\" {\n  files = [\"/a/*.txt\"]\n}\n" + std::string(kWrite))
                .find("is not valid for file discovery"),
            std::string::npos);
}

// discovery.docker lists the containers, loki.source.docker reads them: one Promtail job with
// docker_sd_configs. Labels as Alloy gives them: the targets' rules, the source's `labels` over
// them, then its relabel_rules.
TEST(AlloyDocker, DiscoveryAndSourceBecomeADockerJob) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
discovery.docker "linux" {
  host             = "tcp://docker:2375"
  port             = 8080
  refresh_interval = "10s"
  filter {
    name   = "label"
    values = ["logging=on"]
  }
}
discovery.relabel "c" {
  targets = discovery.docker.linux.targets
  rule {
    source_labels = ["__meta_docker_container_name"]
    target_label  = "container"
  }
}
loki.relabel "r" {
  rule {
    source_labels = ["__meta_docker_container_log_stream"]
    target_label  = "stream"
  }
  forward_to = []
}
loki.source.docker "apps" {
  host             = "tcp://docker:2375"
  targets          = discovery.relabel.c.output
  labels           = { env = "$prod" }
  relabel_rules    = loki.relabel.r.rules
  refresh_interval = "30s"
  forward_to       = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 1u);
  const ScrapeConfig& sc = c->scrape_configs[0];
  EXPECT_EQ(sc.job_name, "apps");
  ASSERT_EQ(sc.docker_sd_configs.size(), 1u);
  const DockerSdConfig& d = sc.docker_sd_configs[0];
  EXPECT_EQ(d.host, "tcp://docker:2375");
  EXPECT_EQ(d.port, 8080);
  EXPECT_EQ(d.refresh_interval, 10s);
  ASSERT_EQ(d.filters.size(), 1u);
  EXPECT_EQ(d.filters[0].first, "label");
  EXPECT_EQ(d.filters[0].second, std::vector<std::string>{"logging=on"});
  ASSERT_EQ(sc.relabel_configs.size(), 3u);
  EXPECT_EQ(sc.relabel_configs[0].target_label, "container");
  EXPECT_EQ(sc.relabel_configs[1].target_label, "env");
  EXPECT_EQ(sc.relabel_configs[1].replacement, "$$prod");  // a literal '$'
  EXPECT_TRUE(sc.relabel_configs[1].source_labels.empty());
  EXPECT_EQ(sc.relabel_configs[2].target_label, "stream");
}

// The HTTP client blocks, with an oauth2 block's own tls_config (for its token URL).
TEST(AlloyDocker, OAuth2CarriesItsOwnTlsConfig) {
  Alloy a;
  const std::string oauth2 = R"(
    client_id     = "agent"
    client_secret = "s3cret"
    token_url     = "https://auth.example/token"
    tls_config {
      ca_file = "/etc/auth-ca.pem"
    }
)";
  auto config = [&](const std::string& extra) {
    return "discovery.docker \"d\" {\n  host = \"https://docker:2376\"\n  oauth2 {" + oauth2 +
           extra +
           "  }\n}\nloki.source.docker \"s\" {\n  host = \"https://docker:2376\"\n"
           "  targets = discovery.docker.d.targets\n"
           "  forward_to = [loki.write.default.receiver]\n}\n" +
           kWrite;
  };
  Result<Config> c = a.Load(config(""));
  ASSERT_TRUE(c) << c.error().message();
  const DockerSdConfig& d = c->scrape_configs.at(0).docker_sd_configs.at(0);
  ASSERT_TRUE(d.oauth2.has_value());
  EXPECT_EQ(d.oauth2->token_url, "https://auth.example/token");
  EXPECT_EQ(d.oauth2->tls_config.ca_file, "/etc/auth-ca.pem");
  EXPECT_EQ(a.Error(config("    tls_config {\n    }\n")),
            "c.alloy:10:5: oauth2: tls_config is given twice");
}

TEST(AlloyDocker, MistakesAreNamedWhereTheyAreWritten) {
  Alloy a;
  const std::string discovery =
      "discovery.docker \"d\" {\n  host = \"unix:///var/run/docker.sock\"\n}\n";
  auto source = [&](const std::string& body) {
    return a.Error(discovery + "loki.source.docker \"s\" {\n" + body +
                   "  forward_to = [loki.write.default.receiver]\n}\n" + kWrite);
  };
  EXPECT_EQ(source("  host = \"unix:///other.sock\"\n  targets = discovery.docker.d.targets\n"),
            "c.alloy:5:3: host: skidder reads the containers' logs from the daemon that lists "
            "them, so this must be discovery.docker's host \"unix:///var/run/docker.sock\"");
  EXPECT_EQ(source("  host = \"unix:///var/run/docker.sock\"\n  targets = [{a = \"b\"}]\n"),
            "c.alloy:6:3: loki.source.docker: targets must come from discovery.docker");
  EXPECT_EQ(source("  targets = discovery.docker.d.targets\n"),
            "c.alloy:4:1: loki.source.docker: host is required");
  EXPECT_EQ(source("  host = \"unix:///var/run/docker.sock\"\n  targets = "
                   "discovery.docker.d.targets\n  http_client_config {\n  }\n"),
            "c.alloy:7:3: http_client_config in loki.source.docker is not supported by skidder, "
            "which reads the logs with the client settings of the discovery.docker that lists "
            "the containers: set them there");
  EXPECT_EQ(a.Error(discovery +
                    "loki.source.file \"f\" {\n  targets = discovery.docker.d.targets\n"
                    "  forward_to = [loki.write.default.receiver]\n}\n" +
                    kWrite),
            "c.alloy:5:3: loki.source.file: targets from discovery.docker are containers, not "
            "files: read them with loki.source.docker");
  // discovery.docker is checked by Promtail's docker_sd_configs reader, used or not.
  EXPECT_NE(a.Error("discovery.docker \"d\" {\n  host = \"docker:2375\"\n}\n" + std::string(kWrite))
                .find("c.alloy:1:1: discovery.docker.d.host: \"docker:2375\" is not a unix://, "
                      "tcp://, http:// or https:// address"),
            std::string::npos);
}

// A warning about a translated block names the block's own position, once.
TEST(AlloyConfig, AWarningNamesTheBlocksPositionOnce) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
discovery.kubernetes "pods" {
  role = "pod"
}
loki.source.file "f" {
  targets    = discovery.kubernetes.pods.targets
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->warnings.size(), 1u);
  const std::string& w = c->warnings[0];
  EXPECT_NE(w.find("c.alloy:5:1: loki.source.file.f.kubernetes_sd_configs[0]: role pod"),
            std::string::npos)
      << w;
}

// Grafana's k8s-monitoring chart turns clustering on for loki.source.kubernetes. skidder on every
// node reads each pod once without it: a warning, not a refusal; switched off, nothing.
TEST(AlloyConfig, ClusteringIsIgnoredWithAWarning) {
  Alloy a;
  const std::string src = R"(
discovery.kubernetes "pods" {
  role = "pod"
}
loki.source.kubernetes "pods" {
  targets    = discovery.kubernetes.pods.targets
  forward_to = [loki.write.default.receiver]
  clustering {
    enabled = ENABLED
  }
}
)";
  std::string on = src;
  on.replace(on.find("ENABLED"), 7, "true");
  Result<Config> c = a.Load(on + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 1u);
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("c.alloy:8:3: clustering is ignored"), std::string::npos)
      << c->warnings[0];
  std::string off = src;
  off.replace(off.find("ENABLED"), 7, "false");
  c = a.Load(off + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  EXPECT_TRUE(c->warnings.empty());
}

// Alloy's loki.relabel after loki.source.file sees entries carrying `filename`; rules that need
// it run as a stage over entries, not in the target relabeling before any file is opened.
TEST(AlloyConfig, ARelabelOfTheFilenameRunsOnEntriesNotOnTargets) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log", "job" = "varlogs"}]
  forward_to = [loki.relabel.errors.receiver]
}
loki.relabel "errors" {
  rule {
    source_labels = ["filename"]
    regex         = ".*err.*"
    action        = "keep"
  }
  forward_to = [loki.relabel.tidy.receiver]
}
loki.relabel "tidy" {
  rule {
    regex  = "job"
    action = "labeldrop"
  }
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  const ScrapeConfig& sc = c->scrape_configs.at(0);
  for (const RelabelConfig& r : sc.relabel_configs) {
    EXPECT_NE(r.action, "keep") << "the keep on filename ran before any file had one";
  }
  ASSERT_EQ(sc.pipeline_stages.size(), 2u);
  EXPECT_EQ(sc.pipeline_stages[0].type, "relabel");
  EXPECT_EQ(sc.pipeline_stages[0].body[0]["source_labels"][0].Scalar(), "filename");
  EXPECT_EQ(sc.pipeline_stages[1].type, "relabel");
  EXPECT_EQ(sc.pipeline_stages[1].body[0]["action"].Scalar(), "labeldrop");
}

// Alloy's stage.drop splits source on ',' and drops when every named value matches; the same
// string in Promtail's YAML is one key named "level,app", which never matches.
TEST(AlloyConfig, DropSourceWithCommasNamesSeveralValues) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.process.p.receiver]
}
loki.process "p" {
  stage.drop {
    source = "level,app"
    value  = "debug;foo"
  }
  stage.drop { source = "level" }
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  const std::vector<StageConfig>& st = c->scrape_configs.at(0).pipeline_stages;
  ASSERT_EQ(st.size(), 2u);
  ASSERT_TRUE(st[0].body["source"].IsSequence());
  EXPECT_EQ(st[0].body["source"][0].Scalar(), "level");
  EXPECT_EQ(st[0].body["source"][1].Scalar(), "app");
  EXPECT_EQ(st[1].body["source"].Scalar(), "level");
}

// Each loki.process starts an entry with only its labels as extracted values (Alloy's
// stages/pipeline.go): what one component extracted, the next on the path (in a chain or a
// fan-out branch) does not see. Between them, where something may have been extracted, the loader
// puts a reset_extracted stage.
TEST(AlloyConfig, ALokiProcessDoesNotSeeWhatAnEarlierOneExtracted) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"x(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.relabel.r.receiver]
}
loki.relabel "r" {
  rule {
    target_label = "env"
    replacement  = "prod"
  }
  forward_to = [loki.process.parse.receiver]
}
loki.process "parse" {
  stage.regex { expression = "level=(?P<level>\\w+)" }
  forward_to = [loki.process.label.receiver, loki.process.other.receiver]
}
loki.process "label" {
  stage.labels { values = { level = "" } }
  forward_to = [loki.write.default.receiver]
}
loki.process "other" {
  stage.static_labels { values = { copy = "yes" } }
  forward_to = [loki.process.last.receiver]
}
loki.process "last" {
  stage.labels { values = { level = "" } }
  forward_to = [loki.write.default.receiver]
}
)x") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  const std::vector<StageConfig>& stages = c->scrape_configs.at(0).pipeline_stages;
  ASSERT_EQ(stages.size(), 2u);  // regex (the relabel rule went to the target), then a fan-out
  EXPECT_EQ(stages[0].type, "regex");  // nothing before it: no reset
  ASSERT_EQ(stages[1].type, "fanout");
  const YAML::Node branches = stages[1].body;
  ASSERT_EQ(branches.size(), 2u);
  // Each branch starts without the regex's values; "other" then extracts nothing, so "last"
  // needs no second reset.
  const auto types = [](const YAML::Node& list) {
    std::vector<std::string> out;
    for (const YAML::Node& st : list) out.push_back(st.begin()->first.Scalar());
    return out;
  };
  EXPECT_EQ(types(branches[0]["stages"]), (std::vector<std::string>{"reset_extracted", "labels"}));
  EXPECT_EQ(types(branches[1]["stages"]),
            (std::vector<std::string>{"reset_extracted", "static_labels", "labels"}));
}

TEST(AlloyConfig, StagesWithOtherNamesBecomePromtailsStages) {
  Alloy a;
  Result<Config> c = a.Load(std::string(R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/*.log"}]
  forward_to = [loki.process.p.receiver]
}
loki.process "p" {
  stage.label_drop { values = ["filename"] }
  stage.label_keep { values = ["job", "level"] }
  stage.static_labels { values = { env = "prod" } }
  stage.metrics {
    metric.counter {
      name        = "lines_total"
      description = "all lines"
      match_all   = true
      action      = "inc"
    }
    metric.histogram {
      name    = "sizes"
      source  = "size"
      buckets = [1, 10]
    }
  }
  stage.docker {}
  stage.luhn {
    replacement = "<card>"
    delimiters  = " -"
  }
  stage.truncate {
    rule {
      limit  = "1KiB"
      suffix = "..."
    }
    rule {
      limit       = 100
      source_type = "label"
    }
  }
  forward_to = [loki.write.default.receiver]
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  const std::vector<StageConfig>& st = c->scrape_configs.at(0).pipeline_stages;
  ASSERT_EQ(st.size(), 7u);
  EXPECT_EQ(st[6].type, "truncate");
  EXPECT_EQ(st[6].body["rules"][0]["limit"].Scalar(), "1KiB");
  EXPECT_EQ(st[6].body["rules"][1]["source_type"].Scalar(), "label");
  EXPECT_EQ(st[5].type, "luhn");
  EXPECT_EQ(st[5].body["delimiters"].Scalar(), " -");
  EXPECT_EQ(st[0].type, "labeldrop");
  EXPECT_EQ(st[0].body[0].Scalar(), "filename");
  EXPECT_EQ(st[1].type, "labelallow");
  EXPECT_EQ(st[2].type, "static_labels");
  EXPECT_EQ(st[2].body["env"].Scalar(), "prod");
  EXPECT_EQ(st[3].type, "metrics");
  EXPECT_EQ(st[3].body["lines_total"]["type"].Scalar(), "Counter");
  EXPECT_EQ(st[3].body["lines_total"]["description"].Scalar(), "all lines");
  EXPECT_EQ(st[3].body["lines_total"]["config"]["match_all"].Scalar(), "true");
  EXPECT_EQ(st[3].body["lines_total"]["prefix"].Scalar(), "loki_process_custom_")
      << "Alloy's default prefix, not Promtail's";
  EXPECT_EQ(st[3].body["sizes"]["type"].Scalar(), "Histogram");
  EXPECT_EQ(st[3].body["sizes"]["source"].Scalar(), "size");
  EXPECT_EQ(st[3].body["sizes"]["config"]["buckets"][1].Scalar(), "10");
  EXPECT_EQ(st[4].type, "docker");
  EXPECT_NE(DumpConfig(*c).find("- docker: {}"), std::string::npos) << DumpConfig(*c);
}

}  // namespace
}  // namespace skidder::config

namespace skidder::config {
namespace {

TEST(AlloyJournal, RelabelRulesMustNameRules) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.alloy",
                     "loki.source.journal \"j\" {\n  relabel_rules = 3\n"
                     "  forward_to = [loki.write.w.receiver]\n}\n"
                     "loki.write \"w\" {\n  endpoint {\n    url = \"http://l/push\"\n  }\n}\n");
  Flags flags;
  flags.config_file = dir / "c.alloy";
  Result<Config> c = LoadConfig(flags);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("c.alloy:2:3: relabel_rules: expected the rules"),
            std::string::npos)
      << c.error().message();
}

}  // namespace
}  // namespace skidder::config

namespace skidder::config {
namespace {

// loki.source.kubernetes_events as Grafana's k8s-monitoring chart writes it (its cluster events
// feature): a kubernetes_events job labelled as Alloy labels its entries, through the process
// stages it forwards to.
TEST(AlloyConfig, KubernetesEventsBecomeAKubernetesEventsJob) {
  AlloyFile a;
  Result<Config> c = a.Load(std::string(R"(
loki.source.kubernetes_events "cluster_events" {
  job_name   = "integrations/kubernetes/eventhandler"
  log_format = "logfmt"
  namespaces = ["shop", "bank"]
  forward_to = [loki.process.cluster_events.receiver]
}
loki.process "cluster_events" {
  stage.static_labels {
    values = { cluster = "prod" }
  }
  forward_to = [loki.write.default.receiver]
}
loki.source.kubernetes_events "plain" {
  forward_to = [loki.write.default.receiver]
  client {
    api_server        = "https://kube.example:6443"
    bearer_token_file = "/var/run/token"
  }
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->scrape_configs.size(), 2u);
  const ScrapeConfig& events = c->scrape_configs[0];
  ASSERT_TRUE(events.kubernetes_events);
  EXPECT_EQ(events.job_name, "cluster_events");
  EXPECT_EQ(events.kubernetes_events->labels,
            (Labels{{"instance", "loki.source.kubernetes_events.cluster_events"},
                    {"job", "integrations/kubernetes/eventhandler"}}));
  EXPECT_EQ(events.kubernetes_events->namespaces, (std::vector<std::string>{"shop", "bank"}));
  EXPECT_EQ(events.kubernetes_events->log_format, "logfmt");
  ASSERT_EQ(events.pipeline_stages.size(), 1u);
  EXPECT_EQ(events.pipeline_stages[0].type, "static_labels");
  const ScrapeConfig& plain = c->scrape_configs[1];
  ASSERT_TRUE(plain.kubernetes_events);
  EXPECT_EQ(plain.kubernetes_events->labels,
            (Labels{{"instance", "loki.source.kubernetes_events.plain"},
                    {"job", "loki.source.kubernetes_events"}}));
  EXPECT_TRUE(plain.kubernetes_events->namespaces.empty());
  EXPECT_EQ(plain.kubernetes_events->api_server, "https://kube.example:6443");
  EXPECT_EQ(plain.kubernetes_events->bearer_token_file, "/var/run/token");

  // The dump is a Promtail-form config that reads back to the same jobs.
  Result<Config> again = ParseConfig(DumpConfig(*c), "dump.yaml", false);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_EQ(DumpConfig(*again), DumpConfig(*c));
}

TEST(AlloyConfig, KubernetesEventsMistakesAreRefusedWhereTheyAre) {
  AlloyFile a;
  auto error = [&](const std::string& body) {
    return a.Error(
        "loki.source.kubernetes_events \"e\" {\n  forward_to = "
        "[loki.write.default.receiver]\n" +
        body + "\n}\n" + kWrite);
  };
  EXPECT_EQ(error("  log_format = \"xml\""),
            "c.alloy:3:3: log_format: unknown format \"xml\"; use \"logfmt\" or \"json\"");
  EXPECT_EQ(error("  job_name = \"\""), "c.alloy:3:3: job_name must not be an empty string");
  EXPECT_EQ(error("  namespaces = \"shop\""), "c.alloy:3:3: namespaces: expected a list");
  EXPECT_EQ(error("  namespaces = [1]"), "c.alloy:3:3: namespaces: expected a list of strings");
  EXPECT_EQ(error("  namespaces = [\"shop\", \"Shop_1\"]"),
            "c.alloy:3:3: namespaces: \"Shop_1\" is not a Kubernetes namespace name (lower-case "
            "letters, digits and '-')");
  EXPECT_EQ(error("  clustering { enabled = 1 }"), "c.alloy:3:16: enabled: expected a bool");
  EXPECT_EQ(error("  clustering { }"), "c.alloy:3:3: clustering: enabled is required");
  EXPECT_EQ(error("  clustering { enabled = false }\n  clustering { enabled = false }"),
            "c.alloy:4:3: the clustering block is given twice");
  EXPECT_NE(error("  client { role = \"pod\" }").find("c.alloy:3:12"), std::string::npos);
  EXPECT_EQ(error("  client { }\n  client { }"), "c.alloy:4:3: the client block is given twice");
  EXPECT_EQ(a.Error("loki.source.kubernetes_events \"e\" {\n}\n"),
            "c.alloy:1:1: loki.source.kubernetes_events: forward_to is required");
}

// As Alloy reads them: "" is every namespace, a name given twice is watched once.
TEST(AlloyConfig, KubernetesEventsNamespacesAsAlloyReadsThem) {
  AlloyFile a;
  auto namespaces = [&](const std::string& list) {
    Result<Config> c = a.Load("loki.source.kubernetes_events \"e\" {\n  namespaces = " + list +
                              "\n  forward_to = [loki.write.default.receiver]\n}\n" + kWrite);
    EXPECT_TRUE(c) << c.error().message();
    return c ? c->scrape_configs.at(0).kubernetes_events->namespaces : std::vector<std::string>{};
  };
  EXPECT_EQ(namespaces(R"(["shop", "bank", "shop"])"), (std::vector<std::string>{"shop", "bank"}));
  EXPECT_EQ(namespaces(R"(["shop", ""])"), std::vector<std::string>{});
  EXPECT_EQ(namespaces("[]"), std::vector<std::string>{});
}

// Grafana's k8s-monitoring chart turns clustering on for its cluster events: Alloy's replicas
// elect one reader. skidder runs one replica instead: a warning, not a refusal.
TEST(AlloyConfig, KubernetesEventsClusteringIsIgnoredWithAWarning) {
  AlloyFile a;
  Result<Config> c = a.Load(std::string(R"(
loki.source.kubernetes_events "e" {
  forward_to = [loki.write.default.receiver]
  clustering {
    enabled = true
  }
}
)") + kWrite);
  ASSERT_TRUE(c) << c.error().message();
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("c.alloy:4:3: clustering is ignored: every replica or node "
                                "running this config reads and sends every event"),
            std::string::npos)
      << c->warnings[0];
}

TEST(ParseConfig, KubernetesEventsReadsNothingElse) {
  Result<Config> c = ParseConfig(R"(
scrape_configs:
  - job_name: events
    kubernetes_events: {log_format: json}
    static_configs: [{labels: {__path__: /var/log/*.log}}]
)",
                                 "c.yaml", false);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("a scrape config with kubernetes_events reads nothing else"),
            std::string::npos)
      << c.error().message();
  c = ParseConfig("scrape_configs: [{job_name: e, kubernetes_events: {log_format: yaml}}]",
                  "c.yaml", false);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message().find("unknown log_format \"yaml\"; use logfmt or json"),
            std::string::npos)
      << c.error().message();
}

}  // namespace
}  // namespace skidder::config
