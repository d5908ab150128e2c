// Discovery other than pods, run by the real binary: file_sd_configs target files (JSON and
// YAML, globs, rewritten, broken) decide what is tailed; kubernetes_sd_configs roles node,
// service, endpoints, endpointslice and ingress are listed and watched on a fake API server and
// their meta labels reach relabeling.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <set>

#include "harness.h"
#include "support/fake_kube_api.h"

namespace skidder::testing {
namespace {

class FileSd : public IntegrationTest {
 protected:
  std::string sd() const { return dir_ / "sd"; }
  std::string WriteFileSdConfig() {
    const std::string yaml = fmt::format(R"(server:
  http_listen_port: 0
positions:
  filename: {}
  sync_period: 100ms
clients:
  - url: {}
    batchwait: 50ms
target_config:
  sync_period: 200ms
scrape_configs:
  - job_name: file-sd
    file_sd_configs:
      - files: [{}/*.json, {}/*.yaml]
        refresh_interval: 1h
    relabel_configs:
      - source_labels: [__meta_filepath]
        regex: '.*/(.*)'
        target_label: sd_file
)",
                                         positions_file(), loki_.url(), sd(), sd());
    const std::string path = dir_ / "skidder.yaml";
    WriteFile(path, yaml);
    return path;
  }
  // Replaces a target file in one step, as config management does.
  void Replace(const std::string& name, const std::string& content) {
    WriteFile(sd() + "/" + name + ".tmp", content);
    ASSERT_EQ(std::rename((sd() + "/" + name + ".tmp").c_str(), (sd() + "/" + name).c_str()), 0);
  }
  std::string LabelsOf(const std::string& line) const {
    for (const auto& e : loki_.Entries()) {
      if (e.line == line) return e.labels;
    }
    return "";
  }
};

TEST_F(FileSd, JsonAndYamlTargetFilesChooseWhatIsTailedAndRewritesAreFollowed) {
  MakeDirs(sd());
  WriteFile(sd() + "/a.json", fmt::format(R"([{{"targets": ["localhost"],
      "labels": {{"job": "a", "__path__": "{}/a.log"}}}}])",
                                          logs()));
  WriteFile(sd() + "/b.yaml",
            fmt::format("- targets: [localhost]\n  labels:\n    job: b\n    __path__: {}/b*.log\n",
                        logs()));
  WriteFile(sd() + "/ignored.txt", "not a target file");
  WriteFile(logs() + "/a.log", Lines("a", 0, 5));
  WriteFile(logs() + "/b1.log", Lines("b", 0, 5));
  WriteFile(logs() + "/c.log", Lines("c", 0, 5));
  StartAgent(WriteFileSdConfig());
  ASSERT_TRUE(loki_.WaitForLines(10)) << loki_.LineCount();
  EXPECT_EQ(LabelsOf("a-0"),
            fmt::format(R"({{filename="{}/a.log", job="a", sd_file="a.json"}})", logs()));
  EXPECT_EQ(LabelsOf("b-0"),
            fmt::format(R"({{filename="{}/b1.log", job="b", sd_file="b.yaml"}})", logs()));
  EXPECT_EQ(LabelsOf("c-0"), "");  // no target names c.log yet

  // a.json now names c.log: seen through inotify (refresh_interval is an hour).
  Replace("a.json", fmt::format(R"([{{"targets": ["localhost"],
      "labels": {{"job": "c", "__path__": "{}/c.log"}}}}])",
                                logs()));
  ASSERT_TRUE(loki_.WaitForLines(15)) << loki_.LineCount();
  EXPECT_EQ(LabelsOf("c-0"),
            fmt::format(R"({{filename="{}/c.log", job="c", sd_file="a.json"}})", logs()));
  ExpectEachOnce("c", 0, 5);
}

