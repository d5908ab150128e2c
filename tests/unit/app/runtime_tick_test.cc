// Idle is idle on the main thread: Runtime::Tick asks to be called again after sync_period once
// nothing is in flight (it asked every 250 ms), and still saves a change within sync_period.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "app/runtime.h"
#include "config/loader.h"
#include "sources/file/positions.h"
#include "support/fake_loki.h"
#include "support/test_util.h"
#include "telemetry/agent_metrics.h"

namespace skidder::app {
namespace {

using skidder::testing::AppendFile;
using skidder::testing::FakeLoki;
using skidder::testing::ReadFile;
using skidder::testing::TempDir;
using skidder::testing::WaitFor;
using skidder::testing::WriteFile;

std::string Config(const TempDir& dir, const char* sync_period, const std::string& url) {
  return "server:\n  http_listen_port: 0\n  disable: true\n"
         "positions:\n  filename: " +
         (dir / "positions.json") + "\n  sync_period: " + sync_period +
         "\n"
         "clients:\n  - url: " +
         url +
         "\n"
         "scrape_configs:\n  - job_name: t\n    static_configs:\n"
         "      - labels:\n          __path__: " +
         (dir / "*.log") + "\n";
}

// A Runtime tailing dir_/*.log with Config(); shut down after each test.
class RuntimeTick : public ::testing::Test {
 protected:
  void Start(const char* sync_period, const std::string& url, std::function<void()> wake = {}) {
    auto cfg = config::ParseConfig(Config(dir_, sync_period, url), "cfg.yaml", false);
    ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
    auto runtime = Runtime::Build(*cfg, config::Flags{}, &metrics_);
    ASSERT_TRUE(runtime.has_value()) << runtime.error().message();
    runtime_ = std::move(*runtime);
    ASSERT_TRUE(runtime_->Start({}, std::move(wake)).ok());
  }
  void TearDown() override {
    if (runtime_) runtime_->Shutdown();
  }

  TempDir dir_;
  FakeLoki loki_;
  telemetry::Registry registry_;
  telemetry::AgentMetrics metrics_{registry_};
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(RuntimeTick, WaitsSyncPeriodWhenNothingIsInFlightAndStillSavesAChangeWithinIt) {
  WriteFile(dir_ / "a.log", "");
  Start("2s", "http://127.0.0.1:1/loki/api/v1/push");
  // The empty file is opened and settled: from then on the main thread waits sync_period.
  EXPECT_TRUE(WaitFor([&] { return runtime_->Tick() > std::chrono::milliseconds(1000); }));
  // An empty file's record reaches the positions file within sync_period of its change, with
  // no tick in between asking for it (the source put it; the save comes on time).
  EXPECT_TRUE(WaitFor([&] {
    runtime_->Tick();
    return ReadFile(dir_ / "positions.json").find("a.log") != std::string::npos;
  }));
}

// The main loop sleeps sync_period while nothing is in flight; a line read after that wakes it,
// so positions are again saved within 250 ms of a change, not up to sync_period later.
TEST_F(RuntimeTick, AReadAfterAnIdleSpellWakesTheMainLoopBackTo250ms) {
  WriteFile(dir_ / "a.log", "");
  ASSERT_TRUE(loki_.Start());
  std::atomic<int> wakes{0};
  Start("60s", loki_.url(), [&] { ++wakes; });
  ASSERT_TRUE(WaitFor([&] { return runtime_->Tick() > std::chrono::seconds(10); }));
  EXPECT_EQ(wakes.load(), 0);
  AppendFile(dir_ / "a.log", "a line\n");
  ASSERT_TRUE(WaitFor([&] { return wakes.load() > 0; }));
  EXPECT_LE(runtime_->Tick(), std::chrono::milliseconds(250));
  EXPECT_EQ(wakes.load(), 1);  // once per idle spell, not per read
  EXPECT_TRUE(loki_.WaitForLines(1));
}

// With nothing acknowledged (Loki failing) the main loop saves every 250 ms, but only for what a
// restart resumes from; a file's size alone (what a deletion while stopped would lose) still
// reaches the positions file within sync_period. Once Loki takes the line, its offset follows.
TEST_F(RuntimeTick, AGrowingFilesSizeIsSavedWithinSyncPeriodWhileNothingIsAcknowledged) {
  ASSERT_TRUE(loki_.Start());
  loki_.SetFailFor(std::chrono::hours(1), 503);
  // Longer than the fingerprint: a later line changes the record's size alone.
  WriteFile(dir_ / "a.log", std::string(1999, 'x') + "\n");
  Start("1s", loki_.url());
  auto saved = [&] {
    return sources::Positions(dir_ / "positions.json", false, &metrics_).FindByPath(dir_ / "a.log");
  };
  ASSERT_TRUE(WaitFor([&] {
    runtime_->Tick();
    return saved().has_value() && saved()->size == 2000;
  }));
  AppendFile(dir_ / "a.log", "a line\n");
  EXPECT_TRUE(WaitFor([&] {
    runtime_->Tick();
    return saved()->size == 2007;
  }));
  EXPECT_EQ(saved()->offset, 0u);
  loki_.SetFailFor(std::chrono::milliseconds(0), 503);
  EXPECT_TRUE(WaitFor([&] {
    runtime_->Tick();
    return saved()->offset == 2007;
  }));
}

// Room for a batch filling while one is in flight, whatever batchsize a user chose: a smaller
// budget would close every batch early (by saturation) and make readers wait for each push.
TEST(ClientBudget, HoldsTwoBatchesAndAtLeastTwoMiB) {
  config::ClientConfig cc;
  EXPECT_EQ(ClientBudget(cc), 2 << 20);  // batchsize 1 MiB, Promtail's default
  cc.batchsize = 100 << 10;
  EXPECT_EQ(ClientBudget(cc), 2 << 20);
  cc.batchsize = 4 << 20;
  EXPECT_EQ(ClientBudget(cc), 8 << 20);
}

// Positions are written at most ~1 MiB/s: at 10,000 files the file is ~2 MB, and four saves a
// second during a backlog were ~3 % of the agent's CPU.
TEST(PositionsSaveGap, Is250msUnlessThePositionsFileIsLarge) {
  EXPECT_EQ(PositionsSaveGap(0), std::chrono::milliseconds(250));
  EXPECT_EQ(PositionsSaveGap(200'000), std::chrono::milliseconds(250));
  EXPECT_EQ(PositionsSaveGap(1 << 20), std::chrono::milliseconds(1000));
  EXPECT_EQ(PositionsSaveGap(2 << 20), std::chrono::milliseconds(2000));
}

TEST_F(RuntimeTick, ALargePositionsFileIsSavedLessOften) {
  for (int i = 0; i < 4000; ++i)
    WriteFile(dir_ / ("file-with-a-longer-name-" + std::to_string(i) + ".log"), "");
  Start("250ms", "http://127.0.0.1:1/loki/api/v1/push");
  // ~600 KB of records: saved every ~0.6 s instead of every 250 ms.
  EXPECT_TRUE(WaitFor([&] { return runtime_->Tick() > std::chrono::milliseconds(400); }));
  const size_t size = ReadFile(dir_ / "positions.json").size();
  EXPECT_GT(size, 400'000u);
}

}  // namespace
}  // namespace skidder::app
