// server.http_tls_config with the real binary: /metrics served over HTTPS only, and a push API
// that takes pushes only from clients holding a certificate of the configured CA
// (RequireAndVerifyClientCert), as Promtail's dskit server does.
#include <fmt/format.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>

#include "harness.h"
#include "support/push_client.h"
#include "support/raw_client.h"
#include "support/syslog_client.h"

namespace skidder::testing {
namespace {

using namespace std::chrono_literals;

class Https : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    MakeDirs(dir_ / "ours");
    MakeDirs(dir_ / "foreign");
    ours_ = MakeTestCerts(dir_ / "ours");
    foreign_ = MakeTestCerts(dir_ / "foreign");
  }

  // An HTTPS client that checks the agent's certificate against our CA (or trusted's); cert: a
  // client certificate to present, or none.
  std::unique_ptr<httplib::SSLClient> Client(int port, const TestCerts* cert,
                                             const TestCerts* trusted = nullptr) const {
    auto c = cert ? std::make_unique<httplib::SSLClient>("127.0.0.1", port, cert->client_cert,
                                                         cert->client_key)
                  : std::make_unique<httplib::SSLClient>("127.0.0.1", port);
    c->set_ca_cert_path((trusted ? trusted : &ours_)->ca.c_str());
    c->enable_server_certificate_verification(true);
    c->set_connection_timeout(20s);
    c->set_read_timeout(20s);
    return c;
  }

  int Push(int port, const TestCerts* cert, const std::string& line) const {
    ReceivedEntry e;
    e.labels = R"({source="tls"})";
    e.timestamp_ns = 1'700'000'000'000'000'000;
    e.line = line;
    auto r = Client(port, cert)->Post("/loki/api/v1/push", JsonPushBody({e}), "application/json");
    return r ? r->status : 0;
  }

  // The agent's server on HTTPS with our certificate and key_file, a client to the fake Loki,
  // then `jobs` (YAML under scrape_configs).
  std::string Config(const std::string& key_file, const std::string& jobs) const {
    return fmt::format(R"(server:
  http_listen_address: 127.0.0.1
  http_listen_port: 0
  http_tls_config:
    cert_file: {cert}
    key_file: {key}
positions:
  filename: {positions}
clients:
  - url: {url}
    batchwait: 50ms
scrape_configs:
{jobs})",
                       fmt::arg("cert", ours_.server_cert), fmt::arg("key", key_file),
                       fmt::arg("positions", positions_file()), fmt::arg("url", loki_.url()),
                       fmt::arg("jobs", jobs));
  }

  TestCerts ours_, foreign_;
};

TEST_F(Https, MetricsAndThePushApiServeTlsAndThePushApiChecksClientCertificates) {
  const std::string yaml = Config(
      ours_.server_key, fmt::format(R"(  - job_name: push
    loki_push_api:
      server:
        http_listen_address: 127.0.0.1
        http_listen_port: 0
        http_tls_config:
          cert_file: {cert}
          key_file: {key}
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: {ca}
)",
                                    fmt::arg("cert", ours_.server_cert),
                                    fmt::arg("key", ours_.server_key), fmt::arg("ca", ours_.ca)));
  WriteFile(dir_ / "skidder.yaml", yaml);
  StartAgent(dir_ / "skidder.yaml");
  const std::optional<int> pushed_to = PushPort(agent_, "push");
  ASSERT_TRUE(pushed_to.has_value()) << agent_.Stderr();
  const int push_port = *pushed_to;
  const std::string err = agent_.Stderr();
  EXPECT_NE(err.find(fmt::format("job=push port={} scheme=https", push_port)), std::string::npos)
      << err;
  EXPECT_NE(err.find("scheme=https max_connections="), std::string::npos) << err;
  const int metrics_port = *agent_.MetricsPort();

  auto metrics = Client(metrics_port, nullptr)->Get("/metrics");
  ASSERT_TRUE(metrics) << "no HTTPS answer from /metrics";
  EXPECT_EQ(metrics->status, 200);
  EXPECT_NE(metrics->body.find("promtail_"), std::string::npos);
  EXPECT_NE(Request(metrics_port, "GET", "/metrics", 10s).status, 200) << "served plain HTTP";

  EXPECT_EQ(Push(push_port, nullptr, "no certificate"), 403);
  EXPECT_EQ(Push(push_port, &foreign_, "another CA's certificate"), 403);
  EXPECT_EQ(Push(push_port, &ours_, "our CA's certificate"), 204);
  ASSERT_TRUE(WaitFor([&] {
    auto lines = loki_.Lines();
    return std::find(lines.begin(), lines.end(), "our CA's certificate") != lines.end();
  }));
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"our CA's certificate"});
}

