// The roles besides pod build Prometheus' targets and meta labels from API objects.
#include "kubernetes/role_targets.h"

#include <gtest/gtest.h>

namespace skidder::kubernetes {
namespace {

std::vector<std::string> Targets(Role role, std::string_view json, std::string* key = nullptr) {
  auto got = ObjectTargetsFromJson(role, json);
  EXPECT_TRUE(got.has_value()) << got.error().message();
  if (!got) return {};
  if (key != nullptr) *key = got->key;
  std::vector<std::string> out;
  for (const Labels& l : got->targets) out.push_back(l.ToString());
  return out;
}

TEST(RoleTargets, NodeTargetsTheKubeletAtItsPreferredAddressWithInstanceSetToItsName) {
  std::string key;
  auto t =
      Targets(Role::kNode, R"({"metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux"},
      "annotations": {"a": "b"}}, "spec": {"providerID": "aws:///i-1"},
      "status": {"addresses": [{"type": "Hostname", "address": "n1.local"},
                               {"type": "InternalIP", "address": "10.0.0.5"},
                               {"type": "InternalIP", "address": "10.0.0.6"}],
                 "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}})",
              &key);
  EXPECT_EQ(key, "n1");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(
      t[0],
      R"({__address__="10.0.0.5:10250", __meta_kubernetes_node_address_Hostname="n1.local", )"
      R"(__meta_kubernetes_node_address_InternalIP="10.0.0.5", )"
      R"(__meta_kubernetes_node_annotation_a="b", __meta_kubernetes_node_annotationpresent_a="true", )"
      R"(__meta_kubernetes_node_label_kubernetes_io_os="linux", )"
      R"(__meta_kubernetes_node_labelpresent_kubernetes_io_os="true", )"
      R"(__meta_kubernetes_node_name="n1", __meta_kubernetes_node_provider_id="aws:///i-1", )"
      R"(instance="n1"})");
  // Without any address there is nothing to target.
  EXPECT_TRUE(Targets(Role::kNode, R"({"metadata": {"name": "n2"}})").empty());
}

TEST(RoleTargets, ServiceTargetsEachPortAtItsDnsName) {
  std::string key;
  auto t = Targets(Role::kService, R"({"metadata": {"namespace": "ns", "name": "web"},
      "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.9",
               "ports": [{"name": "http", "port": 80, "protocol": "TCP"},
                         {"name": "dns", "port": 53, "protocol": "UDP"}]}})",
                   &key);
  EXPECT_EQ(key, "ns/web");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(
      t[0],
      R"({__address__="web.ns.svc:80", __meta_kubernetes_namespace="ns", )"
      R"(__meta_kubernetes_service_cluster_ip="10.96.0.9", __meta_kubernetes_service_name="web", )"
      R"(__meta_kubernetes_service_port_name="http", __meta_kubernetes_service_port_number="80", )"
      R"(__meta_kubernetes_service_port_protocol="TCP", __meta_kubernetes_service_type="ClusterIP"})");
  auto ext = Targets(Role::kService, R"({"metadata": {"namespace": "ns", "name": "x"},
      "spec": {"type": "ExternalName", "externalName": "db.example.com", "ports": [{"port": 5432}]}})");
  ASSERT_EQ(ext.size(), 1u);
  EXPECT_NE(ext[0].find(R"(__meta_kubernetes_service_external_name="db.example.com")"),
            std::string::npos);
  EXPECT_EQ(ext[0].find("cluster_ip"), std::string::npos);
}

