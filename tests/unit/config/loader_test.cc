// LoadConfig, ExpandEnv, DumpConfig and the built-in default config.
#include "config/loader.h"

#include <gtest/gtest.h>

#include <chrono>

#include "support/test_util.h"

namespace skidder::config {
namespace {

using namespace std::chrono_literals;

TEST(ExpandEnv, ReplacesReferencesAndLeavesTheRestAlone) {
  setenv("SKIDDER_T_SET", "value", 1);
  setenv("SKIDDER_T_EMPTY", "", 1);
  unsetenv("SKIDDER_T_UNSET");
  struct Case {
    const char* in;
    const char* want;
  };
  const Case cases[] = {
      {"a: ${SKIDDER_T_SET}", "a: value"},
      {"a: ${SKIDDER_T_UNSET}", "a: "},
      {"a: ${SKIDDER_T_UNSET:-dflt}", "a: dflt"},
      {"a: ${SKIDDER_T_EMPTY:-dflt}", "a: dflt"},
      {"a: ${SKIDDER_T_EMPTY-dflt}", "a: "},
      {"a: ${SKIDDER_T_UNSET-dflt}", "a: dflt"},
      {"a: ${SKIDDER_T_SET:-dflt}", "a: value"},
      {"a: ${SKIDDER_T_UNSET:-http://x:1/y}", "a: http://x:1/y"},
      {"a: $${SKIDDER_T_SET}", "a: ${SKIDDER_T_SET}"},
      {"price: $$5", "price: $5"},
      {"replacement: $1", "replacement: $1"},
      {"regex: ^a$", "regex: ^a$"},
      {"x: ${unterminated", "x: ${unterminated"},
      {"x: ${ .Value }", "x: ${ .Value }"},
      {"x: ${1}", "x: ${1}"},
      {"${SKIDDER_T_SET}${SKIDDER_T_SET}", "valuevalue"},
      {"$", "$"},
      // drone/envsubst, Promtail's: nested defaults, and \\ and \/ in the text.
      {"u: ${SKIDDER_T_UNSET:-http://${SKIDDER_T_SET}:3100/p}", "u: http://value:3100/p"},
      {"u: ${SKIDDER_T_UNSET:-${SKIDDER_T_UNSET2:-deep}}", "u: deep"},
      {"u: ${SKIDDER_T_SET:-${SKIDDER_T_UNSET}}", "u: value"},
      {"u: ${SKIDDER_T_UNSET-${SKIDDER_T_SET}x}", "u: valuex"},
      {R"(re: '^line (?P<num>\\d+)')", R"(re: '^line (?P<num>\d+)')"},
      {R"(p: a\/b \x \\\\)", R"(p: a/b \x \\)"},
  };
  for (const Case& c : cases) EXPECT_EQ(ExpandEnv(c.in), c.want) << c.in;
  // Nested past the bound: kept as written, never a stack overflow.
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "${SKIDDER_T_UNSET:-";
  deep += "x" + std::string(100000, '}');
  const std::string kept = ExpandEnv(deep);
  EXPECT_EQ(kept.find("x"), kept.size() - 100000 + 16 - 1) << "16 levels expanded, the rest kept";
  EXPECT_EQ(ExpandEnv(std::string(200000, '$') + "{"), std::string(100000, '$') + "{");
  EXPECT_EQ(ExpandEnv("${a ${SKIDDER_T_SET}"), "${a value");
  // Alloy strings have escapes of their own: kept for Alloy text.
  EXPECT_EQ(ExpandEnv(R"(x = "\\d ${SKIDDER_T_SET}")", false), R"(x = "\\d value")");
}

TEST(DefaultConfig, ParsesAndTailsVarLogAndTheJournal) {
  Result<Config> cfg = LoadConfig(Flags{});
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->source_file, "");
  EXPECT_EQ(cfg->server.http_listen_port, 9080);
  EXPECT_EQ(cfg->positions.filename, "/var/lib/skidder/positions.json");
  ASSERT_EQ(cfg->clients.size(), 1u);
  EXPECT_EQ(cfg->clients[0].url, "http://localhost:3100/loki/api/v1/push");
  ASSERT_EQ(cfg->scrape_configs.size(), 2u);
  EXPECT_EQ(cfg->scrape_configs[0].job_name, "varlogs");
  const Labels& labels = cfg->scrape_configs[0].static_configs.at(0).labels;
  ASSERT_TRUE(labels.Has("__path__"));
  EXPECT_EQ(*labels.Get("__path__"), "/var/log/*.log");
  EXPECT_EQ(*labels.Get("job"), "varlogs");
  // Debian 12 keeps system logs in the journal alone unless rsyslog is installed.
  EXPECT_EQ(cfg->scrape_configs[1].job_name, "journal");
  ASSERT_TRUE(cfg->scrape_configs[1].journal.has_value());
  EXPECT_EQ(cfg->scrape_configs[1].journal->max_age, std::chrono::hours(12));
}

TEST(DefaultConfig, IsTheFileShippedInTheRepository) {
  // The embedded copy must not drift from config/default.yaml (CMake regenerates it).
  EXPECT_EQ(std::string(kDefaultConfigYaml),
            testing::ReadFile(std::string(SKIDDER_SOURCE_DIR) + "/config/default.yaml"));
}

TEST(LoadConfig, MissingFileNamesThePathAndTheReason) {
  Flags f;
  f.config_file = "/nonexistent/skidder.yaml";
  Result<Config> cfg = LoadConfig(f);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(),
            "cannot read config file /nonexistent/skidder.yaml: No such file or directory");
}

