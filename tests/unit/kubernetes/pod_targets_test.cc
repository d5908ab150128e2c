#include "kubernetes/pod_targets.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kubernetes/relabel.h"

namespace skidder::kubernetes {
namespace {

// A Deployment pod as the API returns it, trimmed to the fields that matter plus some noise.
constexpr std::string_view kWebPod = R"({
  "kind": "Pod", "apiVersion": "v1",
  "metadata": {
    "name": "web-7d9f8b6c5-x2x9q", "namespace": "shop",
    "uid": "0b48a727-1c1f-4a43-9d8c-5f7a2b0f3e11", "resourceVersion": "4711",
    "labels": {"app.kubernetes.io/name": "web", "pod-template-hash": "7d9f8b6c5",
               "tier": "front"},
    "annotations": {"prometheus.io/scrape": "true", "kubectl.kubernetes.io/restartedAt": "x"},
    "ownerReferences": [
      {"apiVersion": "v1", "kind": "Secret", "name": "not-the-controller"},
      {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-7d9f8b6c5",
       "controller": true, "blockOwnerDeletion": true}]
  },
  "spec": {
    "nodeName": "node-1",
    "initContainers": [{"name": "migrate", "image": "shop/migrate:1.2"}],
    "containers": [
      {"name": "web", "image": "shop/web:3.4", "ports": [{"containerPort": 8080}]},
      {"name": "sidecar", "image": "envoy:1.30"}]
  },
  "status": {
    "phase": "Running", "podIP": "10.1.2.3", "hostIP": "192.168.0.10",
    "conditions": [{"type": "Initialized", "status": "True"},
                   {"type": "Ready", "status": "False"}],
    "initContainerStatuses": [{"name": "migrate", "containerID": "containerd://aaa"}],
    "containerStatuses": [{"name": "sidecar", "containerID": "containerd://ccc"},
                          {"name": "web", "containerID": "containerd://bbb"}]
  }
})";

std::string Get(const Labels& l, std::string_view name) {
  const std::string* v = l.Get(name);
  return v ? *v : "<absent>";
}

TEST(PodTargets, OneTargetPerContainerIncludingInitContainers) {
  auto pod = ParsePod(kWebPod);
  ASSERT_TRUE(pod.has_value()) << pod.error().ToString();
  auto targets = PodTargets(*pod);
  ASSERT_EQ(targets.size(), 3u);
  struct {
    std::string name, image, id, init;
  } want[] = {{"web", "shop/web:3.4", "containerd://bbb", "false"},
              {"sidecar", "envoy:1.30", "containerd://ccc", "false"},
              {"migrate", "shop/migrate:1.2", "containerd://aaa", "true"}};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Get(targets[i], "__meta_kubernetes_pod_container_name"), want[i].name);
    EXPECT_EQ(Get(targets[i], "__meta_kubernetes_pod_container_image"), want[i].image);
    EXPECT_EQ(Get(targets[i], "__meta_kubernetes_pod_container_id"), want[i].id);
    EXPECT_EQ(Get(targets[i], "__meta_kubernetes_pod_container_init"), want[i].init);
  }
}

