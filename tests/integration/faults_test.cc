// Faults from shared/reference/faults.md injected against the real binary: Loki outages and
// refusals, SIGKILL at random moments, SIGTERM, corrupt positions, bad config.
#include <fmt/format.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "harness.h"

namespace skidder::testing {
namespace {

namespace fs = std::filesystem;

class Faults : public IntegrationTest {};

TEST_F(Faults, SixtySecondsOf503ThenRecoveryLosesNothing) {
  loki_.SetFailFor(std::chrono::seconds(60), 503);
  StartAgent(WriteConfig());
  // Lines keep arriving during the outage; the agent must keep them (memory or disk).
  for (int i = 0; i < 6; ++i) {
    AppendFile(logs() + "/a.log", Lines("o", i * 500, (i + 1) * 500));
    ASSERT_TRUE(WaitFor([&] { return loki_.RequestCount() > static_cast<size_t>(i); }));
  }
  EXPECT_EQ(loki_.LineCount(), 0u);
  ASSERT_TRUE(loki_.WaitForLines(3000, std::chrono::seconds(90))) << loki_.LineCount();
  ExpectEachOnce("o", 0, 3000);
  EXPECT_GT(agent_.Metric("promtail_batch_retries_total"), 0);
  EXPECT_GT(agent_.Metric("promtail_request_duration_seconds_count", {"status_code=\"503\""}), 0)
      << agent_.HttpGet("/metrics");
}

TEST_F(Faults, RejectedBatchIsNotRetriedAndIsCounted) {
  loki_.ScriptReply(
      400, "entry for stream '{job=\"itest\"}' has timestamp too old: 2020-01-01T00:00:00Z");
  StartAgent(WriteConfig());
  WriteFile(logs() + "/a.log", Lines("bad", 0, 10));
  ASSERT_TRUE(loki_.WaitForRequests(1));
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Metric("promtail_dropped_entries_total", {"reason=\"too_old\""}) == 10;
  })) << agent_.HttpGet("/metrics");
  AppendFile(logs() + "/a.log", Lines("good", 0, 10));
  ASSERT_TRUE(loki_.WaitForLines(10));
  ExpectEachOnce("good", 0, 10);
  for (const auto& l : loki_.Lines()) EXPECT_EQ(l.rfind("bad", 0), std::string::npos) << l;
  // The positions move past the refused lines: a restart does not resend them.
  EXPECT_EQ(agent_.Terminate(), 0);
  size_t before = loki_.RequestCount();
  StartAgent(dir_ / "skidder.yaml");
  AppendFile(logs() + "/a.log", Lines("after", 0, 1));
  ASSERT_TRUE(loki_.WaitForLines(11));
  EXPECT_EQ(loki_.RequestCount(), before + 1);
}

// One tenant refused for as long as it takes (at its ingestion limit, 429) holds up only its own
// lines: the other tenant's lines, read after them from the same file, arrive while it waits,
// and its own arrive when Loki takes them again, each once and in order. Before, the client's
// one sender retried the first batch and every tenant's batches waited behind it.
TEST_F(Faults, ATenantRefusedHoldsUpOnlyItsOwnLines) {
  loki_.SetTenantStatus("team-a", 429);
  StartAgent(WriteConfig({.pipeline_stages = R"([{regex: {expression: "^(?P<team>team-[ab])-"}},
                                                 {tenant: {source: team}}])"}));
  WriteFile(logs() + "/a.log", Lines("team-a", 0, 50));
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Metric("promtail_request_duration_seconds_count", {"status_code=\"429\""}) >= 3;
  })) << agent_.HttpGet("/metrics");
  AppendFile(logs() + "/a.log", Lines("team-b", 0, 50) + Lines("team-a", 50, 100));
  ASSERT_TRUE(loki_.WaitForLines(50));
  ExpectEachOnce("team-b", 0, 50);
  EXPECT_EQ(loki_.LineCount(), 50u);  // nothing of team-a yet

  loki_.SetTenantStatus("team-a", 0);
  ASSERT_TRUE(loki_.WaitForLines(150));
  ExpectEachOnce("team-a", 0, 100);
  std::vector<std::string> team_a;
  for (const ReceivedEntry& e : loki_.Entries()) {
    EXPECT_EQ(e.tenant, e.line.substr(0, 6)) << e.line;
    if (e.tenant == "team-a") team_a.push_back(e.line);
  }
  ASSERT_EQ(team_a.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(team_a[i], "team-a-" + std::to_string(i));
  // Every line was taken: the position moves to the end of the file and a restart sends nothing.
  EXPECT_EQ(agent_.Terminate(), 0);
  EXPECT_NE(ReadFile(positions_file()).find(std::to_string(fs::file_size(logs() + "/a.log"))),
            std::string::npos);
}