TEST(LoadConfig, RequiresAClientUnlessDryRun) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.yaml",
                     "scrape_configs:\n  - job_name: j\n    static_configs: [{labels: "
                     "{__path__: /a}}]\n");
  Flags f;
  f.config_file = dir / "c.yaml";
  Result<Config> cfg = LoadConfig(f);
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message().find("no client configured"), std::string::npos);
  f.dry_run = true;
  cfg = LoadConfig(f);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->source_file, dir / "c.yaml");
}

// Alloy runs a config whose sources end at loki.echo without any loki.write; a YAML config
// with an echo stage still needs a client (its other paths send to every client).
TEST(LoadConfig, AnAlloyConfigThatOnlyEchoesNeedsNoClient) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.alloy", R"(
loki.source.file "f" {
  targets    = [{"__path__" = "/var/log/a.log"}]
  forward_to = [loki.echo.one.receiver, loki.echo.two.receiver, loki.process.nowhere.receiver]
}
loki.process "nowhere" {
  forward_to = []
}
loki.echo "one" { }
loki.echo "two" { }
)");
  Flags f;
  f.config_file = dir / "c.alloy";
  Result<Config> cfg = LoadConfig(f);
  ASSERT_TRUE(cfg) << cfg.error().message();
  // The path to nowhere goes to no client, even if -client.url adds one.
  const YAML::Node fanout = cfg->scrape_configs.at(0).pipeline_stages.back().body;
  ASSERT_EQ(cfg->scrape_configs[0].pipeline_stages.back().type, "fanout");
  ASSERT_EQ(fanout.size(), 3u);
  EXPECT_EQ(fanout[2]["stages"][0]["fanout"][0]["clients"].size(), 0u) << YAML::Dump(fanout);

  testing::WriteFile(dir / "c.yaml",
                     "scrape_configs:\n  - job_name: j\n    static_configs: [{labels: "
                     "{__path__: /a}}]\n    pipeline_stages:\n      - match: {selector: "
                     "'{a=\"b\"}', stages: [{echo: {}}]}\n");
  f.config_file = dir / "c.yaml";
  cfg = LoadConfig(f);
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message().find("no client configured"), std::string::npos);
}

TEST(LoadConfig, FlagsOverrideTheFile) {
  testing::TempDir dir;
  setenv("SKIDDER_T_PORT", "7070", 1);
  testing::WriteFile(dir / "c.yaml",
                     "server: {http_listen_port: ${SKIDDER_T_PORT}}\n"
                     "clients: [{url: 'http://a:3100/loki/api/v1/push', tenant_id: x}]\n");
  Result<Flags> f = ParseFlags({"-config.file=" + (dir / "c.yaml"), "-config.expand-env",
                                "-log.level=debug", "-log.format=json", "-positions.file=/p.json",
                                "-client.url=http://b:3100/loki/api/v1/push",
                                "-client.tenant-id=t2", "-client.external-labels=env=dev"});
  ASSERT_TRUE(f) << f.error().message();
  Result<Config> cfg = LoadConfig(*f);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->server.http_listen_port, 7070);
  EXPECT_EQ(cfg->server.log_level, "debug");
  EXPECT_EQ(cfg->server.log_format, "json");
  EXPECT_EQ(cfg->positions.filename, "/p.json");
  // As Promtail: -client.url adds a client after the file's.
  ASSERT_EQ(cfg->clients.size(), 2u);
  EXPECT_EQ(cfg->clients[0].tenant_id, "x");
  EXPECT_EQ(cfg->clients[1].url, "http://b:3100/loki/api/v1/push");
  EXPECT_EQ(cfg->clients[1].tenant_id, "t2");
  EXPECT_EQ(cfg->clients[1].external_labels, (Labels{{"env", "dev"}}));
  EXPECT_EQ(cfg->clients[0].external_labels, (Labels{{"env", "dev"}}));  // every client's
  EXPECT_EQ(cfg->clients[1].batchwait, 1s);                              // defaults like any client
}

