// config/kubernetes.alloy and config/kubernetes.yaml, each run by the real binary against the
// same fake Kubernetes API and pod log tree, give the same streams: labels, timestamps, lines
// (CRI partials joined), tenant and structured metadata, entry for entry.
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "harness.h"
#include "support/fake_kube_api.h"

namespace skidder::testing {
namespace {

constexpr const char* kToken = "itest-token";

// The shipped file up to its journal part (it would read this machine's journal).
std::string WithoutJournal(const std::string& path, std::string_view journal_marker) {
  std::string text = ReadFile(path);
  const size_t at = text.find(journal_marker);
  EXPECT_NE(at, std::string::npos) << path;
  return text.substr(0, at + 1);
}

using Stream = std::tuple<std::string, int64_t, std::string, std::string>;

class AlloyKubernetes : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    MakeDirs(dir_ / "kube");
    WriteFile(dir_ / "kube/token", kToken);
    api_ = std::make_unique<FakeKubeApi>(dir_ / "kube", kToken);
    agent_.SetEnv("NODE_NAME", "node-1");
  }

  std::string pods() const { return dir_ / "pods"; }
  std::string SecretConfig(const std::string& poll);

  void AddPod(const std::string& ns, const std::string& pod, const std::string& dir_id,
              const std::vector<std::string>& containers,
              const std::map<std::string, std::string>& labels,
              const std::map<std::string, std::string>& annotations = {}) {
    api_->Add(PodJson(ns, pod, "node-1", containers, labels, annotations));
    for (const std::string& c : containers) {
      const std::string dir = pods() + "/" + ns + "_" + pod + "_" + dir_id + "/" + c;
      MakeDirs(dir);
      WriteFile(dir + "/0.log", fmt::format("2026-11-24T10:40:12.000000001Z stdout F {0} one\n"
                                            "2026-11-24T10:40:12.000000002Z stderr P {0} two, \n"
                                            "2026-11-24T10:40:12.000000003Z stderr F joined\n",
                                            pod + "/" + c));
      ++files_;
    }
  }

  std::string YamlConfig() {
    std::string text =
        WithoutJournal(SKIDDER_SOURCE_DIR "/config/kubernetes.yaml", "\n  # The node's own logs");
    EXPECT_EQ(ReplaceAll(text, "replacement: /var/log/pods/", "replacement: " + pods() + "/"), 2);
    EXPECT_EQ(ReplaceAll(text, "  - url: http://loki-gateway/loki/api/v1/push\n",
                         "  - url: LOKI_URL\n    batchwait: 50ms\n"),
              1);
    EXPECT_EQ(ReplaceAll(text, "      - role: pod\n",
                         fmt::format("      - role: pod\n        api_server: {}\n"
                                     "        bearer_token_file: {}\n        tls_config:\n"
                                     "          ca_file: {}\n",
                                     api_->url(), dir_ / "kube/token", api_->ca_file())),
              1);
    return text;
  }

  std::string AlloyConfig() {
    std::string text =
        WithoutJournal(SKIDDER_SOURCE_DIR "/config/kubernetes.alloy", "\n// The node's own logs");
    EXPECT_EQ(ReplaceAll(text, "  role = \"pod\"\n",
                         fmt::format("  role = \"pod\"\n  api_server = \"{}\"\n"
                                     "  bearer_token_file = \"{}\"\n"
                                     "  tls_config {{\n    ca_file = \"{}\"\n  }}\n",
                                     api_->url(), dir_ / "kube/token", api_->ca_file())),
              1);
    EXPECT_EQ(ReplaceAll(text, "\"/var/log/pods/", "\"" + pods() + "/"), 2);
    EXPECT_EQ(ReplaceAll(text, "\"http://loki-gateway/loki/api/v1/push\"",
                         "\"LOKI_URL\"\n    batch_wait = \"50ms\""),
              1);
    return text;
  }

