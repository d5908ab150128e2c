// The Docker source end to end: the real binary discovers containers on a fake Docker API
// (tests/support/fake_docker_api.h, a Unix socket) and reads their logs through it, as
// Promtail's Docker target does (and as Alloy's loki.source.docker, from a config.alloy); faults
// on the daemon's side and Loki's lose nothing.
#include <fmt/format.h>

#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "harness.h"
#include "support/fake_docker_api.h"

namespace skidder::testing {
namespace {

class Docker : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    ASSERT_TRUE(docker_.Start());
    docker_.AddNetwork({.id = "net1", .name = "bridge", .labels = {{"tier", "front"}}});
  }
  void TearDown() override {
    IntegrationTest::TearDown();
    docker_.Stop();
  }
  std::string Config(const std::string& extra_client = "    batchsize: 4096") {
    return WriteConfig({.extra_client = extra_client,
                        .extra_top = fmt::format(R"(  - job_name: docker
    docker_sd_configs:
      - host: {}
        refresh_interval: 200ms
        filters:
          - name: label
            values: [logging=on]
    relabel_configs:
      - source_labels: [__meta_docker_container_name]
        regex: /(.*)
        target_label: container
      - source_labels: [__meta_docker_container_log_stream]
        target_label: stream
)",
                                                 docker_.host()),
                        .positions_sync = "50ms"});
  }
  void AddContainer(const std::string& id, bool tty = false) {
    docker_.AddContainer({.id = id, .name = "/" + id, .tty = tty, .labels = {{"logging", "on"}}});
  }
  // "<prefix>-<i>" lines i in [from, to), one microsecond apart, on stdout.
  void Log(const std::string& id, const std::string& prefix, int from, int to, int stream = 1) {
    for (int i = from; i < to; ++i) {
      docker_.Log(id, stream, kDockerT0 + int64_t{i} * 1000, fmt::format("{}-{}\n", prefix, i));
    }
  }
  double Metric(const std::string& name, const std::string& label) {
    return agent_.Metric(name, {label});
  }

  FakeDockerApi docker_{dir_ / "docker.sock"};
};

TEST_F(Docker, ReadsBothStreamsWithDiscoveryLabels) {
  docker_.AddContainer({.id = "c1",
                        .name = "/web",
                        .labels = {{"logging", "on"}, {"com.example.app", "shop"}},
                        .private_port = 80,
                        .public_port = 8080});
  docker_.AddContainer({.id = "c2", .name = "/quiet", .labels = {{"logging", "off"}}});
  docker_.Log("c1", 1, kDockerT0, "to stdout\n");
  docker_.Log("c1", 2, kDockerT0 + 1, "to stderr\n");
  docker_.Log("c2", 1, kDockerT0, "filtered out\n");
  std::string config = WriteConfig({.extra_top = fmt::format(R"(  - job_name: docker
    docker_sd_configs:
      - host: {}
        refresh_interval: 200ms
        filters:
          - name: label
            values: [logging=on]
    relabel_configs:
      - source_labels: [__meta_docker_container_name]
        regex: /(.*)
        target_label: container
      - source_labels: [__meta_docker_container_log_stream]
        target_label: stream
      - source_labels: [__meta_docker_container_label_com_example_app]
        target_label: app
      - source_labels: [__meta_docker_network_name, __meta_docker_network_label_tier]
        target_label: network
      - source_labels: [__address__, __meta_docker_port_public]
        target_label: address
)",
                                                             docker_.host())});
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  std::map<std::string, std::string> by_line;
  std::map<std::string, int64_t> ts;
  for (const ReceivedEntry& e : loki_.Entries()) {
    by_line[e.line] = e.labels;
    ts[e.line] = e.timestamp_ns;
  }
  const std::string common =
      R"(address="172.17.0.2:80;8080", app="shop", container="web", network="bridge;front", )";
  EXPECT_EQ(by_line["to stdout"], "{" + common + R"(stream="stdout"})");
  EXPECT_EQ(by_line["to stderr"], "{" + common + R"(stream="stderr"})");
  EXPECT_FALSE(by_line.contains("filtered out"));
  EXPECT_NE(docker_.last_list_query().find("filters="), std::string::npos);
  EXPECT_TRUE(docker_.LogRequests("c2").empty());
  EXPECT_NE(agent_.HttpGet("/targets").find("docker/docker/c1 {"), std::string::npos)
      << agent_.HttpGet("/targets");
  EXPECT_EQ(ts["to stdout"], kDockerT0);  // the timestamp Docker wrote, to the nanosecond
  EXPECT_EQ(ts["to stderr"], kDockerT0 + 1);
}

