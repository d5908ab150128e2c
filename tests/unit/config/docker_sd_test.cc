// docker_sd_configs as Prometheus and Promtail read them: defaults, every key, and mistakes
// refused with file:line:column.
#include <gtest/gtest.h>

#include <chrono>

#include "config/loader.h"

namespace skidder::config {
namespace {

using namespace std::chrono_literals;

TEST(DockerSdConfig, ReadsEveryKeyWithPrometheusDefaults) {
  Result<Config> cfg = ParseConfig(R"(scrape_configs:
  - job_name: docker
    docker_sd_configs:
      - host: unix:///var/run/docker.sock
      - host: https://docker.internal:2376
        port: 9100
        host_networking_host: docker.internal
        refresh_interval: 5s
        match_first_network: false
        filters:
          - name: label
            values: [logging=on]
          - name: status
            values: running
        basic_auth: {username: u, password: p}
        tls_config: {ca_file: /ca.pem}
        follow_redirects: false
        enable_http2: false
      - host: tcp://127.0.0.1:2375
        bearer_token: secret
)",
                                   "cfg.yaml", false);
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
  const auto& d = cfg->scrape_configs.at(0).docker_sd_configs;
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].host, "unix:///var/run/docker.sock");
  EXPECT_EQ(d[0].port, 80);
  EXPECT_EQ(d[0].host_networking_host, "localhost");
  EXPECT_EQ(d[0].refresh_interval, 60s);
  EXPECT_TRUE(d[0].match_first_network);
  EXPECT_EQ(d[1].port, 9100);
  EXPECT_EQ(d[1].refresh_interval, 5s);
  EXPECT_FALSE(d[1].match_first_network);
  ASSERT_EQ(d[1].filters.size(), 2u);
  EXPECT_EQ(d[1].filters[0].first, "label");
  EXPECT_EQ(d[1].filters[0].second, std::vector<std::string>{"logging=on"});
  EXPECT_EQ(d[1].filters[1].second, std::vector<std::string>{"running"});
  ASSERT_TRUE(d[1].basic_auth.has_value());
  EXPECT_EQ(d[1].basic_auth->password, "p");
  EXPECT_EQ(d[1].tls_config.ca_file, "/ca.pem");
  EXPECT_FALSE(d[1].follow_redirects);
  EXPECT_FALSE(d[1].enable_http2);
  ASSERT_TRUE(d[2].authorization.has_value());
  EXPECT_EQ(d[2].authorization->type, "Bearer");
  EXPECT_EQ(d[2].authorization->credentials, "secret");
}

// Promtail's file target manager takes a scrape config with static_configs (or file or
// Kubernetes discovery) and ignores its docker_sd_configs: the job reads its files, with a
// warning where docker_sd_configs is.
TEST(DockerSd, BesideStaticConfigsItIsIgnoredAsPromtailIgnoresIt) {
  Result<Config> cfg = ParseConfig(
      "scrape_configs:\n  - job_name: j\n    docker_sd_configs: [{host: tcp://h:1}]\n"
      "    static_configs: [{labels: {__path__: /a}}]\n",
      "cfg.yaml", false);
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
  ASSERT_EQ(cfg->scrape_configs.size(), 1u);
  EXPECT_TRUE(cfg->scrape_configs[0].docker_sd_configs.empty());
  EXPECT_EQ(cfg->scrape_configs[0].static_configs.size(), 1u);
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_EQ(cfg->warnings[0],
            "cfg.yaml:3:24: scrape_configs[0].docker_sd_configs: ignored beside static_configs, "
            "file_sd_configs or kubernetes_sd_configs, as Promtail ignores it: this scrape config "
            "reads files (move docker_sd_configs to a scrape config of its own to read containers "
            "through the Docker API)");
}

struct DockerSdCase {
  const char* name;
  const char* yaml;
  const char* error;
};

class DockerSdErrors : public ::testing::TestWithParam<DockerSdCase> {};

TEST_P(DockerSdErrors, AreRefusedWithTheirPosition) {
  Result<Config> cfg = ParseConfig(GetParam().yaml, "cfg.yaml", false);
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().message(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    All, DockerSdErrors,
    ::testing::Values(
        DockerSdCase{
            "NoHost", "scrape_configs:\n  - job_name: j\n    docker_sd_configs: [{port: 1}]\n",
            "cfg.yaml:3:25: scrape_configs[0].docker_sd_configs[0].host: is required (e.g. "
            "unix:///var/run/docker.sock)"},
        DockerSdCase{
            "BadScheme",
            "scrape_configs:\n  - job_name: j\n    docker_sd_configs: [{host: /var/run/x}]\n",
            "cfg.yaml:3:32: scrape_configs[0].docker_sd_configs[0].host: \"/var/run/x\" is "
            "not a unix://, tcp://, http:// or https:// address"},
        DockerSdCase{"OAuth2WithoutTokenUrl",
                     "scrape_configs:\n  - job_name: j\n    docker_sd_configs:\n"
                     "      - {host: unix:///d.sock, oauth2: {client_id: x}}\n",
                     "cfg.yaml:4:40: scrape_configs[0].docker_sd_configs[0].oauth2.token_url: is "
                     "required: the OAuth2 token endpoint"},
        DockerSdCase{
            "UnknownKey",
            "scrape_configs:\n  - job_name: j\n    docker_sd_configs: [{host: tcp://h:1, "
            "hots: x}]\n",
            "cfg.yaml:3:43: scrape_configs[0].docker_sd_configs[0]: unknown key \"hots\" (did "
            "you mean \"host\"?)"}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace skidder::config