  // Runs one config to completion against a Loki of its own; the streams it sent, sorted.
  std::vector<Stream> Run(const std::string& name, std::string text) {
    FakeLoki loki;
    EXPECT_TRUE(loki.Start());
    EXPECT_EQ(ReplaceAll(text, "LOKI_URL", loki.url()), 1);
    WriteFile(dir_ / name, text);
    const std::string positions = dir_ / (name + ".positions.json");
    EXPECT_TRUE(agent_.Start({"-config.file=" + (dir_ / name), "-server.http-listen-port=0",
                              "-positions.file=" + positions,
                              // What the chart passes, confined to the test's directory.
                              "-target-config.symlink-roots=" + dir_.path(),
                              "-positions.held-dir=" + (dir_ / (name + ".held"))}));
    EXPECT_TRUE(loki.WaitForLines(2 * files_)) << loki.LineCount() << agent_.Stderr();
    EXPECT_EQ(agent_.Terminate(), 0) << agent_.Stderr();
    std::vector<Stream> out;
    for (const ReceivedEntry& e : loki.Entries()) {
      std::string metadata;
      for (const auto& [k, v] : e.metadata) metadata += k + "=" + v + ",";
      out.emplace_back(e.labels + " tenant=" + e.tenant, e.timestamp_ns, e.line, metadata);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<FakeKubeApi> api_;
  size_t files_ = 0;
};

TEST_F(AlloyKubernetes, KubernetesAlloyGivesTheSameStreamsAsKubernetesYaml) {
  AddPod("shop", "api-1", "uid-api-1", {"api", "proxy"},
         {{"app.kubernetes.io/name", "api"},
          {"app.kubernetes.io/instance", "shop-api"},
          {"app.kubernetes.io/component", "backend"}});
  AddPod("shop", "worker-2", "uid-worker-2", {"worker"}, {{"app", "worker"}, {"instance", "w"}});
  AddPod("batch", "job-3", "uid-job-3", {"main"}, {});
  // A static (mirror) pod: its directory is named after the config hash annotation.
  AddPod("kube-system", "etcd-node-1", "c0ffee", {"etcd"}, {{"component", "etcd"}},
         {{"kubernetes.io/config.hash", "c0ffee"}, {"kubernetes.io/config.mirror", "c0ffee"}});
  const std::vector<Stream> yaml = Run("kubernetes.yaml", YamlConfig());
  const std::vector<Stream> alloy = Run("kubernetes.alloy", AlloyConfig());
  ASSERT_EQ(yaml.size(), 2 * files_);
  EXPECT_EQ(alloy, yaml);
  // The chart's labels (the comparison compares something): app from the controller-less pod's
  // name, the static pod found through its config hash, CRI partials joined.
  std::set<std::string> labels;
  for (const Stream& st : yaml) labels.insert(std::get<0>(st));
  for (const char* want : {"job=\"batch/job-3\"", "job=\"shop/api\"", "job=\"shop/worker\"",
                           "component=\"etcd\"", "instance=\"shop-api\"", "stream=\"stderr\""}) {
    EXPECT_TRUE(std::ranges::any_of(labels, [&](const std::string& l) {
      return l.find(want) != std::string::npos;
    })) << want;
  }
  EXPECT_TRUE(std::ranges::any_of(
      yaml, [](const Stream& st) { return std::get<2>(st) == "api-1/proxy two, joined"; }));
}

// A config whose loki.write takes its tenant and credentials from the Secret
// monitoring/loki-auth, as Grafana's k8s-monitoring chart writes it; `poll` is extra
// remote.kubernetes.secret attributes.
std::string AlloyKubernetes::SecretConfig(const std::string& poll) {
  MakeDirs(logs());
  WriteFile(logs() + "/app.log", "hello\n");
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(loki.source.file "app" {{
  targets               = [{{"__path__" = "{0}/*.log"}}]
  forward_to            = [loki.write.loki.receiver]
  legacy_positions_file = "{1}"
}}
loki.write "loki" {{
  endpoint {{
    url        = "{2}"
    batch_wait = "50ms"
    tenant_id  = convert.nonsensitive(remote.kubernetes.secret.loki.data["tenantId"])
    basic_auth {{
      username = convert.nonsensitive(remote.kubernetes.secret.loki.data["username"])
      password = remote.kubernetes.secret.loki.data["password"]
    }}
  }}
}}
remote.kubernetes.secret "loki" {{
  name         = "loki-auth"
  namespace    = "monitoring"
  poll_timeout = "1s"
  {6}
  client {{
    api_server        = "{3}"
    bearer_token_file = "{4}"
    tls_config {{
      ca_file = "{5}"
    }}
  }}
}}
)",
                                logs(), positions_file(), loki_.url(), api_->url(),
                                dir_ / "kube/token", api_->ca_file(), poll));
  return config;
}