// Alloy's discovery.file runs as file_sd_configs: its targets, relabeled by a discovery.relabel,
// choose what loki.source.file tails, and a rewritten target file is followed.
TEST_F(FileSd, AlloysDiscoveryFileFeedsLokiSourceFile) {
  MakeDirs(sd());
  WriteFile(sd() + "/apps.json", fmt::format(R"([{{"targets": ["localhost"],
      "labels": {{"job": "a", "__path__": "{}/a.log"}}}}])",
                                             logs()));
  WriteFile(logs() + "/a.log", Lines("a", 0, 5));
  WriteFile(logs() + "/c.log", Lines("c", 0, 5));
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"alloy(discovery.file "apps" {{
  files            = ["{}/*.json"]
  refresh_interval = "1h"
}}
discovery.relabel "apps" {{
  targets = discovery.file.apps.targets
  rule {{
    source_labels = ["__meta_filepath"]
    regex         = ".*/(.*)"
    target_label  = "sd_file"
  }}
}}
loki.source.file "apps" {{
  targets    = discovery.relabel.apps.output
  forward_to = [loki.write.default.receiver]
}}
)alloy",
                                sd()) +
                        AlloyWrite());
  StartAgent(config, {"-server.http-listen-port=0", "-positions.file=" + positions_file()});
  ASSERT_TRUE(loki_.WaitForLines(5)) << agent_.Stderr();
  EXPECT_EQ(LabelsOf("a-0"),
            fmt::format(R"({{filename="{}/a.log", job="a", sd_file="apps.json"}})", logs()));
  Replace("apps.json", fmt::format(R"([{{"targets": ["localhost"],
      "labels": {{"job": "c", "__path__": "{}/c.log"}}}}])",
                                   logs()));
  ASSERT_TRUE(loki_.WaitForLines(10)) << loki_.LineCount();
  EXPECT_EQ(LabelsOf("c-0"),
            fmt::format(R"({{filename="{}/c.log", job="c", sd_file="apps.json"}})", logs()));
  ExpectEachOnce("a", 0, 5);
  ExpectEachOnce("c", 0, 5);
}

TEST_F(FileSd, BrokenTargetFileIsReportedAndKeepsItsTargets) {
  MakeDirs(sd());
  WriteFile(sd() + "/b.yaml",
            fmt::format("- targets: [localhost]\n  labels:\n    job: b\n    __path__: {}/b.log\n",
                        logs()));
  WriteFile(logs() + "/b.log", Lines("b", 0, 5));
  StartAgent(WriteFileSdConfig());
  ASSERT_TRUE(loki_.WaitForLines(5)) << loki_.LineCount();
  Replace("b.yaml", "- targets: [localhost]\n  labels:\n    job: [b\n");
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("file_sd_configs: cannot use target file") != std::string::npos;
  })) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find(sd() + "/b.yaml:4:1: "), std::string::npos) << agent_.Stderr();
  AppendFile(logs() + "/b.log", Lines("b", 5, 10));  // still tailed
  ASSERT_TRUE(loki_.WaitForLines(10)) << loki_.LineCount();
  ExpectEachOnce("b", 0, 10);
}

constexpr const char* kSdToken = "sd-token";

class KubernetesRoles : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    MakeDirs(dir_ / "kube");
    WriteFile(dir_ / "kube/token", kSdToken);
    api_ = std::make_unique<FakeKubeApi>(dir_ / "kube", kSdToken);
    agent_.SetEnv("NODE_NAME", "node-1");
  }
  // One job per role: the role's meta label `meta` becomes label `out`, and __path__ is a log
  // file of its own, so /targets shows what discovery found.
  // auth: YAML lines (indented 8) of the HTTP client settings; default the bearer token file.
  std::string Job(const std::string& role, const std::string& meta, const std::string& out,
                  std::string auth = "") {
    if (auth.empty()) auth = "        bearer_token_file: " + dir_ / "kube/token" + "\n";
    return fmt::format(R"(  - job_name: {role}
    kubernetes_sd_configs:
      - role: {role}
        api_server: {url}
{auth}        tls_config: {{ca_file: {ca}}}
    relabel_configs:
      - source_labels: [{meta}]
        target_label: {out}
      - target_label: __path__
        replacement: {logs}/{role}.log
)",
                       fmt::arg("role", role), fmt::arg("url", api_->url()), fmt::arg("auth", auth),
                       fmt::arg("ca", api_->ca_file()), fmt::arg("meta", meta),
                       fmt::arg("out", out), fmt::arg("logs", logs()));
  }
  std::string Header() const {
    return fmt::format(R"(server:
  http_listen_port: 0
positions:
  filename: {}
clients:
  - url: {}
    batchwait: 50ms
scrape_configs:
)",
                       positions_file(), loki_.url());
  }
  std::string WriteRolesConfig() {
    std::string yaml = Header();
    yaml += Job("node", "__meta_kubernetes_node_label_topology_kubernetes_io_zone", "zone");
    yaml += Job("service", "__meta_kubernetes_service_port_name", "port_name");
    yaml += Job("endpoints", "__meta_kubernetes_endpoint_address_target_name", "target");
    yaml += Job("endpointslice", "__meta_kubernetes_endpointslice_endpoint_zone", "ep_zone");
    yaml += Job("ingress", "__meta_kubernetes_ingress_scheme", "scheme");
    // Promtail users' configs also carry roles whose targets name no file: dropped, with a warning.
    yaml += fmt::format(R"(  - job_name: no-path
    kubernetes_sd_configs:
      - role: service
        api_server: {}
        bearer_token_file: {}
        tls_config: {{ca_file: {}}}
)",
                        api_->url(), dir_ / "kube/token", api_->ca_file());
    const std::string path = dir_ / "skidder.yaml";
    WriteFile(path, yaml);
    return path;
  }
  std::string Write(const std::string& yaml) {
    const std::string path = dir_ / "skidder.yaml";
    WriteFile(path, yaml);
    return path;
  }
  static constexpr const char* kNode = R"({"metadata": {"name": "n1",
      "labels": {"topology.kubernetes.io/zone": "zone-a"}},
      "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.5"}]}})";
  bool TargetsContain(const std::string& text) {
    return agent_.HttpGet("/targets").find(text) != std::string::npos;
  }
  std::unique_ptr<FakeKubeApi> api_;
};