// A tenant refused for long fills the client's budget (2 MiB here) and its file pauses there, but
// another tenant's file is read on and sent meanwhile, into what the refused tenant holds beyond
// half the budget. Before, every reader stopped until Loki took the refused tenant's lines.
TEST_F(Faults, ATenantRefusedForLongPausesOnlyTheFilesSentToIt) {
  loki_.SetTenantStatus("team-a", 429);
  StartAgent(WriteConfig({.pipeline_stages = R"y([
      {regex: {source: filename, expression: "(?P<team>team-[ab])"}},
      {tenant: {source: team}}])y"}));
  // About 4 MB of team-a's lines: twice the budget.
  const std::string pad(90, 'x');
  std::string a;
  for (int i = 0; i < 40'000; ++i) a += fmt::format("team-a-{} {}\n", i, pad);
  WriteFile(logs() + "/team-a.log", a);
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Metric("promtail_request_duration_seconds_count", {"status_code=\"429\""}) >= 2 &&
           agent_.Metric("skidder_buffered_bytes") >= (2 << 20);
  })) << agent_.HttpGet("/metrics");
  // team-a's file waits at the budget (its first chunk and the chunks read before the first
  // refusal came may pass it by a little), not at 1.5 times it.
  EXPECT_LT(agent_.Metric("skidder_buffered_bytes"), 2.5 * (1 << 20));

  // team-b's file: its first chunk (where its lines go is not known yet), then the rest (~220 KB,
  // several chunks) as a file known to send to a tenant Loki takes.
  WriteFile(logs() + "/team-b.log", Lines("team-b", 0, 20'000));
  ASSERT_TRUE(loki_.WaitForLines(20'000, std::chrono::seconds(30))) << agent_.HttpGet("/metrics");
  AppendFile(logs() + "/team-b.log", Lines("team-b", 20'000, 21'000));
  ASSERT_TRUE(loki_.WaitForLines(21'000, std::chrono::seconds(30))) << agent_.HttpGet("/metrics");
  ExpectEachOnce("team-b", 0, 21'000);
  EXPECT_LT(agent_.Metric("skidder_buffered_bytes"), 3.5 * (1 << 20));  // at most 1.5 times

  loki_.SetTenantStatus("team-a", 0);
  ASSERT_TRUE(loki_.WaitForLines(61'000, std::chrono::seconds(60))) << loki_.LineCount();
  std::map<std::string, int> team_a;
  for (const ReceivedEntry& e : loki_.Entries()) {
    EXPECT_EQ(e.tenant, e.line.substr(0, 6)) << e.line;
    if (e.tenant == "team-a") ++team_a[e.line];
  }
  ASSERT_EQ(team_a.size(), 40'000u);
  for (const auto& [line, n] : team_a) EXPECT_EQ(n, 1) << line;
}

TEST_F(Faults, TenSigkillsDuringWritingLoseNothing) {
  std::string config = WriteConfig({.positions_sync = "50ms"});
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    while (!stop) {
      int n = written.load();
      AppendFile(logs() + "/w.log", Lines("k", n, n + 50));
      written += 50;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  std::mt19937 rng(42);
  for (int cycle = 0; cycle < 10; ++cycle) {
    ASSERT_TRUE(agent_.Start({"-config.file=" + config}));
    size_t seen = loki_.LineCount();
    // Let it get somewhere, then kill it at a random moment.
    WaitFor([&] { return loki_.LineCount() > seen; }, std::chrono::seconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 300));
    agent_.Kill();
  }
  stop = true;
  writer.join();
  StartAgent(config);
  ASSERT_TRUE(
      WaitFor([&] { return ReceivedCounts().size() >= static_cast<size_t>(written.load()); },
              std::chrono::seconds(60)))
      << ReceivedCounts().size() << " of " << written.load();
  ExpectEachOnce("k", 0, written.load(), /*allow_duplicates=*/true);
}

TEST_F(Faults, SigtermFlushesSavesPositionsAndExitsZero) {
  WriteFile(logs() + "/a.log", Lines("t", 0, 1000));
  StartAgent(WriteConfig({.positions_sync = "1h"}));
  ASSERT_TRUE(loki_.WaitForLines(1000));
  EXPECT_EQ(agent_.Terminate(), 0);
  std::string positions = ReadFile(positions_file());
  EXPECT_NE(positions.find(std::to_string(fs::file_size(logs() + "/a.log"))), std::string::npos)
      << positions;
  // A restart resumes at the saved position: nothing is sent twice.
  StartAgent(dir_ / "skidder.yaml");
  AppendFile(logs() + "/a.log", Lines("t", 1000, 1010));
  ASSERT_TRUE(loki_.WaitForLines(1010));
  ExpectEachOnce("t", 0, 1010);
}

TEST_F(Faults, GarbagePositionsFileIsSetAsideNotACrashLoop) {
  WriteFile(positions_file(), "\x01\x02 this is {not json or yaml: [");
  WriteFile(logs() + "/a.log", Lines("g", 0, 10));
  StartAgent(WriteConfig());
  ASSERT_TRUE(loki_.WaitForLines(10));
  bool set_aside = false;
  for (const auto& e : fs::directory_iterator(dir_.path())) {
    if (e.path().filename().string().find("positions.json.corrupt") == 0) set_aside = true;
  }
  EXPECT_TRUE(set_aside);
  EXPECT_NE(agent_.Stderr().find("level=error"), std::string::npos);
}

TEST_F(Faults, PromtailPositionsFileIsImported) {
  WriteFile(logs() + "/a.log", Lines("p", 0, 20));
  size_t ten_lines = Lines("p", 0, 10).size();
  WriteFile(positions_file(),
            "positions:\n  " + logs() + "/a.log: \"" + std::to_string(ten_lines) + "\"\n");
  StartAgent(WriteConfig());
  ASSERT_TRUE(loki_.WaitForLines(10));
  ExpectEachOnce("p", 10, 20);
  EXPECT_EQ(ReceivedCounts().count("p-0"), 0u) << "resumed from the imported offset";
}

}  // namespace
}  // namespace skidder::testing
