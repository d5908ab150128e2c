// The shipped Kubernetes config (config/kubernetes.yaml) run by the real binary against a fake
// API server (HTTPS, test CA, bearer token file) and a fake /var/log/pods tree: the chart's
// labels, container restarts, deleted pods drained, pods the API does not know yet, API outages,
// and nothing but GET requests on pods.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>

#include "harness.h"
#include "support/fake_kube_api.h"

namespace skidder::testing {
namespace {

constexpr const char* kToken = "itest-token";
constexpr const char* kNode = "node-1";

// Replaces every `from` in s; returns how many there were.
// "2026-11-24T10:40:12Z stdout F <prefix>-<n>" lines, n in [from, to): what containerd writes.
std::string CriLines(const std::string& prefix, int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) {
    out += fmt::format("2026-11-24T10:40:12.{:09d}Z stdout F {}-{}\n", i, prefix, i);
  }
  return out;
}

class Kubernetes : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    MakeDirs(pods());
    MakeDirs(dir_ / "kube");
    WriteFile(dir_ / "kube/token", kToken);
    api_ = std::make_unique<FakeKubeApi>(dir_ / "kube", kToken);
    agent_.SetEnv("NODE_NAME", kNode);
  }
  void TearDown() override {
    ExpectOnlyPodReads();
    IntegrationTest::TearDown();
  }

  std::string pods() const { return dir_ / "pods"; }
  // "<root>/<ns>_<pod>_uid-<pod>/<container>", as PodJson names the uid.
  std::string PodDir(const std::string& ns, const std::string& pod, const std::string& c) const {
    return pods() + "/" + ns + "_" + pod + "_uid-" + pod + "/" + c;
  }

  // config/kubernetes.yaml's scrape config, unchanged but for where the API server and the pod
  // logs are: the shipped rules are what is tested.
  // extra_rule: YAML of one more relabel rule, run first (indented as a list item of
  // relabel_configs).
  std::string WriteKubeConfig(const std::string& extra_rule = "") {
    std::string scrape = ReadFile(SKIDDER_SOURCE_DIR "/config/kubernetes.yaml");
    // The pods job only: the journal job would read this machine's journal.
    const size_t journal = scrape.find("\n  # The node's own logs");
    EXPECT_NE(journal, std::string::npos);
    scrape = scrape.substr(0, journal + 1);
    if (!extra_rule.empty()) {
      EXPECT_EQ(ReplaceAll(scrape, "    relabel_configs:\n", "    relabel_configs:\n" + extra_rule),
                1);
    }
    const size_t at = scrape.find("\nscrape_configs:\n");
    EXPECT_NE(at, std::string::npos);
    scrape = scrape.substr(at + 1);
    EXPECT_EQ(ReplaceAll(scrape, "replacement: /var/log/pods/", "replacement: " + pods() + "/"), 2);
    const std::string sd = fmt::format(
        "      - role: pod\n        api_server: {}\n        bearer_token_file: {}\n"
        "        tls_config:\n          ca_file: {}\n",
        api_->url(), dir_ / "kube/token", api_->ca_file());
    EXPECT_EQ(ReplaceAll(scrape, "      - role: pod\n", sd), 1);
    const std::string yaml = fmt::format(R"(server:
  http_listen_port: 0
  log_level: debug
positions:
  filename: {}
  sync_period: 100ms
clients:
  - url: {}
    batchwait: 50ms
    timeout: 2s
    backoff_config:
      min_period: 20ms
      max_period: 200ms
target_config:
  sync_period: 1s
{})",
                                         positions_file(), loki_.url(), scrape);
    const std::string path = dir_ / "skidder.yaml";
    WriteFile(path, yaml);
    return path;
  }

  // The labels string of the first entry with this line ("" when none arrived).
  std::string LabelsOf(const std::string& line) const {
    for (const auto& e : loki_.Entries()) {
      if (e.line == line) return e.labels;
    }
    return "";
  }
  bool TargetsContain(const std::string& text) {
    return agent_.HttpGet("/targets").find(text) != std::string::npos;
  }

  // RBAC get/list/watch on pods is all the agent needs: it never asked anything else.
  void ExpectOnlyPodReads() {
    for (const KubeRequest& r : api_->requests()) {
      EXPECT_EQ(r.method, "GET") << r.path;
      EXPECT_TRUE(r.path == "/api/v1/pods" ||
                  (r.path.starts_with("/api/v1/namespaces/") && r.path.ends_with("/pods")))
          << r.path;
    }
  }

  std::unique_ptr<FakeKubeApi> api_;
};