TEST_F(Docker, ReadsTtyContainersRawStream) {
  AddContainer("tty", /*tty=*/true);
  for (int i = 0; i < 5; ++i) {
    docker_.Log("tty", 1, kDockerT0 + i, fmt::format("t-{}\r\n", i));
  }
  StartAgent(Config());
  ASSERT_TRUE(loki_.WaitForLines(5)) << agent_.Stderr();
  ExpectEachOnce("t", 0, 5);
  EXPECT_EQ(loki_.Entries().at(0).labels, R"({container="tty", stream="stdout"})");
}

TEST_F(Docker, FollowsNewLinesAndRestartedContainers) {
  AddContainer("c1");
  Log("c1", "a", 0, 10);
  StartAgent(Config());
  ASSERT_TRUE(loki_.WaitForLines(10)) << agent_.Stderr();
  Log("c1", "a", 10, 20);  // followed live
  ASSERT_TRUE(loki_.WaitForLines(20));
  docker_.StopContainer("c1");
  ASSERT_TRUE(WaitFor([&] { return docker_.open_streams() == 0; }, std::chrono::seconds(10)));
  Log("c1", "a", 20, 30);  // written by the container's next run
  docker_.StartContainer("c1");
  ASSERT_TRUE(loki_.WaitForLines(30)) << agent_.Stderr();
  ExpectEachOnce("a", 0, 30);  // a reconnection skips what it already read at `since`
  auto since = docker_.LogRequests("c1");
  ASSERT_GE(since.size(), 2u);
  EXPECT_EQ(since.front(), "0.000000000");
  EXPECT_EQ(since.back(), "1714557599.900019000");  // 100 ms before the last line read
}

TEST_F(Docker, LastLineWithoutNewlineArrivesWhenTheContainerStops) {
  AddContainer("c1");
  AddContainer("c2", /*tty=*/true);
  docker_.Log("c1", 1, kDockerT0, "first\n");
  docker_.Log("c1", 2, kDockerT0 + 1, "last words");
  docker_.Log("c2", 1, kDockerT0, "tty last words");
  StartAgent(Config());
  ASSERT_TRUE(loki_.WaitForLines(1)) << agent_.Stderr();
  docker_.StopContainer("c1");
  docker_.StopContainer("c2");
  ASSERT_TRUE(loki_.WaitForLines(3)) << agent_.Stderr();
  auto counts = ReceivedCounts();
  EXPECT_EQ(counts["last words"], 1);
  EXPECT_EQ(counts["tty last words"], 1);
  docker_.StartContainer("c1");  // read again from its position: nothing twice
  docker_.Log("c1", 1, kDockerT0 + 2, "after restart\n");
  ASSERT_TRUE(loki_.WaitForLines(4)) << agent_.Stderr();
  EXPECT_EQ(ReceivedCounts()["last words"], 1);
  EXPECT_EQ(ReceivedCounts()["first"], 1);
}

TEST_F(Docker, VanishedContainerDoesNotStopTheOthers) {
  AddContainer("gone");
  AddContainer("stays");
  Log("gone", "g", 0, 5);
  Log("stays", "s", 0, 5);
  StartAgent(Config());
  ASSERT_TRUE(loki_.WaitForLines(10)) << agent_.Stderr();
  docker_.RemoveContainer("gone");
  Log("stays", "s", 5, 10);
  ASSERT_TRUE(loki_.WaitForLines(15)) << agent_.Stderr();
  ExpectEachOnce("g", 0, 5);
  ExpectEachOnce("s", 0, 10);
  EXPECT_TRUE(WaitFor([&] { return Metric("skidder_docker_targets", "job_name=\"docker\"") == 1; },
                      std::chrono::seconds(10)));
}