// An Alloy config has no place for skidder's loss protection settings; the flags give them
// (the chart passes them), and they override a YAML file's too.
TEST(LoadConfig, HoldingAndSymlinkRootFlagsApplyToAnAlloyConfig) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.alloy",
                     "loki.write \"default\" {\n"
                     "  endpoint { url = \"http://loki:3100/loki/api/v1/push\" }\n"
                     "}\n");
  Result<Config> plain = LoadConfig(*ParseFlags({"-config.file=" + (dir / "c.alloy")}));
  ASSERT_TRUE(plain) << plain.error().message();
  EXPECT_EQ(plain->positions.held_dir, "");
  EXPECT_TRUE(plain->target_config.symlink_roots.empty());
  Result<Flags> f =
      ParseFlags({"-config.file=" + (dir / "c.alloy"), "-positions.held-dir=/var/log/.skidder-held",
                  "-positions.held-max-bytes=2GiB",
                  "-target-config.symlink-roots=/var/log,/var/lib/docker/containers",
                  "-server.path-prefix=/skidder"});
  ASSERT_TRUE(f) << f.error().message();
  Result<Config> cfg = LoadConfig(*f);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->positions.held_dir, "/var/log/.skidder-held");
  EXPECT_EQ(cfg->positions.held_max_bytes, int64_t{2} << 30);
  EXPECT_EQ(cfg->target_config.symlink_roots,
            (std::vector<std::string>{"/var/log", "/var/lib/docker/containers"}));
  EXPECT_EQ(cfg->server.http_path_prefix, "/skidder");
}

TEST(LoadConfig, ServerTlsFlagsOverrideTheFileAndAreCheckedTogether) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.yaml",
                     "clients: [{url: 'http://a:3100/loki/api/v1/push'}]\n"
                     "server:\n"
                     "  http_listen_address: 0.0.0.0\n"
                     "  http_tls_config: {cert_file: /old.crt, key_file: /old.key}\n");
  const std::string file = "-config.file=" + (dir / "c.yaml");
  Result<Config> cfg = LoadConfig(*ParseFlags(
      {file, "-server.http-listen-address=127.0.0.1", "-server.http-tls-cert-path=/new.crt",
       "-server.http-tls-key-path=/new.key", "-server.http-tls-client-auth=VerifyClientCertIfGiven",
       "-server.http-tls-ca-path=/ca.crt", "-server.tls-min-version=VersionTLS13",
       "-server.tls-cipher-suites=TLS_AES_128_GCM_SHA256"}));
  ASSERT_TRUE(cfg) << cfg.error().message();
  const ServerTlsConfig& t = cfg->server.http_tls_config;
  EXPECT_EQ(cfg->server.http_listen_address, "127.0.0.1");
  EXPECT_EQ(t.cert_file, "/new.crt");
  EXPECT_EQ(t.key_file, "/new.key");
  EXPECT_EQ(t.client_auth_type, "VerifyClientCertIfGiven");
  EXPECT_EQ(t.client_ca_file, "/ca.crt");
  EXPECT_EQ(cfg->server.tls_min_version, "VersionTLS13");
  // Taken so a Promtail command line starts; named at start as not applied.
  EXPECT_EQ(cfg->ignored_keys, (std::vector<std::string>{"-server.tls-cipher-suites"}));

  // A combination the flags leave incomplete names the setting and its flag.
  Result<Config> verify_without_ca =
      LoadConfig(*ParseFlags({file, "-server.http-tls-client-auth=RequireAndVerifyClientCert"}));
  ASSERT_FALSE(verify_without_ca);
  EXPECT_EQ(verify_without_ca.error().message(),
            "-server.http-tls-ca-path (server.http_tls_config.client_ca_file): is required with "
            "client_auth_type RequireAndVerifyClientCert");
  Result<Config> key_without_cert =
      LoadConfig(*ParseFlags({"-server.http-tls-key-path=/k.key", "-dry-run"}));
  ASSERT_FALSE(key_without_cert);
  EXPECT_EQ(key_without_cert.error().message(),
            "-server.http-tls-key-path (server.http_tls_config.key_file): cert_file and key_file "
            "must be set together");
}