// loki.write's tenant and password from a Secret (remote.kubernetes.secret, as Grafana's
// k8s-monitoring chart writes them), read by the real binary from the API server over HTTPS; a
// reload reads the rotated Secret, and a reload while the API server fails goes on with the data
// read before.
TEST_F(AlloyKubernetes, LokiWriteCredentialsComeFromASecret) {
  api_->SetSecret("monitoring", "loki-auth",
                  R"({"tenantId":"dGVhbS1h","username":"MTIzNDU=","password":"Z2xjX3Rva2Vu"})");
  const std::string config = SecretConfig("");
  StartAgent(config, {"-server.http-listen-port=0", "-print-config-stderr"});
  ASSERT_TRUE(loki_.WaitForLines(1)) << agent_.Stderr();
  const std::vector<ReceivedEntry> got = loki_.Entries();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].tenant, "team-a");
  EXPECT_EQ(loki_.Requests().at(0).headers.at("Authorization"),
            "Basic MTIzNDU6Z2xjX3Rva2Vu");  // 12345:glc_token
  EXPECT_EQ(agent_.Stderr().find("glc_token"), std::string::npos) << "the printed config masks it";

  // A rotated password takes effect with a reload.
  api_->SetSecret("monitoring", "loki-auth",
                  R"({"tenantId":"dGVhbS1h","username":"MTIzNDU=","password":"bmV3"})");
  kill(agent_.pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return agent_.Stderr().find("config reloaded") != std::string::npos; }))
      << agent_.Stderr();
  AppendFile(logs() + "/app.log", "after rotation\n");
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  EXPECT_EQ(loki_.Requests().back().headers.at("Authorization"),
            "Basic MTIzNDU6bmV3");  // 12345:new

  // The API server failing during a reload: the reload goes on with the data read before.
  api_->FailNext(1000, 503);
  kill(agent_.pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("cannot read a Secret again") != std::string::npos;
  })) << agent_.Stderr();
  AppendFile(logs() + "/app.log", "during outage\n");
  ASSERT_TRUE(loki_.WaitForLines(3)) << agent_.Stderr();
  EXPECT_EQ(loki_.Requests().back().headers.at("Authorization"), "Basic MTIzNDU6bmV3");
  ASSERT_TRUE(agent_.MetricsPort(3)) << agent_.Stderr();  // each reload serves on a new port
  EXPECT_EQ(agent_.Metric("promtail_config_reload_fail_total"), 0);
  EXPECT_EQ(agent_.Metric("promtail_config_reload_success_total"), 2);
}

