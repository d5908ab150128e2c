// The common HTTP client settings (basic auth, tokens, authorization, OAuth2, proxies, TLS,
// redirects) read the same way on clients, kubernetes_sd_configs and docker_sd_configs, and
// dumped with their secrets hidden.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "config/loader.h"
#include "support/test_certs.h"

namespace skidder::config {
namespace {

constexpr const char* kOAuth2 = R"(
        oauth2:
          client_id: id
          client_secret: s3cret-value
          token_url: https://auth.example/token
          scopes: [a]
          endpoint_params: {audience: api}
          proxy_url: http://tokproxy:3128
          proxy_connect_header: {Proxy-Authorization: [Basic tokproxy-pass]}
        proxy_url: http://proxy:3128
        no_proxy: 10.0.0.1
        proxy_connect_header:
          Proxy-Authorization: Basic pr0xy-pass
          X-Two: [one, two]
        follow_redirects: false
)";

// One block of settings, indented for each place it may appear.
std::string Indented(int spaces) {
  std::string out, line, text = kOAuth2;
  size_t pos = 1;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    out += std::string(spaces, ' ') + text.substr(pos + 8, nl - pos - 8) + "\n";
    pos = nl + 1;
  }
  return out;
}

Result<Config> ParseEverywhere() {
  std::string yaml = "clients:\n  - url: http://loki/p\n" + Indented(4) +
                     "scrape_configs:\n  - job_name: k\n    kubernetes_sd_configs:\n"
                     "      - role: pod\n        api_server: https://kube:6443\n" +
                     Indented(8) +
                     "  - job_name: d\n    docker_sd_configs:\n"
                     "      - host: https://docker:2376\n" +
                     Indented(8);
  return ParseConfig(yaml, "cfg.yaml", false);
}

void ExpectSettings(const HttpClientConfig& h) {
  ASSERT_TRUE(h.oauth2);
  EXPECT_EQ(h.oauth2->client_id, "id");
  EXPECT_EQ(h.oauth2->token_url, "https://auth.example/token");
  EXPECT_EQ(h.oauth2->proxy_url, "http://tokproxy:3128");
  EXPECT_EQ(h.oauth2->proxy_connect_header.at("Proxy-Authorization"),
            std::vector<std::string>{"Basic tokproxy-pass"});
  EXPECT_EQ(h.proxy_url, "http://proxy:3128");
  EXPECT_EQ(h.no_proxy, "10.0.0.1");
  EXPECT_EQ(h.proxy_connect_header.at("Proxy-Authorization"),
            std::vector<std::string>{"Basic pr0xy-pass"});
  EXPECT_EQ(h.proxy_connect_header.at("X-Two"), (std::vector<std::string>{"one", "two"}));
  EXPECT_FALSE(h.follow_redirects);
}

TEST(HttpClientConfig, OAuth2AndProxySettingsAreReadAlikeOnClientsKubernetesAndDocker) {
  Result<Config> cfg = ParseEverywhere();
  ASSERT_TRUE(cfg) << cfg.error().message();
  ExpectSettings(cfg->clients.at(0));
  ExpectSettings(cfg->scrape_configs.at(0).kubernetes_sd_configs.at(0));
  ExpectSettings(cfg->scrape_configs.at(1).docker_sd_configs.at(0));
}