TEST(LoadConfig, HoldingFlagsOverrideTheYamlFile) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.yaml",
                     "clients: [{url: 'http://a:3100/loki/api/v1/push'}]\n"
                     "positions: {filename: /p.json, held_dir: /a, held_max_bytes: 1MiB}\n"
                     "target_config: {symlink_roots: [/x]}\n");
  Result<Flags> f = ParseFlags({"-config.file=" + (dir / "c.yaml"), "-positions.held-dir=off",
                                "-positions.held-max-bytes=4096", "-target-config.symlink-roots="});
  ASSERT_TRUE(f) << f.error().message();
  Result<Config> cfg = LoadConfig(*f);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->positions.held_dir, "off");
  EXPECT_EQ(cfg->positions.held_max_bytes, 4096);
  EXPECT_TRUE(cfg->target_config.symlink_roots.empty());  // "": follow links anywhere
}

TEST(LoadConfig, ClientUrlReplacesTheBuiltInClient) {
  Flags f;
  f.client_url = "http://loki.example:3100/loki/api/v1/push";
  f.http_listen_port = 0;
  Result<Config> cfg = LoadConfig(f);
  ASSERT_TRUE(cfg) << cfg.error().message();
  ASSERT_EQ(cfg->clients.size(), 1u);
  EXPECT_EQ(cfg->clients[0].url, "http://loki.example:3100/loki/api/v1/push");
  EXPECT_EQ(cfg->server.http_listen_port, 0);
}

// Promtail's deprecated `client:` block and -client.url are one client there (its
// client.Config.UnmarshalYAML keeps the flag's url): a block without url takes the flag's, a
// block's url gives way to the flag, and the flag adds no second client (which would push every
// entry twice).
TEST(LoadConfig, ClientUrlIsTheUrlOfTheDeprecatedClientBlock) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.yaml",
                     "clients: [{url: 'http://a:3100/loki/api/v1/push'}]\n"
                     "client:\n  batchsize: 4096\n  timeout: 3s\n");
  Flags f;
  f.config_file = dir / "c.yaml";
  Result<Config> without = LoadConfig(f);
  ASSERT_FALSE(without);
  EXPECT_NE(
      without.error().message().find("c.yaml:3:3: client.url: is required: the Loki push URL, e.g. "
                                     "http://loki:3100/loki/api/v1/push (or pass -client.url)"),
      std::string::npos)
      << without.error().message();

  f.client_url = "loki:3100";  // the flag's mistake is named as the flag's, not the file's
  Result<Config> bad = LoadConfig(f);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message().rfind("-client.url: ", 0), 0u) << bad.error().message();

  f.client_url = "http://flag:3100/loki/api/v1/push";
  f.client_tenant_id = "team-a";
  Result<Config> cfg = LoadConfig(f);
  ASSERT_TRUE(cfg) << cfg.error().message();
  ASSERT_EQ(cfg->clients.size(), 2u);
  EXPECT_EQ(cfg->clients[0].url, "http://a:3100/loki/api/v1/push");
  EXPECT_EQ(cfg->clients[0].tenant_id, "");
  EXPECT_EQ(cfg->clients[1].url, "http://flag:3100/loki/api/v1/push");
  EXPECT_EQ(cfg->clients[1].batchsize, 4096);  // the block's own keys stay
  EXPECT_EQ(cfg->clients[1].timeout, std::chrono::seconds(3));
  EXPECT_EQ(cfg->clients[1].tenant_id, "team-a");

  testing::WriteFile(dir / "c.yaml", "client:\n  url: http://file:3100/loki/api/v1/push\n");
  Result<Config> both = LoadConfig(f);
  ASSERT_TRUE(both) << both.error().message();
  ASSERT_EQ(both->clients.size(), 1u);
  EXPECT_EQ(both->clients[0].url, "http://flag:3100/loki/api/v1/push");  // flags win
}

