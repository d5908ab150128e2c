// PodDiscovery against FakeKubeApi (HTTPS, test CA, bearer tokens): what a DaemonSet sees as pods
// come and go, and through the API server's failure modes.
#include "discovery_fixture.h"

namespace skidder::kubernetes {
namespace {

TEST_F(DiscoveryTest, PodsAppearChangeAndDisappear) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  Start();
  ASSERT_TRUE(WaitContainers({"shop/web/app"})) << *Latest().begin();
  EXPECT_TRUE(discovery_->Synced());

  api_->Add(PodJson("shop", "db", "node-1", {"postgres"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/db/postgres"}));
  api_->Modify(
      PodJson("shop", "web", "node-1", {"app", "proxy"}, {{"app.kubernetes.io/name", "web"}}));
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/web/proxy", "shop/db/postgres"}));
  {
    std::lock_guard lock(mu_);
    for (const Labels& l : updates_.back()) {
      if (*l.Get("__meta_kubernetes_pod_name") != "web") continue;
      EXPECT_EQ(*l.Get("__meta_kubernetes_pod_label_app_kubernetes_io_name"), "web");
      EXPECT_EQ(*l.Get("__meta_kubernetes_pod_node_name"), "node-1");
    }
  }
  api_->Delete(PodJson("shop", "db", "node-1", {"postgres"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/web/proxy"}));
  EXPECT_EQ(CountRequests(/*watch=*/false), 1) << "no relist was needed";
}

TEST_F(DiscoveryTest, AsksOnlyForItsNodesPodsWithGetAndNothingElse) {
  api_->Add(PodJson("shop", "here", "node-1", {"c"}));
  api_->Add(PodJson("shop", "elsewhere", "node-2", {"c"}));
  config::KubernetesSdConfig cfg = Config();
  cfg.selectors.push_back({"pod", "tier in (front)", ""});
  Start(cfg, Options());
  ASSERT_TRUE(WaitContainers({"shop/here/c"}));
  api_->Add(PodJson("shop", "later-elsewhere", "node-2", {"c"}));
  api_->Add(PodJson("shop", "later-here", "node-1", {"c"}));
  ASSERT_TRUE(WaitContainers({"shop/here/c", "shop/later-here/c"}));

  const auto requests = api_->requests();
  ASSERT_GE(requests.size(), 2u);
  for (const KubeRequest& r : requests) {
    // RBAC get/list/watch on pods is all the agent needs.
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.path, "/api/v1/pods");
    EXPECT_TRUE(r.authorized);
    EXPECT_EQ(r.params.at("fieldSelector"), "spec.nodeName=node-1");
    EXPECT_EQ(r.params.at("labelSelector"), "tier in (front)");
  }
  const KubeRequest& watch = requests.back();
  EXPECT_EQ(watch.params.at("watch"), "1");
  EXPECT_EQ(watch.params.at("allowWatchBookmarks"), "true");
  EXPECT_FALSE(watch.params.at("resourceVersion").empty());
  EXPECT_GT(std::stoi(watch.params.at("timeoutSeconds")), 0);
}

TEST_F(DiscoveryTest, SkipsAnUnusableObjectAndKeepsWatching) {
  Start();
  ASSERT_TRUE(WaitContainers({}));
  api_->RawEvent(R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"uid":"x"}}})");
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  EXPECT_EQ(api_->watches_started(), 1);
  EXPECT_EQ(Metric(metrics_.kubernetes_api_errors, "decode"), 1);
}

// A pod changed so that it no longer reads (annotated past the agent's limits) loses its old
// targets, as a list would leave it out, rather than keeping them until the next relist.
TEST_F(DiscoveryTest, APodThatNoLongerReadsLosesItsTargets) {
  api_->Add(PodJson("shop", "web", "node-1", {"app", "proxy"}));
  api_->Add(PodJson("shop", "db", "node-1", {"postgres"}));
  Start();
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/web/proxy", "shop/db/postgres"}));
  std::map<std::string, std::string> many;
  for (int i = 0; i < 70000; ++i) many["a" + std::to_string(i)] = "v";  // 2 x 2 x 70k > 256k
  api_->Modify(PodJson("shop", "web", "node-1", {"app", "proxy"}, {}, many));
  ASSERT_TRUE(WaitContainers({"shop/db/postgres"}));
  EXPECT_EQ(Metric(metrics_.kubernetes_api_errors, "decode"), 1);
  EXPECT_EQ(CountRequests(/*watch=*/false), 1);
}

TEST_F(DiscoveryTest, RewatchesFromLastGoodVersionAfterGarbage) {
  Start();
  ASSERT_TRUE(WaitContainers({}));
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  const std::string good_rv = api_->resource_version();
  api_->RawEvent("{not json");
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() >= 2; }, 10s));
  EXPECT_EQ(api_->requests()[2].params.at("resourceVersion"), good_rv);
  EXPECT_EQ(Latest(), Containers({"shop/web/app"}));
}

