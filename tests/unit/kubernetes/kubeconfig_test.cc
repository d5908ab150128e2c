// kubernetes_sd_configs.kubeconfig_file: what a kubeconfig resolves to, what is refused, and
// discovery against FakeKubeApi configured through nothing but a kubeconfig.
#include "kubernetes/kubeconfig.h"

#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "kubernetes/discovery.h"
#include "support/fake_kube_api.h"
#include "support/test_util.h"

namespace skidder::kubernetes {
namespace {

using namespace std::chrono_literals;
using skidder::testing::FakeKubeApi;
using skidder::testing::PodJson;
using skidder::testing::ReadFile;
using skidder::testing::TempDir;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < in.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<uint8_t>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<uint8_t>(in[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[n & 63] : '=');
  }
  return out;
}

// A kubeconfig with one cluster "c", one user "u" and context "ctx" joining them.
std::string Kubeconfig(const std::string& cluster, const std::string& user,
                       const std::string& context_extra = "",
                       const std::string& current = "current-context: ctx\n") {
  return current + "clusters:\n- name: c\n  cluster:\n" + cluster +
         "contexts:\n- name: other\n  context: {cluster: nope, user: nope}\n"
         "- name: ctx\n  context:\n    cluster: c\n    user: u\n" +
         context_extra + "users:\n- name: u\n  user:\n" + user;
}

Result<ResolvedSd> Resolve(const std::string& path, bool own_namespace = false) {
  config::KubernetesSdConfig cfg;
  cfg.kubeconfig_file = path;
  cfg.own_namespace = own_namespace;
  return ResolveSdConfig(cfg, DiscoveryEnv{});
}

TEST(Kubeconfig, ResolvesLikeKubectl) {
  TempDir dir;
  const std::string ca = Base64("CA PEM"), cert = Base64("CERT PEM"), key = Base64("KEY PEM");
  struct Case {
    std::string name, yaml;
    ClientConfig want;
  };
  auto client = [](auto mutate) {
    ClientConfig c;
    c.server = "https://k8s.example:6443";
    mutate(c);
    return c;
  };
  const std::vector<Case> cases = {
      {"RelativePathsAreRelativeToTheKubeconfig",
       Kubeconfig("    server: https://k8s.example:6443/\n    certificate-authority: pki/ca.crt\n",
                  "    tokenFile: token\n    client-certificate: pki/u.crt\n"
                  "    client-key: /abs/u.key\n"),
       client([&](ClientConfig& c) {
         c.tls.ca_file = dir / "pki/ca.crt";
         c.bearer_token_file = dir / "token";
         c.tls.cert_file = dir / "pki/u.crt";
         c.tls.key_file = "/abs/u.key";
       })},
      {"InlineDataIsDecodedAndWinsOverPaths",
       Kubeconfig("    server: https://k8s.example:6443\n    certificate-authority: ca.crt\n"
                  "    certificate-authority-data: " +
                      ca + "\n",
                  "    client-certificate-data: " + cert + "\n    client-key-data: " + key + "\n"),
       client([&](ClientConfig& c) {
         c.ca_pem = "CA PEM";
         c.cert_pem = "CERT PEM";
         c.key_pem = "KEY PEM";
       })},
      {"StaticTokenAndTheOnlyContextWithoutCurrentContext",
       "clusters:\n- name: c\n  cluster: {server: 'https://k8s.example:6443'}\n"
       "contexts:\n- name: only\n  context: {cluster: c, user: u}\n"
       "users:\n- name: u\n  user: {token: abc}\n",
       client([](ClientConfig& c) { c.bearer_token = "abc"; })},
      {"BasicAuthAndInsecure",
       Kubeconfig("    server: https://k8s.example:6443\n    insecure-skip-tls-verify: true\n",
                  "    username: admin\n    password: s3cret\n"),
       client([](ClientConfig& c) {
         c.username = "admin";
         c.password = "s3cret";
         c.tls.insecure_skip_verify = true;
       })},
  };
  for (const Case& c : cases) {
    WriteFile(dir / "kubeconfig", c.yaml);
    auto r = Resolve(dir / "kubeconfig");
    ASSERT_TRUE(r.has_value()) << c.name << ": " << r.error().ToString();
    const ClientConfig& got = r->client;
    EXPECT_EQ(got.server, c.want.server) << c.name;
    EXPECT_EQ(got.bearer_token, c.want.bearer_token) << c.name;
    EXPECT_EQ(got.bearer_token_file, c.want.bearer_token_file) << c.name;
    EXPECT_EQ(got.username, c.want.username) << c.name;
    EXPECT_EQ(got.password, c.want.password) << c.name;
    EXPECT_EQ(got.tls.ca_file, c.want.tls.ca_file) << c.name;
    EXPECT_EQ(got.tls.cert_file, c.want.tls.cert_file) << c.name;
    EXPECT_EQ(got.tls.key_file, c.want.tls.key_file) << c.name;
    EXPECT_EQ(got.tls.insecure_skip_verify, c.want.tls.insecure_skip_verify) << c.name;
    EXPECT_EQ(got.ca_pem, c.want.ca_pem) << c.name;
    EXPECT_EQ(got.cert_pem, c.want.cert_pem) << c.name;
    EXPECT_EQ(got.key_pem, c.want.key_pem) << c.name;
  }
}

TEST(Kubeconfig, OwnNamespaceIsTheContextNamespace) {
  TempDir dir;
  const std::string cluster = "    server: https://k8s.example\n";
  WriteFile(dir / "k1", Kubeconfig(cluster, "    token: t\n", "    namespace: shop\n"));
  auto r = Resolve(dir / "k1", /*own_namespace=*/true);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->queries.size(), 1u);
  EXPECT_EQ(r->queries[0].namespace_name, "shop");
  WriteFile(dir / "k2", Kubeconfig(cluster, "    token: t\n"));
  r = Resolve(dir / "k2", /*own_namespace=*/true);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->queries[0].namespace_name, "default");
}

