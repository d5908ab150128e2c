// loki_push_api: the real binary receives Loki pushes from a client using the generated
// protobuf code (snappy) and Loki's JSON form, and delivers them to the fake Loki with the pushed
// labels merged with the job's, relabeled, through the pipeline. The sender's 2xx means "Loki has
// it": never before delivery, 429 while skidder is backed up, nothing lost once Loki is back.
#include <fmt/format.h>
#include <snappy.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "harness.h"
#include "support/push_client.h"
#include "support/raw_client.h"
#include "support/syslog_client.h"

namespace skidder::testing {
namespace {

using namespace std::chrono_literals;

struct PushOptions {
  bool use_incoming_timestamp = true;
  std::string extra_push;  // YAML lines in loki_push_api (indented 6)
  std::string stages = "[]";
  std::string extra_server;  // YAML lines in the top-level server block (indented 2)
};

class PushApi : public IntegrationTest {
 protected:
  void StartPushAgent(const PushOptions& o = {}) {
    std::string yaml = fmt::format(
        R"(server:
  http_listen_port: 0
{extra_server}
positions:
  filename: {positions}
clients:
  - url: {url}
    batchwait: 50ms
    timeout: 2s
    backoff_config:
      min_period: 20ms
      max_period: 200ms
scrape_configs:
  - job_name: push
    loki_push_api:
      server:
        http_listen_address: 127.0.0.1
        http_listen_port: 0
        grpc_listen_port: 0
      labels:
        pushserver: push1
      use_incoming_timestamp: {incoming}
{extra}
    relabel_configs:
      - source_labels: [app]
        target_label: application
      - source_labels: [app]
        regex: dropme
        action: drop
    pipeline_stages: {stages}
)",
        fmt::arg("positions", positions_file()), fmt::arg("url", loki_.url()),
        fmt::arg("incoming", o.use_incoming_timestamp), fmt::arg("extra", o.extra_push),
        fmt::arg("stages", o.stages), fmt::arg("extra_server", o.extra_server));
    std::string path = dir_ / "skidder.yaml";
    WriteFile(path, yaml);
    StartAgent(path);
    const std::optional<int> port = PushPort(agent_, "push");
    ASSERT_TRUE(port.has_value()) << agent_.Stderr();
    port_ = *port;
  }
  static std::vector<ReceivedEntry> Batch(const std::string& labels, const std::string& prefix,
                                          int n, int64_t ts0 = 1'700'000'000'123'456'789) {
    std::vector<ReceivedEntry> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(
          {.labels = labels, .timestamp_ns = ts0 + i, .line = fmt::format("{}-{}", prefix, i)});
    }
    return out;
  }
  PushClient client() const { return PushClient(port_); }
  int port_ = 0;
};

TEST_F(PushApi, ProtobufPushArrivesWithMergedLabelsAndIncomingTimestamps) {
  StartPushAgent();
  EXPECT_EQ(client().Get("/ready").status, 200);
  std::vector<ReceivedEntry> in = Batch(R"({app="api", env="prod"})", "pb", 3);
  in[0].metadata = {{"trace_id", "abc"}};
  auto dropped = Batch(R"({app="dropme"})", "gone", 2);
  in.insert(in.end(), dropped.begin(), dropped.end());
  PushResponse r = client().PostProtobuf(in);
  ASSERT_EQ(r.status, 204) << r.body;
  // 204 means Loki has them: no waiting here.
  std::vector<ReceivedEntry> got = loki_.Entries();
  ASSERT_EQ(got.size(), 3u) << agent_.Stderr();
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i].labels, R"({app="api", application="api", env="prod", pushserver="push1"})");
    EXPECT_EQ(got[i].timestamp_ns, in[i].timestamp_ns);
    EXPECT_EQ(got[i].line, in[i].line);
  }
  EXPECT_EQ(got[0].metadata, in[0].metadata);
  EXPECT_EQ(agent_.Metric("skidder_push_requests_total", {"status=\"204\""}), 1);
  EXPECT_EQ(agent_.Metric("skidder_push_dropped_streams_total"), 1);
}