TEST(PodTargets, CarriesPrometheusPodMetaLabels) {
  auto pod = ParsePod(kWebPod);
  ASSERT_TRUE(pod.has_value());
  const Labels t = PodTargets(*pod).at(0);
  const std::pair<std::string, std::string> want[] = {
      {"__meta_kubernetes_namespace", "shop"},
      {"__meta_kubernetes_pod_name", "web-7d9f8b6c5-x2x9q"},
      {"__meta_kubernetes_pod_uid", "0b48a727-1c1f-4a43-9d8c-5f7a2b0f3e11"},
      {"__meta_kubernetes_pod_ip", "10.1.2.3"},
      {"__meta_kubernetes_pod_node_name", "node-1"},
      {"__meta_kubernetes_pod_host_ip", "192.168.0.10"},
      {"__meta_kubernetes_pod_phase", "Running"},
      {"__meta_kubernetes_pod_ready", "false"},
      {"__meta_kubernetes_pod_controller_kind", "ReplicaSet"},
      {"__meta_kubernetes_pod_controller_name", "web-7d9f8b6c5"},
      {"__meta_kubernetes_pod_workload_kind", "Deployment"},
      {"__meta_kubernetes_pod_workload_name", "web"},
      {"__meta_kubernetes_pod_label_app_kubernetes_io_name", "web"},
      {"__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name", "true"},
      {"__meta_kubernetes_pod_label_pod_template_hash", "7d9f8b6c5"},
      {"__meta_kubernetes_pod_annotation_prometheus_io_scrape", "true"},
      {"__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape", "true"},
      {"__meta_kubernetes_pod_annotation_kubectl_kubernetes_io_restartedAt", "x"},
      {"__address__", "10.1.2.3"},
  };
  for (const auto& [name, value] : want) EXPECT_EQ(Get(t, name), value) << name;
  for (const Label& l : t) EXPECT_TRUE(IsValidLabelName(l.name)) << l.name;
}

// An API server (or anything in its place) cannot crash the agent with a deeply nested object.
TEST(PodTargets, DeeplyNestedPodJsonIsRefusedWithoutCrashing) {
  const std::string pod = R"({"metadata": {"name": "p", "namespace": "n", "x": )" +
                          std::string(200000, '[') + std::string(200000, ']') + "}}";
  auto r = ParsePod(pod);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("pod JSON: nesting deeper than 1000"), std::string::npos)
      << r.error().message();
}

// A pod made to have thousands of containers and labels (within the API server's 1.5 MB)
// would be containers x labels targets' worth of labels: it is skipped, saying why, rather than
// the agent killed for memory on every list. An ordinary large pod is read.
TEST(PodTargets, APodOfTooManyContainersOrLabelsIsSkippedNamingWhy) {
  auto make = [](int containers, int labels) {
    std::string json = R"({"metadata": {"name": "p", "namespace": "n", "labels": {)";
    for (int i = 0; i < labels; ++i) json += fmt::format(R"({}"l{}": "v")", i ? "," : "", i);
    json += R"(}}, "spec": {"containers": [)";
    for (int i = 0; i < containers; ++i)
      json += fmt::format(R"({}{{"name": "c{}"}})", i ? "," : "", i);
    return json + "]}}";
  };
  auto many_containers = ParsePod(make(600, 1));
  ASSERT_FALSE(many_containers.has_value());
  EXPECT_NE(many_containers.error().message().find(
                "pod n/p skipped: 600 containers with 1 labels and annotations"),
            std::string::npos)
      << many_containers.error().message();
  EXPECT_FALSE(ParsePod(make(100, 2000)).has_value());  // 400k labels over its targets
  auto big = ParsePod(make(40, 200));                   // 16k: read
  ASSERT_TRUE(big.has_value()) << big.error().message();
  EXPECT_EQ(PodTargets(*big, {}).size(), 40u);
}

TEST(PodTargets, ReadyIsUnknownWithoutConditionAndIpLessPodStillHasTargets) {
  auto pod = ParsePod(R"({"metadata": {"name": "p", "namespace": "n"},
      "spec": {"containers": [{"name": "c"}]}, "status": {"phase": "Pending"}})");
  ASSERT_TRUE(pod.has_value());
  auto targets = PodTargets(*pod);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(Get(targets[0], "__meta_kubernetes_pod_ready"), "unknown");
  EXPECT_EQ(Get(targets[0], "__meta_kubernetes_pod_ip"), "<absent>");
  EXPECT_EQ(Get(targets[0], "__meta_kubernetes_pod_controller_kind"), "<absent>");
  EXPECT_EQ(Get(targets[0], "__meta_kubernetes_pod_workload_kind"), "<absent>");
}

