// The common HTTP client settings on discovery, run by the real binary: kubernetes_sd_configs
// with an OAuth2 client-credentials token and through a CONNECT proxy with proxy_connect_header,
// and docker_sd_configs reading containers of a daemon served over TLS with a client certificate;
// tls_config with inline PEM (ca, cert, key) for the Loki client and both discoveries.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "harness.h"
#include "support/fake_docker_api.h"
#include "support/fake_kube_api.h"
#include "support/fake_proxy.h"
#include "support/fake_token_server.h"
#include "support/tls_front.h"

namespace skidder::testing {
namespace {

constexpr const char* kNode = R"({"metadata": {"name": "n1",
    "labels": {"topology.kubernetes.io/zone": "zone-a"}},
    "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.5"}]}})";

// A PEM file's text as a YAML block scalar's lines, indented by `indent` spaces.
std::string PemBlock(const std::string& path, int indent) {
  std::string out, text = ReadFile(path);
  for (size_t start = 0; start < text.size();) {
    size_t end = std::min(text.find('\n', start), text.size());
    out.append(indent, ' ').append(text, start, end - start).push_back('\n');
    start = end + 1;
  }
  return out;
}

class KubernetesAuth : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    MakeDirs(dir_ / "kube");
    api_ = std::make_unique<FakeKubeApi>(dir_ / "kube", "token-1");
    api_->AddObject("nodes", kNode);
  }
  // A node-role job whose targets carry the node's zone; settings: YAML lines (indented 8);
  // tls: the tls_config block (by default the API server's CA file).
  std::string Config(const std::string& settings, std::string tls = "") {
    if (tls.empty()) tls = fmt::format("        tls_config: {{ca_file: {}}}\n", api_->ca_file());
    return WriteConfig({.extra_top = fmt::format(R"(  - job_name: nodes
    kubernetes_sd_configs:
      - role: node
        api_server: {}
{}{}    relabel_configs:
      - source_labels: [__meta_kubernetes_node_label_topology_kubernetes_io_zone]
        target_label: zone
      - target_label: __path__
        replacement: {}/node.log
)",
                                                 api_->url(), tls, settings, logs())});
  }
  bool TargetsContain(const std::string& text) {
    return agent_.HttpGet("/targets").find(text) != std::string::npos;
  }
  std::unique_ptr<FakeKubeApi> api_;
};

// The API server's CA given inline (Prometheus' tls_config.ca) rather than as ca_file.
TEST_F(KubernetesAuth, AnInlineCaVerifiesTheApiServer) {
  StartAgent(Config("        bearer_token: token-1\n",
                    "        tls_config:\n          ca: |\n" + PemBlock(api_->ca_file(), 12)));
  ASSERT_TRUE(WaitFor([&] { return TargetsContain(R"(zone="zone-a")"); }))
      << agent_.HttpGet("/targets") << agent_.Stderr();
}

TEST_F(KubernetesAuth, DiscoveryWorksWithAnOAuth2TokenAndFetchesANewOneWhenRefused) {
  FakeTokenServer tokens("Basic aWQ6c2VjcmV0", 3600);  // id:secret
  ASSERT_TRUE(tokens.Start());
  WriteFile(dir_ / "secret", "secret\n");
  StartAgent(Config(fmt::format(R"(        oauth2:
          client_id: id
          client_secret_file: {}
          token_url: {}
)",
                                dir_ / "secret", tokens.url())));
  ASSERT_TRUE(WaitFor([&] { return TargetsContain(R"(zone="zone-a")"); }))
      << agent_.HttpGet("/targets") << agent_.Stderr();
  for (const KubeRequest& r : api_->requests()) EXPECT_TRUE(r.authorized) << r.path;

  // The API server stops taking the token: the watch is refused, a new token is fetched, and a
  // node added later is still seen.
  api_->SetToken("token-2");
  api_->DropWatches();
  api_->AddObject("nodes", R"({"metadata": {"name": "n2",
      "labels": {"topology.kubernetes.io/zone": "zone-b"}},
      "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.6"}]}})");
  ASSERT_TRUE(WaitFor([&] { return TargetsContain(R"(zone="zone-b")"); }))
      << agent_.HttpGet("/targets") << agent_.Stderr();
  EXPECT_GE(tokens.Issued(), 2);
}

TEST_F(KubernetesAuth, AnUnreachableTokenUrlIsNamedInTheLog) {
  StartAgent(Config(R"(        oauth2:
          client_id: id
          client_secret: secret
          token_url: http://127.0.0.1:1/token
)"));
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("oauth2: token request failed") != std::string::npos;
  })) << agent_.Stderr();
  EXPECT_TRUE(api_->requests().empty());
}

TEST_F(KubernetesAuth, ProxyConnectHeaderReachesTheProxy) {
  WriteFile(dir_ / "kube/token", "token-1");
  FakeConnectProxy proxy;
  ASSERT_TRUE(proxy.Start());
  StartAgent(Config(fmt::format(R"(        bearer_token_file: {}
        proxy_url: {}
        proxy_connect_header:
          Proxy-Authorization: [Basic cHJveHk6cGFzcw==]
)",
                                dir_ / "kube/token", proxy.url())));
  ASSERT_TRUE(WaitFor([&] { return TargetsContain(R"(zone="zone-a")"); }))
      << agent_.HttpGet("/targets") << agent_.Stderr();
  auto seen = proxy.requests();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0].headers["proxy-authorization"], "Basic cHJveHk6cGFzcw==");
}