TEST_F(PushApi, JsonPushPlainAndGzipGetTheTimeOfReceiptWithoutIncomingTimestamps) {
  StartPushAgent({.use_incoming_timestamp = false});
  const int64_t before = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::vector<ReceivedEntry> plain = Batch(R"({app="web"})", "json", 2, 1000);
  plain[1].metadata = {{"user", "u1"}};
  ASSERT_EQ(client().PostJson(plain).status, 204);
  ASSERT_EQ(client().PostJson(Batch(R"({app="web"})", "gz", 2, 1000), /*gzip=*/true).status, 204);
  std::vector<ReceivedEntry> got = loki_.Entries();
  ASSERT_EQ(got.size(), 4u);
  for (const ReceivedEntry& e : got) {
    EXPECT_EQ(e.labels, R"({app="web", application="web", pushserver="push1"})");
    EXPECT_GE(e.timestamp_ns, before) << "the pushed timestamp 1000 was kept";
  }
  EXPECT_EQ(got[1].metadata, plain[1].metadata);
  EXPECT_EQ(loki_.Lines(), (std::vector<std::string>{"json-0", "json-1", "gz-0", "gz-1"}));
  // A nanosecond apart at least: Loki keeps one of two equal lines at one timestamp.
  EXPECT_LT(got[0].timestamp_ns, got[1].timestamp_ns);
  EXPECT_LT(got[2].timestamp_ns, got[3].timestamp_ns);
}

// Promtail's push target ignores the push's X-Scope-OrgID; with skidder's tenant_from_header
// (what Alloy's loki.source.api does) it becomes the entries' tenant.
TEST_F(PushApi, TheSendersTenantIsNotKeptByDefaultAsInPromtail) {
  StartPushAgent();
  const std::string body = ProtobufPushBody(Batch(R"({app="api"})", "plain", 1));
  ASSERT_EQ(client().Post(body, "application/x-protobuf", "", "/loki/api/v1/push", "team-b").status,
            204);
  ASSERT_EQ(loki_.Entries().size(), 1u);
  EXPECT_EQ(loki_.Entries()[0].tenant, "");
}

TEST_F(PushApi, TheSendersTenantIsKeptWithTenantFromHeader) {
  StartPushAgent({.extra_push = "      tenant_from_header: true"});
  const std::string body = ProtobufPushBody(Batch(R"({app="api"})", "kept", 1));
  ASSERT_EQ(client().Post(body, "application/x-protobuf", "", "/loki/api/v1/push", "team-b").status,
            204);
  ASSERT_EQ(client().Post("raw\n", "text/plain", "", "/loki/api/v1/raw", "team-c").status, 204);
  const std::vector<ReceivedEntry> got = loki_.Entries();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].tenant, "team-b");
  EXPECT_EQ(got[1].tenant, "");  // a raw push's lines get the job's labels only, as in Alloy
}

// A relay for many tenants: a tenant Loki refuses for long fills the clients' budget, yet the
// other tenants' senders are taken and delivered meanwhile; only the refused tenant's senders
// are answered 429. Before, every sender got 429 until Loki took the refused tenant's lines.
TEST_F(PushApi, ATenantRefusedForLongDoesNotStopTheOtherTenantsSenders) {
  loki_.SetTenantStatus("team-a", 429);
  StartPushAgent({.extra_push = "      tenant_from_header: true\n      ack_timeout: 1s"});
  auto push = [&](const std::string& tenant, const std::vector<ReceivedEntry>& batch) {
    return client()
        .Post(ProtobufPushBody(batch), "application/x-protobuf", "", "/loki/api/v1/push", tenant)
        .status;
  };
  // team-b is answered 204 once Loki has its lines, or 503 if that took longer than ack_timeout
  // on a loaded machine (the lines arrive anyway): never 429.
  EXPECT_NE(push("team-b", Batch(R"({app="b"})", "b-first", 1)), 429);
  // team-a's pushes of ~0.5 MB are kept (answered 503 after ack_timeout) until they fill the
  // 2 MiB budget; then team-a is refused before its body is read.
  const std::string pad(1000, 'p');
  int a_pushes = 0, a_status = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        a_status =
            push("team-a", Batch(R"({app="a"})", fmt::format("a{}-{}", a_pushes++, pad), 500));
        return a_status == 429;
      },
      120s, 0ms))
      << a_status;
  // team-b is not held back by team-a's lines.
  EXPECT_NE(push("team-b", Batch(R"({app="b"})", "b-during", 20)), 429) << agent_.Stderr();
  EXPECT_EQ(push("team-a", Batch(R"({app="a"})", "a-again", 1)), 429);
  ASSERT_TRUE(loki_.WaitForLines(21, 60s));
  std::set<std::string> tenants;
  for (const ReceivedEntry& e : loki_.Entries()) tenants.insert(e.tenant);
  EXPECT_EQ(tenants, std::set<std::string>{"team-b"});
  // Loki takes team-a again: what its refused pushes carried was kept and arrives.
  loki_.SetTenantStatus("team-a", 0);
  ASSERT_TRUE(loki_.WaitForLines(21 + 500 * (a_pushes - 1), 120s)) << loki_.LineCount();
}

