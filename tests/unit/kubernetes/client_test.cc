// KubeClient against the fake API server: what reaches the server (credentials, TLS) now that
// the requests go through io::HttpClient.
#include "kubernetes/client.h"

#include <gtest/gtest.h>

#include "support/fake_kube_api.h"
#include "support/test_util.h"

namespace skidder::kubernetes {
namespace {

using namespace std::chrono_literals;
using skidder::testing::FakeKubeApi;
using skidder::testing::ReadFile;
using skidder::testing::TempDir;

class KubeClientTest : public ::testing::Test {
 protected:
  ClientConfig Config() {
    ClientConfig c;
    c.server = api_.url();
    c.bearer_token = "token-1";
    c.tls.ca_file = api_.ca_file();
    return c;
  }

  TempDir dir_;
  FakeKubeApi api_{dir_.path(), "token-1"};
};

TEST_F(KubeClientTest, ListsWithTheBearerToken) {
  KubeClient client(Config());
  KubeResponse resp = client.Get("/api/v1/pods?limit=10", 10s);
  EXPECT_EQ(resp.status, 200) << resp.error;
  EXPECT_NE(resp.body.find("\"items\""), std::string::npos);
  ASSERT_FALSE(api_.requests().empty());
  EXPECT_TRUE(api_.requests().back().authorized);
}

TEST_F(KubeClientTest, SendsBasicAuthWhenConfigured) {
  api_.SetBasicAuth("kube-user", "kube-pass");
  ClientConfig c = Config();
  c.bearer_token.clear();
  c.username = "kube-user";
  c.password = "kube-pass";
  KubeClient client(c);
  KubeResponse resp = client.Get("/api/v1/pods", 10s);
  EXPECT_EQ(resp.status, 200) << resp.error;
}

// tls_config.server_name: the certificate is checked against it, not against the URL's IP.
TEST_F(KubeClientTest, ChecksTheCertificateAgainstTlsServerName) {
  ClientConfig c = Config();
  c.tls.server_name = "localhost";  // on the fake's certificate
  KubeResponse ok = KubeClient(c).Get("/api/v1/pods", 10s);
  EXPECT_EQ(ok.status, 200) << ok.error;

  c.tls.server_name = "kubernetes.example.com";  // not on it: refused
  KubeResponse refused = KubeClient(c).Get("/api/v1/pods", 10s);
  EXPECT_EQ(refused.status, 0);
  EXPECT_FALSE(refused.error.empty());
}

// kubeconfig's certificate-authority-data replaces the CA file, from memory.
TEST_F(KubeClientTest, TrustsAnInlineCaInsteadOfTheFile) {
  TempDir other_dir;
  FakeKubeApi other(other_dir.path(), "token-1");
  ClientConfig c = Config();
  c.tls.ca_file = other.ca_file();  // would fail
  c.ca_pem = ReadFile(api_.ca_file());
  KubeResponse resp = KubeClient(c).Get("/api/v1/pods", 10s);
  EXPECT_EQ(resp.status, 200) << resp.error;
}

TEST_F(KubeClientTest, AnUnreadableTokenFileIsAnErrorWithoutARequest) {
  ClientConfig c = Config();
  c.bearer_token_file = dir_ / "missing-token";
  KubeResponse resp = KubeClient(c).Get("/api/v1/pods", 10s);
  EXPECT_EQ(resp.status, 0);
  EXPECT_NE(resp.error.find("missing-token"), std::string::npos) << resp.error;
  EXPECT_TRUE(api_.requests().empty());
}

TEST_F(KubeClientTest, AQuietWatchEndsAfterItsIdleTimeout) {
  KubeClient client(Config());
  // The idle timeout also bounds the wait for the response's headers: generous enough that a
  // loaded machine (TSan, two cores) answers within it.
  std::string got;
  KubeResponse resp = client.Watch(
      "/api/v1/pods?watch=1&resourceVersion=1",
      [&](std::string_view chunk) {
        got.append(chunk);
        return true;
      },
      2s);
  EXPECT_EQ(resp.status, 200) << resp.error;
  EXPECT_TRUE(resp.idle_timeout);
  EXPECT_TRUE(resp.error.empty()) << resp.error;
}

TEST_F(KubeClientTest, InterruptEndsAWatchFromAnotherThread) {
  KubeClient client(Config());
  std::thread stopper([&] {
    skidder::testing::WaitFor([&] { return api_.watches_started() > 0; });
    client.Interrupt();
  });
  KubeResponse resp = client.Watch(
      "/api/v1/pods?watch=1&resourceVersion=1", [](std::string_view) { return true; }, 0ms);
  stopper.join();
  EXPECT_TRUE(resp.interrupted);
  EXPECT_TRUE(resp.error.empty()) << resp.error;
  // Interrupted until cleared: a later request is not even sent.
  const size_t sent = api_.requests().size();
  EXPECT_TRUE(client.Get("/api/v1/pods", 10s).interrupted);
  EXPECT_EQ(api_.requests().size(), sent);
  client.ClearInterrupt();
  EXPECT_EQ(client.Get("/api/v1/pods", 10s).status, 200);
}

}  // namespace
}  // namespace skidder::kubernetes