// A config written for -config.expand-env=true fails without it at its first ${VAR} that does
// not parse; the error says which flag was missing (Promtail's error does not).
TEST(LoadConfig, AnErrorAtAnEnvironmentReferenceNamesExpandEnv) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.yaml",
                     "server:\n  http_listen_port: ${PORT}\n"
                     "clients: [{url: 'http://a:3100/loki/api/v1/push'}]\n");
  Flags f;
  f.config_file = dir / "c.yaml";
  Result<Config> cfg = LoadConfig(f);
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message().find(
                "c.yaml:2:21: server.http_listen_port: expected an integer, got \"${PORT}\" (the "
                "line has a ${VAR} reference: pass -config.expand-env=true to expand environment "
                "variables)"),
            std::string::npos)
      << cfg.error().message();
  // A regex group is no such reference.
  testing::WriteFile(dir / "c.yaml", "server:\n  http_listen_port: ${1}\n");
  Result<Config> group = LoadConfig(f);
  ASSERT_FALSE(group);
  EXPECT_EQ(group.error().message().find("expand-env"), std::string::npos)
      << group.error().message();
  // A bare $VAR is left as written by the expansion (Promtail's too): the hint says to brace it,
  // with the flag given or not. "$$VAR" is a literal dollar.
  testing::WriteFile(dir / "c.yaml", "clients:\n  - url: $LOKI_URL\n");
  for (bool expand : {false, true}) {
    f.expand_env = expand;
    Result<Config> bare = LoadConfig(f);
    ASSERT_FALSE(bare);
    EXPECT_NE(bare.error().message().find(
                  "c.yaml:2:10: clients[0].url: must start with http:// or https:// (the line has "
                  "a $VAR reference: -config.expand-env=true expands ${VAR} only, as Promtail's "
                  "does; write ${VAR})"),
              std::string::npos)
        << bare.error().message();
  }
  // Beside an expanded ${VAR} too.
  f.expand_env = true;
  ::setenv("SKIDDER_TEST_HOST", "loki", 1);
  testing::WriteFile(dir / "c.yaml", "clients:\n  - url: 'http://${SKIDDER_TEST_HOST}:$PORT/p'\n");
  Result<Config> mixed = LoadConfig(f);
  ASSERT_FALSE(mixed);
  EXPECT_NE(mixed.error().message().find("a $VAR reference"), std::string::npos)
      << mixed.error().message();
  f.expand_env = false;
  testing::WriteFile(dir / "c.yaml", "clients:\n  - url: $$LOKI_URL\n");
  Result<Config> literal = LoadConfig(f);
  ASSERT_FALSE(literal);
  EXPECT_EQ(literal.error().message().find("$VAR"), std::string::npos) << literal.error().message();
  // An error elsewhere says nothing of it, nor does one with the flag given.
  testing::WriteFile(dir / "c.yaml",
                     "server:\n  http_listen_port: x\n"
                     "clients: [{url: 'http://${HOST}:3100/loki/api/v1/push'}]\n");
  Result<Config> elsewhere = LoadConfig(f);
  ASSERT_FALSE(elsewhere);
  EXPECT_EQ(elsewhere.error().message().find("expand-env"), std::string::npos)
      << elsewhere.error().message();
  f.expand_env = true;
  testing::WriteFile(dir / "c.yaml", "clients: [{url: 'http://${SKIDDER_TEST_UNSET_HOST}/p'}]\n");
  Result<Config> expanded = LoadConfig(f);
  ASSERT_FALSE(expanded);
  EXPECT_EQ(expanded.error().message().find("expand-env"), std::string::npos)
      << expanded.error().message();
}

// A `clients:` entry needs its own url: the flag is a client of its own there.
TEST(LoadConfig, ClientUrlAddsAClientBesideTheClientsList) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.yaml", "clients: [{batchsize: 4096}]\n");
  Flags f;
  f.config_file = dir / "c.yaml";
  f.client_url = "http://flag:3100/loki/api/v1/push";
  Result<Config> cfg = LoadConfig(f);
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message().find("clients[0].url: is required: the Loki push URL, e.g. "
                                       "http://loki:3100/loki/api/v1/push"),
            std::string::npos)
      << cfg.error().message();
  EXPECT_EQ(cfg.error().message().find("-client.url"), std::string::npos) << cfg.error().message();
}