// A repeated line in one request, stamped on arrival: each copy reaches Loki at a timestamp of
// its own (Loki's ingester drops an entry equal to the one before it in stream, time and line).
TEST_F(PushApi, RepeatedLinesStampedOnArrivalKeepTimestampsOfTheirOwn) {
  StartPushAgent({.use_incoming_timestamp = false});
  std::vector<ReceivedEntry> in(3,
                                {.labels = R"({app="web"})", .timestamp_ns = 5, .line = "again"});
  ASSERT_EQ(client().PostProtobuf(in).status, 204);
  ASSERT_EQ(client().Post("ping\nping\nping\n", "text/plain", "", "/promtail/api/v1/raw").status,
            204);
  std::map<std::string, std::set<int64_t>> stamps;
  for (const ReceivedEntry& e : loki_.Entries()) stamps[e.line].insert(e.timestamp_ns);
  EXPECT_EQ(stamps["again"].size(), 3u);
  EXPECT_EQ(stamps["ping"].size(), 3u);
}

// Loki's decoder takes a line that is not UTF-8; a sender's whole batch must not be refused for
// one. It reaches Loki repaired (U+FFFD), its neighbours untouched.
TEST_F(PushApi, AProtobufLineThatIsNotUtf8IsRepairedNotTheRequestRefused) {
  StartPushAgent();
  std::vector<ReceivedEntry> in = Batch(R"({app="api"})", "ok", 3);
  in[1].line = "caf\xe9";
  PushResponse r = client().PostProtobuf(in);
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(loki_.Lines(), (std::vector<std::string>{"ok-0", "caf\xef\xbf\xbd", "ok-2"}));
}

TEST_F(PushApi, RawEndpointTakesOneEntryPerLineWithTheJobsLabels) {
  StartPushAgent({.stages = "[{json: {expressions: {level: level}}}, {labels: {level: }}]"});
  PushResponse r = client().Post("plain text\r\n\n{\"level\":\"warn\"}\nlast", "text/plain", "",
                                 "/promtail/api/v1/raw");
  ASSERT_EQ(r.status, 204) << r.body;
  std::map<std::string, std::string> labels_of;  // streams may arrive in any order
  for (const ReceivedEntry& e : loki_.Entries()) labels_of[e.line] = e.labels;
  EXPECT_EQ(labels_of, (std::map<std::string, std::string>{
                           {"plain text", R"({pushserver="push1"})"},
                           {R"({"level":"warn"})", R"({level="warn", pushserver="push1"})"},
                           {"last", R"({pushserver="push1"})"}}));
}

// A sender sends its next batch only after the answer to this one: a multiline block at the end
// of a request must go out by its max_wait_time, not wait for a request that comes only after a
// 503 (ack_timeout) and then as a duplicate.
TEST_F(PushApi, AMultilineBlockAtTheEndOfARequestIsSentByItsDeadline) {
  StartPushAgent({.extra_push = "      ack_timeout: 20s",
                  .stages = "[{multiline: {firstline: '^START', max_wait_time: 300ms}}]"});
  std::vector<ReceivedEntry> in = Batch(R"({app="api"})", "x", 3);
  in[0].line = "START one";
  in[1].line = "  at two";
  in[2].line = "  at three";
  const auto start = std::chrono::steady_clock::now();
  PushResponse r = client().PostProtobuf(in);
  ASSERT_EQ(r.status, 204) << r.body;
  // Answered once delivered, well before ack_timeout (without the flush: a 503 after 20 s).
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  std::vector<ReceivedEntry> got = loki_.Entries();
  ASSERT_EQ(got.size(), 1u) << agent_.Stderr();
  EXPECT_EQ(got[0].line, "START one\n  at two\n  at three");
}