TEST_F(KubernetesRoles, EveryRoleIsListedAndWatchedAndItsMetaLabelsReachRelabeling) {
  api_->AddObject("nodes", R"({"metadata": {"name": "n1",
      "labels": {"topology.kubernetes.io/zone": "zone-a"}},
      "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.5"}],
                 "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}}}})");
  api_->AddObject("services", R"({"metadata": {"namespace": "shop", "name": "web"},
      "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.9",
               "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}})");
  api_->AddObject("endpoints", R"({"metadata": {"namespace": "shop", "name": "web"},
      "subsets": [{"addresses": [{"ip": "10.1.0.1", "targetRef": {"kind": "Pod", "name": "web-0"}}],
                   "ports": [{"port": 8080, "protocol": "TCP"}]}]})");
  api_->AddObject("endpointslices", R"({"metadata": {"namespace": "shop", "name": "web-x"},
      "addressType": "IPv4", "endpoints": [{"addresses": ["10.1.0.1"], "zone": "zone-b"}],
      "ports": [{"port": 8080}]})");
  api_->AddObject("ingresses", R"({"metadata": {"namespace": "shop", "name": "site"},
      "spec": {"tls": [{"hosts": ["shop.example.com"]}],
               "rules": [{"host": "shop.example.com"}]}})");
  WriteFile(logs() + "/node.log", Lines("node", 0, 3));
  StartAgent(WriteRolesConfig());
  // Logged once discovery has applied the config, which may come after the agent is up.
  EXPECT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("no relabel rule sets __path__") != std::string::npos;
  })) << agent_.Stderr();
  ASSERT_TRUE(WaitFor([&] { return TargetsContain(R"(zone="zone-a")"); }))
      << agent_.HttpGet("/targets");
  EXPECT_TRUE(WaitFor([&] { return TargetsContain(R"(port_name="http")"); }));
  EXPECT_TRUE(WaitFor([&] { return TargetsContain(R"(target="web-0")"); }));
  EXPECT_TRUE(WaitFor([&] { return TargetsContain(R"(ep_zone="zone-b")"); }));
  EXPECT_TRUE(WaitFor([&] { return TargetsContain(R"(scheme="https")"); }))
      << agent_.HttpGet("/targets");
  EXPECT_TRUE(TargetsContain(R"(instance="n1")"));  // node targets carry instance, as Prometheus
  EXPECT_FALSE(TargetsContain("no-path"));
  // A node's lines arrive labelled by relabeling on its meta labels.
  ASSERT_TRUE(loki_.WaitForLines(3)) << loki_.LineCount();

  // Watched, not only listed: a node added later shows up, a deleted one goes.
  const std::string n2 = R"({"metadata": {"name": "n2",
      "labels": {"topology.kubernetes.io/zone": "zone-c"}},
      "status": {"addresses": [{"type": "Hostname", "address": "n2"}]}})";
  api_->AddObject("nodes", n2);
  EXPECT_TRUE(WaitFor([&] { return TargetsContain(R"(zone="zone-c")"); }))
      << agent_.HttpGet("/targets");
  api_->DeleteObject("nodes", n2);
  EXPECT_TRUE(WaitFor([&] { return !TargetsContain(R"(zone="zone-c")"); }));

  // Each role read its own resource, cluster-wide, and nothing else (endpoints roles also pods and
  // services, for their labels): RBAC must allow exactly that.
  std::set<std::string> paths;
  for (const KubeRequest& r : api_->requests()) {
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.params.count("fieldSelector"), 0u) << r.path;  // only pods are node-scoped
    paths.insert(r.path);
  }
  EXPECT_EQ(paths,
            (std::set<std::string>{"/api/v1/nodes", "/api/v1/services", "/api/v1/endpoints",
                                   "/api/v1/pods", "/apis/discovery.k8s.io/v1/endpointslices",
                                   "/apis/networking.k8s.io/v1/ingresses"}));
}

