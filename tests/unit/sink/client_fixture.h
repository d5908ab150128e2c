// LokiClientTest: a LokiClient against FakeLoki on loopback, with metrics the test can read.
// Shared by the client test files.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sink/loki/client.h"
#include "support/fake_loki.h"
#include "support/test_util.h"

namespace skidder::sink {

using std::chrono::milliseconds;
using testing::FakeLoki;
using testing::WaitFor;

class LokiClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(loki_.Start()); }

  config::ClientConfig Config() {
    config::ClientConfig cfg;
    cfg.url = loki_.url();
    cfg.batchwait = milliseconds(20);
    cfg.timeout = std::chrono::seconds(5);
    cfg.backoff_config.min_period = milliseconds(10);
    cfg.backoff_config.max_period = milliseconds(50);
    return cfg;
  }

  std::unique_ptr<LokiClient> Make(config::ClientConfig cfg, ClientOptions opts = {}) {
    opts.seed = 1;
    auto client = LokiClient::Create(std::move(cfg), opts, &metrics_);
    EXPECT_TRUE(client.has_value()) << client.error().ToString();
    return client ? std::move(*client) : nullptr;
  }

  static Entry MakeEntry(std::string line, AckRef ack = {}) {
    Entry e;
    e.labels = Labels{{"job", "test"}, {"__path__", "/var/log/*.log"}};
    e.timestamp_ns = SystemClock::Get().NowNs();
    e.line = std::move(line);
    e.ack = std::move(ack);
    return e;
  }

  std::string host() const { return "127.0.0.1:" + std::to_string(loki_.port()); }
  double Counter(telemetry::Family<telemetry::Counter>& f, std::vector<std::string> labels) {
    return f.With(labels)->Value();
  }

  FakeLoki loki_;  // declared first: outlives the clients, which close their connections first
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_{registry_};
};

inline std::vector<std::string> Numbered(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("line " + std::to_string(i));
  return out;
}

}  // namespace skidder::sink