// Alloy's http { tls { ... } } block: the same HTTPS server for an Alloy config.
TEST_F(Https, AnAlloyHttpTlsBlockServesTheAgentsPortOverHttps) {
  const std::string alloy = fmt::format(
      R"(http {{
  tls {{
    cert_file   = "{cert}"
    key_file    = "{key}"
    min_version = "TLS12"
  }}
}}
loki.source.file "files" {{
  targets    = [{{"__path__" = "{dir}/logs/*.log"}}]
  forward_to = [loki.write.default.receiver]
}}
loki.write "default" {{
  endpoint {{ url = "{url}" }}
}}
)",
      fmt::arg("cert", ours_.server_cert), fmt::arg("key", ours_.server_key),
      fmt::arg("dir", dir_.path()), fmt::arg("url", loki_.url()));
  WriteFile(dir_ / "config.alloy", alloy);
  StartAgent(dir_ / "config.alloy",
             {"-server.http-listen-port=0", "-positions.file=" + positions_file()});
  const int port = *agent_.MetricsPort();
  auto ready = Client(port, nullptr)->Get("/ready");
  ASSERT_TRUE(ready) << "no HTTPS answer from /ready\n" << agent_.Stderr();
  EXPECT_EQ(ready->status, 200);
  EXPECT_NE(Request(port, "GET", "/ready", 10s).status, 200) << "served plain HTTP";
}

// Alloy's loki.source.api with http > tls_config: the push API over HTTPS, for senders with a
// client certificate of the configured CA only.
TEST_F(Https, AnAlloyApiSourceWithTlsConfigTakesPushesOnlyWithAClientCertificate) {
  const std::string alloy = fmt::format(
                                R"(loki.source.api "push" {{
  http {{
    listen_address = "127.0.0.1"
    listen_port    = 0
    tls_config {{
      cert_file        = "{cert}"
      key_file         = "{key}"
      client_auth_type = "RequireAndVerifyClientCert"
      client_ca_file   = "{ca}"
    }}
  }}
  forward_to = [loki.write.default.receiver]
}}
)",
                                fmt::arg("cert", ours_.server_cert),
                                fmt::arg("key", ours_.server_key), fmt::arg("ca", ours_.ca)) +
                            AlloyWrite();
  WriteFile(dir_ / "config.alloy", alloy);
  StartAgent(dir_ / "config.alloy",
             {"-server.http-listen-port=0", "-positions.file=" + positions_file()});
  const std::optional<int> port = PushPort(agent_, "push");
  ASSERT_TRUE(port.has_value()) << agent_.Stderr();
  EXPECT_EQ(Push(*port, nullptr, "no certificate"), 403);
  EXPECT_EQ(Push(*port, &foreign_, "another CA's certificate"), 403);
  EXPECT_EQ(Push(*port, &ours_, "over alloy's tls_config"), 204);
  ASSERT_TRUE(loki_.WaitForLines(1)) << agent_.Stderr();
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"over alloy's tls_config"});
}