TEST_F(KubernetesRoles, EndpointsTargetsCarryTheLabelsOfTheirPodAndService) {
  api_->AddObject("pods", R"({"metadata": {"namespace": "shop", "name": "web-0",
      "labels": {"app": "web"}}, "spec": {"nodeName": "node-2",
      "containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]},
      "status": {"podIP": "10.1.0.1"}})");
  api_->AddObject("services", R"({"metadata": {"namespace": "shop", "name": "web",
      "labels": {"tier": "front"}}, "spec": {"ports": [{"port": 80}]}})");
  api_->AddObject("endpoints", R"({"metadata": {"namespace": "shop", "name": "web"},
      "subsets": [{"addresses": [{"ip": "10.1.0.1",
                                  "targetRef": {"kind": "Pod", "name": "web-0"}}],
                   "ports": [{"port": 8080, "protocol": "TCP"}]}]})");
  api_->AddObject("endpointslices", R"({"metadata": {"namespace": "shop", "name": "web-x",
      "labels": {"kubernetes.io/service-name": "web"}}, "addressType": "IPv4",
      "endpoints": [{"addresses": ["10.1.0.1"], "targetRef": {"kind": "Pod", "name": "web-0"}}],
      "ports": [{"port": 8080}]})");
  StartAgent(Write(Header() + Job("endpoints", "__meta_kubernetes_pod_label_app", "app") +
                   Job("endpointslice", "__meta_kubernetes_service_label_tier", "tier")));
  EXPECT_TRUE(WaitFor([&] { return TargetsContain(R"(app="web")"); }))
      << agent_.HttpGet("/targets") << agent_.Stderr();
  EXPECT_TRUE(WaitFor([&] { return TargetsContain(R"(tier="front")"); }))
      << agent_.HttpGet("/targets");
  // A pod relabelled later: the endpoints' target follows.
  api_->Modify(R"({"metadata": {"namespace": "shop", "name": "web-0",
      "labels": {"app": "shop"}}, "spec": {"nodeName": "node-2",
      "containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]},
      "status": {"podIP": "10.1.0.1"}})");
  EXPECT_TRUE(WaitFor([&] { return TargetsContain(R"(app="shop")"); }))
      << agent_.HttpGet("/targets");
}

TEST_F(KubernetesRoles, BasicAuthWithAPasswordFileReachesTheApiServer) {
  api_->SetBasicAuth("reader", "s3cret");
  api_->AddObject("nodes", kNode);
  WriteFile(dir_ / "kube/password", "s3cret\n");
  StartAgent(Write(Header() +
                   Job("node", "__meta_kubernetes_node_label_topology_kubernetes_io_zone", "zone",
                       "        basic_auth:\n          username: reader\n"
                       "          password_file: " +
                           dir_ / "kube/password" + "\n")));
  ASSERT_TRUE(WaitFor([&] { return TargetsContain(R"(zone="zone-a")"); }))
      << agent_.HttpGet("/targets") << agent_.Stderr();
  for (const KubeRequest& r : api_->requests()) EXPECT_TRUE(r.authorized) << r.path;
}

TEST_F(KubernetesRoles, ProxyUrlCarriesTheApiConnectionUnlessNoProxyNamesTheHost) {
  api_->AddObject("nodes", kNode);
  const std::string meta = "__meta_kubernetes_node_label_topology_kubernetes_io_zone";
  const std::string token = "        bearer_token_file: " + dir_ / "kube/token" + "\n";
  // Nothing listens on port 1: through this proxy the API server is never reached.
  StartAgent(Write(Header() +
                   Job("node", meta, "zone", token + "        proxy_url: http://127.0.0.1:1\n")));
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("list failed\" status=0") != std::string::npos;
  })) << agent_.Stderr();
  EXPECT_TRUE(api_->requests().empty());
  EXPECT_EQ(agent_.Terminate(), 0);

  StartAgent(Write(Header() + Job("node", meta, "zone",
                                  token + "        proxy_url: http://127.0.0.1:1\n"
                                          "        no_proxy: 127.0.0.1\n")));
  ASSERT_TRUE(WaitFor([&] { return TargetsContain(R"(zone="zone-a")"); }))
      << agent_.HttpGet("/targets") << agent_.Stderr();
}

}  // namespace
}  // namespace skidder::testing