TEST(PodTargets, HostileLabelNamesAreSanitisedAndWrongTypesIgnored) {
  auto pod = ParsePod(R"({"metadata": {"name": "p", "namespace": "n",
      "labels": {"we\r\nird/name.x-y": "v", "num": 5},
      "annotations": {"a b": "1"}, "ownerReferences": "garbage"},
      "spec": {"containers": [{"name": "c"}, {"image": "nameless"}, 7]},
      "status": {"conditions": [{"type": "Ready"}], "containerStatuses": {}}})");
  ASSERT_TRUE(pod.has_value()) << pod.error().ToString();
  auto targets = PodTargets(*pod);
  ASSERT_EQ(targets.size(), 1u);
  EXPECT_EQ(Get(targets[0], "__meta_kubernetes_pod_label_we__ird_name_x_y"), "v");
  EXPECT_EQ(Get(targets[0], "__meta_kubernetes_pod_label_num"), "<absent>");
  EXPECT_EQ(Get(targets[0], "__meta_kubernetes_pod_annotation_a_b"), "1");
  for (const Label& l : targets[0]) EXPECT_TRUE(IsValidLabelName(l.name)) << l.name;
}

// Prometheus' SanitizeLabelName replaces characters, not bytes (Go's regexp over a string): a
// Docker label key "café.owner" (Docker allows any) is __meta_docker_container_label_caf__owner,
// so a relabel rule written for Promtail matches; a byte that starts no character is one too.
TEST(SanitizeLabelName, ReplacesEachCharacterNotEachByte) {
  EXPECT_EQ(SanitizeLabelName("app.kubernetes.io/name"), "app_kubernetes_io_name");
  EXPECT_EQ(SanitizeLabelName("caf\xc3\xa9.owner"), "caf__owner");
  EXPECT_EQ(SanitizeLabelName("\xe6\x97\xa5\xe6\x9c\xac"), "__");
  EXPECT_EQ(SanitizeLabelName("\xf0\x9f\x90\xb3x"), "_x");
  EXPECT_EQ(SanitizeLabelName("a\xff"
                              "b\xc3"),
            "a_b_");  // ill-formed: a '_' per byte
  EXPECT_EQ(SanitizeLabelName(""), "");
}

TEST(PodTargets, RejectsBrokenJson) {
  for (std::string_view json : {"", "{", "[]", R"({"metadata": 1})", R"({"metadata": {}})",
                                R"({"metadata": {"name": "p"}})", "null"}) {
    EXPECT_FALSE(ParsePod(json).has_value()) << json;
  }
}

struct WorkloadCase {
  std::string kind, name, hash_label;
  std::string want_kind, want_name;  // empty: no workload
};

TEST(PodTargets, WorkloadFromControllerName) {
  const WorkloadCase cases[] = {
      {"ReplicaSet", "web-7d9f8b6c5", "7d9f8b6c5", "Deployment", "web"},
      {"ReplicaSet", "my-app-v2-5f4d8c9b7", "5f4d8c9b7", "Deployment", "my-app-v2"},
      {"ReplicaSet", "web-7d9f8b6c5", "", "ReplicaSet", "web-7d9f8b6c5"},
      {"ReplicaSet", "web-other", "7d9f8b6c5", "ReplicaSet", "web-other"},
      {"ReplicaSet", "7d9f8b6c5", "7d9f8b6c5", "ReplicaSet", "7d9f8b6c5"},
      {"Job", "nightly-report-29412345", "", "CronJob", "nightly-report"},
      {"Job", "backup-20240101", "", "Job", "backup-20240101"},
      {"Job", "migrate", "", "Job", "migrate"},
      {"Job", "load-123456789", "", "Job", "load-123456789"},
      {"Job", "-29412345", "", "Job", "-29412345"},
      {"StatefulSet", "db", "", "StatefulSet", "db"},
      {"DaemonSet", "skidder", "", "DaemonSet", "skidder"},
      {"Node", "node-1", "", "Node", "node-1"},
      {"", "", "", "", ""},
  };
  for (const auto& c : cases) {
    Pod pod;
    pod.controller_kind = c.kind;
    pod.controller_name = c.name;
    if (!c.hash_label.empty()) pod.labels.emplace_back("pod-template-hash", c.hash_label);
    auto w = WorkloadOf(pod);
    if (c.want_kind.empty()) {
      EXPECT_FALSE(w.has_value()) << c.name;
      continue;
    }
    ASSERT_TRUE(w.has_value()) << c.name;
    EXPECT_EQ(w->kind, c.want_kind) << c.name;
    EXPECT_EQ(w->name, c.want_name) << c.name;
  }
}

