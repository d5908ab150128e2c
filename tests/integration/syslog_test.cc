// The syslog source end to end: the real binary listens, a real client on loopback writes both
// framings over TCP, TLS and UDP, and the fake Loki receives the streams with Promtail's labels.
// Faults: disconnects mid-message, malformed and oversize frames, and Loki down (TCP readers
// stop reading; nothing is lost once Loki is back).
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "harness.h"
#include "support/syslog_client.h"

namespace skidder::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Promtail's own syslog test relabels every meta label to a label of the same name.
constexpr const char* kRelabelAll = R"(    relabel_configs:
      - {source_labels: [__syslog_message_severity], target_label: severity}
      - {source_labels: [__syslog_message_facility], target_label: facility}
      - {source_labels: [__syslog_message_hostname], target_label: hostname}
      - {source_labels: [__syslog_message_app_name], target_label: app_name}
      - {source_labels: [__syslog_message_proc_id], target_label: proc_id}
      - {source_labels: [__syslog_message_msg_id], target_label: msg_id}
      - {source_labels: [__syslog_message_sd_custom_32473_exkey], target_label: sd_custom_exkey}
      - {source_labels: [__syslog_connection_ip_address], target_label: ip}
)";
constexpr const char* kPromtailLabels =
    "{app_name=\"app\", facility=\"local4\", hostname=\"host5\", ip=\"127.0.0.1\", "
    "job=\"syslog\", msg_id=\"id1\", sd_custom_exkey=\"1\", severity=\"notice\"}";

class Syslog : public IntegrationTest {
 protected:
  // Starts the agent with one syslog job; `extra` is YAML added to the syslog block (indent 6).
  int Start(const std::string& extra = "", const std::string& job_extra = kRelabelAll) {
    std::string config = WriteConfig(
        {.extra_top = fmt::format("  - job_name: syslog\n    syslog:\n      listen_address: "
                                  "127.0.0.1:0\n      label_structured_data: true\n      labels: "
                                  "{{job: syslog}}\n{}{}",
                                  extra, job_extra)});
    StartAgent(config);
    auto port = SyslogPort(agent_, "syslog");
    EXPECT_TRUE(port.has_value()) << agent_.Stderr();
    return port.value_or(0);
  }
  double Dropped(const std::string& reason) {
    return agent_.Metric("skidder_syslog_dropped_total", {"reason=\"" + reason + "\""});
  }
  static std::string Batch(int from, int to, bool octet) {
    std::string out;
    for (int i = from; i < to; ++i) {
      std::string m = Rfc5424(fmt::format("m-{}", i));
      out += octet ? OctetFrame(m) : NewlineFrame(m);
    }
    return out;
  }
};

// Alloy's raw format: devices that follow neither RFC (Cisco, CEF) send lines as they are; the
// line is the message without its <PRI>, which becomes severity and facility.
TEST_F(Syslog, RawMessagesArriveAsSentOverTcp) {
  int port = Start("      syslog_format: raw\n");
  SyslogTcpClient tcp;
  ASSERT_TRUE(tcp.Connect(port)) << tcp.error();
  ASSERT_TRUE(
      tcp.Send("<189>77: 000073: %SYS-5-CONFIG_I: Configured\n  \n\r\n"
               "CEF:0|Vendor|Product|1.0|100|event|5|src=10.0.0.1\n"));
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  const std::vector<ReceivedEntry> got = loki_.Entries();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].line, "77: 000073: %SYS-5-CONFIG_I: Configured");
  EXPECT_EQ(got[0].labels,
            "{facility=\"local7\", ip=\"127.0.0.1\", job=\"syslog\", severity=\"notice\"}");
  EXPECT_EQ(got[1].line, "CEF:0|Vendor|Product|1.0|100|event|5|src=10.0.0.1");
  EXPECT_EQ(got[1].labels, "{ip=\"127.0.0.1\", job=\"syslog\"}");
  EXPECT_EQ(Dropped("empty"), 0);  // blank lines are skipped, as Alloy does
}