TEST(HttpClientConfig, TheDumpHidesSecretsAndParsesBackToTheSameSettings) {
  Result<Config> cfg = ParseEverywhere();
  ASSERT_TRUE(cfg) << cfg.error().message();
  const std::string dump = DumpConfig(*cfg);
  for (const char* secret : {"s3cret-value", "pr0xy-pass", "tokproxy-pass"}) {
    EXPECT_EQ(dump.find(secret), std::string::npos) << secret << " in\n" << dump;
  }
  Result<Config> again = ParseConfig(dump, "dump.yaml", false);
  ASSERT_TRUE(again) << again.error().message() << "\n" << dump;
  for (const HttpClientConfig* h :
       {static_cast<const HttpClientConfig*>(&again->clients.at(0)),
        static_cast<const HttpClientConfig*>(&again->scrape_configs.at(0).kubernetes_sd_configs[0]),
        static_cast<const HttpClientConfig*>(&again->scrape_configs.at(1).docker_sd_configs[0])}) {
    ASSERT_TRUE(h->oauth2);
    EXPECT_EQ(h->oauth2->token_url, "https://auth.example/token");
    EXPECT_EQ(h->proxy_connect_header.at("X-Two").size(), 2u);
    EXPECT_EQ(h->no_proxy, "10.0.0.1");
    EXPECT_FALSE(h->follow_redirects);
  }
}