// A stage that would hold a request's last block longer than the sender waits (max_wait_time
// past ack_timeout) has it flushed halfway to the deadline: a 204, not a 503 every time and the
// request sent again.
TEST_F(PushApi, ABlockHeldPastAckTimeoutIsSentBeforeTheRequestTimesOut) {
  StartPushAgent({.extra_push = "      ack_timeout: 10s",
                  .stages = "[{multiline: {firstline: '^START', max_wait_time: 1h}}]"});
  std::vector<ReceivedEntry> in = Batch(R"({app="api"})", "x", 2);
  in[0].line = "START one";
  in[1].line = "  at two";
  PushResponse r = client().PostProtobuf(in);
  ASSERT_EQ(r.status, 204) << r.body << agent_.Stderr();
  std::vector<ReceivedEntry> got = loki_.Entries();
  ASSERT_EQ(got.size(), 1u) << agent_.Stderr();
  EXPECT_EQ(got[0].line, "START one\n  at two");
}

// A raw push to a job without labels goes to the stages unlabelled, as Promtail's plaintext
// handler hands it on: a stage may label it.
TEST_F(PushApi, ARawPushWithoutLabelsMeetsTheStages) {
  StartAgent(WriteConfig({.extra_top = R"(  - job_name: bare
    loki_push_api:
      server:
        http_listen_address: 127.0.0.1
        http_listen_port: 0
    pipeline_stages:
      - static_labels: {source: raw}
)"}));
  const std::optional<int> port = PushPort(agent_, "bare");
  ASSERT_TRUE(port.has_value()) << agent_.Stderr();
  PushResponse r = PushClient(*port).Post("plain line\n", "text/plain", "", "/promtail/api/v1/raw");
  ASSERT_EQ(r.status, 204) << r.body;
  ASSERT_EQ(loki_.Entries().size(), 1u);
  EXPECT_EQ(loki_.Entries()[0].labels, R"({source="raw"})");
  EXPECT_EQ(loki_.Entries()[0].line, "plain line");
}

TEST_F(PushApi, MalformedBodiesAreRefused400WithAReason) {
  StartPushAgent();
  struct Case {
    std::string body, type, encoding;
    int status;
    std::string why;
  };
  std::string not_proto;
  snappy::Compress("\xff\xff\xff\xff", 4, &not_proto);
  const std::vector<Case> cases = {
      {"not snappy at all", "application/x-protobuf", "", 400, "snappy"},
      {not_proto, "application/x-protobuf", "", 400, "logproto.PushRequest"},
      {ProtobufPushBody(Batch("app=x", "l", 1)), "application/x-protobuf", "", 400,
       "stream labels"},
      {R"({"streams":[{"stream":{"a":"b"},"values":[[1,"x"]]}]})", "application/json", "", 400,
       "streams[0].values[0]: the timestamp must be a string"},
      {"{not json", "application/json", "", 400, "not JSON"},
      {"garbage", "application/json", "gzip", 400, "gzip body is corrupt"},
      {"{}", "application/json", "br", 415, "Content-Encoding"},
  };
  for (const Case& c : cases) {
    PushResponse r = client().Post(c.body, c.type, c.encoding);
    EXPECT_EQ(r.status, c.status) << c.why << ": " << r.body;
    EXPECT_NE(r.body.find(c.why), std::string::npos) << r.body;
  }
  // The server is still fine, and nothing of the above reached Loki.
  ASSERT_EQ(client().PostProtobuf(Batch(R"({app="a"})", "ok", 1)).status, 204);
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"ok-0"});
}

TEST_F(PushApi, OversizeBodyIs413BeforeItIsRead) {
  StartPushAgent({.extra_push = "      max_body_size: 1KB"});
  PushResponse r = client().PostJson(Batch(R"({app="a"})", std::string(200, 'x'), 20));
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_NE(r.body.find("at most 1024 bytes"), std::string::npos) << r.body;
  // Decompressed size counts too: a gzip bomb is refused, not inflated.
  r = client().PostJson(Batch(R"({app="a"})", std::string(5000, 'y'), 1), /*gzip=*/true);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(client().PostJson(Batch(R"({app="a"})", "small", 1)).status, 204);
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"small-0"});
}