// As Alloy polls a remote.kubernetes.secret every poll_frequency: a rotated password reaches
// loki.write with no reload from outside, through one reload of the agent's own; polls that find
// the Secret unchanged, or the API server failing, reload nothing.
TEST_F(AlloyKubernetes, ARotatedSecretIsPolledAndAppliedWithoutAReloadFromOutside) {
  api_->SetSecret("monitoring", "loki-auth",
                  R"({"tenantId":"dGVhbS1h","username":"MTIzNDU=","password":"Z2xjX3Rva2Vu"})");
  const std::string config = SecretConfig(R"(poll_frequency = "1s")");
  StartAgent(config, {"-server.http-listen-port=0"});
  ASSERT_TRUE(loki_.WaitForLines(1)) << agent_.Stderr();
  EXPECT_EQ(loki_.Requests().at(0).headers.at("Authorization"), "Basic MTIzNDU6Z2xjX3Rva2Vu");
  auto reads = [&] {
    return std::ranges::count_if(api_->requests(), [](const KubeRequest& r) {
      return r.path == "/api/v1/namespaces/monitoring/secrets/loki-auth";
    });
  };
  const auto at_start = reads();
  ASSERT_TRUE(WaitFor([&] { return reads() >= at_start + 2; })) << agent_.Stderr();
  api_->FailNext(8, 503);  // more than a poll's retries within its poll_timeout: warned
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("cannot poll a Secret") != std::string::npos;
  })) << agent_.Stderr();
  EXPECT_EQ(agent_.Stderr().find("config reloaded"), std::string::npos) << agent_.Stderr();

  api_->SetSecret("monitoring", "loki-auth",
                  R"({"tenantId":"dGVhbS1h","username":"MTIzNDU=","password":"bmV3"})");
  ASSERT_TRUE(WaitFor([&] { return agent_.Stderr().find("config reloaded") != std::string::npos; }))
      << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("a Secret changed"), std::string::npos);
  AppendFile(logs() + "/app.log", "after rotation\n");
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  EXPECT_EQ(loki_.Requests().back().headers.at("Authorization"), "Basic MTIzNDU6bmV3");
  ASSERT_TRUE(agent_.MetricsPort(2)) << agent_.Stderr();  // the reload serves on a new port
  EXPECT_EQ(agent_.Metric("promtail_config_reload_success_total"), 1);
  EXPECT_EQ(loki_.Lines(), (std::vector<std::string>{"hello", "after rotation"}));
}

// The poll that saw a rotation asks for a reload, and the reload's own read of the Secret fails
// (the API server went down in between): the reload goes on with what the poll read, not with
// the data the running config has, or the rotation would be lost until the next change.
TEST_F(AlloyKubernetes, AReloadWhoseSecretReadFailsUsesWhatThePollRead) {
  api_->SetSecret("monitoring", "loki-auth",
                  R"({"tenantId":"dGVhbS1h","username":"MTIzNDU=","password":"Z2xjX3Rva2Vu"})");
  StartAgent(SecretConfig(R"(poll_frequency = "1s")"), {"-server.http-listen-port=0"});
  ASSERT_TRUE(loki_.WaitForLines(1)) << agent_.Stderr();
  EXPECT_EQ(loki_.Requests().at(0).headers.at("Authorization"), "Basic MTIzNDU6Z2xjX3Rva2Vu");

  // The next read (the poll's) sees the new password; every read after it gets a 503.
  api_->SetSecretThenFail("monitoring", "loki-auth",
                          R"({"tenantId":"dGVhbS1h","username":"MTIzNDU=","password":"bmV3"})", 503,
                          /*after=*/1);
  ASSERT_TRUE(WaitFor([&] { return agent_.Stderr().find("config reloaded") != std::string::npos; }))
      << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("cannot read a Secret again: going on with the data read before"),
            std::string::npos)
      << agent_.Stderr();
  AppendFile(logs() + "/app.log", "after rotation\n");
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  EXPECT_EQ(loki_.Requests().back().headers.at("Authorization"), "Basic MTIzNDU6bmV3");
  // The polls that fail afterwards ask for nothing more (two of them, so that a reload the
  // first one asked for would have come by the time the second is warned about).
  ASSERT_TRUE(WaitFor([&] { return Occurrences(agent_.Stderr(), "cannot poll a Secret") >= 2; }))
      << agent_.Stderr();
  ASSERT_TRUE(agent_.MetricsPort(2)) << agent_.Stderr();
  EXPECT_EQ(agent_.Metric("promtail_config_reload_success_total"), 1);
  EXPECT_EQ(agent_.Metric("promtail_config_reload_fail_total"), 0);
}