TEST(Kubeconfig, RefusesWhatItCannotHonourWithAClearError) {
  TempDir dir;
  const std::string server = "    server: https://k8s.example\n";
  struct Case {
    std::string name, yaml, error;
  };
  const std::vector<Case> cases = {
      {"MissingCurrentContext", Kubeconfig(server, "    token: t\n", "", "current-context: gone\n"),
       "context \"gone\" not found"},
      {"NoCurrentContextAndTwoContexts", Kubeconfig(server, "    token: t\n", "", ""),
       "no current-context"},
      {"ExecPlugin", Kubeconfig(server, "    exec:\n      command: aws\n      apiVersion: x\n"),
       "user \"exec\" plugins are not supported"},
      {"AuthProvider", Kubeconfig(server, "    auth-provider:\n      name: gcp\n"),
       "\"auth-provider\" plugins are not supported"},
      {"BadBase64", Kubeconfig(server + "    certificate-authority-data: '!!'\n", "    token: t\n"),
       "certificate-authority-data is not base64"},
      {"ServerWithoutScheme", Kubeconfig("    server: k8s:6443\n", "    token: t\n"),
       "must start with https://"},
      {"TlsServerName", Kubeconfig(server + "    tls-server-name: api\n", "    token: t\n"),
       "tls-server-name is not supported"},
      {"CertWithoutKey", Kubeconfig(server, "    client-certificate: u.crt\n"),
       "both a client certificate and a client key"},
      {"TokenAndBasicAuth", Kubeconfig(server, "    token: t\n    username: u\n"),
       "username/password and a token"},
      {"NotAMap", "- just\n- a list\n", "not a kubeconfig"},
      {"NotYaml", "clusters: [\n", "kubeconfig_file"},
  };
  for (const Case& c : cases) {
    WriteFile(dir / "kubeconfig", c.yaml);
    auto r = Resolve(dir / "kubeconfig");
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_NE(r.error().message().find(c.error), std::string::npos)
        << c.name << ": " << r.error().message();
    EXPECT_NE(r.error().message().find("kubeconfig_file " + (dir / "kubeconfig")),
              std::string::npos)
        << c.name << ": " << r.error().message();
  }
}

TEST(Kubeconfig, RefusedTogetherWithApiServerOrExplicitCredentials) {
  TempDir dir;
  WriteFile(dir / "kubeconfig", Kubeconfig("    server: https://k\n", "    token: t\n"));
  config::KubernetesSdConfig with_server;
  with_server.kubeconfig_file = dir / "kubeconfig";
  with_server.api_server = "https://k";
  auto r = ResolveSdConfig(with_server, DiscoveryEnv{});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("either api_server or kubeconfig_file"), std::string::npos);
  config::KubernetesSdConfig with_token;
  with_token.kubeconfig_file = dir / "kubeconfig";
  with_token.bearer_token_file = dir / "token";
  r = ResolveSdConfig(with_token, DiscoveryEnv{});
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("cannot be combined with kubeconfig_file"), std::string::npos);
}

TEST(Kubeconfig, DiscoversPodsWithInlineCaAndTokenOnly) {
  TempDir dir;
  FakeKubeApi api(dir.path(), "kc-token");
  api.Add(PodJson("shop", "web", "node-1", {"app"}));
  // The CA only travels inline: a CA path that does not exist proves the file is not used.
  WriteFile(
      dir / "kubeconfig",
      Kubeconfig("    server: " + api.url() + "\n    certificate-authority: missing.crt\n" +
                     "    certificate-authority-data: " + Base64(ReadFile(api.ca_file())) + "\n",
                 "    token: kc-token\n"));
  config::KubernetesSdConfig cfg;
  cfg.kubeconfig_file = dir / "kubeconfig";
  DiscoveryOptions opts;
  opts.env = DiscoveryEnv{};
  opts.env.node_name = "node-1";
  opts.backoff_min = 20ms;
  opts.backoff_max = 200ms;
  std::mutex mu;
  std::set<std::string> pods;
  PodDiscovery discovery(
      cfg,
      [&](std::vector<Labels> targets) {
        std::lock_guard lock(mu);
        pods.clear();
        for (const Labels& l : targets) pods.insert(*l.Get("__meta_kubernetes_pod_name"));
      },
      opts);
  Status s = discovery.Start();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(WaitFor(
      [&] {
        std::lock_guard lock(mu);
        return pods == std::set<std::string>{"web"};
      },
      10s));
  EXPECT_TRUE(discovery.Synced());
  discovery.Stop();
  for (const auto& req : api.requests()) EXPECT_TRUE(req.authorized) << req.path;
}

}  // namespace
}  // namespace skidder::kubernetes