TEST(PodTargets, PathLabelsFromKubeletLayout) {
  struct {
    std::string path, ns, pod, uid, container;
  } good[] = {
      {"/var/log/pods/airflow_scheduler-7d9f_0b48a727-aa/scheduler/0.log", "airflow",
       "scheduler-7d9f", "0b48a727-aa", "scheduler"},
      {"/host/var/log/pods/kube-system_etcd-node-1_9f0e6a1b2c/etcd/3.log.20260101-101010.gz",
       "kube-system", "etcd-node-1", "9f0e6a1b2c", "etcd"},
  };
  for (const auto& c : good) {
    auto l = PathLabels(c.path);
    ASSERT_TRUE(l.has_value()) << c.path;
    EXPECT_EQ(Get(*l, "__meta_kubernetes_namespace"), c.ns);
    EXPECT_EQ(Get(*l, "__meta_kubernetes_pod_name"), c.pod);
    EXPECT_EQ(Get(*l, "__meta_kubernetes_pod_uid"), c.uid);
    EXPECT_EQ(Get(*l, "__meta_kubernetes_pod_container_name"), c.container);
  }
  for (std::string_view bad :
       {"/var/log/syslog", "/var/log/pods/ns_pod/c/0.log", "/var/log/pods/ns_pod_uid_x/c/0.log",
        "/var/log/pods/_pod_uid/c/0.log", "/var/log/pods/ns__uid/c/0.log",
        "/var/log/pods/ns_pod_/c/0.log", "/var/log/pods/ns_pod_uid/c/", "ns_pod_uid/c/0.log"}) {
    EXPECT_FALSE(PathLabels(bad).has_value()) << bad;
  }
}

// The relabel rules of the official Promtail Helm chart (job kubernetes-pods plus its common
// snippet), written out here to prove the meta labels feed them the way Prometheus' do.
std::vector<config::RelabelConfig> PromtailChartRules() {
  auto rule = [](std::vector<std::string> src, std::string target, std::string regex = "(.*)",
                 std::string replacement = "$1", std::string sep = ";") {
    config::RelabelConfig c;
    c.source_labels = std::move(src);
    c.target_label = std::move(target);
    c.regex = std::move(regex);
    c.replacement = std::move(replacement);
    c.separator = std::move(sep);
    return c;
  };
  const std::string first = "^;*([^;]+)(;.*)?$";
  return {
      rule({"__meta_kubernetes_pod_controller_name"}, "__tmp_controller_name",
           "([0-9a-z-.]+?)(-[0-9a-f]{8,10})?"),
      rule({"__meta_kubernetes_pod_label_app_kubernetes_io_name", "__meta_kubernetes_pod_label_app",
            "__tmp_controller_name", "__meta_kubernetes_pod_name"},
           "app", first),
      rule({"__meta_kubernetes_pod_label_app_kubernetes_io_instance",
            "__meta_kubernetes_pod_label_instance"},
           "instance", first),
      rule({"__meta_kubernetes_pod_label_app_kubernetes_io_component",
            "__meta_kubernetes_pod_label_component"},
           "component", first),
      rule({"__meta_kubernetes_pod_node_name"}, "node_name"),
      rule({"__meta_kubernetes_namespace"}, "namespace"),
      rule({"namespace", "app"}, "job", "(.*)", "$1", "/"),
      rule({"__meta_kubernetes_pod_name"}, "pod"),
      rule({"__meta_kubernetes_pod_container_name"}, "container"),
      rule({"__meta_kubernetes_pod_uid", "__meta_kubernetes_pod_container_name"}, "__path__",
           "(.*)", "/var/log/pods/*$1/*.log", "/"),
      rule({"__meta_kubernetes_pod_annotationpresent_kubernetes_io_config_hash",
            "__meta_kubernetes_pod_annotation_kubernetes_io_config_hash",
            "__meta_kubernetes_pod_container_name"},
           "__path__", "true/(.*)", "/var/log/pods/*$1/*.log", "/"),
  };
}