class DockerTls : public IntegrationTest {
 protected:
  void TearDown() override {
    IntegrationTest::TearDown();
    docker_.Stop();
  }
  // The daemon behind TLS that wants a client certificate, with container c1 (/web) that has
  // logged first_line.
  void StartDaemon(const std::string& first_line) {
    ASSERT_TRUE(docker_.StartTcp());
    const std::string plain = docker_.host();
    front_ = std::make_unique<TlsFront>(dir_.path(), std::stoi(plain.substr(plain.rfind(':') + 1)),
                                        /*require_client_cert=*/true);
    ASSERT_TRUE(front_->Start());
    docker_.AddNetwork({.id = "net1", .name = "bridge"});
    docker_.AddContainer({.id = "c1", .name = "/web", .labels = {{"logging", "on"}}});
    docker_.Log("c1", 1, kDockerT0, first_line + "\n");
  }
  FakeDockerApi docker_{dir_ / "unused.sock"};
  std::unique_ptr<TlsFront> front_;
};

// Prometheus' inline tls_config (ca, cert, key) instead of files, with client certificates.
TEST_F(DockerTls, InlinePemVerifiesTheDaemonAndPresentsTheClientCertificate) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon("inline pem"));
  const TlsFront& front = *front_;
  StartAgent(WriteConfig({.extra_top = fmt::format(R"(  - job_name: docker
    docker_sd_configs:
      - host: {}
        refresh_interval: 200ms
        tls_config:
          ca: |
{}          cert: |
{}          key: |
{}    relabel_configs:
      - source_labels: [__meta_docker_container_name]
        regex: /(.*)
        target_label: container
)",
                                                   front.url(), PemBlock(front.ca_file(), 12),
                                                   PemBlock(front.client_cert_file(), 12),
                                                   PemBlock(front.client_key_file(), 12))}));
  ASSERT_TRUE(loki_.WaitForLines(1)) << agent_.Stderr();
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"inline pem"});
  EXPECT_EQ(front.handshakes_failed(), 0);
}

TEST_F(DockerTls, ContainersOfAnHttpsDaemonAreDiscoveredAndTheirLogsRead) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon("over tls"));
  const TlsFront& front = *front_;
  StartAgent(
      WriteConfig({.extra_top = fmt::format(R"(  - job_name: docker
    docker_sd_configs:
      - host: {}
        refresh_interval: 200ms
        tls_config:
          ca_file: {}
          cert_file: {}
          key_file: {}
    relabel_configs:
      - source_labels: [__meta_docker_container_name]
        regex: /(.*)
        target_label: container
)",
                                            front.url(), front.ca_file(), front.client_cert_file(),
                                            front.client_key_file())}));
  ASSERT_TRUE(loki_.WaitForLines(1)) << agent_.Stderr();
  docker_.Log("c1", 1, kDockerT0 + 1000, "still over tls\n");  // followed, not only read once
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  std::map<std::string, std::string> by_line;
  for (const ReceivedEntry& e : loki_.Entries()) by_line[e.line] = e.labels;
  EXPECT_NE(by_line["over tls"].find(R"(container="web")"), std::string::npos)
      << by_line["over tls"];
  EXPECT_TRUE(by_line.contains("still over tls"));
  EXPECT_EQ(front.handshakes_failed(), 0);
}

}  // namespace
}  // namespace skidder::testing

namespace skidder::testing {
namespace {

// proxy_connect_header on clients: an https Loki reached through a CONNECT proxy that wants its
// own credentials in the CONNECT request.
class ClientProxy : public IntegrationTest {};

TEST_F(ClientProxy, ProxyConnectHeaderReachesTheProxyOfAnHttpsLoki) {
  TlsFront front(dir_.path(), loki_.port(), /*require_client_cert=*/false);
  ASSERT_TRUE(front.Start());
  FakeConnectProxy proxy;
  ASSERT_TRUE(proxy.Start());
  std::string path = WriteConfig({.extra_client = fmt::format(R"(    tls_config: {{ca_file: {}}}
    proxy_url: {}
    proxy_connect_header:
      Proxy-Authorization: [Basic cHJveHk6cGFzcw==]
)",
                                                              front.ca_file(), proxy.url())});
  std::string yaml = ReadFile(path);
  yaml.replace(yaml.find(loki_.url()), loki_.url().size(), front.url() + "/loki/api/v1/push");
  WriteFile(path, yaml);
  WriteFile(logs() + "/a.log", Lines("via-proxy", 0, 3));
  StartAgent(path);
  ASSERT_TRUE(loki_.WaitForLines(3)) << agent_.Stderr();
  auto seen = proxy.requests();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen[0].target, front.url().substr(8));
  EXPECT_EQ(seen[0].headers["proxy-authorization"], "Basic cHJveHk6cGFzcw==");
}

// Inline PEM in a client's tls_config: Loki behind TLS that wants a client certificate.
TEST_F(ClientProxy, InlinePemReachesAnHttpsLokiThatWantsAClientCertificate) {
  TlsFront front(dir_.path(), loki_.port(), /*require_client_cert=*/true);
  ASSERT_TRUE(front.Start());
  std::string path =
      WriteConfig({.extra_client = "    tls_config:\n      ca: |\n" + PemBlock(front.ca_file(), 8) +
                                   "      cert: |\n" + PemBlock(front.client_cert_file(), 8) +
                                   "      key: |\n" + PemBlock(front.client_key_file(), 8)});
  std::string yaml = ReadFile(path);
  yaml.replace(yaml.find(loki_.url()), loki_.url().size(), front.url() + "/loki/api/v1/push");
  WriteFile(path, yaml);
  WriteFile(logs() + "/a.log", Lines("inline-pem", 0, 3));
  StartAgent(path);
  ASSERT_TRUE(loki_.WaitForLines(3)) << agent_.Stderr();
  EXPECT_EQ(front.handshakes_failed(), 0);
}

}  // namespace
}  // namespace skidder::testing