// Promtail's -server.http-tls-* flags over an Alloy config with no http block (how the chart
// serves HTTPS), and a certificate renewed in place as cert-manager does it: a new Secret
// version swapped in, served to the next connection without a reload.
TEST_F(Https, TheTlsFlagsServeHttpsAndARenewedCertificateIsServedWithoutAReload) {
  const std::string alloy = fmt::format(
      R"(loki.source.file "files" {{
  targets    = [{{"__path__" = "{dir}/logs/*.log"}}]
  forward_to = [loki.write.default.receiver]
}}
loki.write "default" {{
  endpoint {{ url = "{url}" }}
}}
)",
      fmt::arg("dir", dir_.path()), fmt::arg("url", loki_.url()));
  WriteFile(dir_ / "config.alloy", alloy);
  // A Secret volume: the files are links through ..data, which an update points elsewhere.
  const std::string tls = dir_ / "tls";
  MakeDirs(tls + "/v1");
  MakeDirs(tls + "/v2");
  WriteFile(tls + "/v1/tls.crt", ReadFile(ours_.server_cert));
  WriteFile(tls + "/v1/tls.key", ReadFile(ours_.server_key));
  WriteFile(tls + "/v2/tls.crt", ReadFile(foreign_.server_cert));
  WriteFile(tls + "/v2/tls.key", ReadFile(foreign_.server_key));
  ASSERT_EQ(symlink("v1", (tls + "/..data").c_str()), 0);
  ASSERT_EQ(symlink("..data/tls.crt", (tls + "/tls.crt").c_str()), 0);
  ASSERT_EQ(symlink("..data/tls.key", (tls + "/tls.key").c_str()), 0);
  StartAgent(
      dir_ / "config.alloy",
      {"-server.http-listen-port=0", "-positions.file=" + positions_file(),
       "-server.http-listen-address=127.0.0.1", "-server.http-tls-cert-path=" + tls + "/tls.crt",
       "-server.http-tls-key-path=" + tls + "/tls.key", "-server.tls-min-version=VersionTLS12"});
  const int port = *agent_.MetricsPort();
  auto ready = Client(port, nullptr)->Get("/ready");
  ASSERT_TRUE(ready) << "no HTTPS answer from /ready\n" << agent_.Stderr();
  EXPECT_EQ(ready->status, 200);
  EXPECT_NE(Request(port, "GET", "/ready", 10s).status, 200) << "served plain HTTP";
  EXPECT_FALSE(Client(port, nullptr, &foreign_)->Get("/ready")) << "the renewed one, already";

  ASSERT_EQ(symlink("v2", (tls + "/..data_tmp").c_str()), 0);
  ASSERT_EQ(rename((tls + "/..data_tmp").c_str(), (tls + "/..data").c_str()), 0);
  auto renewed = Client(port, nullptr, &foreign_)->Get("/ready");
  ASSERT_TRUE(renewed) << "the renewed certificate is not served\n" << agent_.Stderr();
  EXPECT_EQ(renewed->status, 200);
  EXPECT_FALSE(Client(port, nullptr)->Get("/ready")) << "still the old certificate";
  EXPECT_NE(agent_.Stderr().find("HTTPS certificate files changed; new connections use them"),
            std::string::npos)
      << agent_.Stderr();
}

