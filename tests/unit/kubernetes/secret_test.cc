// ReadSecretData against the fake API server over HTTPS: the data as the API gives it, and the
// refusals a user must act on (403, 404) named with what to do.
#include "kubernetes/secret.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "support/fake_kube_api.h"
#include "support/test_util.h"

namespace skidder::kubernetes {
namespace {

using namespace std::chrono_literals;

class SecretTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = std::make_unique<testing::FakeKubeApi>(dir_.path(), "token-1");
    testing::WriteFile(dir_ / "token", "token-1\n");
  }
  config::KubernetesSdConfig Client() {
    config::KubernetesSdConfig c;
    c.api_server = api_->url();
    c.bearer_token_file = dir_ / "token";
    c.tls_config.ca_file = api_->ca_file();
    return c;
  }
  Result<std::map<std::string, std::string>> Read(const std::string& ns, const std::string& name) {
    return ReadSecretData(Client(), ns, name, 10s, DiscoveryEnv{});
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::FakeKubeApi> api_;
};

TEST_F(SecretTest, ReadsTheDataAsTheApiGivesIt) {
  api_->SetSecret("monitoring", "loki-auth", R"({"username":"dXNlcg==","password":"cHc="})");
  Result<std::map<std::string, std::string>> data = Read("monitoring", "loki-auth");
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(*data,
            (std::map<std::string, std::string>{{"password", "cHc="}, {"username", "dXNlcg=="}}));
  const std::vector<testing::KubeRequest> reqs = api_->requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].path, "/api/v1/namespaces/monitoring/secrets/loki-auth");
  EXPECT_TRUE(reqs[0].authorized);
  api_->SetSecret("monitoring", "empty", "null");
  data = Read("monitoring", "empty");
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_TRUE(data->empty()) << "a Secret without data";
}

TEST_F(SecretTest, RefusalsSayWhatToDo) {
  Result<std::map<std::string, std::string>> data = Read("monitoring", "missing");
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().message(), "secret monitoring/missing does not exist");
  api_->FailNext(1, 403);
  data = Read("monitoring", "loki-auth");
  ASSERT_FALSE(data);
  EXPECT_NE(data.error().message().find("the agent's service account needs get on it: with the "
                                        "chart, rbac.secrets: [{namespace: monitoring, name: "
                                        "loki-auth}]"),
            std::string::npos)
      << data.error().message();
  api_->SetSecret("monitoring", "odd", R"({"password":5})");
  data = Read("monitoring", "odd");
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().message(),
            "cannot read secret monitoring/odd: the value of password is not a string");
  api_->SetToken("other");
  data = Read("monitoring", "odd");
  ASSERT_FALSE(data);
  EXPECT_NE(data.error().message().find("HTTP 401"), std::string::npos) << data.error().message();
}

// An API server restarting (503s, then an answer) is asked again within the timeout; one that
// stays down is Unavailable once the timeout is spent, which lets a reload go on with the data
// read before (app/agent.cc).
TEST_F(SecretTest, TransientFailuresAreAskedAgainWithinTheTimeout) {
  api_->SetSecret("monitoring", "loki-auth", R"({"password":"cHc="})");
  api_->FailNext(2, 503);
  Result<std::map<std::string, std::string>> data = Read("monitoring", "loki-auth");
  ASSERT_TRUE(data) << data.error().message();
  EXPECT_EQ(data->at("password"), "cHc=");
  EXPECT_EQ(api_->requests().size(), 3u);
  api_->FailNext(1000, 503);
  data = ReadSecretData(Client(), "monitoring", "loki-auth", 1s, DiscoveryEnv{});
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code(), StatusCode::kUnavailable) << data.error().message();
  config::KubernetesSdConfig closed = Client();
  closed.api_server = "https://127.0.0.1:1";  // nothing listens
  data = ReadSecretData(closed, "monitoring", "loki-auth", 1s, DiscoveryEnv{});
  ASSERT_FALSE(data);
  EXPECT_EQ(data.error().code(), StatusCode::kUnavailable) << data.error().message();
}

// The agent's shutdown cancels a poll of a Secret: it ends within its retries' pause, not when
// its poll_timeout is spent.
TEST_F(SecretTest, ACancelEndsAReadBetweenItsRetries) {
  api_->SetSecret("monitoring", "loki-auth", R"({"password":"cHc="})");
  api_->FailNext(100000, 503);
  std::atomic<bool> cancel{false};
  std::thread stopper([&] {
    testing::WaitFor([&] { return api_->requests().size() >= 2; });  // in the pause after one
    cancel.store(true);
  });
  const auto start = std::chrono::steady_clock::now();
  Result<std::map<std::string, std::string>> data = ReadSecretData(
      Client(), "monitoring", "loki-auth", std::chrono::minutes(10), DiscoveryEnv{}, &cancel);
  stopper.join();
  ASSERT_FALSE(data);
  EXPECT_NE(data.error().message().find("cancelled"), std::string::npos) << data.error().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::minutes(1));
}

}  // namespace
}  // namespace skidder::kubernetes