TEST(PodTargets, PromtailChartRulesGiveChartLabels) {
  auto rules = CompileRelabel(PromtailChartRules());
  ASSERT_TRUE(rules.has_value()) << rules.error().ToString();
  auto pod = ParsePod(kWebPod);
  ASSERT_TRUE(pod.has_value());
  Labels t = PodTargets(*pod).at(0);
  ASSERT_TRUE(Relabel(*rules, t));
  EXPECT_EQ(Get(t, "__path__"), "/var/log/pods/*0b48a727-1c1f-4a43-9d8c-5f7a2b0f3e11/web/*.log");
  t.RemoveInternal();
  EXPECT_EQ(t.ToString(),
            R"({app="web", container="web", job="shop/web", namespace="shop", node_name="node-1", )"
            R"(pod="web-7d9f8b6c5-x2x9q"})");
}

TEST(PodTargets, PromtailChartRulesUseConfigHashForStaticPods) {
  auto rules = CompileRelabel(PromtailChartRules());
  ASSERT_TRUE(rules.has_value());
  auto pod = ParsePod(R"({"metadata": {"name": "etcd-node-1", "namespace": "kube-system",
      "uid": "api-visible-uid", "labels": {"component": "etcd"},
      "annotations": {"kubernetes.io/config.hash": "9f0e6a1b2c", "kubernetes.io/config.mirror":
                      "9f0e6a1b2c"},
      "ownerReferences": [{"kind": "Node", "name": "node-1", "controller": true}]},
      "spec": {"nodeName": "node-1", "containers": [{"name": "etcd"}]}})");
  ASSERT_TRUE(pod.has_value());
  Labels t = PodTargets(*pod).at(0);
  ASSERT_TRUE(Relabel(*rules, t));
  EXPECT_EQ(Get(t, "__path__"), "/var/log/pods/*9f0e6a1b2c/etcd/*.log");
  EXPECT_EQ(Get(t, "app"), "node-1");
  EXPECT_EQ(Get(t, "component"), "etcd");
  // A file of the same pod seen before discovery knew it gets the same namespace/pod/container.
  auto from_path = PathLabels("/var/log/pods/kube-system_etcd-node-1_9f0e6a1b2c/etcd/0.log");
  ASSERT_TRUE(from_path.has_value());
  ASSERT_TRUE(Relabel(*rules, *from_path));
  EXPECT_EQ(Get(*from_path, "__path__"), Get(t, "__path__"));
  EXPECT_EQ(Get(*from_path, "pod"), "etcd-node-1");
  EXPECT_EQ(Get(*from_path, "container"), "etcd");
}