TEST_F(Docker, ResumesFromItsPositionAfterSigkillWithoutLoss) {
  AddContainer("c1");
  AddContainer("c2", /*tty=*/true);
  Log("c1", "k", 0, 2000);
  Log("c2", "tty", 0, 500);
  loki_.SetResponseDelay(std::chrono::milliseconds(20));  // so kills land mid-way
  std::string config = Config();
  std::mt19937 rng(11);
  for (int cycle = 0; cycle < 5; ++cycle) {
    if (cycle == 2) Log("c1", "k", 2000, 4000);  // written while the agent is down
    ASSERT_TRUE(agent_.Start({"-config.file=" + config}));
    size_t seen = loki_.LineCount();
    WaitFor([&] { return loki_.LineCount() > seen; }, std::chrono::seconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 600));  // kill at random
    agent_.Kill();
  }
  loki_.SetResponseDelay(std::chrono::milliseconds(0));
  StartAgent(config);
  ASSERT_TRUE(WaitFor([&] { return ReceivedCounts().size() >= 4500; }, std::chrono::seconds(60)))
      << ReceivedCounts().size() << " of 4500";
  ExpectEachOnce("k", 0, 4000, /*allow_duplicates=*/true);
  ExpectEachOnce("tty", 0, 500, /*allow_duplicates=*/true);
  // Later runs asked from a saved position, not from the start.
  auto since = docker_.LogRequests("c1");
  EXPECT_NE(since.back(), "0.000000000");
  // At least once, but not "everything again": duplicates are what was in flight.
  EXPECT_LT(loki_.LineCount(), 4500u * 2);
}

TEST_F(Docker, SigtermThenRestartSendsNothingTwice) {
  AddContainer("c1");
  Log("c1", "t", 0, 100);
  docker_.Log("c1", 2, kDockerT0 + 99'000, "t-99b\n");  // two lines with one timestamp
  std::string config = Config();
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(101));
  EXPECT_EQ(agent_.Terminate(), 0);
  Log("c1", "t", 100, 150);
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(151));
  ASSERT_TRUE(
      WaitFor([&] { return docker_.LogRequests("c1").size() >= 2; }, std::chrono::seconds(10)));
  // The saved position is 100 ms before the last line and counts the lines read since, which
  // the next start skips (Docker's `since` is inclusive): nothing twice.
  EXPECT_EQ(docker_.LogRequests("c1").back(), "1714557599.900099000");
  ExpectEachOnce("t", 0, 150);
  EXPECT_EQ(ReceivedCounts()["t-99b"], 1);
}

// Docker positions name no daemon. The positions file remembers the Docker hosts configs named:
// while that is one host, a position of a container it no longer has goes (removed while the
// agent was down); once another host was named, such a position may be that host's container's
// and stays (a host that left the config for a while would read its containers again whole).
TEST_F(Docker, PositionsOfRemovedContainersGoOnlyWhileOneHostWasEverNamed) {
  AddContainer("c1");
  Log("c1", "x", 0, 10);
  const std::string stale = "docker-" + std::string(64, 'a');
  const auto positions = [&](const std::string& hosts) {
    WriteFile(positions_file(), R"({"version":1,"files":[],"cursors":{")" + stale +
                                    R"(":"1714557599.000000000+1")" + hosts + "}}");
  };
  const std::string config = Config();
  const auto run = [&](size_t lines) {
    StartAgent(config);
    ASSERT_TRUE(loki_.WaitForLines(lines));
    // Several refreshes, each of which asks the daemon about containers not running.
    const size_t lists = docker_.ListRequests();
    ASSERT_TRUE(WaitFor([&] { return docker_.ListRequests() >= lists + 4; }));
    EXPECT_EQ(agent_.Terminate(), 0);
  };
  positions(R"(,"skidder-docker-hosts":"tcp://build2:2375")");
  run(10);
  std::string saved = ReadFile(positions_file());
  EXPECT_NE(saved.find(stale), std::string::npos) << saved;
  EXPECT_NE(saved.find("tcp://build2:2375\\n" + docker_.host()), std::string::npos) << saved;

  positions("");  // written by a version that kept no hosts, or only this host named ever
  run(20);        // c1 is read again whole: its position went with the file
  saved = ReadFile(positions_file());
  EXPECT_EQ(saved.find(stale), std::string::npos) << saved;
  EXPECT_NE(saved.find("docker-c1"), std::string::npos) << saved;
}

