// TargetSet with the shipped Kubernetes config (config/kubernetes.yaml): files of pods discovery
// has not reported are targeted from their path, handed over when the pod is discovered, and a
// deleted pod's leftover files are not picked up again.
#include "app/targets.h"

#include <gtest/gtest.h>

#include "config/loader.h"
#include "kubernetes/pod_targets.h"
#include "model/entry.h"
#include "support/test_util.h"

namespace skidder::app {
namespace {

using skidder::testing::MakeDirs;
using skidder::testing::ReadFile;
using skidder::testing::TempDir;

// The shipped scrape config, with /var/log/pods moved to root (as a test points it elsewhere).
config::ScrapeConfig ShippedScrapeConfig(const std::string& root) {
  auto cfg = config::ParseConfig(ReadFile(SKIDDER_SOURCE_DIR "/config/kubernetes.yaml"),
                                 "kubernetes.yaml", false);
  EXPECT_TRUE(cfg) << cfg.error().message();
  config::ScrapeConfig sc = cfg->scrape_configs.at(0);
  for (auto& rc : sc.relabel_configs) {
    if (size_t at = rc.replacement.find("/var/log/pods"); at != std::string::npos) {
      rc.replacement.replace(at, 13, root);
    }
  }
  return sc;
}

kubernetes::Pod MakePod(const std::string& ns, const std::string& name, const std::string& uid) {
  kubernetes::Pod p;
  p.namespace_name = ns;
  p.name = name;
  p.uid = uid;
  p.node_name = "node-1";
  p.labels = {{"app", "web"}};
  p.containers = {{"web", "img/web", "containerd://1", false}};
  return p;
}

class TargetSetTest : public ::testing::Test {
 protected:
  void SetUp() override { MakeDirs(root_); }
  void Build(config::ScrapeConfig sc, TargetSet::Options opts = {}) {
    auto rules = kubernetes::CompileRelabel(sc.relabel_configs);
    ASSERT_TRUE(rules) << rules.error().message();
    ScrapeJob job;
    job.job_name = sc.job_name;
    job.relabel = *rules;
    job.fallback = MakePathFallback(sc, job.relabel, "node-1");
    jobs_.push_back(std::move(job));
    targets_ = std::make_unique<TargetSet>(
        &jobs_, [this](std::vector<sources::FileTarget> t) { published_ = std::move(t); }, opts);
  }
  void AddPodDir(const std::string& dir, const std::string& container) {
    MakeDirs(root_ + "/" + dir + "/" + container);
  }
  // Published targets as "<label>=<value>" of one label, for compact assertions.
  std::vector<std::string> Published(const char* label) const {
    std::vector<std::string> out;
    for (const auto& t : published_) {
      const std::string* v = t.labels.Get(label);
      out.push_back(v ? *v : "<none>");
    }
    return out;
  }

