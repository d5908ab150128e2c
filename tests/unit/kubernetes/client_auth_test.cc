// KubeClient's credentials beyond a bearer token: an OAuth2 client-credentials token (fetched
// before the first request, fetched again after the API server refused it) and the CONNECT
// headers of proxy_connect_header.
#include <gtest/gtest.h>

#include "kubernetes/client.h"
#include "kubernetes/discovery.h"
#include "support/fake_kube_api.h"
#include "support/fake_proxy.h"
#include "support/fake_token_server.h"
#include "support/test_util.h"

namespace skidder::kubernetes {
namespace {

using std::chrono::seconds;

constexpr const char* kIdSecret = "Basic aWQ6c2VjcmV0";  // id:secret

ClientConfig WithOAuth2(const testing::FakeKubeApi& api, const std::string& token_url) {
  ClientConfig cfg;
  cfg.server = api.url();
  cfg.tls.ca_file = api.ca_file();
  config::OAuth2Config o;
  o.client_id = "id";
  o.client_secret = "secret";
  o.token_url = token_url;
  cfg.oauth2 = o;
  return cfg;
}

TEST(KubeClientAuth, AnOAuth2TokenIsSentAndFetchedAgainAfterA401) {
  testing::TempDir dir;
  testing::FakeTokenServer tokens(kIdSecret, 3600);
  ASSERT_TRUE(tokens.Start());
  testing::FakeKubeApi api(dir.path(), "token-1");
  KubeClient client(WithOAuth2(api, tokens.url()));
  EXPECT_EQ(client.Get("/api/v1/nodes", seconds(10)).status, 200);
  EXPECT_EQ(client.Get("/api/v1/nodes", seconds(10)).status, 200);
  EXPECT_EQ(tokens.Issued(), 1);  // cached while valid

  api.SetToken("token-2");  // the API server stops taking token-1
  EXPECT_EQ(client.Get("/api/v1/nodes", seconds(10)).status, 401);
  KubeResponse again = client.Get("/api/v1/nodes", seconds(10));
  EXPECT_EQ(again.status, 200) << again.error;
  EXPECT_EQ(tokens.Issued(), 2);
}

TEST(KubeClientAuth, AnUnreachableTokenUrlIsAClearErrorAndTheApiServerIsNotAsked) {
  testing::TempDir dir;
  testing::FakeKubeApi api(dir.path(), "token-1");
  KubeClient client(WithOAuth2(api, "http://127.0.0.1:1/token"));
  KubeResponse resp = client.Get("/api/v1/nodes", seconds(10));
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error.find("oauth2: token request failed"), std::string::npos) << resp.error;
  EXPECT_TRUE(api.requests().empty());
}

TEST(KubeClientAuth, ProxyConnectHeadersReachTheProxy) {
  testing::TempDir dir;
  testing::FakeKubeApi api(dir.path(), "tok");
  testing::FakeConnectProxy proxy;
  ASSERT_TRUE(proxy.Start());
  ClientConfig cfg;
  cfg.server = api.url();
  cfg.tls.ca_file = api.ca_file();
  cfg.bearer_token = "tok";
  cfg.proxy_url = proxy.url();
  cfg.proxy_connect_header = {"Proxy-Authorization: Basic cHJveHk6cGFzcw=="};
  KubeClient client(cfg);
  KubeResponse resp = client.Get("/api/v1/nodes", seconds(10));
  EXPECT_EQ(resp.status, 200) << resp.error;
  auto seen = proxy.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, api.url().substr(8));
  EXPECT_EQ(seen[0].headers["proxy-authorization"], "Basic cHJveHk6cGFzcw==");
}

}  // namespace
}  // namespace skidder::kubernetes

namespace skidder::kubernetes {
namespace {

// The discovery's client gets the OAuth2 block and the CONNECT headers of its config; OAuth2,
// like every custom credential, needs an explicit api_server.
TEST(KubeClientAuth, ResolvedClientCarriesOAuth2AndProxyConnectHeaders) {
  testing::TempDir dir;
  DiscoveryEnv env;
  env.service_host = "10.96.0.1";
  env.service_port = "443";
  env.service_account_dir = dir.path();
  config::KubernetesSdConfig cfg;
  cfg.oauth2.emplace().client_id = "id";
  auto refused = ResolveSdConfig(cfg, env);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message().find("oauth2"), std::string::npos);

  cfg.api_server = "https://kube:6443";
  cfg.proxy_url = "http://proxy:3128";
  cfg.proxy_connect_header["Proxy-Authorization"] = {"Basic abc"};
  auto r = ResolveSdConfig(cfg, env);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_TRUE(r->client.oauth2.has_value());
  EXPECT_EQ(r->client.oauth2->client_id, "id");
  EXPECT_EQ(r->client.proxy_connect_header,
            std::vector<std::string>{"Proxy-Authorization: Basic abc"});
}

}  // namespace
}  // namespace skidder::kubernetes