// A watch event nested 200000 levels deep (from a broken or hostile API server) overflowed the
// stack in the JSON parser; now it is garbage like any other and the watch is restarted.
TEST_F(DiscoveryTest, TreatsADeeplyNestedWatchEventAsGarbage) {
  Start();
  ASSERT_TRUE(WaitContainers({}));
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  api_->RawEvent(R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"uid":"x","x":)" +
                 std::string(200000, '[') + std::string(200000, ']') + "}}}");
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() >= 2; }, 10s));
  EXPECT_EQ(Latest(), Containers({"shop/web/app"}));
}

TEST_F(DiscoveryTest, RelistsAfterGoneEvent) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  Start();
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  api_->ExpireWatches();
  ASSERT_TRUE(WaitFor([&] { return CountRequests(false) == 2; }, 10s));
  EXPECT_EQ(Metric(metrics_.kubernetes_watch_restarts, "gone"), 1);
  api_->Add(PodJson("shop", "db", "node-1", {"pg"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/db/pg"}));
}

// The first list is served from the API server's watch cache (resourceVersion=0, as client-go
// lists): without a version it is read from etcd, which reads every pod of the cluster for each
// node's field selector. After a 410 (an API server restart expires every node's watch at once)
// the relist is also served from the cache, at least as new as what was seen, and unpaged (a
// limit sends it to etcd), as client-go's reflector relists; continued pages name no version.
TEST_F(DiscoveryTest, ListsFromTheWatchCacheFirstAndAfterGone) {
  for (const char* name : {"a", "b", "c"}) api_->Add(PodJson("shop", name, "node-1", {"c"}));
  DiscoveryOptions opts = Options();
  opts.list_page_size = 2;
  Start(Config(), opts);
  ASSERT_TRUE(WaitContainers({"shop/a/c", "shop/b/c", "shop/c/c"}));
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 1; }, 10s));
  api_->Bookmark();
  const std::string seen = api_->resource_version();
  ASSERT_TRUE(WaitFor([&] { return api_->last_rv_sent() == std::stoull(seen); }, 10s));
  api_->ExpireWatches();
  ASSERT_TRUE(WaitFor([&] { return CountRequests(false) == 3; }, 10s));
  api_->Add(PodJson("shop", "d", "node-1", {"c"}));  // the watch after the relist sees it
  ASSERT_TRUE(WaitContainers({"shop/a/c", "shop/b/c", "shop/c/c", "shop/d/c"}));
  std::vector<KubeRequest> lists;
  for (const KubeRequest& r : api_->requests()) {
    if (!r.params.contains("watch")) lists.push_back(r);
  }
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].params.at("resourceVersion"), "0");
  EXPECT_FALSE(lists[1].params.contains("resourceVersion"));  // the page after: "continue" only
  EXPECT_TRUE(lists[1].params.contains("continue"));
  EXPECT_EQ(lists[2].params.at("resourceVersion"), seen);  // the relist after 410
  EXPECT_FALSE(lists[2].params.contains("limit"));
  EXPECT_EQ(lists[2].params.at("fieldSelector"), "spec.nodeName=node-1");
}

