// PodDiscovery against an API server that misbehaves, by accident or on purpose: it must never
// turn a DaemonSet into a storm of requests on its own control plane, and it must say what is
// happening in a few log lines, not one per retry.
//
// Rates are checked by counting the requests the fake received in a window of requests, divided
// by the time that window took: with the fix the backoffs put a floor under that time (so a slow
// machine only lowers the rate), without it the requests come as fast as TLS handshakes allow.
#include <algorithm>

#include "discovery_fixture.h"
#include "kubernetes/relabel.h"
#include "util/log.h"

namespace skidder::kubernetes {

using skidder::testing::Occurrences;

namespace {

using Clock = std::chrono::steady_clock;
using WatchMode = skidder::testing::FakeKubeApi::WatchMode;

// Requests per second among the watch (or list) requests from the from-th (0-based) on.
double Rate(const std::vector<skidder::testing::KubeRequest>& all, bool watch, size_t from) {
  std::vector<Clock::time_point> at;
  for (const auto& r : all) {
    if (r.params.count("watch") == (watch ? 1u : 0u)) at.push_back(r.at);
  }
  if (at.size() < from + 2) return 0;
  return (at.size() - from - 1) / std::chrono::duration<double>(at.back() - at[from]).count();
}

class HostileApiTest : public DiscoveryTest {
 protected:
  void SetUp() override {
    DiscoveryTest::SetUp();
    log::CaptureForTest(&log_);
  }
  void TearDown() override {
    DiscoveryTest::TearDown();  // stops discovery: nothing logs any more
    log::CaptureForTest(nullptr);
  }
  DiscoveryOptions SlowBackoff() {
    DiscoveryOptions o = Options();
    o.backoff_min = 5ms;
    o.backoff_max = 500ms;
    return o;
  }
  std::string log_;
};

// Backoffs of 5 ms doubling to 500 ms (drawn from [d/2, d]): from the 8th retry on, requests are
// at least 250 ms apart, 4 a second at most; without a backoff they come tens a second.
TEST_F(HostileApiTest, WatchClosedAfterOneNewlineIsBackedOffNotReopenedAtOnce) {
  api_->SetWatchMode(WatchMode::kNewlineThenClose);
  Start(Config(), SlowBackoff());
  ASSERT_TRUE(WaitFor([&] { return CountRequests(/*watch=*/true) >= 14; }, 60s));
  EXPECT_LT(Rate(api_->requests(), /*watch=*/true, 7), 6) << "watches per second";
  EXPECT_EQ(CountRequests(/*watch=*/false), 1) << "a short watch is resumed, not relisted";
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "kubernetes pod watch ended early"), 1) << log_;
}

TEST_F(HostileApiTest, EveryWatchGoneBacksOffTheRelists) {
  api_->SetWatchMode(WatchMode::kAlwaysGone);
  Start(Config(), SlowBackoff());
  ASSERT_TRUE(WaitFor([&] { return CountRequests(/*watch=*/false) >= 14; }, 60s));
  EXPECT_LT(Rate(api_->requests(), /*watch=*/false, 7), 6) << "lists per second";
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "410 Gone"), 1) << log_;
}

// After etcd is restored from a backup the server refuses every watch from the version the
// agent knows (504 "Too large resource version"): watching again never heals that, so the
// watcher lists afresh, and picks up what changed meanwhile. The list at least as new as that
// version fails the same way: the one after it reads etcd (no version).
TEST_F(HostileApiTest, AWatchFromAVersionTheServerDoesNotHaveLeadsToAFreshList) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  Start(Config(), SlowBackoff());
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 1; }, 10s));
  api_->SetWatchMode(WatchMode::kTooLargeUntilList);
  api_->DropWatches();
  api_->Add(PodJson("shop", "api", "node-1", {"app"}));  // seen by the fresh list only
  ASSERT_TRUE(WaitContainers({"shop/api/app", "shop/web/app"}));
  std::vector<KubeRequest> lists;
  for (const KubeRequest& r : api_->requests()) {
    if (!r.params.contains("watch")) lists.push_back(r);
  }
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0].params.at("resourceVersion"), "0");
  EXPECT_NE(lists[1].params.at("resourceVersion"), "0");      // at least what was seen: refused
  EXPECT_FALSE(lists[2].params.contains("resourceVersion"));  // from etcd
  EXPECT_EQ(Metric(metrics_.kubernetes_watch_restarts, "gone"), 1);
}

