// The agent's HTTP port as real clients use it: hundreds of idle connections (issue 9) must not
// take the descriptors that log files, positions and Loki need, nor keep /ready from answering;
// `curl -X POST /reload` (no body, no Content-Length) reloads.
#include <fmt/format.h>

#include <vector>

#include "harness.h"
#include "support/raw_client.h"

namespace skidder::testing {
namespace {

class HttpPort : public IntegrationTest {};

TEST_F(HttpPort, FilesLokiAndReadyKeepWorkingWhileThePortIsFlooded) {
  // The agent may hold 256 descriptors: 300 connections from one pod would have taken them all.
  AgentProcess agent("/usr/bin/prlimit", dir_.path());
  ASSERT_TRUE(agent.Start({"--nofile=256:256", SKIDDER_BINARY, "-config.file=" + WriteConfig()}));
  auto port = agent.MetricsPort();
  ASSERT_TRUE(port.has_value()) << agent.Stderr();
  // An eighth of the descriptors at most; the rest stay for files, positions and Loki.
  EXPECT_NE(agent.Stderr().find("max_connections=32"), std::string::npos) << agent.Stderr();
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

// Under systemd (soft 1024, hard 524288) a fixed soft limit would cap the log files kept open;
// the agent raises it to the hard limit at start, as Promtail (Go) does, and derives from it how
// many log files it keeps open.
TEST_F(HttpPort, TheSoftDescriptorLimitIsRaisedToTheHardOne) {
  AgentProcess agent("/usr/bin/prlimit", dir_.path());
  ASSERT_TRUE(agent.Start({"--nofile=256:4096", SKIDDER_BINARY, "-config.file=" + WriteConfig()}));
  ASSERT_TRUE(agent.MetricsPort().has_value()) << agent.Stderr();
  EXPECT_NE(agent.Stderr().find("nofile=4096 raised=true max_open_files=2048"), std::string::npos)
      << agent.Stderr();
  std::string limits = ReadFile(fmt::format("/proc/{}/limits", agent.pid()));
  EXPECT_NE(limits.find("Max open files            4096                 4096"), std::string::npos)
      << limits;
  // The HTTP port's share follows the raised limit: an eighth of 4096.
  EXPECT_NE(agent.Stderr().find("max_connections=512"), std::string::npos) << agent.Stderr();
  agent.Kill();
}

TEST_F(HttpPort, PostReloadWithoutABodyReloads) {
  StartAgent(WriteConfig({.extra_server = "  enable_runtime_reload: true"}));
  RawConn curl(*agent_.MetricsPort());  // what `curl -X POST` sends
  ASSERT_TRUE(
      curl.Send("POST /reload HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/7.88.1\r\n"
                "Accept: */*\r\n\r\n"));
  std::string body;
  EXPECT_EQ(curl.ReadResponse(std::chrono::seconds(30), &body), 200) << curl.received();
  EXPECT_EQ(body, "config reloaded\n");
  EXPECT_TRUE(agent_.MetricsPort(2).has_value()) << "no reload: " << agent_.Stderr();
  EXPECT_EQ(agent_.Metric("promtail_config_reload_success_total"), 1);
  EXPECT_EQ(agent_.Metric("promtail_config_reload_fail_total"), 0);
}

// A port in use stops the start with a hint naming what sets it: the key or the flag for the
// agent's server, Alloy's http block for a loki.source.api (whose key differs from Promtail's).
TEST_F(HttpPort, APortInUseIsNamedWithWhatSetsIt) {
  HeldPort held;
  ASSERT_TRUE(
      agent_.Start({"-config.file=" + WriteConfig(), "-server.http-listen-address=127.0.0.1",
                    fmt::format("-server.http-listen-port={}", held.port())}));
  EXPECT_EQ(agent_.Wait(), 1);
  EXPECT_NE(agent_.Stderr().find(fmt::format("cannot listen on 127.0.0.1:{} (port in use? set "
                                             "server.http_listen_port or -server.http-listen-port)",
                                             held.port())),
            std::string::npos)
      << agent_.Stderr();

  const std::string alloy = dir_ / "config.alloy";
  WriteFile(alloy, fmt::format(R"(loki.write "default" {{
  endpoint {{ url = "{}" }}
}}
loki.source.api "push" {{
  http {{
    listen_address = "127.0.0.1"
    listen_port    = {}
  }}
  forward_to = [loki.write.default.receiver]
}}
)",
                               loki_.url(), held.port()));
  AgentProcess second(SKIDDER_BINARY, dir_.path());
  ASSERT_TRUE(second.Start({"-config.file=" + alloy, "-server.http-listen-port=0",
                            "-positions.file=" + positions_file()}));
  EXPECT_EQ(second.Wait(), 1);
  EXPECT_NE(second.Stderr().find(
                fmt::format("{}:4:1: loki.source.api.push: cannot listen on 127.0.0.1:{} (port in "
                            "use? set listen_port in its http block)",
                            alloy, held.port())),
            std::string::npos)
      << second.Stderr();
}

}  // namespace
}  // namespace skidder::testing