// Grafana's k8s-monitoring chart's cluster events feature: loki.source.kubernetes_events read by
// the real binary from the API server over HTTPS, each event once as Alloy's logfmt line with its
// labels, through the stages it forwards to; a restart sends nothing Loki already has but the
// events of the newest acknowledged second, which Loki's queries return once.
TEST_F(AlloyKubernetes, ClusterEventsReachLokiOnceAcrossARestart) {
  EventFields pulled;
  pulled.reason = "Pulled";
  pulled.message = "Successfully pulled image \"nginx:1.27\"";
  pulled.last_timestamp = "2026-12-06T04:00:00Z";
  api_->AddObject("events", EventJson("shop", "web-1.a", pulled));
  EventFields backoff;
  backoff.reason = "BackOff";
  backoff.type = "Warning";
  backoff.count = 7;
  backoff.last_timestamp = "2026-12-06T04:00:05Z";
  api_->AddObject("events", EventJson("shop", "web-1.b", backoff));
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(loki.source.kubernetes_events "cluster_events" {{
  job_name   = "integrations/kubernetes/eventhandler"
  log_format = "logfmt"
  forward_to = [loki.process.cluster_events.receiver]
  client {{
    api_server        = "{0}"
    bearer_token_file = "{1}"
    tls_config {{
      ca_file = "{2}"
    }}
  }}
}}
loki.process "cluster_events" {{
  stage.logfmt {{
    mapping = {{ "kind" = "", "reason" = "", "type" = "" }}
  }}
  stage.labels {{
    values = {{ "type" = "" }}
  }}
  forward_to = [loki.write.default.receiver]
}}
)",
                                api_->url(), dir_ / "kube/token", api_->ca_file()) +
                        AlloyWrite());
  const std::vector<std::string> args = {"-server.http-listen-port=0",
                                         "-positions.file=" + positions_file()};
  StartAgent(config, args);
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  std::vector<ReceivedEntry> got = loki_.Entries();
  ASSERT_EQ(got.size(), 2u);
  std::ranges::sort(got, {}, &ReceivedEntry::timestamp_ns);
  EXPECT_EQ(got[0].labels,
            "{instance=\"loki.source.kubernetes_events.cluster_events\", "
            "job=\"integrations/kubernetes/eventhandler\", namespace=\"shop\", type=\"Normal\"}");
  EXPECT_EQ(got[0].line,
            "name=web-1 kind=Pod objectAPIversion=v1 eventRV=101 sourcecomponent=kubelet "
            "sourcehost=node-1 reason=Pulled type=Normal count=1 "
            "msg=\"Successfully pulled image \\\"nginx:1.27\\\"\" ");
  EXPECT_EQ(got[0].timestamp_ns, 1796529600000000000);
  EXPECT_NE(got[1].labels.find("type=\"Warning\""), std::string::npos) << got[1].labels;

  backoff.count = 8;
  backoff.last_timestamp = "2026-12-06T04:00:09Z";
  api_->AddObject("events", EventJson("shop", "web-1.b", backoff));
  ASSERT_TRUE(loki_.WaitForLines(3)) << agent_.Stderr();
  EXPECT_NE(loki_.Entries().back().line.find("count=8 "), std::string::npos);
  ASSERT_EQ(agent_.Terminate(), 0) << agent_.Stderr();

  EventFields later;
  later.reason = "Killing";
  later.last_timestamp = "2026-12-06T04:01:00Z";
  api_->AddObject("events", EventJson("shop", "web-1.c", later));
  StartAgent(config, args);
  ASSERT_TRUE(loki_.WaitForLines(5)) << agent_.Stderr();
  std::map<std::string, int> reasons;
  for (const ReceivedEntry& e : loki_.Entries()) {
    const size_t at = e.line.find("reason=");
    ++reasons[e.line.substr(at + 7, e.line.find(' ', at) - at - 7)];
  }
  // BackOff twice before the restart (count 7, then 8) and its newest second once more after.
  EXPECT_EQ(reasons, (std::map<std::string, int>{{"BackOff", 3}, {"Killing", 1}, {"Pulled", 1}}));
}

}  // namespace
}  // namespace skidder::testing