// Prometheus' inline PEM: read everywhere tls_config is, the key hidden in the dump.
// The PEM text of a YAML block scalar, indented.
std::string PemLines(const std::string& pem, size_t indent = 8) {
  std::string out;
  for (size_t start = 0; start < pem.size();) {
    size_t end = std::min(pem.find('\n', start), pem.size());
    out += std::string(indent, ' ') + pem.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

std::string InlineTls(const std::string& ca, const std::string& cert, const std::string& key) {
  return "clients:\n  - url: https://loki/p\n    tls_config:\n      ca: |\n" + PemLines(ca) +
         "      cert: |\n" + PemLines(cert) + "      key: |\n" + PemLines(key);
}

TEST(HttpClientConfig, InlinePemIsReadAndItsKeyHiddenInTheDump) {
  const testing::TestPem& pem = testing::SelfSignedPem();
  Result<Config> cfg = ParseConfig(InlineTls(pem.cert, pem.cert, pem.key), "cfg.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  const TlsConfig& t = cfg->clients.at(0).tls_config;
  EXPECT_EQ(t.ca, pem.cert);
  EXPECT_EQ(t.cert, pem.cert);
  EXPECT_EQ(t.key, pem.key);
  const std::string dump = DumpConfig(*cfg);
  EXPECT_EQ(dump.find("PRIVATE KEY"), std::string::npos) << dump;
  EXPECT_NE(dump.find("      key: <secret>\n"), std::string::npos) << dump;
}

// Parsed when the config is read (as Prometheus does), so a pasted or mis-indented PEM fails the
// start and -check-syntax, never quoting the text.
TEST(HttpClientConfig, InlinePemThatDoesNotParseIsRefusedWithoutQuotingIt) {
  const testing::TestPem& pem = testing::SelfSignedPem();
  auto error = [](const std::string& yaml) {
    Result<Config> cfg = ParseConfig(yaml, "cfg.yaml", false);
    return cfg ? std::string("loaded") : cfg.error().message();
  };
  std::string broken_key = pem.key;
  broken_key.replace(40, 8, "AAAAAAAA");
  const std::string bad = error(InlineTls(pem.cert, pem.cert, broken_key));
  EXPECT_NE(bad.find("clients[0].tls_config.key: is not a PEM private key"), std::string::npos)
      << bad;
  EXPECT_EQ(bad.find("AAAAAAAA"), std::string::npos) << bad;
  EXPECT_NE(error(InlineTls(pem.cert, pem.cert, pem.other_key))
                .find("clients[0].tls_config.key: is not the private key of cert"),
            std::string::npos);
  EXPECT_NE(error(InlineTls("not a certificate\n", pem.cert, pem.key))
                .find("clients[0].tls_config.ca: holds no PEM certificate"),
            std::string::npos);
  EXPECT_NE(error(InlineTls(pem.cert, pem.key, pem.key))
                .find("clients[0].tls_config.cert: is not a PEM certificate"),
            std::string::npos);
  const std::string cert_only =
      InlineTls(pem.cert, pem.cert, "")
          .substr(0, InlineTls(pem.cert, pem.cert, "").find("      key: |"));
  EXPECT_NE(error(cert_only).find("clients[0].tls_config.cert: a client certificate (cert_file or "
                                  "cert) and its key (key_file or key) must be set together"),
            std::string::npos)
      << error(cert_only);
  // The syslog listener's OpenSSL context reads files only, as Promtail's.
  const std::string syslog =
      "scrape_configs:\n  - job_name: s\n    syslog:\n      listen_address: 127.0.0.1:1514\n"
      "      tls_config:\n        cert: |\n" +
      PemLines(pem.cert, 10) + "        key: |\n" + PemLines(pem.key, 10);
  EXPECT_NE(error(syslog).find("scrape_configs[0].syslog.tls_config: the syslog listener reads its "
                               "certificate from files: use cert_file, key_file and ca_file "
                               "instead of cert, key and ca"),
            std::string::npos)
      << error(syslog);
}

struct HttpClientCase {
  const char* name;
  const char* yaml;
  const char* error;
};

class HttpClientErrors : public ::testing::TestWithParam<HttpClientCase> {};

TEST_P(HttpClientErrors, AreRefusedWithTheirPosition) {
  Result<Config> cfg = ParseConfig(GetParam().yaml, "cfg.yaml", false);
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().message(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    All, HttpClientErrors,
    ::testing::Values(
        HttpClientCase{
            "ConnectHeaderWithoutProxy",
            "scrape_configs:\n  - job_name: j\n    docker_sd_configs:\n"
            "      - {host: http://d:1, proxy_connect_header: {A: b}}\n",
            "cfg.yaml:4:50: scrape_configs[0].docker_sd_configs[0].proxy_connect_header: "
            "applies only together with proxy_url or proxy_from_environment"},
        HttpClientCase{
            "ConnectHeaderWithCrLf",
            "clients:\n  - url: http://l/p\n    proxy_url: http://p:1\n"
            "    proxy_connect_header: {A: \"b\\r\\nX: y\"}\n",
            "cfg.yaml:4:27: clients[0].proxy_connect_header: invalid header \"A\" (CR, LF and "
            "NUL are not allowed)"},
        HttpClientCase{
            "KubernetesTwoWaysToAuthenticate",
            "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs:\n"
            "      - {role: pod, api_server: https://k:1, bearer_token: t,\n"
            "         oauth2: {client_id: i, token_url: http://t/}}\n",
            "cfg.yaml:5:18: scrape_configs[0].kubernetes_sd_configs[0].oauth2: set only one "
            "of basic_auth, bearer_token(_file), authorization and oauth2"},
        HttpClientCase{
            "KubernetesOAuth2BadTokenUrl",
            "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs:\n"
            "      - {role: pod, api_server: https://k:1,\n"
            "         oauth2: {client_id: i, token_url: ftp://t/}}\n",
            "cfg.yaml:5:44: scrape_configs[0].kubernetes_sd_configs[0].oauth2.token_url: must "
            "start with http:// or https://"},
        HttpClientCase{
            "InlineCaBesideCaFile",
            "clients:\n  - url: https://l/p\n    tls_config: {ca: x, ca_file: /ca.pem}\n",
            "cfg.yaml:3:22: clients[0].tls_config.ca: set either ca or ca_file, not both"},
        HttpClientCase{
            "CertFileWithoutKey",
            "clients:\n  - url: https://l/p\n    tls_config: {cert_file: /c.pem}\n",
            "cfg.yaml:3:29: clients[0].tls_config.cert_file: a client certificate (cert_file "
            "or cert) and its key (key_file or key) must be set together"},
        HttpClientCase{
            "KubernetesNonBearerAuthorization",
            "scrape_configs:\n  - job_name: j\n    kubernetes_sd_configs:\n"
            "      - {role: pod, api_server: https://k:1, authorization: {type: Token}}\n",
            "cfg.yaml:4:68: scrape_configs[0].kubernetes_sd_configs[0].authorization.type: "
            "only Bearer is supported on kubernetes_sd_configs, not \"Token\""}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace skidder::config