// Leaving out the pod labels and annotations no rule reads must not change any relabeled target.
TEST(PodTargets, KeepingOnlyReadableMetaLabelsGivesTheSameTargets) {
  auto pod = ParsePod(kWebPod);
  ASSERT_TRUE(pod.has_value());
  auto rule = [](std::string action, std::string regex, std::vector<std::string> src = {},
                 std::string target = "") {
    config::RelabelConfig c;
    c.action = std::move(action);
    if (!regex.empty()) c.regex = std::move(regex);
    c.source_labels = std::move(src);
    c.target_label = std::move(target);
    return c;
  };
  std::vector<config::RelabelConfig> base = PromtailChartRules();
  const std::vector<std::vector<config::RelabelConfig>> extras = {
      {},
      {rule("labelmap", "__meta_kubernetes_pod_label_(.+)")},
      {rule("labelmap", "__meta_kubernetes_pod_annotation_prometheus_io_(.+)")},
      {rule("labelkeep", "__meta_kubernetes_pod_label_tier|__path__|app|job|container|pod"),
       rule("labelmap", "__meta_kubernetes_pod_(.*)")},
      {rule("keepequal", "", {"__meta_kubernetes_pod_label_tier"},
            "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape")},
  };
  for (size_t i = 0; i < extras.size(); ++i) {
    std::vector<config::RelabelConfig> configs = base;
    configs.insert(configs.end(), extras[i].begin(), extras[i].end());
    auto rules = CompileRelabel(configs);
    ASSERT_TRUE(rules.has_value()) << i << ": " << rules.error().ToString();
    const MetaLabelFilter keep = ReadableMetaLabels(*rules);
    std::vector<Labels> all = PodTargets(*pod), kept = PodTargets(*pod, keep);
    ASSERT_EQ(all.size(), kept.size());
    if (i == 3) {
      EXPECT_EQ(kept[0].size(), all[0].size()) << "labelmap __meta_kubernetes_pod_(.*) reads all";
    } else {
      EXPECT_LT(kept[0].size(), all[0].size()) << i << ": something is left out";
    }
    for (size_t t = 0; t < all.size(); ++t) {
      const bool a = Relabel(*rules, all[t]), k = Relabel(*rules, kept[t]);
      EXPECT_EQ(a, k) << i;
      for (Labels* ls : {&all[t], &kept[t]}) {
        ls->RemoveIf([](const Label& l) { return l.name.starts_with("__meta_"); });
      }
      EXPECT_EQ(all[t].ToString(), kept[t].ToString()) << i;
    }
  }
}

// The API accepts a pod with 100k labels (1.5 MiB of object); one Set() per label made that 90 s
// of a core, during which the agent did not notice SIGTERM.
// A pod with n labels, through parsing, targets and the chart's rules plus a labelmap copying
// every label, checking the result.
void PodWithLabels(int n) {
  std::string json = R"({"metadata": {"name": "big", "namespace": "ns", "uid": "u", "labels": {)";
  for (int i = 0; i < n; ++i) json += (i ? ",\"k" : "\"k") + std::to_string(i) + R"(": "v")";
  json += R"(}}, "spec": {"containers": [{"name": "a"}, {"name": "b"}]}})";
  std::vector<config::RelabelConfig> configs = PromtailChartRules();
  config::RelabelConfig map;  // the chart's extra rule copying every pod label
  map.action = "labelmap";
  map.regex = "__meta_kubernetes_pod_label_(.+)";
  configs.push_back(map);
  config::RelabelConfig drop;
  drop.action = "labeldrop";
  drop.regex = "__meta_kubernetes_pod_labelpresent_.*";
  configs.push_back(drop);
  auto rules = CompileRelabel(configs);
  ASSERT_TRUE(rules.has_value()) << rules.error().ToString();
  auto pod = ParsePod(json);
  ASSERT_TRUE(pod.has_value());
  std::vector<Labels> targets = PodTargets(*pod);
  ASSERT_EQ(targets.size(), 2u);
  for (Labels& t : targets) ASSERT_TRUE(Relabel(*rules, t));
  const std::string last = "k" + std::to_string(n - 1);
  EXPECT_EQ(Get(targets[1], "__meta_kubernetes_pod_label_" + last), "v");
  EXPECT_EQ(Get(targets[1], last), "v");
  EXPECT_EQ(Get(targets[1], "__meta_kubernetes_pod_labelpresent_" + last), "<absent>");
  EXPECT_EQ(Get(targets[1], "container"), "b");
}

// A hostile pod with tens of thousands of labels is parsed, targeted and relabelled (the
// chart's rules plus a labelmap copying every label) with the right result. No wall-clock limit
// here (a loaded machine or a sanitizer build would fail it): ctest's per-test timeout bounds a
// step that would blow up.
TEST(PodTargets, PodWithThirtyThousandLabelsIsHandled) { PodWithLabels(30000); }

}  // namespace
}  // namespace skidder::kubernetes