TEST(LoadConfig, TenantAndLabelFlagsWithoutUrlApplyToEveryClient) {
  testing::TempDir dir;
  testing::WriteFile(dir / "c.yaml",
                     "clients:\n  - url: http://a/p\n    external_labels: {env: prod, dc: x}\n"
                     "  - url: http://b/p\n");
  Flags f;
  f.config_file = dir / "c.yaml";
  f.client_tenant_id = "t";
  f.client_external_labels = "env=dev";
  Result<Config> cfg = LoadConfig(f);
  ASSERT_TRUE(cfg) << cfg.error().message();
  ASSERT_EQ(cfg->clients.size(), 2u);
  EXPECT_EQ(cfg->clients[0].tenant_id, "t");
  // As Promtail: a label the file sets for a client keeps the file's value.
  EXPECT_EQ(cfg->clients[0].external_labels, (Labels{{"dc", "x"}, {"env", "prod"}}));
  EXPECT_EQ(cfg->clients[1].external_labels, (Labels{{"env", "dev"}}));
}

constexpr const char* kSecretConfig = R"(clients:
  - url: https://user42:urlpass-123@logs.example.com/loki/api/v1/push
    basic_auth:
      username: grafana-user
      password: hunter2-basic
    headers:
      Authorization: Bearer header-token-xyz
      X-Scope-OrgID: tenant-1
  - url: http://loki:3100/loki/api/v1/push?token=query-token-321&tenant=a
    bearer_token: bearer-abc-789
    proxy_url: http://proxy:3128/?api_key=proxy-key-654
scrape_configs:
  - job_name: pods
    kubernetes_sd_configs:
      - role: pod
        bearer_token: k8s-token-456
    relabel_configs:
      - {source_labels: [__meta_kubernetes_pod_uid], target_label: __path__,
         replacement: '/var/log/pods/*$1/*.log'}
    pipeline_stages:
      - cri: {}
      - match: {selector: '{app="x"}', stages: [{drop: {expression: '.*debug.*'}}]}
)";

TEST(DumpConfig, HidesEverySecret) {
  Result<Config> cfg = ParseConfig(kSecretConfig, "s.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  std::string dump = DumpConfig(*cfg);
  for (const char* secret :
       {"urlpass-123", "user42", "hunter2-basic", "header-token-xyz", "bearer-abc-789",
        "k8s-token-456", "query-token-321", "proxy-key-654"}) {
    EXPECT_EQ(dump.find(secret), std::string::npos) << secret << " leaked:\n" << dump;
  }
  EXPECT_NE(dump.find("https://<secret>@logs.example.com/loki/api/v1/push"), std::string::npos)
      << dump;
  EXPECT_NE(dump.find("/loki/api/v1/push?token=<secret>&tenant=<secret>"), std::string::npos)
      << dump;
  EXPECT_NE(dump.find("grafana-user"), std::string::npos) << "usernames stay visible";
  EXPECT_NE(dump.find("tenant-1"), std::string::npos) << "harmless headers stay visible";
}

TEST(DumpConfig, ParsesBackToTheSameConfig) {
  Result<Config> cfg = ParseConfig(kSecretConfig, "s.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  std::string dump = DumpConfig(*cfg);
  Result<Config> again = ParseConfig(dump, "dump.yaml", false);
  ASSERT_TRUE(again) << again.error().message() << "\n" << dump;
  EXPECT_EQ(DumpConfig(*again), dump);
  EXPECT_EQ(again->scrape_configs[0].pipeline_stages.size(), 2u);
  EXPECT_EQ(again->scrape_configs[0].pipeline_stages[1].type, "match");
}

TEST(DumpConfig, WritesGoDurations) {
  Config cfg;
  cfg.clients.emplace_back();
  cfg.clients[0].url = "http://l/p";
  cfg.clients[0].batchwait = 1500ms;
  cfg.clients[0].backoff_config.max_period = 1h + 2min + 3s;
  std::string dump = DumpConfig(cfg);
  EXPECT_NE(dump.find("batchwait: 1.5s"), std::string::npos) << dump;
  EXPECT_NE(dump.find("max_period: 1h2m3s"), std::string::npos) << dump;
  EXPECT_NE(dump.find("min_period: 500ms"), std::string::npos) << dump;
}

}  // namespace
}  // namespace skidder::config