TEST_F(Kubernetes, PodLinesArriveWithTheChartsLabelsAndARestartedContainerToo) {
  api_->Add(PodJson("shop", "api-1", kNode, {"api"},
                    {{"app.kubernetes.io/name", "api"},
                     {"app.kubernetes.io/instance", "shop-api"},
                     {"app.kubernetes.io/component", "web"}}));
  api_->Add(PodJson("jobs", "worker-1", kNode, {"main"}, {{"app", "worker"}}));
  MakeDirs(PodDir("shop", "api-1", "api"));
  MakeDirs(PodDir("jobs", "worker-1", "main"));
  WriteFile(PodDir("shop", "api-1", "api") + "/0.log", CriLines("a", 0, 100));
  WriteFile(PodDir("jobs", "worker-1", "main") + "/0.log", CriLines("w", 0, 10));
  StartAgent(WriteKubeConfig());
  ASSERT_TRUE(loki_.WaitForLines(110)) << loki_.LineCount();
  EXPECT_EQ(LabelsOf("a-0"),
            "{app=\"api\", component=\"web\", container=\"api\", filename=\"" +
                PodDir("shop", "api-1", "api") +
                "/0.log\", instance=\"shop-api\", job=\"shop/api\", namespace=\"shop\", "
                "node_name=\"node-1\", pod=\"api-1\", stream=\"stdout\"}");
  EXPECT_EQ(LabelsOf("w-0"), "{app=\"worker\", container=\"main\", filename=\"" +
                                 PodDir("jobs", "worker-1", "main") +
                                 "/0.log\", job=\"jobs/worker\", namespace=\"jobs\", "
                                 "node_name=\"node-1\", pod=\"worker-1\", stream=\"stdout\"}");
  // The container restarts: the kubelet starts 1.log next to 0.log.
  AppendFile(PodDir("shop", "api-1", "api") + "/0.log", CriLines("a", 100, 150));
  WriteFile(PodDir("shop", "api-1", "api") + "/1.log", CriLines("a", 150, 300));
  ASSERT_TRUE(loki_.WaitForLines(310)) << loki_.LineCount();
  ExpectEachOnce("a", 0, 300);
  EXPECT_NE(LabelsOf("a-299").find("/1.log\", instance=\"shop-api\", job=\"shop/api\""),
            std::string::npos)
      << LabelsOf("a-299");
  // Node-scoped: every list and watch asked the API server for this node's pods only.
  for (KubeRequest& r : api_->requests()) {
    EXPECT_EQ(r.params["fieldSelector"], "spec.nodeName=node-1") << r.path;
  }
}