TEST_F(Syslog, RawDatagramsCanHoldSeveralNulTerminatedMessages) {
  int port = Start(
      "      syslog_format: raw\n      listen_protocol: udp\n"
      "      raw_format_options: {use_null_terminator_delimiter: true}\n");
  using namespace std::string_literals;
  ASSERT_TRUE(WaitFor([&] {
    SendUdp(port, "first\nstill first\0second\0"s);
    return loki_.LineCount() >= 2;
  }));
  const std::vector<ReceivedEntry> got = loki_.Entries();
  EXPECT_EQ(got.at(0).line, "first\nstill first");
  EXPECT_EQ(got.at(1).line, "second");
}

TEST_F(Syslog, TcpDeliversBothFramingsWithPromtailsLabels) {
  int port = Start();
  SyslogTcpClient newline, octet;
  ASSERT_TRUE(newline.Connect(port)) << newline.error();
  ASSERT_TRUE(octet.Connect(port)) << octet.error();
  ASSERT_TRUE(newline.Send(Batch(0, 3, false)));
  ASSERT_TRUE(octet.Send(Batch(3, 6, true)));
  ASSERT_TRUE(loki_.WaitForLines(6));
  ExpectEachOnce("m", 0, 6);
  for (const ReceivedEntry& e : loki_.Entries()) EXPECT_EQ(e.labels, kPromtailLabels);
  EXPECT_EQ(agent_.Metric("promtail_syslog_target_entries_total"), 6);
}

// A job without `labels` hands its messages to pipeline_stages with no labels, as Promtail's
// does: a stage may add some. One that still has none when it reaches the client is dropped
// alone (Loki would refuse the whole push with it), counted as missing_labels.
TEST_F(Syslog, MessagesWithoutLabelsGoToTheStagesAndOnlyThoseLeftWithoutAreDropped) {
  std::string config = WriteConfig({.extra_top = R"(  - job_name: syslog
    syslog:
      listen_address: 127.0.0.1:0
    pipeline_stages:
      - regex: {expression: '^level=(?P<level>\w+)'}
      - labels: {level: ""}
)"});
  StartAgent(config);
  auto port = SyslogPort(agent_, "syslog");
  ASSERT_TRUE(port.has_value()) << agent_.Stderr();
  SyslogTcpClient c;
  ASSERT_TRUE(c.Connect(*port)) << c.error();
  ASSERT_TRUE(c.Send(OctetFrame(Rfc5424("level=warn m-0")) + OctetFrame(Rfc5424("m-1")) +
                     OctetFrame(Rfc5424("level=info m-2"))));
  ASSERT_TRUE(loki_.WaitForLines(2));
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Metric("promtail_dropped_entries_total", {"reason=\"missing_labels\""}) == 1;
  })) << agent_.Stderr();
  auto entries = loki_.Entries();
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].line, "level=warn m-0");
  EXPECT_EQ(entries[0].labels, R"({level="warn"})");
  EXPECT_EQ(entries[1].line, "level=info m-2");
  for (const auto& r : loki_.Requests()) EXPECT_EQ(r.status, 204);
  EXPECT_NE(agent_.Stderr().find("entry without labels dropped"), std::string::npos);
}

TEST_F(Syslog, MalformedMessagesAreCountedAndTheConnectionGoesOn) {
  int port = Start();
  SyslogTcpClient c;
  ASSERT_TRUE(c.Connect(port));
  // Promtail's examples of messages go-syslog refuses; the stream carries on after them.
  ASSERT_TRUE(
      c.Send("<165>1    -   An application event log entry...\n"
             "<165>1 2018-10-11T22:14:15.007Z host5 e -   An application event\n" +
             NewlineFrame(Rfc5424("m-0")) + "<13>1 - - - - - -\n" + NewlineFrame(Rfc5424("m-1"))));
  ASSERT_TRUE(loki_.WaitForLines(2));
  ExpectEachOnce("m", 0, 2);
  EXPECT_TRUE(WaitFor([&] { return Dropped("parse_error") == 2 && Dropped("empty") == 1; }));
  EXPECT_EQ(agent_.Metric("promtail_syslog_target_parsing_errors_total"), 2);
  EXPECT_EQ(agent_.Metric("promtail_syslog_empty_messages_total"), 1);
}