TEST_F(DiscoveryTest, RelistsWhenRewatchIsGoneAndDropsPodsDeletedMeanwhile) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  api_->Add(PodJson("shop", "db", "node-1", {"pg"}));
  Start();
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/db/pg"}));
  // Cut the watch and compact history: the rewatch from the old resourceVersion gets HTTP 410.
  api_->DropWatches();
  api_->ExpireWatches();
  api_->Delete(PodJson("shop", "db", "node-1", {"pg"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  EXPECT_GE(CountRequests(false), 2);
}

TEST_F(DiscoveryTest, RewatchesFromLastBookmarkAfterDroppedConnection) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  Start();
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 1; }, 10s));
  api_->Bookmark();
  const uint64_t bookmark_rv = std::stoull(api_->resource_version());
  ASSERT_TRUE(WaitFor([&] { return api_->last_rv_sent() == bookmark_rv; }, 10s));
  api_->DropWatches();
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 2; }, 10s));
  const auto requests = api_->requests();
  EXPECT_EQ(requests.back().params.at("resourceVersion"), std::to_string(bookmark_rv));
  EXPECT_EQ(CountRequests(false), 1) << "a dropped watch resumes without relisting";
  api_->Add(PodJson("shop", "db", "node-1", {"pg"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/db/pg"}));
}

TEST_F(DiscoveryTest, RereadsRotatedTokenAfter401AndContinues) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  Start();
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 1; }, 10s));
  // Kubelet rotates the projected token; the old one stops working at once.
  WriteFile(dir_ / "token", "token-2\n");
  api_->SetToken("token-2");
  api_->DropWatches();
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 2; }, 10s));
  const auto requests = api_->requests();
  EXPECT_FALSE(requests[requests.size() - 2].authorized);
  EXPECT_TRUE(requests.back().authorized);
  EXPECT_EQ(Metric(metrics_.kubernetes_api_errors, "unauthorized"), 1);
  api_->Add(PodJson("shop", "db", "node-1", {"pg"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/db/pg"}));
}

TEST_F(DiscoveryTest, RereadsTokenFilePeriodicallyWithoutWaitingFor401) {
  DiscoveryOptions opts = Options();
  opts.token_refresh = 0s;  // every request reads the file
  Start(Config(), opts);
  ASSERT_TRUE(WaitContainers({}));
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 1; }, 10s));
  WriteFile(dir_ / "token", "token-2\n");
  api_->SetToken("token-2");
  api_->DropWatches();
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 2; }, 10s));
  for (const KubeRequest& r : api_->requests()) EXPECT_TRUE(r.authorized);
}

TEST_F(DiscoveryTest, PicksUpAReplacedCaFile) {
  TempDir other;
  FakeKubeApi impostor(other.path(), "token-1");
  const std::string ca = dir_ / "rotating-ca.crt";
  WriteFile(ca, skidder::testing::ReadFile(impostor.ca_file()));
  config::KubernetesSdConfig cfg = Config();
  cfg.tls_config.ca_file = ca;
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  Start(cfg, Options());
  ASSERT_TRUE(
      WaitFor([&] { return Metric(metrics_.kubernetes_api_errors, "transport") >= 1; }, 10s));
  WriteFile(ca, skidder::testing::ReadFile(api_->ca_file()));
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
}