// Jobs with the same kubernetes_sd_config (the older loki-stack config has five pod jobs, one
// per way of naming the app) share one list and watch on the API server, as Prometheus shares
// a discovery provider among equal configs; each job still sees every pod meta label its own
// rules read (a pod label in one, an annotation in the other).
TEST_F(Kubernetes, JobsWithTheSameDiscoveryShareOneWatch) {
  api_->Add(PodJson("jobs", "worker-1", kNode, {"main"}, {{"app", "worker"}}));
  api_->Add(PodJson("shop", "api-1", kNode, {"api"}, {}, {{"team", "shop"}}));
  MakeDirs(PodDir("jobs", "worker-1", "main"));
  MakeDirs(PodDir("shop", "api-1", "api"));
  WriteFile(PodDir("jobs", "worker-1", "main") + "/0.log", CriLines("w", 0, 10));
  WriteFile(PodDir("shop", "api-1", "api") + "/0.log", CriLines("a", 0, 10));
  const std::string sd = fmt::format(
      "    kubernetes_sd_configs:\n      - role: pod\n        api_server: {}\n"
      "        bearer_token_file: {}\n        tls_config:\n          ca_file: {}\n",
      api_->url(), dir_ / "kube/token", api_->ca_file());
  const std::string path_rule = fmt::format(
      "      - source_labels: [__meta_kubernetes_pod_uid, __meta_kubernetes_pod_container_name]\n"
      "        separator: /\n        replacement: {}/*$1/*.log\n        target_label: __path__\n",
      pods());
  const std::string yaml = fmt::format(R"(server:
  http_listen_port: 0
positions:
  filename: {}
clients:
  - url: {}
    batchwait: 50ms
scrape_configs:
  - job_name: by-app
    pipeline_stages: [{{cri: {{}}}}]
{}    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_label_app]
        regex: .+
        action: keep
      - source_labels: [__meta_kubernetes_pod_label_app]
        target_label: app
{}  - job_name: by-team
    pipeline_stages: [{{cri: {{}}}}]
{}    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_team]
        regex: .+
        action: keep
      - source_labels: [__meta_kubernetes_pod_annotation_team]
        target_label: team
{})",
                                       positions_file(), loki_.url(), sd, path_rule, sd, path_rule);
  const std::string config = dir_ / "skidder.yaml";
  WriteFile(config, yaml);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(20)) << loki_.LineCount() << agent_.Stderr();
  EXPECT_EQ(LabelsOf("w-0"), "{app=\"worker\", filename=\"" + PodDir("jobs", "worker-1", "main") +
                                 "/0.log\", stream=\"stdout\"}");
  EXPECT_EQ(LabelsOf("a-0"), "{filename=\"" + PodDir("shop", "api-1", "api") +
                                 "/0.log\", stream=\"stdout\", team=\"shop\"}");
  ExpectEachOnce("w", 0, 10);
  ExpectEachOnce("a", 0, 10);
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() >= 1; }));
  size_t lists = 0;  // each job's lines came after its list: a second one would be here
  for (const KubeRequest& r : api_->requests()) lists += !r.params.contains("watch");
  EXPECT_EQ(lists, 1u);
  EXPECT_EQ(api_->watches_started(), 1u);
}

// tls_config.min_version / max_version (Go's names) bound the TLS versions the client offers.
TEST_F(Kubernetes, TlsVersionBoundsApplyToTheApiConnection) {
  api_->Add(PodJson("shop", "api-1", kNode, {"api"}, {{"app", "api"}}));
  MakeDirs(PodDir("shop", "api-1", "api"));
  WriteFile(PodDir("shop", "api-1", "api") + "/0.log", CriLines("a", 0, 3));
  std::string path = WriteKubeConfig();
  std::string yaml = ReadFile(path);
  const std::string ca = "          ca_file: " + api_->ca_file() + "\n";
  // The fake API server (OpenSSL's defaults) speaks TLS 1.2 and 1.3 only.
  ASSERT_EQ(ReplaceAll(yaml, ca, ca + "          max_version: TLS11\n"), 1);
  WriteFile(path, yaml);
  StartAgent(path);
  ASSERT_TRUE(WaitFor([&] {
    // libcurl's summary, then OpenSSL's reason, as the Loki client reports it (one HTTP client).
    return agent_.Stderr().find("pod list failed\" status=0 error=\"SSL connect error: OpenSSL") !=
           std::string::npos;
  })) << agent_.Stderr();
  EXPECT_EQ(agent_.Terminate(), 0);
  EXPECT_EQ(loki_.LineCount(), 0u);
  EXPECT_TRUE(api_->requests().empty());

  yaml = ReadFile(path);
  ASSERT_EQ(ReplaceAll(yaml, "max_version: TLS11", "min_version: TLS13"), 1);
  WriteFile(path, yaml);
  StartAgent(path);
  ASSERT_TRUE(loki_.WaitForLines(3)) << loki_.LineCount();
}

