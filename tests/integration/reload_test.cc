// Reload (SIGHUP and POST /reload): a new config applies without losing or duplicating lines;
// an invalid one is refused and the running config carries on.
#include <signal.h>

#include "harness.h"

namespace skidder::testing {
namespace {

class Reload : public IntegrationTest {
 protected:
  // Lines of each env label value, as received.
  int CountWithLabel(const std::string& label) {
    int n = 0;
    for (const auto& e : loki_.Entries()) n += e.labels.find(label) != std::string::npos;
    return n;
  }
};

TEST_F(Reload, SighupAppliesNewLabelsWithoutLosingOrDuplicatingLines) {
  std::string config = WriteConfig({.extra_labels = "          env: before"});
  WriteFile(logs() + "/a.log", Lines("h", 0, 200));
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(200));
  WriteConfig({.extra_labels = "          env: after"});
  kill(agent_.pid(), SIGHUP);
  ASSERT_TRUE(agent_.MetricsPort(2).has_value()) << "no restart after SIGHUP";
  AppendFile(logs() + "/a.log", Lines("h", 200, 300));
  ASSERT_TRUE(loki_.WaitForLines(300)) << loki_.LineCount();
  ExpectEachOnce("h", 0, 300);
  EXPECT_EQ(CountWithLabel("env=\"before\""), 200);
  EXPECT_EQ(CountWithLabel("env=\"after\""), 100);
}

// A reload stops the clients; what they could not send during an outage is abandoned (freed, its
// position held back) and read again by the new config, so it still arrives once Loki is back.
TEST_F(Reload, ReloadsDuringALokiOutageLoseNothing) {
  loki_.SetFailFor(std::chrono::minutes(10), 503);
  std::string config = WriteConfig();
  WriteFile(logs() + "/a.log", Lines("o", 0, 100));
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForRequests(1));
  for (int i = 2; i <= 3; ++i) {  // each waits out the 10 s flush deadline of the old config
    kill(agent_.pid(), SIGHUP);
    ASSERT_TRUE(agent_.MetricsPort(i).has_value()) << "no restart after SIGHUP " << i;
    AppendFile(logs() + "/a.log", Lines("o", 100 * (i - 1), 100 * i));
  }
  loki_.SetFailFor(std::chrono::milliseconds(0), 503);
  ASSERT_TRUE(loki_.WaitForLines(300)) << loki_.LineCount();
  ExpectEachOnce("o", 0, 300, /*allow_duplicates=*/true);
}

// While the old config's clients wait out their flush (Loki down: the whole
// graceful_shutdown_timeout), /ready and /metrics still answer: the server used to stop first,
// and every readiness probe and scrape of those seconds failed.
TEST_F(Reload, ReadyAndMetricsAnswerWhileTheOldClientsFlush) {
  loki_.SetFailFor(std::chrono::minutes(10), 503);
  std::string config = WriteConfig({.extra_server = "  graceful_shutdown_timeout: 4s"});
  WriteFile(logs() + "/a.log", Lines("f", 0, 100));
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForRequests(1));
  kill(agent_.pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("stopping the running one") != std::string::npos;
  })) << agent_.Stderr();
  // The old server's port, polled until the new config logs its own.
  const auto stopping = std::chrono::steady_clock::now();
  std::chrono::milliseconds answered{0};  // the latest answer after the reload began
  while (Occurrences(agent_.Stderr(), "serving metrics") < 2 &&
         std::chrono::steady_clock::now() - stopping < std::chrono::seconds(60)) {
    const bool ready = !agent_.HttpGet("/ready").empty();
    const bool metrics = agent_.HttpGet("/metrics").find("promtail_") != std::string::npos;
    if (ready && metrics) {
      answered = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - stopping);
    }
  }
  ASSERT_TRUE(agent_.MetricsPort(2).has_value()) << agent_.Stderr();
  EXPECT_GE(answered, std::chrono::seconds(1))
      << "the server stopped with the sources, not after the clients' flush";
  loki_.SetFailFor(std::chrono::milliseconds(0), 503);
  ASSERT_TRUE(loki_.WaitForLines(100)) << loki_.LineCount();
  ExpectEachOnce("f", 0, 100, /*allow_duplicates=*/true);
}

TEST_F(Reload, InvalidConfigIsRefusedAndTheOldOneKeepsRunning) {
  std::string config = WriteConfig();
  StartAgent(config);
  WriteFile(config, "server:\n  http_listen_port: 0\n  no_such_key: 1\n");
  kill(agent_.pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("reload refused, old config kept") != std::string::npos;
  }));
  EXPECT_NE(agent_.Stderr().find("no_such_key"), std::string::npos) << agent_.Stderr();
  WriteFile(logs() + "/a.log", Lines("still", 0, 10));
  ASSERT_TRUE(loki_.WaitForLines(10));
  ExpectEachOnce("still", 0, 10);
}

TEST_F(Reload, PostReloadAppliesAValidConfigAndRefusesABadOne) {
  AgentConfig c{.extra_labels = "          env: one",
                .extra_server = "  enable_runtime_reload: true"};
  std::string config = WriteConfig(c);
  StartAgent(config);
  std::string good = ReadFile(config);
  WriteFile(config, "server: [not, a, map]\n");
  auto [bad_status, bad_body] = agent_.HttpPost("/reload");
  EXPECT_EQ(bad_status, 400) << bad_body;
  EXPECT_NE(bad_body.find(config + ":1:"), std::string::npos) << bad_body;

  c.extra_labels = "          env: two";
  WriteConfig(c);
  auto [status, body] = agent_.HttpPost("/reload");
  EXPECT_EQ(status, 200) << body;
  ASSERT_TRUE(agent_.MetricsPort(2).has_value());
  WriteFile(logs() + "/a.log", Lines("p", 0, 5));
  ASSERT_TRUE(loki_.WaitForLines(5));
  EXPECT_EQ(CountWithLabel("env=\"two\""), 5);
}

TEST_F(Reload, PostReloadIsRefusedUnlessEnabled) {
  StartAgent(WriteConfig());
  auto [status, body] = agent_.HttpPost("/reload");
  EXPECT_EQ(status, 404) << body;
}

}  // namespace
}  // namespace skidder::testing