TEST_F(Syslog, BadFramingClosesThatConnectionOnly) {
  int port = Start();
  SyslogTcpClient bad, good;
  ASSERT_TRUE(bad.Connect(port));
  ASSERT_TRUE(good.Connect(port));
  ASSERT_TRUE(bad.Send("xxx not syslog\n"));
  EXPECT_TRUE(bad.ClosedByServerWithin(seconds(10)));
  ASSERT_TRUE(good.Send(OctetFrame(Rfc5424("m-0"))));
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_TRUE(WaitFor([&] { return Dropped("framing") == 1; }));
}

TEST_F(Syslog, ClientDisconnectingMidMessage) {
  int port = Start();
  {
    SyslogTcpClient octet;
    ASSERT_TRUE(octet.Connect(port));
    std::string frame = OctetFrame(Rfc5424("cut"));
    ASSERT_TRUE(octet.Send(OctetFrame(Rfc5424("m-0")) + frame.substr(0, frame.size() / 2)));
  }  // an octet-counted frame cut short is dropped and counted (go-syslog: an error)
  {
    SyslogTcpClient newline;
    ASSERT_TRUE(newline.Connect(port));
    // The unterminated last message of a newline-framed stream is a whole message to go-syslog.
    ASSERT_TRUE(newline.Send(NewlineFrame(Rfc5424("m-1")) + Rfc5424("m-2")));
  }
  ASSERT_TRUE(loki_.WaitForLines(3));
  ExpectEachOnce("m", 0, 3);
  EXPECT_TRUE(WaitFor([&] { return Dropped("partial") == 1; }));
}

TEST_F(Syslog, OversizeMessagesNeverGrowMemory) {
  int port = Start("      max_message_length: 256\n");
  SyslogTcpClient octet, newline;
  ASSERT_TRUE(octet.Connect(port));
  ASSERT_TRUE(newline.Connect(port));
  // An octet count over the limit closes the connection before its bytes are read (go-syslog).
  ASSERT_TRUE(octet.Send(OctetFrame(Rfc5424(std::string(1000, 'x')))));
  EXPECT_TRUE(octet.ClosedByServerWithin(seconds(10)));
  // A newline-framed message over the limit is cut to it; 8 MiB of it is never buffered.
  std::string huge = Rfc5424("big-" + std::string(8 << 20, 'y'));
  ASSERT_TRUE(newline.Send(NewlineFrame(huge) + NewlineFrame(Rfc5424("m-0"))));
  ASSERT_TRUE(loki_.WaitForLines(2));
  EXPECT_EQ(loki_.Entries().at(0).line.size(), 256u - (huge.find("big-")));
  EXPECT_EQ(loki_.Entries().at(1).line, "m-0");
  EXPECT_EQ(Dropped("too_long"), 1);
  EXPECT_EQ(agent_.Metric("skidder_syslog_truncated_total"), 1);
}

TEST_F(Syslog, TlsRequiresAClientCertificateWhenCaFileIsSet) {
  TestCerts certs = MakeTestCerts(dir_.path());
  int port =
      Start(fmt::format("      tls_config:\n        cert_file: {}\n        key_file: {}\n"
                        "        ca_file: {}\n",
                        certs.server_cert, certs.server_key, certs.ca));
  SyslogTcpClient anonymous;
  SyslogTcpClient::Tls no_cert{.ca_file = certs.ca};
  // TLS 1.3 reports the refusal after the handshake: the first read sees the connection close.
  if (anonymous.Connect(port, no_cert)) {
    anonymous.Send(NewlineFrame(Rfc5424("never")));
    EXPECT_TRUE(anonymous.ClosedByServerWithin(seconds(10)));
  }
  SyslogTcpClient newline, octet;
  SyslogTcpClient::Tls with_cert{certs.ca, certs.client_cert, certs.client_key};
  ASSERT_TRUE(newline.Connect(port, with_cert)) << newline.error();
  ASSERT_TRUE(octet.Connect(port, with_cert)) << octet.error();
  ASSERT_TRUE(newline.Send(Batch(0, 3, false)));
  ASSERT_TRUE(octet.Send(Batch(3, 6, true)));
  ASSERT_TRUE(loki_.WaitForLines(6));
  ExpectEachOnce("m", 0, 6);
  EXPECT_EQ(loki_.Entries().at(0).labels, kPromtailLabels);
  EXPECT_TRUE(WaitFor([&] {
    return agent_.Metric("skidder_syslog_connections_refused_total", {"reason=\"tls\""}) == 1;
  }));
}