// The daemon stamps stdout and stderr on two goroutines and writes under one lock: a stderr line
// stamped a moment before a stdout line can be written after it. A position at the stdout line's
// timestamp left that stderr line out when read again after a restart (Docker's `since` filter);
// now read again from a little before, the lines already sent skipped by count.
TEST_F(Docker, ALineStampedBeforeTheLastOneReadIsNotSkippedAfterARestart) {
  AddContainer("c1");
  docker_.Log("c1", 1, kDockerT0 + 50'000, "stdout first\n");
  std::string config = Config();
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_EQ(agent_.Terminate(), 0);
  docker_.Log("c1", 2, kDockerT0 + 40'000, "stderr stamped earlier, written later\n");
  docker_.Log("c1", 1, kDockerT0 + 60'000, "stdout after\n");
  StartAgent(config);
  ASSERT_TRUE(loki_.WaitForLines(3)) << agent_.Stderr();
  auto counts = ReceivedCounts();
  EXPECT_EQ(counts["stdout first"], 1);
  EXPECT_EQ(counts["stderr stamped earlier, written later"], 1);
  EXPECT_EQ(counts["stdout after"], 1);
}

// The same containers through Alloy's discovery.docker and loki.source.docker: labels from the
// targets' rules, the source's `labels` and its relabel_rules, as Alloy gives them.
TEST_F(Docker, AlloySourceReadsTheContainersWithAlloysLabels) {
  docker_.AddContainer({.id = "c1", .name = "/web", .labels = {{"logging", "on"}}});
  docker_.AddContainer({.id = "c2", .name = "/quiet", .labels = {{"logging", "off"}}});
  docker_.Log("c1", 1, kDockerT0, "to stdout\n");
  docker_.Log("c1", 2, kDockerT0 + 1, "to stderr\n");
  docker_.Log("c2", 1, kDockerT0, "filtered out\n");
  const std::string config = dir_ / "docker.alloy";
  WriteFile(config, fmt::format(R"A(discovery.docker "d" {{
  host             = "{host}"
  refresh_interval = "200ms"
  filter {{
    name   = "label"
    values = ["logging=on"]
  }}
}}
discovery.relabel "d" {{
  targets = discovery.docker.d.targets
  rule {{
    source_labels = ["__meta_docker_container_name"]
    regex         = "/(.*)"
    target_label  = "container"
  }}
}}
loki.relabel "lines" {{
  rule {{
    source_labels = ["__meta_docker_container_log_stream"]
    target_label  = "stream"
  }}
  forward_to = []
}}
loki.source.docker "apps" {{
  host          = "{host}"
  targets       = discovery.relabel.d.output
  labels        = {{ app = "docker" }}
  relabel_rules = loki.relabel.lines.rules
  forward_to    = [loki.write.default.receiver]
}}
)A",
                                fmt::arg("host", docker_.host())) +
                        AlloyWrite());
  StartAgent(config, {"-server.http-listen-port=0", "-positions.file=" + positions_file()});
  ASSERT_TRUE(loki_.WaitForLines(2)) << loki_.LineCount() << agent_.Stderr();
  std::map<std::string, std::string> labels;
  for (const ReceivedEntry& e : loki_.Entries()) labels[e.line] = e.labels;
  EXPECT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels["to stdout"], R"({app="docker", container="web", stream="stdout"})");
  EXPECT_EQ(labels["to stderr"], R"({app="docker", container="web", stream="stderr"})");
}

TEST_F(Docker, HostExampleConfigPassesCheckSyntax) {
  ASSERT_TRUE(agent_.Start({"-check-syntax", "-config.file=" + std::string(SKIDDER_SOURCE_DIR) +
                                                 "/config/examples/docker-host.yaml"}));
  EXPECT_EQ(agent_.Wait(), 0) << agent_.Stderr();
}

}  // namespace
}  // namespace skidder::testing