TEST(RoleTargets, EndpointsTargetEveryAddressAndPortWithReadiness) {
  auto t = Targets(Role::kEndpoints, R"({"metadata": {"namespace": "ns", "name": "web"},
      "subsets": [{"addresses": [{"ip": "10.1.0.1", "nodeName": "n1", "hostname": "web-0",
                                  "targetRef": {"kind": "Pod", "name": "web-0"}}],
                   "notReadyAddresses": [{"ip": "10.1.0.2"}],
                   "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]})");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(
      t[0],
      R"({__address__="10.1.0.1:8080", __meta_kubernetes_endpoint_address_target_kind="Pod", )"
      R"(__meta_kubernetes_endpoint_address_target_name="web-0", )"
      R"(__meta_kubernetes_endpoint_hostname="web-0", __meta_kubernetes_endpoint_node_name="n1", )"
      R"(__meta_kubernetes_endpoint_port_name="http", __meta_kubernetes_endpoint_port_protocol="TCP", )"
      R"(__meta_kubernetes_endpoint_ready="true", __meta_kubernetes_endpoints_name="web", )"
      R"(__meta_kubernetes_namespace="ns"})");
  EXPECT_NE(t[1].find(R"(__meta_kubernetes_endpoint_ready="false")"), std::string::npos);
}

TEST(RoleTargets, EndpointSliceTargetsEveryEndpointAndPortWithConditions) {
  auto t = Targets(Role::kEndpointSlice, R"({"metadata": {"namespace": "ns", "name": "web-abc",
      "labels": {"kubernetes.io/service-name": "web"}}, "addressType": "IPv6",
      "endpoints": [{"addresses": ["fd00::1"], "conditions": {"ready": true, "serving": true,
                     "terminating": false}, "nodeName": "n1", "zone": "z1",
                     "targetRef": {"kind": "Pod", "name": "web-0"}}],
      "ports": [{"name": "http", "port": 8080, "protocol": "TCP", "appProtocol": "http"}]})");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(
      t[0],
      R"({__address__="[fd00::1]:8080", __meta_kubernetes_endpointslice_address_target_kind="Pod", )"
      R"(__meta_kubernetes_endpointslice_address_target_name="web-0", )"
      R"(__meta_kubernetes_endpointslice_address_type="IPv6", )"
      R"(__meta_kubernetes_endpointslice_endpoint_conditions_ready="true", )"
      R"(__meta_kubernetes_endpointslice_endpoint_conditions_serving="true", )"
      R"(__meta_kubernetes_endpointslice_endpoint_conditions_terminating="false", )"
      R"(__meta_kubernetes_endpointslice_endpoint_node_name="n1", )"
      R"(__meta_kubernetes_endpointslice_endpoint_zone="z1", )"
      R"(__meta_kubernetes_endpointslice_label_kubernetes_io_service_name="web", )"
      R"(__meta_kubernetes_endpointslice_labelpresent_kubernetes_io_service_name="true", )"
      R"(__meta_kubernetes_endpointslice_name="web-abc", __meta_kubernetes_endpointslice_port="8080", )"
      R"(__meta_kubernetes_endpointslice_port_app_protocol="http", )"
      R"(__meta_kubernetes_endpointslice_port_name="http", )"
      R"(__meta_kubernetes_endpointslice_port_protocol="TCP", __meta_kubernetes_namespace="ns"})");
}

TEST(RoleTargets, IngressTargetsEachRulePathWithSchemeFromTlsHosts) {
  auto t = Targets(Role::kIngress, R"({"metadata": {"namespace": "ns", "name": "site"},
      "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["*.example.com"]}],
               "rules": [{"host": "a.example.com", "http": {"paths": [{"path": "/api"}, {}]}},
                         {"host": "plain.test"}]}})");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(
      t[0],
      R"({__address__="a.example.com", __meta_kubernetes_ingress_class_name="nginx", )"
      R"(__meta_kubernetes_ingress_host="a.example.com", __meta_kubernetes_ingress_name="site", )"
      R"(__meta_kubernetes_ingress_path="/api", __meta_kubernetes_ingress_scheme="https", )"
      R"(__meta_kubernetes_namespace="ns"})");
  EXPECT_NE(t[1].find(R"(__meta_kubernetes_ingress_path="/")"), std::string::npos);
  EXPECT_NE(t[2].find(R"(__meta_kubernetes_ingress_scheme="http")"), std::string::npos);
}

TEST(RoleTargets, ObjectsWithoutNameAreRefusedAndRoleNamesParse) {
  EXPECT_FALSE(ObjectTargetsFromJson(Role::kService, R"({"metadata": {"name": "x"}})").has_value());
  EXPECT_FALSE(ObjectTargetsFromJson(Role::kNode, R"({"metadata": {}})").has_value());
  EXPECT_EQ(ParseRole("endpointslice"), Role::kEndpointSlice);
  EXPECT_FALSE(ParseRole("Pod").has_value());
  EXPECT_EQ(ResourceOf(Role::kIngress).group_path, "/apis/networking.k8s.io/v1");
}

}  // namespace
}  // namespace skidder::kubernetes
