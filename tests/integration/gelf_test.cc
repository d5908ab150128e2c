// The GELF source end to end: the real binary listens on UDP, datagrams on loopback (plain,
// gzip, chunked zlib, and bad ones) reach the fake Loki with Promtail's labels, from a Promtail
// `gelf` job and from Alloy's loki.source.gelf.
#include <fmt/format.h>

#include <cstring>

#include "harness.h"
#include "support/compress.h"
#include "support/gelf_client.h"
#include "support/syslog_client.h"

namespace skidder::testing {
namespace {

std::string Message(std::string_view text, int level = 3) {
  return fmt::format(
      R"({{"version":"1.1","host":"web-1","short_message":"{}","timestamp":1700000000.5,)"
      R"("level":{},"_request_id":"r-1"}})",
      text, level);
}

// Sends m-<from>..m-<to-1>, alternating plain, gzip and chunked zlib datagrams.
void SendAll(int port, int from, int to) {
  for (int i = from; i < to; ++i) {
    const std::string m = Message(fmt::format("m-{}", i));
    if (i % 3 == 0) {
      ASSERT_TRUE(SendUdp(port, m));
    } else if (i % 3 == 1) {
      ASSERT_TRUE(SendUdp(port, Gzip(m)));
    } else {
      const std::string z = Zlib(m);
      ASSERT_TRUE(SendUdp(port, GelfChunk(1000 + i, 1, 2, z.substr(z.size() / 2))));
      ASSERT_TRUE(SendUdp(port, GelfChunk(1000 + i, 0, 2, z.substr(0, z.size() / 2))));
    }
  }
}

class Gelf : public IntegrationTest {};

TEST_F(Gelf, PromtailsGelfJobDeliversWithItsLabelsAndPipeline) {
  const std::string config = WriteConfig({.extra_top = R"(  - job_name: gelf
    gelf:
      listen_address: 127.0.0.1:0
      labels: {job: gelf}
    relabel_configs:
      - {source_labels: [__gelf_message_host], target_label: host}
      - {source_labels: [__gelf_message_level], target_label: level}
    pipeline_stages:
      - json: {expressions: {msg: short_message, request: _request_id}}
      - labels: {request: ""}
      - output: {source: msg}
)"});
  StartAgent(config);
  const std::optional<int> port = GelfPort(agent_, "gelf");
  ASSERT_TRUE(port.has_value()) << agent_.Stderr();
  ASSERT_TRUE(SendUdp(*port, "not gelf"));  // counted; the listener goes on
  SendAll(*port, 0, 6);
  ASSERT_TRUE(loki_.WaitForLines(6)) << agent_.Stderr();
  ExpectEachOnce("m", 0, 6);
  for (const ReceivedEntry& e : loki_.Entries()) {
    EXPECT_EQ(e.labels, R"({host="web-1", job="gelf", level="error", request="r-1"})");
  }
  EXPECT_TRUE(WaitFor([&] {
    return agent_.Metric("promtail_gelf_target_entries_total") == 6 &&
           agent_.Metric("promtail_gelf_target_parsing_errors_total") == 1;
  }));
}

TEST_F(Gelf, AlloysSourceTakesItsRelabelRulesJobLabelAndTheMessagesTime) {
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(loki.relabel "gelf" {{
  rule {{
    source_labels = ["__gelf_message_host"]
    target_label  = "host"
  }}
  forward_to = []
}}
loki.source.gelf "apps" {{
  listen_address         = "127.0.0.1:0"
  use_incoming_timestamp = true
  relabel_rules          = loki.relabel.gelf.rules
  forward_to             = [loki.write.default.receiver]
}}
)") + AlloyWrite());
  StartAgent(config, {"-server.http-listen-port=0"});
  const std::optional<int> port = GelfPort(agent_, "apps");
  ASSERT_TRUE(port.has_value()) << agent_.Stderr();
  SendAll(*port, 0, 3);
  ASSERT_TRUE(loki_.WaitForLines(3)) << agent_.Stderr();
  for (const ReceivedEntry& e : loki_.Entries()) {
    EXPECT_EQ(e.labels, R"({host="web-1", job="loki.source.gelf.apps"})");
    EXPECT_EQ(e.timestamp_ns, 1'700'000'000'500'000'000);
    EXPECT_NE(e.line.find(R"("host":"web-1","short_message":"m-)"), std::string::npos) << e.line;
  }
}

}  // namespace
}  // namespace skidder::testing