TEST_F(Kubernetes, DeletedPodIsReadWhileItsFilesStayThenReleased) {
  const std::string pod = PodJson("shop", "api-1", kNode, {"api"}, {{"app", "api"}});
  api_->Add(pod);
  MakeDirs(PodDir("shop", "api-1", "api"));
  const std::string log = PodDir("shop", "api-1", "api") + "/0.log";
  WriteFile(log, CriLines("d", 0, 100));
  // A linger (30s by default) longer than a loaded machine can take: the directory's removal
  // must be what ends it.
  const std::string config = WriteKubeConfig();
  std::string yaml = ReadFile(config);
  ASSERT_EQ(
      ReplaceAll(yaml, "  sync_period: 1s\n", "  sync_period: 1s\n  removed_target_linger: 10m\n"),
      1);
  WriteFile(config, yaml);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(100));
  // Its last lines are written just before the pod goes: most are still unread on DELETED.
  AppendFile(log, CriLines("d", 100, 20000));
  api_->Delete(pod);
  ASSERT_TRUE(loki_.WaitForLines(20000, std::chrono::seconds(30))) << loki_.LineCount();
  ExpectEachOnce("d", 0, 20000);
  ASSERT_TRUE(WaitFor([&] { return !TargetsContain("api-1"); })) << agent_.HttpGet("/targets");
  // Force-deleted (--grace-period=0): it left the API at once, but its container writes on until
  // the kubelet stops it. Its file is still read while it stays at its path (without the linger
  // it closes 200 ms after its last data).
  EXPECT_FALSE(WaitFor([&] { return agent_.Metric("promtail_files_active_total") == 0; },
                       std::chrono::seconds(2)));
  AppendFile(log, CriLines("d", 20000, 20100));
  ASSERT_TRUE(loki_.WaitForLines(20100)) << loki_.LineCount();
  ExpectEachOnce("d", 0, 20100);
  EXPECT_EQ(agent_.Metric("promtail_files_active_total"), 1);
  // The kubelet removes the pod's directory: released (no file open), and the file was read to
  // its end first.
  std::filesystem::remove_all(std::filesystem::path(PodDir("shop", "api-1", "api")).parent_path());
  ASSERT_TRUE(WaitFor([&] { return agent_.Metric("promtail_files_active_total") == 0; }))
      << agent_.HttpGet("/metrics");
  EXPECT_NE(agent_.Stderr().find("finished reading file"), std::string::npos);
  EXPECT_EQ(loki_.LineCount(), 20100u);
}

TEST_F(Kubernetes, FileOfAPodTheApiDoesNotKnowYetIsLabelledFromItsPathThenHandedOver) {
  StartAgent(WriteKubeConfig());
  ASSERT_TRUE(WaitFor([&] { return api_->watches_started() > 0; }));  // listed: no pods
  MakeDirs(PodDir("shop", "web-2", "web"));
  const std::string log = PodDir("shop", "web-2", "web") + "/0.log";
  WriteFile(log, CriLines("n", 0, 100));
  ASSERT_TRUE(loki_.WaitForLines(100)) << loki_.LineCount();
  // As for a known pod, except app (the chart falls back to the pod name) and hence job.
  EXPECT_EQ(LabelsOf("n-0"), "{app=\"web-2\", container=\"web\", filename=\"" + log +
                                 "\", job=\"shop/web-2\", namespace=\"shop\", "
                                 "node_name=\"node-1\", pod=\"web-2\", stream=\"stdout\"}");
  // Discovery catches up: the open file moves to the pod's real target, not read again.
  api_->Add(PodJson("shop", "web-2", kNode, {"web"}, {{"app", "web"}}));
  ASSERT_TRUE(WaitFor([&] {
    return TargetsContain("app=\"web\"") && !TargetsContain("app=\"web-2\"");
  })) << agent_.HttpGet("/targets");
  AppendFile(log, CriLines("n", 100, 200));
  ASSERT_TRUE(loki_.WaitForLines(200)) << loki_.LineCount();
  ExpectEachOnce("n", 0, 200);
  EXPECT_EQ(LabelsOf("n-150"), "{app=\"web\", container=\"web\", filename=\"" + log +
                                   "\", job=\"shop/web\", namespace=\"shop\", "
                                   "node_name=\"node-1\", pod=\"web-2\", stream=\"stdout\"}");
}