// The certificate is read before a reload stops the running config: one that cannot serve
// refuses the reload, and the agent goes on serving with the certificate it has.
TEST_F(Https, AReloadWithAnUnusableCertificateIsRefusedAndTheOldOneKeepsServing) {
  const std::string jobs = fmt::format(R"(  - job_name: files
    static_configs:
      - labels: {{__path__: {}/logs/*.log}}
)",
                                       dir_.path());
  auto config = [&](const std::string& key) { return Config(key, jobs); };
  const std::string path = dir_ / "skidder.yaml";
  WriteFile(path, config(ours_.server_key));
  StartAgent(path);
  const int port = *agent_.MetricsPort();
  WriteFile(path, config(ours_.client_key));  // not the certificate's key
  kill(agent_.pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("reload refused, old config kept") != std::string::npos;
  })) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("are not a PEM certificate and its private key"),
            std::string::npos)
      << agent_.Stderr();
  // Refused before anything stopped, not stopped and then restarted from memory.
  EXPECT_EQ(agent_.Stderr().find("previous config restarted"), std::string::npos)
      << agent_.Stderr();
  const std::string err = agent_.Stderr();
  const size_t first = err.find("msg=\"serving metrics\"");
  EXPECT_EQ(err.find("msg=\"serving metrics\"", first + 1), std::string::npos)
      << "the server was started again\n"
      << err;
  auto ready = Client(port, nullptr)->Get("/ready");
  ASSERT_TRUE(ready) << "no HTTPS answer after the refused reload\n" << agent_.Stderr();
  EXPECT_EQ(ready->status, 200);
  ASSERT_TRUE(agent_.Running());
}

// Named as the Alloy config says it: http.tls, not Promtail's server.http_tls_config.
TEST_F(Https, AnUnreadableCertificateOfAnAlloyConfigIsNamedAsItsBlock) {
  WriteFile(dir_ / "config.alloy",
            fmt::format(R"(http {{
  tls {{
    cert_file = "{dir}/missing.crt"
    key_file  = "{key}"
  }}
}}
loki.write "default" {{
  endpoint {{ url = "{url}" }}
}}
)",
                        fmt::arg("dir", dir_.path()), fmt::arg("key", ours_.server_key),
                        fmt::arg("url", loki_.url())));
  ASSERT_TRUE(agent_.Start({"-config.file=" + dir_ / "config.alloy", "-server.http-listen-port=0",
                            "-positions.file=" + positions_file()}));
  ASSERT_TRUE(WaitFor([&] { return !agent_.Running(); }, 30s)) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("http.tls.cert_file: cannot read " + dir_ / "missing.crt" +
                                 ": No such file or directory"),
            std::string::npos)
      << agent_.Stderr();
}

// A push server's certificate of an Alloy config: the error names the component where the file
// declares it, not the scrape config skidder made of it.
TEST_F(Https, AnUnreadablePushCertificateOfAnAlloyConfigNamesItsComponent) {
  WriteFile(dir_ / "config.alloy",
            fmt::format(R"(loki.write "default" {{
  endpoint {{ url = "{url}" }}
}}
loki.source.api "push" {{
  http {{
    listen_port = 0
    tls_config {{
      cert_file = "{dir}/missing.crt"
      key_file  = "{key}"
    }}
  }}
  forward_to = [loki.write.default.receiver]
}}
)",
                        fmt::arg("dir", dir_.path()), fmt::arg("key", ours_.server_key),
                        fmt::arg("url", loki_.url())));
  ASSERT_TRUE(agent_.Start({"-config.file=" + dir_ / "config.alloy", "-server.http-listen-port=0",
                            "-positions.file=" + positions_file()}));
  ASSERT_TRUE(WaitFor([&] { return !agent_.Running(); }, 30s)) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find(dir_ / "config.alloy" +
                                 ":4:1: loki.source.api.push: http.tls_config.cert_file: cannot "
                                 "read " +
                                 dir_ / "missing.crt"),
            std::string::npos)
      << agent_.Stderr();
}

TEST_F(Https, AnUnreadableCertificateStopsTheStartWithItsPath) {
  const std::string yaml = fmt::format(
      R"(server:
  http_listen_port: 0
  http_tls_config:
    cert_file: {dir}/missing.crt
    key_file: {key}
positions:
  filename: {positions}
clients:
  - url: {url}
scrape_configs:
  - job_name: files
    static_configs:
      - labels: {{__path__: {dir}/logs/*.log}}
)",
      fmt::arg("dir", dir_.path()), fmt::arg("key", ours_.server_key),
      fmt::arg("positions", positions_file()), fmt::arg("url", loki_.url()));
  WriteFile(dir_ / "skidder.yaml", yaml);
  ASSERT_TRUE(agent_.Start({"-config.file=" + dir_ / "skidder.yaml"}));
  ASSERT_TRUE(WaitFor([&] { return !agent_.Running(); }, 30s)) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("server.http_tls_config.cert_file: cannot read " +
                                 dir_ / "missing.crt" + ": No such file or directory"),
            std::string::npos)
      << agent_.Stderr();
}

}  // namespace
}  // namespace skidder::testing
