// DiscoveryTest: a PodDiscovery started against a FakeKubeApi, recording every target set it
// publishes. Shared by the discovery tests (one file per theme).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <set>

#include "kubernetes/discovery.h"
#include "support/fake_kube_api.h"
#include "support/test_util.h"
#include "telemetry/agent_metrics.h"

namespace skidder::kubernetes {

using namespace std::chrono_literals;
using skidder::testing::FakeKubeApi;
using skidder::testing::KubeRequest;
using skidder::testing::PodJson;
using skidder::testing::TempDir;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;
using Containers = std::set<std::string>;

class DiscoveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = std::make_unique<FakeKubeApi>(dir_.path(), "token-1");
    WriteFile(dir_ / "token", "token-1\n");
  }
  void TearDown() override {
    if (discovery_) discovery_->Stop();
  }

  config::KubernetesSdConfig Config() {
    config::KubernetesSdConfig cfg;
    cfg.api_server = api_->url();
    cfg.bearer_token_file = dir_ / "token";
    cfg.tls_config.ca_file = api_->ca_file();
    return cfg;
  }

  DiscoveryOptions Options() {
    DiscoveryOptions o;
    o.env = DiscoveryEnv{};
    o.env.node_name = "node-1";
    o.backoff_min = 20ms;
    o.backoff_max = 200ms;
    o.watch_idle_timeout = 20s;
    o.metrics = &metrics_;
    return o;
  }

  void Start(config::KubernetesSdConfig cfg, DiscoveryOptions opts) {
    discovery_ = std::make_unique<PodDiscovery>(
        std::move(cfg),
        [this](std::vector<Labels> targets) {
          std::lock_guard lock(mu_);
          updates_.push_back(std::move(targets));
        },
        std::move(opts));
    Status s = discovery_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Start() { Start(Config(), Options()); }

  // "<ns>/<pod>/<container>" of the latest target set.
  Containers Latest() {
    std::lock_guard lock(mu_);
    Containers out;
    if (updates_.empty()) return {"<no update>"};
    for (const Labels& l : updates_.back()) {
      out.insert(*l.Get("__meta_kubernetes_namespace") + "/" +
                 *l.Get("__meta_kubernetes_pod_name") + "/" +
                 *l.Get("__meta_kubernetes_pod_container_name"));
    }
    return out;
  }
  bool WaitContainers(const Containers& want) {
    return WaitFor([&] { return Latest() == want; }, 10s);
  }
  size_t UpdateCount() {
    std::lock_guard lock(mu_);
    return updates_.size();
  }
  int CountRequests(bool watch) {
    int n = 0;
    for (const KubeRequest& r : api_->requests()) n += r.params.count("watch") == (watch ? 1 : 0);
    return n;
  }
  double Metric(telemetry::Family<telemetry::Counter>& f, const std::string& reason) {
    return f.With({reason})->Value();
  }

  TempDir dir_;
  std::unique_ptr<FakeKubeApi> api_;
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_{registry_};
  std::unique_ptr<PodDiscovery> discovery_;
  std::mutex mu_;
  std::vector<std::vector<Labels>> updates_;
};

}  // namespace skidder::kubernetes
