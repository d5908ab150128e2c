// heroku_drain: the real binary serves Heroku's HTTPS log drain endpoint; logplex bodies posted
// as Heroku's Logplex posts them reach the fake Loki with Promtail's labels (relabeled meta
// labels, query parameters), the message's timestamp and the request's tenant. A malformed
// frame is answered 400 naming it, after the frames before it were delivered.
#include <fmt/format.h>

#include "harness.h"
#include "support/push_client.h"
#include "support/syslog_client.h"

namespace skidder::testing {
namespace {

std::string Frame(std::string_view message) {
  return std::to_string(message.size()) + " " + std::string(message);
}

std::string WebLine(int i) {
  return fmt::format("<190>1 2024-05-01T10:00:0{}.5+00:00 host app web.1 - GET /orders/{}\n", i, i);
}

class HerokuDrain : public IntegrationTest {
 protected:
  void Start() {
    StartAgent(WriteConfig({.extra_top = R"(  - job_name: heroku
    heroku_drain:
      server:
        http_listen_address: 127.0.0.1
        http_listen_port: 0
      labels:
        job: heroku
      use_incoming_timestamp: true
    relabel_configs:
      - {source_labels: [__heroku_drain_app], target_label: app}
      - {source_labels: [__heroku_drain_proc], target_label: proc}
      - {source_labels: [__heroku_drain_param_cluster], target_label: cluster}
      - {source_labels: [__heroku_drain_proc], regex: 'scheduler.*', action: drop}
)"}));
    const std::optional<int> port = HerokuPort(agent_, "heroku");
    ASSERT_TRUE(port.has_value()) << agent_.Stderr();
    port_ = *port;
  }
  PushResponse Drain(const std::string& body, const std::string& query = "",
                     const std::string& tenant = "team-a") const {
    return PushClient(port_).Post(body, "application/logplex-1", "", "/heroku/api/v1/drain" + query,
                                  tenant);
  }
  int port_ = 0;
};

TEST_F(HerokuDrain, LogplexFramesArriveWithPromtailsLabelsTimestampsAndTenant) {
  Start();
  const std::string body =
      Frame(WebLine(0)) + Frame(WebLine(1)) +
      Frame("<190>1 2024-05-01T10:00:02Z host app scheduler.1 - not kept\n") +
      Frame("<158>1 2024-05-01T10:00:03Z host heroku router - at=info status=200\n");
  PushResponse r = Drain(body, "?cluster=eu");
  ASSERT_EQ(r.status, 204) << r.body << agent_.Stderr();
  // 204 means Loki has them.
  std::vector<ReceivedEntry> got = loki_.Entries();
  ASSERT_EQ(got.size(), 3u) << agent_.Stderr();
  EXPECT_EQ(got[0].line, "GET /orders/0");
  EXPECT_EQ(got[0].labels, R"({app="app", cluster="eu", job="heroku", proc="web.1"})");
  EXPECT_EQ(got[0].timestamp_ns, 1714557600500000000);
  EXPECT_EQ(got[0].tenant, "team-a");
  EXPECT_EQ(got[1].line, "GET /orders/1");
  EXPECT_EQ(got[2].line, "at=info status=200");
  EXPECT_EQ(got[2].labels, R"({app="heroku", cluster="eu", job="heroku", proc="router"})");
  EXPECT_EQ(agent_.Metric("promtail_heroku_drain_target_entries_total"), 4);
  EXPECT_EQ(agent_.Metric("promtail_heroku_drain_target_parsing_errors_total"), 0);
  // Only the drain endpoint is served.
  EXPECT_EQ(PushClient(port_).Post("{}", "application/json").status, 404);
}

TEST_F(HerokuDrain, AMalformedFrameIsAnswered400AfterTheFramesBeforeItAreDelivered) {
  Start();
  PushResponse r = Drain(Frame(WebLine(0)) + "9999 <190>1 cut short");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("logplex frame 2"), std::string::npos) << r.body;
  EXPECT_EQ(loki_.Lines(), std::vector<std::string>{"GET /orders/0"});
  EXPECT_EQ(agent_.Metric("promtail_heroku_drain_target_parsing_errors_total"), 1);
  // Nothing read: refused at once.
  r = Drain("garbage");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("logplex frame 1 (byte 0)"), std::string::npos) << r.body;
  EXPECT_EQ(agent_.Metric("promtail_heroku_drain_target_parsing_errors_total"), 2);
  ASSERT_EQ(Drain(Frame(WebLine(2))).status, 204);
  EXPECT_EQ(loki_.LineCount(), 2u);
  // The frames before the error all dropped by a rule: answered at once.
  r = Drain(Frame("<190>1 2024-05-01T10:00:02Z host app scheduler.1 - dropped\n") + "x");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("logplex frame 2"), std::string::npos) << r.body;
  EXPECT_EQ(loki_.LineCount(), 2u);
}

// As in Promtail, relabel_configs see the meta labels, the query parameters and the request's
// tenant, and their result is laid over the job's labels, which they cannot remove. A job
// without labels hands its messages to the stages, which may add some.
TEST_F(HerokuDrain, RulesSeeTheTenantAndParametersAndTheJobsLabelsStay) {
  StartAgent(WriteConfig({.extra_top = R"(  - job_name: tagged
    heroku_drain:
      server:
        http_listen_address: 127.0.0.1
        http_listen_port: 0
      labels:
        job: heroku
    relabel_configs:
      - {action: labelkeep, regex: '__.*'}
      - {source_labels: [__tenant_id__], target_label: tenant}
      - {source_labels: [__heroku_drain_param_team], target_label: team}
      - {source_labels: [__heroku_drain_param_sp], target_label: sp}
  - job_name: bare
    heroku_drain:
      server:
        http_listen_address: 127.0.0.1
        http_listen_port: 0
    pipeline_stages:
      - static_labels: {source: heroku}
)"}));
  const std::optional<int> tagged = HerokuPort(agent_, "tagged");
  const std::optional<int> bare = HerokuPort(agent_, "bare");
  ASSERT_TRUE(tagged && bare) << agent_.Stderr();
  port_ = *tagged;
  ASSERT_EQ(Drain(Frame(WebLine(0)), "?team=a%2Cb&team=c&flag&sp=x+y").status, 204);
  port_ = *bare;
  ASSERT_EQ(Drain(Frame(WebLine(1)), "", /*tenant=*/"").status, 204) << agent_.Stderr();
  std::vector<ReceivedEntry> got = loki_.Entries();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].labels, R"({job="heroku", sp="x y", team="a,b,c", tenant="team-a"})");
  EXPECT_EQ(got[0].tenant, "team-a");
  EXPECT_EQ(got[1].labels, R"({source="heroku"})");
  EXPECT_EQ(got[1].tenant, "");
}

// Alloy's loki.source.heroku runs as the same job: relabel_rules see the __heroku_drain_* labels.
TEST_F(HerokuDrain, AlloysHerokuSourceDeliversWithItsRelabelRules) {
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(loki.relabel "heroku" {{
  rule {{
    source_labels = ["__heroku_drain_app"]
    target_label  = "app"
  }}
  forward_to = []
}}
loki.source.heroku "drain" {{
  http {{
    listen_address = "127.0.0.1"
    listen_port    = 0
  }}
  labels        = {{ source = "heroku" }}
  relabel_rules = loki.relabel.heroku.rules
  forward_to    = [loki.write.default.receiver]
}}
)") + AlloyWrite());
  StartAgent(config, {"-server.http-listen-port=0"});
  const std::optional<int> port = HerokuPort(agent_, "drain");
  ASSERT_TRUE(port.has_value()) << agent_.Stderr();
  port_ = *port;
  ASSERT_EQ(Drain(Frame(WebLine(0))).status, 204) << agent_.Stderr();
  ASSERT_EQ(loki_.Entries().size(), 1u);
  EXPECT_EQ(loki_.Entries()[0].labels, R"({app="app", source="heroku"})");
  EXPECT_EQ(loki_.Entries()[0].tenant, "team-a");
}

}  // namespace
}  // namespace skidder::testing