TEST_F(PushApi, ClientThatDisconnectsMidBodyLeavesNothingBehind) {
  StartPushAgent();
  std::string body = ProtobufPushBody(Batch(R"({app="a"})", "half", 50));
  {
    RawConn conn(port_);
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE(conn.Send(fmt::format(
        "POST /loki/api/v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
        "Content-Length: {}\r\n\r\n{}",
        body.size(), body.substr(0, body.size() / 2))));
  }  // closed mid-body
  ASSERT_EQ(client().PostProtobuf(Batch(R"({app="a"})", "whole", 2)).status, 204);
  EXPECT_EQ(loki_.Lines(), (std::vector<std::string>{"whole-0", "whole-1"}));
}

TEST_F(PushApi, LokiDownNoSuccessBeforeDelivery429WhileBackedUpNothingLostAfter) {
  StartPushAgent({.extra_push = "      ack_timeout: 1s"});
  loki_.SetFailFor(std::chrono::hours(1), 503);
  // Six pushes of ~1 MiB: more than the 2 MiB the clients buffer before readers must pause.
  const std::string pad(1000, 'p');
  std::vector<std::vector<ReceivedEntry>> batches;
  for (int b = 0; b < 6; ++b)
    batches.push_back(Batch(R"({app="a"})", fmt::format("b{}-{}", b, pad), 1000));
  std::vector<bool> done(batches.size(), false);
  int successes = 0, refused_429 = 0, timed_out_503 = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    PushResponse r = client().PostProtobuf(batches[b]);
    if (r.status / 100 == 2) ++successes;
    if (r.status == 429) {
      ++refused_429;
      EXPECT_EQ(r.retry_after, "1");
    }
    if (r.status == 503) ++timed_out_503;
  }
  EXPECT_EQ(successes, 0) << "a 2xx before Loki took anything";
  EXPECT_GE(timed_out_503, 1);
  EXPECT_GE(refused_429, 1) << agent_.Stderr();
  EXPECT_EQ(loki_.LineCount(), 0u);
  loki_.SetFailFor(0ms, 503);  // Loki is back: the sender retries each push until it gets a 2xx
  ASSERT_TRUE(WaitFor(
      [&] {
        for (size_t b = 0; b < batches.size(); ++b) {
          if (!done[b]) done[b] = client().PostProtobuf(batches[b]).status == 204;
        }
        return std::all_of(done.begin(), done.end(), [](bool d) { return d; });
      },
      120s, 100ms));
  std::map<std::string, int> counts = ReceivedCounts();
  for (const auto& batch : batches) {
    for (const ReceivedEntry& e : batch) EXPECT_GE(counts[e.line], 1) << e.line.substr(0, 10);
  }
}

// A limit stage without drop: Promtail's limiter would block the push; skidder answers 429 with
// Retry-After until the rate allows, so the sender comes back later, and nothing is lost.
TEST_F(PushApi, ALimitWithoutDropAnswers429UntilItsRateAllows) {
  StartPushAgent({.stages = "[{limit: {rate: 10, burst: 1}}]"});
  // 100 entries pass at once (the request is taken whole) and put the limit 10 s in debt.
  ASSERT_EQ(client().PostProtobuf(Batch(R"({app="a"})", "first", 100)).status, 204);
  PushResponse r = client().PostProtobuf(Batch(R"({app="a"})", "second", 1));
  ASSERT_EQ(r.status, 429) << r.body;
  EXPECT_NE(r.body.find("limit stage"), std::string::npos) << r.body;
  const int retry_after = std::stoi(r.retry_after);
  EXPECT_GE(retry_after, 1);
  EXPECT_LE(retry_after, 10);
  ASSERT_TRUE(WaitFor(
      [&] { return client().PostProtobuf(Batch(R"({app="a"})", "second", 1)).status == 204; }, 60s,
      500ms));
  EXPECT_EQ(loki_.LineCount(), 101u);
  EXPECT_GE(agent_.Metric("skidder_push_requests_total", {"status=\"429\""}), 1);
}

TEST_F(PushApi, APushWaitingAtShutdownIsAnswered503NotSuccess) {
  StartPushAgent({.extra_server = "  graceful_shutdown_timeout: 500ms"});
  loki_.SetFailFor(std::chrono::hours(1), 503);
  PushResponse r;
  std::thread sender([&] { r = client().PostProtobuf(Batch(R"({app="a"})", "late", 3)); });
  ASSERT_TRUE(WaitFor([&] { return loki_.RequestCount() > 0; }));  // it is in the sink
  EXPECT_EQ(agent_.Terminate(), 0);
  sender.join();
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_NE(r.body.find("shutting down"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace skidder::testing