TEST_F(Syslog, UdpTakesOneMessagePerDatagramInEitherFraming) {
  int port = Start("      listen_protocol: udp\n");
  // UDP may drop datagrams even on loopback: resend until each arrived, then compare labels.
  ASSERT_TRUE(WaitFor([&] {
    SendUdp(port, Rfc5424("m-0"));
    SendUdp(port, OctetFrame(Rfc5424("m-1")));
    SendUdp(port, "not syslog at all");
    auto counts = ReceivedCounts();
    return counts.contains("m-0") && counts.contains("m-1");
  }));
  EXPECT_EQ(loki_.Entries().at(0).labels, kPromtailLabels);
  EXPECT_GE(Dropped("framing"), 1);
}

TEST_F(Syslog, Rfc3164OverUdpWithFacilityAndTag) {
  int port = Start("      listen_protocol: udp\n      syslog_format: rfc3164\n");
  ASSERT_TRUE(WaitFor([&] {
    SendUdp(port, "<34>Oct 11 22:14:15 mymachine su[42]: m-0");
    return loki_.LineCount() > 0;
  }));
  EXPECT_EQ(loki_.Entries().at(0).line, "m-0");
  EXPECT_EQ(loki_.Entries().at(0).labels,
            "{app_name=\"su\", facility=\"auth\", hostname=\"mymachine\", ip=\"127.0.0.1\", "
            "job=\"syslog\", proc_id=\"42\", severity=\"critical\"}");
}

// A port nobody listens on right now (the test then binds it through the agent).
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

TEST_F(Syslog, ReloadListensOnTheSameAddressAgain) {
  const int port = FreePort();
  std::string config = WriteConfig(
      {.extra_top = fmt::format("  - job_name: syslog\n    syslog:\n      listen_address: "
                                "127.0.0.1:{}\n      labels: {{job: syslog}}\n",
                                port),
       .extra_server = "  enable_runtime_reload: true"});
  StartAgent(config);
  ASSERT_EQ(SyslogPort(agent_, "syslog"), port);
  ASSERT_EQ(agent_.HttpPost("/reload").first, 200) << agent_.Stderr();
  // POST /reload answers once the new config is valid; the swap follows on the main thread. A
  // connection made before it would be accepted by the listener that is about to close.
  ASSERT_TRUE(WaitFor([&] { return agent_.Stderr().find("config reloaded") != std::string::npos; }))
      << agent_.Stderr();
  SyslogTcpClient c;
  ASSERT_TRUE(c.Connect(port)) << c.error();
  ASSERT_TRUE(c.Send(NewlineFrame(Rfc5424("m-0"))));
  ASSERT_TRUE(loki_.WaitForLines(1));
}

TEST_F(Syslog, LokiDownStopsTcpReadingAndLosesNothing) {
  loki_.SetBlackhole(true);
  int port = Start();
  // ~36 MB: well over what the agent buffers (2 MiB of entries) plus the loopback socket buffers.
  constexpr int kMessages = 300000;
  std::atomic<bool> sent{false};
  std::atomic<size_t> total{0};
  std::thread sender([&] {
    SyslogTcpClient c;
    if (!c.Connect(port)) return;
    for (int i = 0; i < kMessages; i += 1000) {
      std::string batch = Batch(i, i + 1000, i < kMessages / 2);  // octet, then newline framing
      if (!c.Send(batch)) return;
      total += batch.size();
    }
    sent = true;
  });
  // The agent stops reading, so the sender blocks once the socket buffers are full.
  EXPECT_TRUE(WaitFor([&] { return agent_.Metric("skidder_syslog_received_bytes_total") > 1e6; }));
  EXPECT_FALSE(WaitFor([&] { return sent.load(); }, seconds(2)));
  EXPECT_LT(agent_.Metric("skidder_syslog_received_bytes_total"), 20e6);
  loki_.SetBlackhole(false);
  sender.join();
  ASSERT_TRUE(sent);
  ASSERT_TRUE(WaitFor([&] { return ReceivedCounts().size() >= kMessages; }, seconds(120)))
      << ReceivedCounts().size();
  ExpectEachOnce("m", 0, kMessages);
  EXPECT_EQ(agent_.Metric("skidder_syslog_received_bytes_total"), static_cast<double>(total));
}

}  // namespace
}  // namespace skidder::testing