TEST_F(DiscoveryTest, KeepsLastTargetsWhileApiIsDown) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  Start();
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  const size_t updates = UpdateCount();
  api_->FailNext(1000, 503);
  api_->DropWatches();
  ASSERT_TRUE(WaitFor([&] { return Metric(metrics_.kubernetes_api_errors, "status") >= 3; }, 10s));
  EXPECT_EQ(UpdateCount(), updates) << "an outage must not publish a changed (or empty) set";
  EXPECT_EQ(Latest(), Containers({"shop/web/app"}));
  api_->FailNext(0, 0);
  api_->Add(PodJson("shop", "db", "node-1", {"pg"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/db/pg"}));
}

TEST_F(DiscoveryTest, NoCallbackUntilTheFirstListSucceeds) {
  api_->FailNext(3, 500);
  Start();
  ASSERT_TRUE(WaitFor([&] { return CountRequests(false) >= 3; }, 10s));
  EXPECT_FALSE(discovery_->Synced());
  ASSERT_TRUE(WaitContainers({})) << "an empty cluster is published once listed";
  EXPECT_TRUE(discovery_->Synced());
}

TEST_F(DiscoveryTest, QuietWatchIsRestartedWithoutRelist) {
  DiscoveryOptions opts = Options();
  opts.watch_idle_timeout = 200ms;
  Start(Config(), opts);
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() >= 3; }, 10s));
  EXPECT_EQ(CountRequests(false), 1);
  EXPECT_GE(Metric(metrics_.kubernetes_watch_restarts, "idle"), 2);
}

TEST_F(DiscoveryTest, PagesThroughLargeLists) {
  for (int i = 0; i < 5; ++i)
    api_->Add(PodJson("shop", std::string(1, 'p').append(std::to_string(i)), "node-1", {"c"}));
  DiscoveryOptions opts = Options();
  opts.list_page_size = 2;
  Start(Config(), opts);
  ASSERT_TRUE(WaitContainers({"shop/p0/c", "shop/p1/c", "shop/p2/c", "shop/p3/c", "shop/p4/c"}));
  EXPECT_EQ(CountRequests(false), 3);
}

TEST_F(DiscoveryTest, WatchesEachConfiguredNamespace) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  api_->Add(PodJson("billing", "api", "node-1", {"app"}));
  api_->Add(PodJson("other", "x", "node-1", {"app"}));
  config::KubernetesSdConfig cfg = Config();
  cfg.namespaces = {"shop", "billing"};
  Start(cfg, Options());
  ASSERT_TRUE(WaitContainers({"shop/web/app", "billing/api/app"}));
  std::set<std::string> paths;
  for (const KubeRequest& r : api_->requests()) paths.insert(r.path);
  EXPECT_EQ(paths, (std::set<std::string>{"/api/v1/namespaces/billing/pods",
                                          "/api/v1/namespaces/shop/pods"}));
}

TEST_F(DiscoveryTest, InClusterConfigFromServiceAccount) {
  TempDir sa;
  WriteFile(sa / "token", "token-1");
  WriteFile(sa / "namespace", "shop");
  WriteFile(sa / "ca.crt", skidder::testing::ReadFile(api_->ca_file()));
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  DiscoveryOptions opts = Options();
  opts.env.service_host = "127.0.0.1";
  opts.env.service_port = api_->url().substr(api_->url().rfind(':') + 1);
  opts.env.service_account_dir = sa.path();
  config::KubernetesSdConfig cfg;
  cfg.own_namespace = true;
  Start(cfg, opts);
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  EXPECT_EQ(api_->requests().front().path, "/api/v1/namespaces/shop/pods");
}

TEST_F(DiscoveryTest, RefusesServerItCannotVerifyUnlessTold) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  // A server certificate from some other CA: verification must fail.
  TempDir other;
  FakeKubeApi impostor(other.path(), "token-1");
  config::KubernetesSdConfig cfg = Config();
  cfg.tls_config.ca_file = impostor.ca_file();
  Start(cfg, Options());
  ASSERT_TRUE(
      WaitFor([&] { return Metric(metrics_.kubernetes_api_errors, "transport") >= 2; }, 10s));
  EXPECT_EQ(UpdateCount(), 0u);
  EXPECT_TRUE(api_->requests().empty()) << "no request may pass an unverified TLS handshake";
  discovery_->Stop();

  cfg.tls_config.ca_file.clear();
  cfg.tls_config.insecure_skip_verify = true;
  Start(cfg, Options());
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
}

TEST_F(DiscoveryTest, StopInterruptsABlockedWatchPromptly) {
  Start();
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 1; }, 10s));
  const auto start = std::chrono::steady_clock::now();
  discovery_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace skidder::kubernetes