// HOSTNAME for the node name (NODE_NAME not set): in a pod it is the pod's name, the node-scoped
// list is empty, and nothing would be collected without a word. Said once, with the fix; not
// when the node has pods.
TEST_F(HostileApiTest, AnEmptyListOfTheNodesPodsSaysTheNodeNameIsLikelyWrong) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  DiscoveryOptions opts = SlowBackoff();
  opts.env.node_name = "skidder-x7k2p";
  opts.env.node_from_hostname = true;
  opts.env.service_host = "10.96.0.1";  // in a pod
  Start(Config(), opts);
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 1; }, 10s));
  api_->ExpireWatches();  // a relist: not said again
  ASSERT_TRUE(WaitFor([&] { return CountRequests(/*watch=*/false) == 2; }, 10s));
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "no pod on this node"), 1) << log_;
  EXPECT_NE(log_.find("node=skidder-x7k2p from=HOSTNAME"), std::string::npos) << log_;
  log_.clear();
  opts.env.service_host.clear();  // outside the cluster: an empty node may be right
  const size_t watches = CountRequests(/*watch=*/true);
  Start(Config(), opts);  // its list is done once it asks to watch
  ASSERT_TRUE(WaitFor([&] { return CountRequests(/*watch=*/true) > watches; }, 10s));
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "no pod on this node"), 0) << log_;
  Start(Config(), SlowBackoff());  // node-1 has a pod
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "no pod on this node"), 0) << log_;
}

// attach_metadata.node without access to nodes: the job's pod targets wait for the node list,
// and the fix says so (not "no nodes targets", which would read as harmless).
TEST_F(HostileApiTest, AForbiddenNodeListOfAttachMetadataSaysTheTargetsWait) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  api_->FailPath("/api/v1/nodes", 403);
  config::KubernetesSdConfig cfg = Config();
  cfg.attach_metadata_node = true;
  Start(cfg, SlowBackoff());
  // Two refusals: the first one's log line is written (log_ is read only once stopped).
  ASSERT_TRUE(
      WaitFor([&] { return Metric(metrics_.kubernetes_api_errors, "forbidden") >= 2; }, 30s));
  discovery_->Stop();
  EXPECT_NE(log_.find("needs get, list and watch on nodes"), std::string::npos) << log_;
  EXPECT_NE(log_.find("until then the job's targets wait for its nodes"), std::string::npos)
      << log_;
}

TEST_F(HostileApiTest, HonoursRetryAfterOf429AndLogsTheOutageOnce) {
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  Start();
  ASSERT_TRUE(WaitContainers({"shop/web/app"}));
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() == 1; }, 10s));
  const size_t before = api_->requests().size();
  api_->FailNext(1000, 429, /*retry_after=*/1);
  const auto start = Clock::now();
  api_->DropWatches();
  // The first retry is refused with Retry-After: 1; two more each wait for it.
  ASSERT_TRUE(WaitFor([&] { return api_->requests().size() >= before + 3; }, 30s));
  EXPECT_GE(Clock::now() - start, 2s) << "Retry-After: 1 between refused requests";
  api_->FailNext(0, 0);
  api_->Add(PodJson("shop", "db", "node-1", {"pg"}));
  ASSERT_TRUE(WaitContainers({"shop/web/app", "shop/db/pg"}));
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "kubernetes pod watch failed"), 1) << log_;
}

// Missing RBAC is the commonest first-install failure: the log line carries what the API server
// said (which account, which resource) and what to grant, not just "403".
TEST_F(HostileApiTest, AForbiddenListIsLoggedWithTheApiMessageAndTheFix) {
  api_->FailNext(1000, 403);
  Start(Config(), SlowBackoff());
  ASSERT_TRUE(
      WaitFor([&] { return Metric(metrics_.kubernetes_api_errors, "forbidden") >= 2; }, 30s));
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "kubernetes pod list failed"), 1) << log_;
  EXPECT_NE(log_.find(R"(User \"system:serviceaccount:logs:skidder\" cannot list resource)"),
            std::string::npos)
      << log_;
  EXPECT_NE(log_.find("needs get, list and watch on pods"), std::string::npos) << log_;
  EXPECT_NE(log_.find("until then pods are known by their log paths only"), std::string::npos)
      << log_;
  EXPECT_EQ(log_.find("error=\"\""), std::string::npos) << "empty fields are left out: " << log_;
}

TEST_F(HostileApiTest, UndecodableWatchEventsAreLoggedButNotOncePerEvent) {
  Start();
  ASSERT_TRUE(WaitContainers({}));
  api_->RawEvent("{not json");
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() >= 2; }, 10s));
  api_->RawEvent(R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"uid":"x"}}})");
  ASSERT_TRUE(WaitFor([&] { return Metric(metrics_.kubernetes_api_errors, "decode") >= 2; }, 10s));
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "kubernetes watch event skipped"), 1) << log_;
  EXPECT_NE(log_.find("not JSON"), std::string::npos) << log_;
}

TEST_F(HostileApiTest, EndlessPaginationIsAbandonedLoggedAndRetriedLater) {
  api_->SetListMode(skidder::testing::FakeKubeApi::ListMode::kEndlessPages);
  DiscoveryOptions opts = Options();
  opts.max_list_pages = 5;
  Start(Config(), opts);
  // A list starts without a continue token; the second such request proves the first gave up.
  auto starts = [&] {
    int n = 0;
    for (const auto& r : api_->requests()) n += r.params.count("continue") == 0;
    return n;
  };
  ASSERT_TRUE(WaitFor([&] { return starts() >= 3; }, 20s));
  discovery_->Stop();
  const auto requests = api_->requests();
  int pages = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].params.count("continue") == 0) pages = 0;
    EXPECT_LE(++pages, 5) << "request " << i;
  }
  EXPECT_FALSE(discovery_->Synced());
  EXPECT_EQ(UpdateCount(), 0u) << "a partial list is never published";
  EXPECT_EQ(Occurrences(log_, "too many pages or pods"), 1) << log_;
}

