// Endpoints and endpointslice targets carry their pod's and service's labels, as Prometheus'.
#include "kubernetes/endpoint_join.h"

#include <gtest/gtest.h>

#include <map>

#include "discovery_fixture.h"
#include "kubernetes/role_targets.h"

namespace skidder::kubernetes {
namespace {

constexpr const char* kPod = R"({"metadata": {"namespace": "ns", "name": "web-1", "uid": "u-1",
    "labels": {"app": "web"}, "annotations": {"team": "a"},
    "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d9", "controller": true}]},
  "spec": {"nodeName": "n1",
    "containers": [{"name": "app", "image": "app:1",
                    "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"},
                              {"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]},
                   {"name": "sidecar", "image": "side:2"}],
    "initContainers": [{"name": "setup", "image": "setup:3",
                        "ports": [{"name": "debug", "containerPort": 7000, "protocol": "UDP"}]}]},
  "status": {"podIP": "10.1.0.5", "hostIP": "192.168.0.1", "phase": "Running",
             "conditions": [{"type": "Ready", "status": "True"}]}})";

constexpr const char* kService = R"({"metadata": {"namespace": "ns", "name": "web",
    "labels": {"tier": "front"}},
  "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.9", "ports": [{"port": 80}]}})";

std::string Value(const Labels& l, std::string_view name) {
  const std::string* v = l.Get(name);
  return v != nullptr ? *v : "<absent>";
}

class EndpointJoin : public ::testing::Test {
 protected:
  void SetUp() override {
    Add(Role::kPodMeta, kPod, pods_);
    Add(Role::kServiceMeta, kService, services_);
  }
  static void Add(Role role, std::string_view json, std::map<std::string, std::vector<Labels>>& m) {
    auto o = ObjectTargetsFromJson(role, json);
    ASSERT_TRUE(o.has_value()) << o.error().message();
    m[o->key] = o->targets;
  }
  static ObjectLookup Lookup(const std::map<std::string, std::vector<Labels>>& m) {
    return [&m](const std::string& key) -> const std::vector<Labels>* {
      auto it = m.find(key);
      return it == m.end() ? nullptr : &it->second;
    };
  }
  std::vector<Labels> Join(Role role, std::string_view json) {
    auto o = ObjectTargetsFromJson(role, json);
    EXPECT_TRUE(o.has_value()) << o.error().message();
    if (!o) return {};
    return JoinEndpointTargets(role, o->targets, Lookup(pods_), Lookup(services_));
  }
  std::map<std::string, std::vector<Labels>> pods_, services_;
};

TEST_F(EndpointJoin, PodMetaHoldsThePodLabelsAndOneSetPerContainerPort) {
  ASSERT_EQ(pods_.count("ns/web-1"), 1u);
  const auto& sets = pods_["ns/web-1"];
  ASSERT_EQ(sets.size(), 4u);  // pod labels, then 8080, 9090 and the init container's 7000
  EXPECT_EQ(Value(sets[0], "__meta_kubernetes_pod_ip"), "10.1.0.5");
  EXPECT_EQ(Value(sets[0], "__meta_kubernetes_pod_uid"), "u-1");
  EXPECT_EQ(Value(sets[0], "__meta_kubernetes_pod_ready"), "true");
  EXPECT_EQ(Value(sets[0], "__meta_kubernetes_pod_controller_kind"), "ReplicaSet");
  EXPECT_EQ(Value(sets[0], "__address__"), "<absent>");
  EXPECT_EQ(Value(sets[0], "__meta_kubernetes_pod_container_name"), "<absent>");
  EXPECT_EQ(Value(sets[3], "__meta_kubernetes_pod_container_name"), "setup");
  EXPECT_EQ(Value(sets[3], "__meta_kubernetes_pod_container_init"), "true");
  EXPECT_EQ(Value(sets[3], "__meta_kubernetes_pod_container_port_protocol"), "UDP");
  EXPECT_EQ(sets[0].ToString().find("sidecar"), std::string::npos);  // no port, no set
}

