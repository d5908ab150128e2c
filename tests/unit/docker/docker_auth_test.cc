// DockerApi with the HTTP client settings Prometheus' Docker discovery has beyond basic auth:
// OAuth2 client credentials, a daemon over TLS (with a client certificate) and a CONNECT proxy
// with proxy_connect_header.
#include <gtest/gtest.h>

#include "sources/docker/docker_api.h"
#include "support/fake_docker_api.h"
#include "support/fake_proxy.h"
#include "support/fake_token_server.h"
#include "support/test_util.h"
#include "support/tls_front.h"

namespace skidder::sources::docker {
namespace {

using testing::FakeDockerApi;
using testing::TempDir;

constexpr const char* kIdSecret = "Basic aWQ6c2VjcmV0";  // id:secret

Result<std::string> List(DockerApi& api) {
  return api.Get("/containers/json", 1 << 20, std::chrono::seconds(10));
}

int PortOf(const std::string& url) { return std::stoi(url.substr(url.rfind(':') + 1)); }

config::OAuth2Config OAuth2(const std::string& token_url) {
  config::OAuth2Config o;
  o.client_id = "id";
  o.client_secret = "secret";
  o.token_url = token_url;
  return o;
}

TEST(DockerAuth, AnOAuth2TokenIsFetchedBeforeTheFirstCallAndKeptWhileValid) {
  TempDir dir;
  FakeDockerApi fake(dir / "unused.sock");
  ASSERT_TRUE(fake.StartTcp());
  testing::FakeTokenServer tokens(kIdSecret, 3600);
  ASSERT_TRUE(tokens.Start());
  config::DockerSdConfig cfg;
  cfg.host = fake.host();
  cfg.oauth2 = OAuth2(tokens.url());
  DockerApi api(Endpoint::From(cfg));
  ASSERT_TRUE(List(api).has_value());
  EXPECT_EQ(fake.last_authorization(), "Bearer token-1");
  ASSERT_TRUE(List(api).has_value());
  EXPECT_EQ(fake.last_authorization(), "Bearer token-1");
  EXPECT_EQ(tokens.Issued(), 1);
}

TEST(DockerAuth, A401FetchesANewTokenAndTheCallSucceedsWithIt) {
  TempDir dir;
  FakeDockerApi fake(dir / "unused.sock");
  ASSERT_TRUE(fake.StartTcp());
  testing::FakeTokenServer tokens(kIdSecret, 3600);
  ASSERT_TRUE(tokens.Start());
  config::DockerSdConfig cfg;
  cfg.host = fake.host();
  cfg.oauth2 = OAuth2(tokens.url());
  DockerApi api(Endpoint::From(cfg));
  ASSERT_TRUE(List(api).has_value());
  fake.FailNext("/containers/json", 1, 401);  // the daemon no longer takes token-1
  auto body = List(api);
  ASSERT_TRUE(body.has_value()) << body.error().message();
  EXPECT_EQ(fake.last_authorization(), "Bearer token-2");
  EXPECT_EQ(tokens.Issued(), 2);
}

TEST(DockerAuth, AnUnreachableTokenUrlIsAClearErrorAndNothingIsSentToTheDaemon) {
  TempDir dir;
  FakeDockerApi fake(dir / "unused.sock");
  ASSERT_TRUE(fake.StartTcp());
  config::DockerSdConfig cfg;
  cfg.host = fake.host();
  cfg.oauth2 = OAuth2("http://127.0.0.1:1/token");
  DockerApi api(Endpoint::From(cfg));
  auto body = List(api);
  ASSERT_FALSE(body.has_value());
  EXPECT_NE(body.error().message().find("no OAuth2 token from http://127.0.0.1:1/token: oauth2: "
                                        "token request failed"),
            std::string::npos)
      << body.error().message();
  EXPECT_EQ(fake.ListRequests(), 0u);
}

TEST(DockerAuth, AnHttpsDaemonIsVerifiedWithCaFileAndGetsTheClientCertificate) {
  TempDir dir;
  FakeDockerApi fake(dir / "unused.sock");
  ASSERT_TRUE(fake.StartTcp());
  testing::TlsFront front(dir.path(), PortOf(fake.host()), /*require_client_cert=*/true);
  ASSERT_TRUE(front.Start());
  config::DockerSdConfig cfg;
  cfg.host = front.url();
  cfg.tls_config.ca_file = front.ca_file();
  DockerApi without_cert(Endpoint::From(cfg));
  EXPECT_FALSE(List(without_cert).has_value());  // the daemon wants a client certificate
  cfg.tls_config.cert_file = front.client_cert_file();
  cfg.tls_config.key_file = front.client_key_file();
  DockerApi api(Endpoint::From(cfg));
  auto body = List(api);
  ASSERT_TRUE(body.has_value()) << body.error().message();
  EXPECT_EQ(*body, "[]");
  cfg.tls_config = {};  // the system store does not know the test CA
  DockerApi unverified(Endpoint::From(cfg));
  EXPECT_FALSE(List(unverified).has_value());
}

TEST(DockerAuth, ProxyConnectHeadersReachTheProxyOfAnHttpsDaemon) {
  TempDir dir;
  FakeDockerApi fake(dir / "unused.sock");
  ASSERT_TRUE(fake.StartTcp());
  testing::TlsFront front(dir.path(), PortOf(fake.host()), /*require_client_cert=*/false);
  ASSERT_TRUE(front.Start());
  testing::FakeConnectProxy proxy;
  ASSERT_TRUE(proxy.Start());
  config::DockerSdConfig cfg;
  cfg.host = front.url();
  cfg.tls_config.ca_file = front.ca_file();
  cfg.proxy_url = proxy.url();
  cfg.proxy_connect_header["Proxy-Authorization"] = {"Basic cHJveHk6cGFzcw=="};
  DockerApi api(Endpoint::From(cfg));
  auto body = List(api);
  ASSERT_TRUE(body.has_value()) << body.error().message();
  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, front.url().substr(8));
  EXPECT_EQ(seen[0].headers["proxy-authorization"], "Basic cHJveHk6cGFzcw==");
}

}  // namespace
}  // namespace skidder::sources::docker
