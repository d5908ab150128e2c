// The Docker source under faults: malformed and oversize frames from the daemon, the daemon
// going away and coming back, failing API calls, and Loki down (the reader stops reading, the
// daemon's log holds the backlog, nothing is lost).
#include <fmt/format.h>

#include <fstream>

#include "harness.h"
#include "support/fake_docker_api.h"

namespace skidder::testing {
namespace {

class DockerFaults : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    ASSERT_TRUE(docker_.Start());
    docker_.AddContainer({.id = "c1", .name = "/app"});
  }
  void TearDown() override {
    IntegrationTest::TearDown();
    docker_.Stop();
  }
  std::string Config(const std::string& extra_client = "    batchsize: 65536") {
    return WriteConfig({.extra_client = extra_client,
                        .extra_top = fmt::format(R"(  - job_name: docker
    docker_sd_configs:
      - host: {}
        refresh_interval: 200ms
    relabel_configs:
      - source_labels: [__meta_docker_container_name]
        target_label: container
)",
                                                 docker_.host()),
                        .positions_sync = "50ms"});
  }
  void Log(const std::string& prefix, int from, int to, const std::string& pad = "") {
    for (int i = from; i < to; ++i) {
      docker_.Log("c1", 1 + i % 2, kDockerT0 + int64_t{i} * 1000,
                  fmt::format("{}-{}{}\n", prefix, i, pad));
    }
  }
  double Errors(const std::string& reason) {
    return agent_.Metric("skidder_docker_errors_total", {"reason=\"" + reason + "\""});
  }
  // Peak resident memory of the agent, bytes.
  int64_t PeakRss() {
    std::ifstream in(fmt::format("/proc/{}/status", agent_.pid()));
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("VmHWM:")) return std::stoll(line.substr(6)) * 1024;
    }
    return -1;
  }

  FakeDockerApi docker_{dir_ / "docker.sock"};
};

TEST_F(DockerFaults, MalformedFrameReconnectsWithoutLossOrDuplicates) {
  Log("m", 0, 10);
  StartAgent(Config());
  ASSERT_TRUE(loki_.WaitForLines(10)) << agent_.Stderr();
  // Stream type 7 with garbage padding: no daemon sends it; the reader drops the connection.
  docker_.InjectRaw("c1", std::string("\x07\x01\x02\x03\x00\x00\x00\x05junk!", 13));
  Log("m", 10, 20);
  ASSERT_TRUE(loki_.WaitForLines(20)) << agent_.Stderr();
  ExpectEachOnce("m", 0, 20);
  EXPECT_GE(Errors("malformed_frame"), 1);
  EXPECT_GE(docker_.LogRequests("c1").size(), 2u);  // it read again, from its position
}

TEST_F(DockerFaults, OversizeFrameIsCutWithoutBufferingIt) {
  Log("o", 0, 3);
  StartAgent(Config());
  ASSERT_TRUE(loki_.WaitForLines(3)) << agent_.Stderr();
  // One 128 MiB message: the agent keeps 256 KiB of it (Promtail's line limit), never the rest.
  const size_t huge = size_t{128} << 20;
  std::string payload = FakeDockerApi::Rfc3339Nano(kDockerT0 + 3000) + " " + std::string(huge, 'x');
  payload += "\n";
  docker_.InjectRaw("c1", FakeDockerApi::Frame(1, payload));
  payload.clear();
  payload.shrink_to_fit();
  Log("o", 4, 6);
  ASSERT_TRUE(loki_.WaitForLines(6)) << agent_.Stderr();
  ExpectEachOnce("o", 0, 3);
  ExpectEachOnce("o", 4, 6);
  size_t longest = 0;
  for (const ReceivedEntry& e : loki_.Entries()) longest = std::max(longest, e.line.size());
  EXPECT_EQ(longest, size_t{256} << 10);
  EXPECT_GE(Errors("line_too_long"), 1);
  EXPECT_LT(PeakRss(), int64_t{96} << 20) << "the frame was buffered";
}

TEST_F(DockerFaults, DaemonDownAndBackLosesNothing) {
  Log("d", 0, 10);
  StartAgent(Config());
  ASSERT_TRUE(loki_.WaitForLines(10)) << agent_.Stderr();
  docker_.Stop();  // the daemon goes away: the socket disappears, streams end
  ASSERT_TRUE(WaitFor([&] { return Errors("list") >= 2; }, std::chrono::seconds(10)));
  Log("d", 10, 20);  // logged while nobody could read them
  ASSERT_TRUE(docker_.Start());
  ASSERT_TRUE(loki_.WaitForLines(20)) << agent_.Stderr();
  ExpectEachOnce("d", 0, 20);
}

TEST_F(DockerFaults, FailingApiCallsAreRetried) {
  docker_.FailNext("/containers/json", 3, 500);
  docker_.FailNext("/containers/c1/logs", 2, 500);
  Log("f", 0, 10);
  StartAgent(Config());
  ASSERT_TRUE(loki_.WaitForLines(10)) << agent_.Stderr();
  ExpectEachOnce("f", 0, 10);
  EXPECT_GE(Errors("list"), 3);
  EXPECT_GE(Errors("stream"), 2);
}

TEST_F(DockerFaults, LokiDownStopsReadingAndLosesNothing) {
  const int n = 20000;
  const std::string pad(1000, '.');  // ~20 MB in all, five times what the agent may hold
  loki_.SetFailFor(std::chrono::seconds(3600), 503);
  std::string config = Config();
  StartAgent(config);
  Log("b", 0, n, pad);
  // Backpressure: the reader stops once the sink is full, well before it read everything.
  auto read_bytes = [&] {
    return agent_.Metric("skidder_docker_read_bytes_total", {"job_name=\"docker\""});
  };
  ASSERT_TRUE(WaitFor([&] { return read_bytes() > 1e6; }, std::chrono::seconds(20)));
  double before = read_bytes();
  ASSERT_FALSE(WaitFor([&] { return read_bytes() > 12e6; }, std::chrono::seconds(2)))
      << "kept reading while Loki was down: " << read_bytes() << " (was " << before << ")";
  loki_.SetFailFor(std::chrono::milliseconds(0), 503);
  ASSERT_TRUE(
      WaitFor([&] { return ReceivedCounts().size() >= size_t(n); }, std::chrono::seconds(120)))
      << ReceivedCounts().size() << " of " << n;
  // The padding is part of each line: compare prefixes.
  std::map<std::string, int> counts;
  for (const std::string& l : loki_.Lines()) ++counts[l.substr(0, l.find('.'))];
  int missing = 0;
  for (int i = 0; i < n; ++i) missing += counts.contains(fmt::format("b-{}", i)) ? 0 : 1;
  EXPECT_EQ(missing, 0);
}

}  // namespace
}  // namespace skidder::testing