TEST_F(EndpointJoin, EndpointsTargetsCarryTheirPodsAndServicesLabelsAndUncoveredPorts) {
  auto t = Join(Role::kEndpoints, R"({"metadata": {"namespace": "ns", "name": "web"},
      "subsets": [{"addresses": [
          {"ip": "10.1.0.5", "nodeName": "n1",
           "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "ns"}},
          {"ip": "10.9.9.9"}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]})");
  ASSERT_EQ(t.size(), 4u);
  // Backed by the pod: its labels, and the container port that matches the endpoint port.
  EXPECT_EQ(Value(t[0], "__address__"), "10.1.0.5:8080");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_name"), "web-1");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_label_app"), "web");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_annotation_team"), "a");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_node_name"), "n1");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_host_ip"), "192.168.0.1");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_phase"), "Running");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_controller_name"), "web-5d9");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_container_name"), "app");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_container_image"), "app:1");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_container_port_name"), "http");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_container_port_number"), "8080");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_endpoint_port_name"), "http");
  // Every target: the service of the same name.
  for (const Labels& l : t) {
    EXPECT_EQ(Value(l, "__meta_kubernetes_service_name"), "web") << l.ToString();
    EXPECT_EQ(Value(l, "__meta_kubernetes_service_label_tier"), "front");
    EXPECT_EQ(Value(l, "__meta_kubernetes_endpoints_name"), "web");
    EXPECT_EQ(Value(l, "__meta_kubernetes_namespace"), "ns");
  }
  // Not a pod: no pod labels.
  EXPECT_EQ(Value(t[1], "__address__"), "10.9.9.9:8080");
  EXPECT_EQ(Value(t[1], "__meta_kubernetes_pod_name"), "<absent>");
  // The pod's other ports (9090, and the init container's 7000) become targets of their own,
  // with the object's labels but no endpoint's.
  EXPECT_EQ(Value(t[2], "__address__"), "10.1.0.5:9090");
  EXPECT_EQ(Value(t[2], "__meta_kubernetes_pod_container_port_name"), "metrics");
  EXPECT_EQ(Value(t[2], "__meta_kubernetes_pod_container_init"), "false");
  EXPECT_EQ(Value(t[2], "__meta_kubernetes_endpoint_port_name"), "<absent>");
  EXPECT_EQ(Value(t[2], "__meta_kubernetes_endpoint_address_target_name"), "<absent>");
  EXPECT_EQ(Value(t[3], "__address__"), "10.1.0.5:7000");
  EXPECT_EQ(Value(t[3], "__meta_kubernetes_pod_container_init"), "true");
}

TEST_F(EndpointJoin, EndpointSliceTargetsFindTheirServiceByTheServiceNameLabel) {
  auto t = Join(Role::kEndpointSlice, R"({"metadata": {"namespace": "ns", "name": "web-abcde",
        "labels": {"kubernetes.io/service-name": "web"}},
      "addressType": "IPv4",
      "endpoints": [{"addresses": ["10.1.0.5"], "conditions": {"ready": true},
                     "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "ns"}}],
      "ports": [{"name": "metrics", "port": 9090, "protocol": "TCP"}]})");
  ASSERT_EQ(t.size(), 3u);  // 9090 from the slice; 8080 and 7000 from the pod
  EXPECT_EQ(Value(t[0], "__address__"), "10.1.0.5:9090");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_container_port_name"), "metrics");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_pod_label_app"), "web");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_service_label_tier"), "front");
  EXPECT_EQ(Value(t[0], "__meta_kubernetes_endpointslice_endpoint_conditions_ready"), "true");
  EXPECT_EQ(Value(t[1], "__address__"), "10.1.0.5:8080");
  EXPECT_EQ(Value(t[1], "__meta_kubernetes_endpointslice_address_type"), "IPv4");
  EXPECT_EQ(Value(t[1], "__meta_kubernetes_endpointslice_port"), "<absent>");
  EXPECT_EQ(Value(t[1], "__meta_kubernetes_endpointslice_name"), "web-abcde");
}

TEST_F(EndpointJoin, AnUnknownPodOrServiceLeavesTheTargetAsItWas) {
  pods_.clear();
  services_.clear();
  const char* eps = R"({"metadata": {"namespace": "ns", "name": "web"},
      "subsets": [{"addresses": [{"ip": "10.1.0.5", "targetRef": {"kind": "Pod", "name": "web-1"}}],
                   "ports": [{"port": 8080}]}]})";
  auto plain = ObjectTargetsFromJson(Role::kEndpoints, eps);
  ASSERT_TRUE(plain.has_value());
  EXPECT_EQ(Join(Role::kEndpoints, eps), plain->targets);
}