TEST_F(HostileApiTest, ListBodyPastTheCapIsNotDownloadedFurther) {
  api_->SetListMode(skidder::testing::FakeKubeApi::ListMode::kEndlessBody);
  DiscoveryOptions opts = Options();
  opts.max_list_body = 1 << 20;
  Start(Config(), opts);
  // Each cut page is asked again with half the limit, down to one pod; then the list is given up.
  ASSERT_TRUE(WaitFor([&] { return CountRequests(/*watch=*/false) >= 12; }, 30s));
  discovery_->Stop();
  const uint64_t per_request = api_->list_bytes_sent() / CountRequests(false);
  // What the fake wrote includes what sat in socket buffers when the agent hung up.
  EXPECT_LT(per_request, 16u << 20);
  EXPECT_GE(Metric(metrics_.kubernetes_api_errors, "too_large"), 10);
  EXPECT_EQ(Occurrences(log_, "asking for fewer pods per page"), 1) << log_;
  EXPECT_EQ(Occurrences(log_, "one pod is over the cap"), 1) << log_;
}

// Bytes of label names and values held for the latest targets.
size_t TargetBytes(const std::vector<Labels>& targets) {
  size_t n = 0;
  for (const Labels& ls : targets) {
    for (const Label& l : ls) n += l.name.size() + l.value.size();
  }
  return n;
}

TEST_F(HostileApiTest, KeepsOnlyTheLabelsRelabelingReadsAndPagesThroughBigPods) {
  const std::string big(200 * 1024, 'x');  // legal: the API allows 256 KiB of annotations
  for (int i = 0; i < 8; ++i) {
    api_->Add(PodJson("shop", "p" + std::to_string(i), "node-1", {"a", "b"},
                      {{"app", "web"}, {"team.io/name", "t"}, {"unread", "u"}},
                      {{"big", big}, {"kubernetes.io/config.hash", "h"}}));
  }
  std::vector<config::RelabelConfig> configs(2);
  configs[0].source_labels = {"__meta_kubernetes_pod_label_app"};
  configs[0].target_label = "app";
  configs[1].action = "labelmap";
  configs[1].regex = "__meta_kubernetes_pod_label_(team_.*)";
  auto rules = CompileRelabel(configs);
  ASSERT_TRUE(rules.has_value());
  DiscoveryOptions opts = Options();
  opts.keep_meta =
      ReadableMetaLabels(*rules, {"__meta_kubernetes_pod_annotation_kubernetes_io_config_hash"});
  opts.max_list_body = 1 << 20;  // a page of 8 such pods is 1.6 MiB
  Start(Config(), opts);
  ASSERT_TRUE(WaitFor([&] { return Latest().size() == 16; }, 20s));
  std::lock_guard lock(mu_);
  const Labels& t = updates_.back().front();
  EXPECT_EQ(*t.Get("__meta_kubernetes_pod_label_app"), "web");
  EXPECT_EQ(*t.Get("__meta_kubernetes_pod_label_team_io_name"), "t");
  EXPECT_EQ(*t.Get("__meta_kubernetes_pod_annotation_kubernetes_io_config_hash"), "h");
  EXPECT_EQ(*t.Get("__meta_kubernetes_pod_container_name"), "a");
  for (const char* gone :
       {"__meta_kubernetes_pod_annotation_big", "__meta_kubernetes_pod_annotationpresent_big",
        "__meta_kubernetes_pod_label_unread"}) {
    EXPECT_FALSE(t.Has(gone)) << gone;
  }
  EXPECT_LT(TargetBytes(updates_.back()), 64u << 10) << "16 targets, no 200 KB annotation";
}

TEST_F(HostileApiTest, WatchCannotAddPodsPastMaxPods) {
  DiscoveryOptions opts = Options();
  opts.max_pods = 2;
  Start(Config(), opts);
  ASSERT_TRUE(WaitContainers({}));
  for (const char* name : {"a", "b", "c"}) api_->Add(PodJson("shop", name, "node-1", {"app"}));
  ASSERT_TRUE(WaitContainers({"shop/a/app", "shop/b/app"}));
  ASSERT_TRUE(
      WaitFor([&] { return Metric(metrics_.kubernetes_api_errors, "too_large") >= 1; }, 10s));
  api_->Delete(PodJson("shop", "a", "node-1", {"app"}));
  api_->Add(PodJson("shop", "d", "node-1", {"app"}));
  ASSERT_TRUE(WaitContainers({"shop/b/app", "shop/d/app"}));
  discovery_->Stop();
  EXPECT_EQ(Occurrences(log_, "(max_pods)"), 1) << log_;
}

}  // namespace
}  // namespace skidder::kubernetes
