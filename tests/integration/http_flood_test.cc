// Hostile clients on the agent's HTTP port (issue 9): hundreds of idle connections must not take
// the descriptors that log files, positions and Loki need, nor keep /ready from answering.
#include <fmt/format.h>

#include <vector>

#include "harness.h"
#include "support/raw_client.h"

namespace skidder::testing {
namespace {

class HttpFlood : public IntegrationTest {};

TEST_F(HttpFlood, FilesLokiAndReadyKeepWorkingWhileThePortIsFlooded) {
  // The agent may hold 256 descriptors: 300 connections from one pod would have taken them all.
  AgentProcess agent("/usr/bin/prlimit", dir_.path());
  ASSERT_TRUE(agent.Start({"--nofile=256:256", SKIDDER_BINARY, "-config.file=" + WriteConfig()}));
  auto port = agent.MetricsPort();
  ASSERT_TRUE(port.has_value()) << agent.Stderr();
  std::vector<RawConn> flood;
  for (int i = 0; i < 300; ++i) flood.emplace_back(*port, "127.0.4." + std::to_string(1 + i % 3));
  for (const auto& c : flood) ASSERT_TRUE(c.ok());

  auto ready = Request(*port, "GET", "/ready", std::chrono::seconds(10));
  EXPECT_EQ(ready.status, 200);
  EXPECT_LT(ready.took, std::chrono::seconds(2));
  constexpr int kFiles = 40;
  for (int f = 0; f < kFiles; ++f) {
    WriteFile(logs() + fmt::format("/f{}.log", f), Lines(fmt::format("f{}", f), 0, 5));
  }
  EXPECT_TRUE(loki_.WaitForLines(kFiles * 5)) << loki_.Lines().size() << " lines arrived";
  EXPECT_TRUE(WaitFor([&] {
    std::string positions = ReadFile(positions_file());
    for (int f = 0; f < kFiles; ++f) {
      if (positions.find(fmt::format("f{}.log", f)) == std::string::npos) return false;
    }
    return true;
  })) << ReadFile(positions_file());
  EXPECT_EQ(agent.Stderr().find("Too many open files"), std::string::npos) << agent.Stderr();
  agent.Kill();
}

}  // namespace
}  // namespace skidder::testing
