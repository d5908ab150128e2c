#include <gtest/gtest.h>

#include "kubernetes/discovery.h"
#include "support/test_util.h"

namespace skidder::kubernetes {
namespace {

using skidder::testing::TempDir;
using skidder::testing::WriteFile;

DiscoveryEnv InCluster(const TempDir& dir) {
  DiscoveryEnv env;
  env.service_host = "10.96.0.1";
  env.service_port = "443";
  env.node_name = "node-1";
  env.service_account_dir = dir.path();
  return env;
}

TEST(SdConfig, InClusterUsesServiceAccountFilesAndNodeSelector) {
  TempDir dir;
  config::KubernetesSdConfig cfg;
  auto r = ResolveSdConfig(cfg, InCluster(dir));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->client.server, "https://10.96.0.1:443");
  EXPECT_EQ(r->client.bearer_token_file, dir / "token");
  EXPECT_EQ(r->client.tls.ca_file, dir / "ca.crt");
  EXPECT_FALSE(r->client.tls.insecure_skip_verify);
  ASSERT_EQ(r->queries.size(), 1u);
  EXPECT_EQ(r->queries[0].namespace_name, "");
  EXPECT_EQ(r->queries[0].field_selector, "spec.nodeName=node-1");
}

TEST(SdConfig, IPv6ServiceHostIsBracketed) {
  TempDir dir;
  DiscoveryEnv env = InCluster(dir);
  env.service_host = "fd00::1";
  auto r = ResolveSdConfig({}, env);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->client.server, "https://[fd00::1]:443");
}

TEST(SdConfig, SelectorsMergeWithNodeAndNamespacesGetOneQueryEach) {
  TempDir dir;
  WriteFile(dir / "namespace", "agents\n");
  config::KubernetesSdConfig cfg;
  cfg.namespaces = {"shop", "billing", "shop"};
  cfg.own_namespace = true;
  cfg.selectors.push_back({"pod", "app=web", "status.phase=Running"});
  auto r = ResolveSdConfig(cfg, InCluster(dir));
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->queries.size(), 3u);
  EXPECT_EQ(r->queries[0].namespace_name, "agents");
  EXPECT_EQ(r->queries[1].namespace_name, "billing");
  EXPECT_EQ(r->queries[2].namespace_name, "shop");
  for (const auto& q : r->queries) {
    EXPECT_EQ(q.label_selector, "app=web");
    EXPECT_EQ(q.field_selector, "status.phase=Running,spec.nodeName=node-1");
  }
}

TEST(SdConfig, ExplicitNodeSelectorIsNotDuplicatedAndNoNodeMeansClusterWide) {
  TempDir dir;
  config::KubernetesSdConfig cfg;
  cfg.selectors.push_back({"pod", "", "spec.nodeName=other"});
  auto r = ResolveSdConfig(cfg, InCluster(dir));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->queries[0].field_selector, "spec.nodeName=other");
  DiscoveryEnv env = InCluster(dir);
  env.node_name.clear();
  r = ResolveSdConfig({}, env);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->queries[0].field_selector, "");
}

TEST(SdConfig, ExplicitApiServerKeepsConfiguredCredentials) {
  config::KubernetesSdConfig cfg;
  cfg.api_server = "https://k8s.example:6443/";
  cfg.bearer_token_file = "/etc/token";
  cfg.tls_config.ca_file = "/etc/ca.pem";
  cfg.tls_config.insecure_skip_verify = true;
  auto r = ResolveSdConfig(cfg, DiscoveryEnv{});
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->client.server, "https://k8s.example:6443");
  EXPECT_EQ(r->client.bearer_token_file, "/etc/token");
  EXPECT_EQ(r->client.tls.ca_file, "/etc/ca.pem");
  EXPECT_TRUE(r->client.tls.insecure_skip_verify);
}

TEST(SdConfig, OtherRolesAskForTheirResourceClusterWideWithoutNodeScoping) {
  TempDir dir;
  config::KubernetesSdConfig cfg;
  cfg.role = "node";
  cfg.namespaces = {"ignored-for-nodes"};
  cfg.selectors.push_back({"node", "kubernetes.io/os=linux", ""});
  auto r = ResolveSdConfig(cfg, InCluster(dir));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->queries.size(), 1u);
  EXPECT_EQ(r->queries[0].role, Role::kNode);
  EXPECT_EQ(r->queries[0].namespace_name, "");
  EXPECT_EQ(r->queries[0].label_selector, "kubernetes.io/os=linux");
  EXPECT_EQ(r->queries[0].field_selector, "");  // no spec.nodeName: nodes have none
  cfg.role = "endpointslice";
  cfg.selectors.clear();
  cfg.namespaces = {"a", "b"};
  r = ResolveSdConfig(cfg, InCluster(dir));
  ASSERT_TRUE(r.has_value()) << r.error().message();
  ASSERT_EQ(r->queries.size(), 2u);
  EXPECT_EQ(r->queries[1].role, Role::kEndpointSlice);
  EXPECT_EQ(r->queries[1].namespace_name, "b");
  EXPECT_EQ(r->queries[1].field_selector, "");
}

TEST(SdConfig, RefusesWhatItCannotHonour) {
  TempDir dir;
  struct Case {
    std::string name;
    config::KubernetesSdConfig cfg;
    DiscoveryEnv env;
    std::string error;
  };
  std::vector<Case> cases;
  auto add = [&](std::string name, auto mutate, DiscoveryEnv env, std::string error) {
    config::KubernetesSdConfig cfg;
    mutate(cfg);
    cases.push_back({std::move(name), cfg, std::move(env), std::move(error)});
  };
  add(
      "NotInCluster", [](auto&) {}, DiscoveryEnv{}, "not running in a cluster");
  add(
      "UnknownRole", [](auto& c) { c.role = "nodes"; }, InCluster(dir), "unknown role \"nodes\"");
  add(
      "KubeconfigUnreadable", [](auto& c) { c.kubeconfig_file = "/nonexistent/k"; }, InCluster(dir),
      "kubeconfig_file /nonexistent/k: cannot read");
  add(
      "TokenWithoutServer", [](auto& c) { c.bearer_token = "t"; }, InCluster(dir), "api_server");
  add(
      "ServerWithoutScheme", [](auto& c) { c.api_server = "k8s:6443"; }, DiscoveryEnv{},
      "https://");
  add(
      "TwoTokens",
      [](auto& c) {
        c.api_server = "https://k";
        c.bearer_token = "a";
        c.bearer_token_file = "b";
      },
      DiscoveryEnv{}, "at most one");
  add(
      "BadNamespace", [](auto& c) { c.namespaces = {"../secrets"}; }, InCluster(dir),
      "invalid namespace");
  add(
      "OwnNamespaceUnreadable", [](auto& c) { c.own_namespace = true; }, InCluster(dir),
      "own_namespace");
  add(
      "ServiceSelector",
      [](auto& c) {
        c.selectors.push_back({"service", "a=b", ""});
      },
      InCluster(dir), "selector role");
  add(
      "TwoPodSelectors",
      [](auto& c) {
        c.selectors.push_back({"pod", "a=b", ""});
        c.selectors.push_back({"pod", "c=d", ""});
      },
      InCluster(dir), "duplicated");
  for (const auto& c : cases) {
    auto r = ResolveSdConfig(c.cfg, c.env);
    ASSERT_FALSE(r.has_value()) << c.name;
    EXPECT_NE(r.error().message().find(c.error), std::string::npos)
        << c.name << ": " << r.error().message();
  }
}

}  // namespace
}  // namespace skidder::kubernetes