  TempDir dir_;
  std::string root_ = dir_ / "pods";
  std::vector<ScrapeJob> jobs_;
  std::unique_ptr<TargetSet> targets_;
  std::vector<sources::FileTarget> published_;
};

TEST(PodLogRoot, ComesFromTheShippedRelabelRules) {
  auto sc = ShippedScrapeConfig("/var/log/pods");
  auto rules = kubernetes::CompileRelabel(sc.relabel_configs);
  ASSERT_TRUE(rules);
  EXPECT_EQ(PodLogRoot(*rules), "/var/log/pods");
  EXPECT_EQ(PodLogRoot(*kubernetes::CompileRelabel(ShippedScrapeConfig("/x/y").relabel_configs)),
            "/x/y");
}

TEST(PodLogRoot, IsEmptyWhenThePathDoesNotComeFromThePodDirectory) {
  config::RelabelConfig fixed;
  fixed.target_label = "__path__";
  fixed.replacement = "/var/log/*.log";
  EXPECT_EQ(PodLogRoot(*kubernetes::CompileRelabel({fixed})), "");
  config::RelabelConfig wildcard;
  wildcard.source_labels = {"__meta_kubernetes_pod_uid"};
  wildcard.target_label = "__path__";
  wildcard.replacement = "/var/log/*/pods/*$1/*.log";
  EXPECT_EQ(PodLogRoot(*kubernetes::CompileRelabel({wildcard})), "");
  EXPECT_EQ(PodLogRoot({}), "");
}

TEST_F(TargetSetTest, FileOfAPodDiscoveryHasNotReportedIsTargetedFromItsPath) {
  Build(ShippedScrapeConfig(root_));
  AddPodDir("shop_web-2_uid-web-2", "web");
  targets_->Update(0, "kubernetes/0", {});  // listed: the pod is not there (yet)
  targets_->ScanPodLogs();
  ASSERT_EQ(published_.size(), 1u);
  const Labels& l = published_[0].labels;
  EXPECT_EQ(l.ToString(),
            "{__path__=\"" + root_ +
                "/*uid-web-2/web/*.log\", app=\"web-2\", container=\"web\", "
                "job=\"shop/web-2\", namespace=\"shop\", node_name=\"node-1\", pod=\"web-2\"}");
}

TEST_F(TargetSetTest, DiscoveredPodReplacesItsPathTargetInOneUpdate) {
  Build(ShippedScrapeConfig(root_));
  AddPodDir("shop_web-2_uid-web-2", "web");
  targets_->Update(0, "kubernetes/0", {});
  targets_->ScanPodLogs();
  ASSERT_EQ(Published("app"), std::vector<std::string>{"web-2"});
  targets_->Update(0, "kubernetes/0",
                   kubernetes::PodTargets(MakePod("shop", "web-2", "uid-web-2")));
  EXPECT_EQ(Published("app"), std::vector<std::string>{"web"});
  EXPECT_EQ(Published(kPathLabel), std::vector<std::string>{root_ + "/*uid-web-2/web/*.log"});
  targets_->ScanPodLogs();
  EXPECT_EQ(Published("app"), std::vector<std::string>{"web"});
}

TEST_F(TargetSetTest, DeletedPodsLeftoverFilesGetNoPathTarget) {
  Build(ShippedScrapeConfig(root_));
  AddPodDir("shop_web-2_uid-web-2", "web");
  targets_->Update(0, "kubernetes/0",
                   kubernetes::PodTargets(MakePod("shop", "web-2", "uid-web-2")));
  targets_->ScanPodLogs();
  targets_->Update(0, "kubernetes/0", {});  // DELETED; the kubelet removes the directory later
  EXPECT_TRUE(published_.empty());
  targets_->ScanPodLogs();
  EXPECT_TRUE(published_.empty());
}

TEST_F(TargetSetTest, StaticPodIsKnownByItsConfigHash) {
  Build(ShippedScrapeConfig(root_));
  AddPodDir("kube-system_etcd-node-1_0a1b2c3d", "etcd");
  auto pod = MakePod("kube-system", "etcd-node-1", "mirror-uid");
  pod.annotations = {{"kubernetes.io/config.hash", "0a1b2c3d"}};
  pod.containers = {{"etcd", "img/etcd", "", false}};
  targets_->Update(0, "kubernetes/0", kubernetes::PodTargets(pod));
  targets_->ScanPodLogs();
  EXPECT_EQ(Published(kPathLabel), std::vector<std::string>{root_ + "/*0a1b2c3d/etcd/*.log"});
}

TEST_F(TargetSetTest, NoPathTargetsBeforeTheFirstListUnlessItTakesTooLong) {
  AddPodDir("shop_web-2_uid-web-2", "web");
  Build(ShippedScrapeConfig(root_));
  targets_->ScanPodLogs();
  EXPECT_TRUE(published_.empty());  // a slow first list is better than relabeling everything
  jobs_.clear();
  Build(ShippedScrapeConfig(root_), {.fallback_grace = std::chrono::milliseconds(0)});
  targets_->ScanPodLogs();
  EXPECT_EQ(Published("pod"), std::vector<std::string>{"web-2"});
}

TEST_F(TargetSetTest, OnlyNamespacesTheJobWatchesAreTargetedFromTheirPath) {
  auto sc = ShippedScrapeConfig(root_);
  sc.kubernetes_sd_configs[0].namespaces = {"shop"};
  Build(sc);
  AddPodDir("shop_web-2_uid-web-2", "web");
  AddPodDir("other_db-0_uid-db-0", "db");
  AddPodDir("not-a-pod-directory", "x");
  targets_->Update(0, "kubernetes/0", {});
  targets_->ScanPodLogs();
  EXPECT_EQ(Published("namespace"), std::vector<std::string>{"shop"});
}

TEST_F(TargetSetTest, SelectorsTurnThePathFallbackOff) {
  auto sc = ShippedScrapeConfig(root_);
  sc.kubernetes_sd_configs[0].selectors = {{"pod", "app=web", ""}};
  Build(sc);
  EXPECT_EQ(jobs_[0].fallback.root, "");
  AddPodDir("shop_web-2_uid-web-2", "web");
  targets_->Update(0, "kubernetes/0", {});
  targets_->ScanPodLogs();
  EXPECT_TRUE(published_.empty());
}

config::RelabelConfig Rule(const char* action, std::vector<std::string> sources,
                           const char* target = "", const char* regex = "(.*)") {
  config::RelabelConfig r;
  r.action = action;
  r.source_labels = std::move(sources);
  r.target_label = target;
  r.regex = regex;
  return r;
}

std::string NeedsDiscovery(const std::vector<config::RelabelConfig>& configs) {
  auto rules = kubernetes::CompileRelabel(configs);
  EXPECT_TRUE(rules) << rules.error().message();
  return rules ? FilterNeedsDiscovery(*rules) : "compile error";
}

TEST(FilterNeedsDiscovery, NamesTheFirstFilterReadingWhatAPathDoesNotShow) {
  // Filters on what a path shows (namespace, pod, container, uid, node) judge it as discovery's
  // target would be judged.
  EXPECT_EQ(NeedsDiscovery({Rule("drop", {"__meta_kubernetes_namespace"}, "", "kube-system"),
                            Rule("keep", {"__meta_kubernetes_pod_container_name"}, "", "app|web"),
                            Rule("drop", {"__meta_kubernetes_pod_node_name"}, "", "")}),
            "");
  // An annotation that excludes a pod: a path target would not see it and would ship the pod.
  EXPECT_EQ(
      NeedsDiscovery({Rule("replace", {"__meta_kubernetes_namespace"}, "namespace"),
                      Rule("drop", {"__meta_kubernetes_pod_annotation_logs_exclude"}, "", "true")}),
      "relabel_configs[1] (drop) reads __meta_kubernetes_pod_annotation_logs_exclude");
  // Through a label an earlier rule made from a pod label; one made from the path is fine.
  EXPECT_EQ(NeedsDiscovery({Rule("replace", {"__meta_kubernetes_namespace"}, "ns"),
                            Rule("drop", {"ns"}, "", "kube-system"),
                            Rule("replace", {"__meta_kubernetes_pod_label_team"}, "__tmp_team"),
                            Rule("keep", {"__tmp_team"}, "", "payments")}),
            "relabel_configs[3] (keep) reads __tmp_team");
  // After a labelmap, a name no rule made may be a copied pod label.
  EXPECT_EQ(NeedsDiscovery({Rule("labelmap", {}, "", "__meta_kubernetes_pod_label_(.+)"),
                            Rule("drop", {"team"}, "", "secret")}),
            "relabel_configs[1] (drop) reads team");
  EXPECT_EQ(NeedsDiscovery({Rule("dropequal", {"__meta_kubernetes_namespace"},
                                 "__meta_kubernetes_pod_label_ns")}),
            "relabel_configs[0] (dropequal) reads __meta_kubernetes_pod_label_ns");
}

// A pod excluded by an annotation must not be shipped because discovery is late: the job waits
// for discovery instead of targeting the pod from its path.
TEST_F(TargetSetTest, AFilterOnAnAnnotationTurnsThePathFallbackOff) {
  auto sc = ShippedScrapeConfig(root_);
  sc.relabel_configs.push_back(
      Rule("drop", {"__meta_kubernetes_pod_annotation_logging_exclude"}, "", "true"));
  Build(sc);
  EXPECT_EQ(jobs_[0].fallback.root, "");
  AddPodDir("vault_vault-0_uid-vault-0", "vault");
  targets_->Update(0, "kubernetes/0", {});
  targets_->ScanPodLogs();
  EXPECT_TRUE(published_.empty());
}

}  // namespace
}  // namespace skidder::app