TEST_F(Kubernetes, ApiOutageKeepsTailingWithCachedMetadataAndNewPodsByPath) {
  api_->Add(PodJson("shop", "api-1", kNode, {"api"}, {{"app", "api"}}));
  MakeDirs(PodDir("shop", "api-1", "api"));
  const std::string log = PodDir("shop", "api-1", "api") + "/0.log";
  WriteFile(log, CriLines("o", 0, 100));
  StartAgent(WriteKubeConfig());
  ASSERT_TRUE(loki_.WaitForLines(100));
  // The API server goes away: every request fails and the open watch is cut.
  const size_t before = api_->requests().size();
  api_->FailNext(1'000'000, 503);
  api_->DropWatches();
  ASSERT_TRUE(WaitFor([&] { return api_->requests().size() > before; }));  // it was refused
  AppendFile(log, CriLines("o", 100, 200));
  MakeDirs(PodDir("shop", "new-1", "c"));
  WriteFile(PodDir("shop", "new-1", "c") + "/0.log", CriLines("p", 0, 50));
  ASSERT_TRUE(loki_.WaitForLines(250)) << loki_.LineCount();
  ExpectEachOnce("o", 0, 200);
  ExpectEachOnce("p", 0, 50);
  EXPECT_NE(LabelsOf("o-199").find("app=\"api\""), std::string::npos) << LabelsOf("o-199");
  EXPECT_NE(LabelsOf("p-49").find("namespace=\"shop\", node_name=\"node-1\", pod=\"new-1\""),
            std::string::npos)
      << LabelsOf("p-49");
  EXPECT_GT(agent_.Metric("skidder_kubernetes_api_errors_total"), 0) << agent_.HttpGet("/metrics");
  // The API server is back: discovery relists and the new pod gets its real labels.
  api_->FailNext(0, 0);
  api_->Add(PodJson("shop", "new-1", kNode, {"c"}, {{"app", "newapp"}}));
  ASSERT_TRUE(WaitFor([&] { return TargetsContain("app=\"newapp\""); }, std::chrono::seconds(40)))
      << agent_.HttpGet("/targets");
}

// The API accepts a pod with 100k labels; one label at a time that took the agent 90 s of a core,
// and SIGTERM waited for it. Now the pod is labelled in seconds and shutdown stays prompt. A
// labelmap rule makes every pod label one the rules read (else they are not even built).
TEST_F(Kubernetes, PodWithAHundredThousandLabelsIsLabelledInSecondsAndShutdownStaysPrompt) {
  std::map<std::string, std::string> labels{{"app", "big"}};
  for (int i = 0; i < 100000; ++i) labels["k" + std::to_string(i)] = "v";
  api_->Add(PodJson("shop", "big-1", kNode, {"c"}, labels));
  MakeDirs(PodDir("shop", "big-1", "c"));
  const std::string log = PodDir("shop", "big-1", "c") + "/0.log";
  StartAgent(
      WriteKubeConfig("      - action: labelmap\n"
                      "        regex: __meta_kubernetes_pod_label_(.+)\n"
                      "        replacement: __tmp_$1\n"));
  ASSERT_TRUE(WaitFor([&] { return TargetsContain("app=\"big\""); }, std::chrono::seconds(20)))
      << agent_.HttpGet("/targets");
  WriteFile(log, CriLines("b", 0, 10));
  ASSERT_TRUE(loki_.WaitForLines(10)) << loki_.LineCount();
  EXPECT_NE(LabelsOf("b-9").find("app=\"big\""), std::string::npos) << LabelsOf("b-9");
  // A change of the pod arrives as the agent is told to stop: it does not wait to digest it.
  labels["k0"] = "changed";
  api_->Modify(PodJson("shop", "big-1", kNode, {"c"}, labels));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(agent_.Terminate(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace skidder::testing
