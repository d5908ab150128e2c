// Idle is idle on the main thread: Runtime::Tick asks to be called again after sync_period once
// nothing is in flight (it asked every 250 ms), and still saves a change within sync_period.
#include <gtest/gtest.h>

#include <chrono>

#include "app/runtime.h"
#include "config/loader.h"
#include "support/test_util.h"
#include "telemetry/agent_metrics.h"

namespace skidder::app {
namespace {

using skidder::testing::ReadFile;
using skidder::testing::TempDir;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;

TEST(RuntimeTick, WaitsSyncPeriodWhenNothingIsInFlightAndStillSavesAChangeWithinIt) {
  TempDir dir;
  WriteFile(dir / "a.log", "");
  const std::string yaml =
      "server:\n  http_listen_port: 0\n  disable: true\n"
      "positions:\n  filename: " +
      (dir / "positions.json") +
      "\n  sync_period: 2s\n"
      "clients:\n  - url: http://127.0.0.1:1/loki/api/v1/push\n"
      "scrape_configs:\n  - job_name: t\n    static_configs:\n"
      "      - labels:\n          __path__: " +
      (dir / "*.log") + "\n";
  auto cfg = config::ParseConfig(yaml, "cfg.yaml", false);
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
  config::Flags flags;
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics(registry);
  auto runtime = Runtime::Build(*cfg, flags, &metrics);
  ASSERT_TRUE(runtime.has_value()) << runtime.error().message();
  ASSERT_TRUE((*runtime)->Start().ok());
  // The empty file is opened and settled: from then on the main thread waits sync_period.
  EXPECT_TRUE(WaitFor([&] { return (*runtime)->Tick() > std::chrono::milliseconds(1000); }));
  // An empty file's record reaches the positions file within sync_period of its change, with
  // no tick in between asking for it (the source put it; the save comes on time).
  EXPECT_TRUE(WaitFor([&] {
    (*runtime)->Tick();
    return ReadFile(dir / "positions.json").find("a.log") != std::string::npos;
  }));
  (*runtime)->Shutdown();
}

}  // namespace
}  // namespace skidder::app
