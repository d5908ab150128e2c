// Promtail's HTTP client settings on `clients`, end to end: OAuth2 client credentials against a
// fake token endpoint, `authorization`, basic_auth.username_file, proxies and redirects, with
// the real binary and the fake Loki on loopback.
#include <httplib.h>

#include <thread>

#include "harness.h"
#include "support/fake_token_server.h"

namespace skidder::testing {
namespace {

// base64("skidder:s3cret"): the client credentials the token server expects.
constexpr const char* kClientBasic = "Basic c2tpZGRlcjpzM2NyZXQ=";

class ClientAuth : public IntegrationTest {
 protected:
  std::string OAuth2Client(const FakeTokenServer& tokens) {
    WriteFile(dir_ / "client-secret", "s3cret\n");
    return "    oauth2:\n      client_id: skidder\n      client_secret_file: " +
           (dir_ / "client-secret") + "\n      token_url: " + tokens.url() +
           "\n      scopes: [logs.write, logs.read]\n      endpoint_params:\n"
           "        audience: loki\n";
  }
  bool WaitForHeader(const std::string& value) {
    return WaitFor([&] {
      for (const std::string& v : loki_.HeaderValues("Authorization"))
        if (v == value) return true;
      return false;
    });
  }
};

TEST_F(ClientAuth, OAuth2TokenReachesLokiAndIsReusedUntilItExpires) {
  FakeTokenServer tokens(kClientBasic, 3600);
  ASSERT_TRUE(tokens.Start());
  loki_.RequireAuthorization("Bearer token-1");
  StartAgent(WriteConfig({.extra_client = OAuth2Client(tokens)}));
  WriteFile(logs() + "/a.log", "one\n");
  ASSERT_TRUE(loki_.WaitForLines(1));
  AppendFile(logs() + "/a.log", "two\n");
  ASSERT_TRUE(loki_.WaitForLines(2));
  EXPECT_EQ(tokens.Issued(), 1);
  ASSERT_FALSE(tokens.Bodies().empty());
  const std::string body = tokens.Bodies()[0];
  EXPECT_NE(body.find("grant_type=client_credentials"), std::string::npos) << body;
  EXPECT_NE(body.find("scope=logs.write%20logs.read"), std::string::npos) << body;
  EXPECT_NE(body.find("audience=loki"), std::string::npos) << body;
  EXPECT_EQ(agent_.Stderr().find("s3cret"), std::string::npos);
}

TEST_F(ClientAuth, OAuth2TokenIsFetchedAgainWhenItExpires) {
  // expires_in 1 is inside the 10 s safety margin: every push needs a new token.
  FakeTokenServer tokens(kClientBasic, 1);
  ASSERT_TRUE(tokens.Start());
  StartAgent(WriteConfig({.extra_client = OAuth2Client(tokens)}));
  WriteFile(logs() + "/a.log", "one\n");
  ASSERT_TRUE(loki_.WaitForLines(1));
  AppendFile(logs() + "/a.log", "two\n");
  ASSERT_TRUE(loki_.WaitForLines(2));
  EXPECT_TRUE(WaitForHeader("Bearer token-1"));
  EXPECT_TRUE(WaitForHeader("Bearer token-2"));
}

TEST_F(ClientAuth, OAuth2TokenIsFetchedAgainWhenLokiAnswers401) {
  FakeTokenServer tokens(kClientBasic, 3600);
  ASSERT_TRUE(tokens.Start());
  loki_.RequireAuthorization("Bearer token-2");  // token-1 is refused, as a revoked token is
  StartAgent(WriteConfig({.extra_client = OAuth2Client(tokens)}));
  WriteFile(logs() + "/a.log", "one\n");
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_TRUE(WaitForHeader("Bearer token-1"));
  EXPECT_EQ(tokens.Issued(), 2);
}

TEST_F(ClientAuth, WrongOAuth2ClientSecretDeliversNothingAndRetries) {
  FakeTokenServer tokens("Basic bm90OnRoaXM=", 3600);
  ASSERT_TRUE(tokens.Start());
  loki_.RequireAuthorization("Bearer token-1");
  StartAgent(WriteConfig({.extra_client = OAuth2Client(tokens)}));
  WriteFile(logs() + "/a.log", "one\n");
  ASSERT_TRUE(WaitFor([&] { return tokens.Bodies().size() >= 3; }));
  EXPECT_TRUE(loki_.Lines().empty());
  EXPECT_NE(agent_.Stderr().find("token endpoint answered 401"), std::string::npos);
}

TEST_F(ClientAuth, AuthorizationWithTypeAndCredentialsFile) {
  WriteFile(dir_ / "api-key", "k-123\n");
  loki_.RequireAuthorization("Token k-123");
  StartAgent(WriteConfig({.extra_client = "    authorization:\n      type: Token\n"
                                          "      credentials_file: " +
                                          (dir_ / "api-key") + "\n"}));
  WriteFile(logs() + "/a.log", "one\n");
  ASSERT_TRUE(loki_.WaitForLines(1));
}

TEST_F(ClientAuth, BasicAuthUsernameFromFile) {
  WriteFile(dir_ / "user", "tenant-7\n");
  loki_.RequireAuthorization("Basic dGVuYW50LTc6cHc=");  // tenant-7:pw
  StartAgent(WriteConfig({.extra_client = "    basic_auth:\n      username_file: " +
                                          (dir_ / "user") + "\n      password: pw\n"}));
  WriteFile(logs() + "/a.log", "one\n");
  ASSERT_TRUE(loki_.WaitForLines(1));
}

TEST_F(ClientAuth, ProxyFromTheEnvironmentIsIgnoredUnlessAskedFor) {
  // Nothing listens on port 1: a push through this proxy could never arrive.
  agent_.SetEnv("http_proxy", "http://127.0.0.1:1");
  agent_.SetEnv("HTTP_PROXY", "http://127.0.0.1:1");
  StartAgent(WriteConfig());
  WriteFile(logs() + "/a.log", "direct\n");
  ASSERT_TRUE(loki_.WaitForLines(1));
}

TEST_F(ClientAuth, ProxyFromTheEnvironmentIsUsedWhenAskedFor) {
  agent_.SetEnv("http_proxy", "http://127.0.0.1:1");
  StartAgent(WriteConfig({.extra_client = "    proxy_from_environment: true\n"}));
  WriteFile(logs() + "/a.log", "through-the-proxy\n");
  ASSERT_TRUE(WaitFor([&] { return agent_.Metric("promtail_batch_retries_total") >= 2; }));
  EXPECT_TRUE(loki_.Lines().empty());
}

TEST_F(ClientAuth, NoProxyHostsBypassTheProxy) {
  StartAgent(WriteConfig({.extra_client = "    proxy_url: http://127.0.0.1:1\n"
                                          "    no_proxy: 127.0.0.1,localhost\n"}));
  WriteFile(logs() + "/a.log", "direct\n");
  ASSERT_TRUE(loki_.WaitForLines(1));
}

class Redirector {
 public:
  explicit Redirector(std::string to) {
    server_.Post(".*", [to](const httplib::Request&, httplib::Response& res) {
      res.status = 308;
      res.set_header("Location", to);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    WaitFor([this] { return server_.is_running(); });
  }
  ~Redirector() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/push"; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

TEST_F(ClientAuth, RedirectsAreFollowedUnlessTurnedOff) {
  Redirector redirect(loki_.url());
  AgentConfig c;
  std::string path = WriteConfig(c);
  std::string yaml = ReadFile(path);
  yaml.replace(yaml.find(loki_.url()), loki_.url().size(), redirect.url());
  WriteFile(path, yaml);
  StartAgent(path);
  WriteFile(logs() + "/a.log", "redirected\n");
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_EQ(agent_.Terminate(), 0);

  yaml.replace(yaml.find("    timeout: 2s"), 0, "    follow_redirects: false\n");
  WriteFile(path, yaml);
  StartAgent(path);
  AppendFile(logs() + "/a.log", "not-redirected\n");
  ASSERT_TRUE(WaitFor([&] { return agent_.Stderr().find("308") != std::string::npos; }));
  EXPECT_EQ(loki_.Lines().size(), 1u);
}

}  // namespace
}  // namespace skidder::testing