// Against the fake API server: the role lists and watches pods and services too, publishes only
// once all three are listed, and a pod's change reaches the endpoints' targets.
TEST_F(DiscoveryTest, EndpointsRoleJoinsPodAndServiceLabelsAndFollowsTheirChanges) {
  api_->AddObject("pods", kPod);
  api_->AddObject("services", kService);
  api_->AddObject("endpoints", R"({"metadata": {"namespace": "ns", "name": "web"},
      "subsets": [{"addresses": [{"ip": "10.1.0.5",
                                  "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "ns"}}],
                   "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]})");
  config::KubernetesSdConfig cfg = Config();
  cfg.role = "endpoints";
  Start(cfg, Options());
  auto first = [&](std::string_view name) {
    std::lock_guard lock(mu_);
    if (updates_.empty() || updates_.back().empty()) return std::string("<none>");
    return Value(updates_.back()[0], name);
  };
  ASSERT_TRUE(WaitFor([&] { return first("__meta_kubernetes_pod_label_app") == "web"; }, 10s));
  {
    std::lock_guard lock(mu_);
    ASSERT_EQ(updates_.size(), 1u) << "published before pods and services were listed";
  }
  EXPECT_EQ(first("__meta_kubernetes_service_label_tier"), "front");
  EXPECT_EQ(first("__meta_kubernetes_pod_container_name"), "app");

  std::string relabelled = kPod;
  relabelled.replace(relabelled.find(R"("app": "web")"), 12, R"("app": "shop")");
  api_->Modify(relabelled);
  ASSERT_TRUE(WaitFor([&] { return first("__meta_kubernetes_pod_label_app") == "shop"; }, 10s));

  std::set<std::string> paths;
  for (const KubeRequest& r : api_->requests()) paths.insert(r.path);
  EXPECT_EQ(paths,
            (std::set<std::string>{"/api/v1/endpoints", "/api/v1/pods", "/api/v1/services"}));
}

TEST(NodeMeta, HoldsTheNodesNameAndLabelsAndSaysWhichNodeATargetRunsOn) {
  auto n = ObjectTargetsFromJson(Role::kNodeMeta, R"({"metadata": {"name": "n1",
      "labels": {"topology.kubernetes.io/zone": "z1"}, "annotations": {"a": "b"}},
      "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.5"}]}})");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->key, "n1");
  ASSERT_EQ(n->targets.size(), 1u);
  EXPECT_EQ(n->targets[0].ToString(),
            R"({__meta_kubernetes_node_label_topology_kubernetes_io_zone="z1", )"
            R"(__meta_kubernetes_node_labelpresent_topology_kubernetes_io_zone="true", )"
            R"(__meta_kubernetes_node_name="n1"})");
  EXPECT_EQ(NodeOfTarget(Role::kPod, Labels{{"__meta_kubernetes_pod_node_name", "n1"}}), "n1");
  EXPECT_EQ(NodeOfTarget(Role::kEndpoints, Labels{{"__meta_kubernetes_endpoint_node_name", "n2"}}),
            "n2");
  EXPECT_EQ(NodeOfTarget(Role::kEndpointSlice,
                         Labels{{"__meta_kubernetes_endpointslice_address_target_kind", "Node"},
                                {"__meta_kubernetes_endpointslice_address_target_name", "n3"}}),
            "n3");
}

// attach_metadata: {node: true} on the pod role: the agent's own node is watched and its labels
// reach every pod target.
TEST_F(DiscoveryTest, AttachMetadataNodeGivesPodTargetsTheirNodesLabels) {
  api_->AddObject("nodes", R"({"metadata": {"name": "node-1",
      "labels": {"topology.kubernetes.io/zone": "z1"}}})");
  api_->Add(PodJson("shop", "web", "node-1", {"app"}));
  config::KubernetesSdConfig cfg = Config();
  cfg.attach_metadata_node = true;
  Start(cfg, Options());
  auto zone = [&] {
    std::lock_guard lock(mu_);
    if (updates_.empty() || updates_.back().empty()) return std::string("<none>");
    return Value(updates_.back()[0], "__meta_kubernetes_node_label_topology_kubernetes_io_zone");
  };
  ASSERT_TRUE(WaitFor([&] { return zone() == "z1"; }, 10s)) << zone();
  EXPECT_EQ(Latest(), Containers({"shop/web/app"}));
  api_->AddObject("nodes", R"({"metadata": {"name": "node-1",
      "labels": {"topology.kubernetes.io/zone": "z2"}}})");  // relabelled node: followed
  ASSERT_TRUE(WaitFor([&] { return zone() == "z2"; }, 10s)) << zone();
  bool asked_for_own_node = false;
  for (const KubeRequest& r : api_->requests()) {
    if (r.path != "/api/v1/nodes") continue;
    EXPECT_EQ(r.params.at("fieldSelector"), "metadata.name=node-1");
    asked_for_own_node = true;
  }
  EXPECT_TRUE(asked_for_own_node);
}

}  // namespace
}  // namespace skidder::kubernetes
