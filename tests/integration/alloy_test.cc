// Alloy configurations run by the real binary: a node's files through loki.process into
// loki.write, config/kubernetes.alloy against the fake Kubernetes API, and the syslog and push
// API receivers, against the fake Loki.
#include <fmt/format.h>
#include <signal.h>

#include <cstdio>
#include <memory>

#include "harness.h"
#include "support/fake_kube_api.h"
#include "support/push_client.h"
#include "support/syslog_client.h"

namespace skidder::testing {
namespace {

// Alloy configs run by the real binary; EntryOf finds a received entry by its line.
class Alloy : public IntegrationTest {
 protected:
  const ReceivedEntry* EntryOf(const std::vector<ReceivedEntry>& entries, std::string_view line) {
    for (const ReceivedEntry& e : entries) {
      if (e.line == line) return &e;
    }
    return nullptr;
  }
};

TEST_F(Alloy, FileSourceThroughProcessDeliversLinesWithTheirLabelsAndMetadata) {
  MakeDirs(logs());
  WriteFile(logs() + "/app.log",
            "{\"level\":\"WARN\",\"msg\":\"disk low\",\"req\":\"r1\"}\n"
            "{\"level\":\"info\",\"msg\":\"ok\",\"req\":\"r2\"}\n"
            "plain text\n");
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(// a node's files, as an Alloy user writes them
local.file_match "app" {{
  path_targets = [{{"__path__" = "{}/*.log", job = "app", env = sys.env("SKIDDER_ENV")}}]
}}
loki.source.file "app" {{
  targets               = local.file_match.app.targets
  forward_to            = [loki.process.app.receiver]
  legacy_positions_file = "{}"
}}
loki.process "app" {{
  stage.json {{
    expressions = {{ level = "", message = "msg", req = "" }}
  }}
  stage.template {{
    source   = "level"
    template = "{{{{ ToLower .Value }}}}"
  }}
  stage.labels {{
    values = {{ level = "" }}
  }}
  stage.structured_metadata {{
    values = {{ req = "" }}
  }}
  stage.match {{
    selector = "{{level=\"warn\"}}"
    stage.static_labels {{
      values = {{ alert = "true" }}
    }}
  }}
  forward_to = [loki.write.default.receiver]
}}
loki.write "default" {{
  endpoint {{
    url        = "{}"
    batch_wait = "50ms"
    tenant_id  = "team-" + "a"
  }}
  external_labels = {{ cluster = "test" }}
}}
)",
                                logs(), positions_file(), loki_.url()));
  agent_.SetEnv("SKIDDER_ENV", "prod");
  StartAgent(config, {"-server.http-listen-port=0"});
  ASSERT_TRUE(loki_.WaitForLines(3)) << loki_.LineCount() << agent_.Stderr();
  const std::vector<ReceivedEntry> entries = loki_.Entries();
  const std::string file = logs() + "/app.log";
  const ReceivedEntry* warn = EntryOf(entries, R"({"level":"WARN","msg":"disk low","req":"r1"})");
  ASSERT_NE(warn, nullptr);
  EXPECT_EQ(warn->labels, R"({alert="true", cluster="test", env="prod", filename=")" + file +
                              R"(", job="app", level="warn"})");
  EXPECT_EQ(warn->tenant, "team-a");
  EXPECT_EQ(warn->metadata, (std::vector<std::pair<std::string, std::string>>{{"req", "r1"}}));
  const ReceivedEntry* plain = EntryOf(entries, "plain text");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->labels,
            R"({cluster="test", env="prod", filename=")" + file + R"(", job="app"})");
}

// An Alloy file for the logs folder with one static label; `env` is its value.
std::string FileConfig(const std::string& logs, const std::string& positions,
                       const std::string& loki, const std::string& env) {
  return fmt::format(R"(loki.source.file "app" {{
  targets               = [{{"__path__" = "{}/*.log", env = "{}"}}]
  forward_to            = [loki.write.default.receiver]
  legacy_positions_file = "{}"
}}
loki.write "default" {{
  endpoint {{
    url        = "{}"
    batch_wait = "50ms"
  }}
}}
)",
                     logs, env, positions, loki);
}

// tail_from_end: what was in a file before the start is skipped, what is written after it and
// files created after it arrive.
TEST_F(Alloy, TailFromEndSkipsWhatWasThereBeforeTheStart) {
  MakeDirs(logs());
  WriteFile(logs() + "/app.log", "old-1\nold-2\n");
  if (!WaitPastBirthOf(logs() + "/app.log")) GTEST_SKIP() << "no birth times on this file system";
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(local.file_match "app" {{
  path_targets = [{{"__path__" = "{}/*.log", job = "app"}}]
}}
loki.source.file "app" {{
  targets               = local.file_match.app.targets
  forward_to            = [loki.write.default.receiver]
  tail_from_end         = true
  legacy_positions_file = "{}"
}}
)",
                                logs(), positions_file()) +
                        AlloyWrite());
  StartAgent(config, {"-server.http-listen-port=0"});
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("\"tailing file\" path=" + logs() + "/app.log offset=12") !=
           std::string::npos;
  })) << agent_.Stderr();
  AppendFile(logs() + "/app.log", "new-1\n");
  WriteFile(logs() + "/fresh.log", "fresh-1\n");
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  const std::map<std::string, int> got = ReceivedCounts();
  EXPECT_EQ(got, (std::map<std::string, int>{{"fresh-1", 1}, {"new-1", 1}}));
}

// Two Promtails' positions files named by two sources (a migration of two configs): each
// file goes on from where its Promtail stopped, and only the first positions file is written.
TEST_F(Alloy, EachLegacyPositionsFileResumesItsFiles) {
  MakeDirs(logs() + "/a");
  MakeDirs(logs() + "/b");
  WriteFile(logs() + "/a/app.log", "a-old\na-new\n");
  WriteFile(logs() + "/b/app.log", "b-old-1\nb-old-2\nb-new\n");
  const std::string first = dir_ / "a-positions.yaml";
  const std::string second = dir_ / "b-positions.yaml";
  const std::string second_text = fmt::format("positions:\n  {}/b/app.log: \"16\"\n", logs());
  WriteFile(first, fmt::format("positions:\n  {}/a/app.log: \"6\"\n", logs()));
  WriteFile(second, second_text);
  const std::string config = dir_ / "config.alloy";
  std::string text;
  for (const char* name : {"a", "b"}) {
    text += fmt::format(R"(loki.source.file "{0}" {{
  targets               = [{{"__path__" = "{1}/{0}/*.log"}}]
  forward_to            = [loki.write.default.receiver]
  legacy_positions_file = "{2}"
}}
)",
                        name, logs(), *name == 'a' ? first : second);
  }
  WriteFile(config, text + AlloyWrite());
  StartAgent(config, {"-server.http-listen-port=0"});
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  EXPECT_EQ(agent_.Terminate(), 0) << agent_.Stderr();
  EXPECT_TRUE(ReadFile(first).starts_with("{")) << "the first is skidder's positions file now";
  EXPECT_EQ(ReceivedCounts(), (std::map<std::string, int>{{"a-new", 1}, {"b-new", 1}}));
  EXPECT_EQ(ReadFile(second), second_text) << "another agent's file is only read";
}

// A custom component as Grafana's k8s-monitoring chart writes one (a declare taking its
// destinations as an argument, with an otelcol.exporter.loki beside the loki.write), used twice:
// each instance reads its own folder through its own copy of the pipeline (the team label is set
// by a stage nested in each copy, from that instance's argument).
TEST_F(Alloy, EachInstanceOfADeclareRunsItsOwnPipeline) {
  MakeDirs(logs() + "/web");
  MakeDirs(logs() + "/db");
  WriteFile(logs() + "/web/app.log", "level=warn msg=slow\n");
  WriteFile(logs() + "/db/app.log", "level=info msg=vacuum\n");
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(declare "app_logs" {{
  argument "logs_destinations" {{
    comment = "where the logs go"
  }}
  argument "dir" {{ }}
  argument "team" {{
    optional = true
    default  = "platform"
  }}
  local.file_match "files" {{
    path_targets = [{{"__path__" = argument.dir.value + "/*.log"}}]
  }}
  loki.source.file "files" {{
    targets               = local.file_match.files.targets
    forward_to            = [loki.process.levels.receiver]
    legacy_positions_file = "{1}"
  }}
  loki.process "levels" {{
    stage.logfmt {{
      mapping = {{ level = "" }}
    }}
    stage.labels {{
      values = {{ level = "" }}
    }}
    stage.match {{
      selector = "{{level=~\".+\"}}"
      stage.static_labels {{
        values = {{ team = argument.team.value }}
      }}
    }}
    forward_to = argument.logs_destinations.value
  }}
}}
app_logs "web" {{
  dir               = "{0}/web"
  team              = "web"
  logs_destinations = [loki.write.default.receiver]
}}
app_logs "db" {{
  dir               = "{0}/db"
  logs_destinations = [loki.write.default.receiver]
}}
otelcol.exporter.loki "default" {{
  forward_to = [loki.write.default.receiver]
}}
)",
                                logs(), positions_file()) +
                        AlloyWrite());
  StartAgent(config, {"-server.http-listen-port=0"});
  ASSERT_TRUE(loki_.WaitForLines(2)) << loki_.LineCount() << agent_.Stderr();
  const std::vector<ReceivedEntry> entries = loki_.Entries();
  const ReceivedEntry* web = EntryOf(entries, "level=warn msg=slow");
  const ReceivedEntry* db = EntryOf(entries, "level=info msg=vacuum");
  ASSERT_NE(web, nullptr);
  ASSERT_NE(db, nullptr);
  EXPECT_EQ(web->labels, R"({filename=")" + logs() + R"(/web/app.log", level="warn", team="web"})");
  EXPECT_EQ(db->labels,
            R"({filename=")" + logs() + R"(/db/app.log", level="info", team="platform"})");
  EXPECT_NE(agent_.Stderr().find("otelcol.exporter.loki.default is ignored"), std::string::npos)
      << agent_.Stderr();
}

TEST_F(Alloy, SighupReloadsTheAlloyFileAndAnInvalidOneIsRefused) {
  MakeDirs(logs());
  WriteFile(logs() + "/a.log", Lines("r", 0, 50));
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, FileConfig(logs(), positions_file(), loki_.url(), "before"));
  StartAgent(config, {"-server.http-listen-port=0"});
  ASSERT_TRUE(loki_.WaitForLines(50)) << agent_.Stderr();
  WriteFile(config, FileConfig(logs(), positions_file(), loki_.url(), "after"));
  kill(agent_.pid(), SIGHUP);
  ASSERT_TRUE(agent_.MetricsPort(2).has_value()) << "no restart after SIGHUP";
  AppendFile(logs() + "/a.log", Lines("r", 50, 80));
  ASSERT_TRUE(loki_.WaitForLines(80)) << loki_.LineCount();
  ExpectEachOnce("r", 0, 80);
  int after = 0;
  for (const ReceivedEntry& e : loki_.Entries())
    after += e.labels.find("env=\"after\"") != std::string::npos;
  EXPECT_EQ(after, 30);
  WriteFile(config, "prometheus.scrape \"x\" {\n}\n");
  kill(agent_.pid(), SIGHUP);
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("reload refused, old config kept") != std::string::npos;
  }));
  EXPECT_NE(agent_.Stderr().find("config.alloy:1:1: component prometheus.scrape is not supported"),
            std::string::npos)
      << agent_.Stderr();
  // Promtail's reload counters, for alerts on a config that did not take.
  EXPECT_EQ(agent_.Metric("promtail_config_reload_success_total"), 1);
  EXPECT_EQ(agent_.Metric("promtail_config_reload_fail_total"), 1);
}

// A token file read by local.file (a projected service-account token, a password mounted from a
// Secret) is polled every poll_frequency as Alloy watches it: after the kubelet swaps it (a
// rename, as its atomic writer does), the next pushes carry the new token, through one reload
// of the agent's own. A file that cannot be read is warned about and the old token kept.
TEST_F(Alloy, ARotatedLocalFileTokenIsAppliedWithoutARestart) {
  MakeDirs(logs());
  WriteFile(logs() + "/a.log", "before\n");
  const std::string token = dir_ / "token";
  WriteFile(token, "tok-1\n");
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(local.file "token" {{
  filename       = "{}"
  is_secret      = true
  poll_frequency = "1s"
}}
local.file_match "app" {{
  path_targets = [{{"__path__" = "{}/*.log", job = "app"}}]
}}
loki.source.file "app" {{
  targets               = local.file_match.app.targets
  forward_to            = [loki.write.default.receiver]
  legacy_positions_file = "{}"
}}
loki.write "default" {{
  endpoint {{
    url          = "{}"
    batch_wait   = "50ms"
    bearer_token = string.trim_space(local.file.token.content)
  }}
}}
)",
                                token, logs(), positions_file(), loki_.url()));
  StartAgent(config, {"-server.http-listen-port=0"});
  ASSERT_TRUE(loki_.WaitForLines(1)) << agent_.Stderr();
  EXPECT_EQ(loki_.Requests().at(0).headers.at("Authorization"), "Bearer tok-1");

  WriteFile(token + ".new", "tok-2\n");
  ASSERT_EQ(std::rename((token + ".new").c_str(), token.c_str()), 0);
  ASSERT_TRUE(WaitFor([&] { return agent_.Stderr().find("config reloaded") != std::string::npos; }))
      << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("a local.file changed"), std::string::npos) << agent_.Stderr();
  EXPECT_EQ(agent_.Stderr().find("tok-2"), std::string::npos) << "the token is not logged";
  AppendFile(logs() + "/a.log", "after\n");
  ASSERT_TRUE(loki_.WaitForLines(2)) << agent_.Stderr();
  EXPECT_EQ(loki_.Requests().back().headers.at("Authorization"), "Bearer tok-2");

  // Gone for a moment: warned, nothing reloaded, the running token kept.
  ASSERT_EQ(std::remove(token.c_str()), 0);
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stderr().find("cannot read a local.file again") != std::string::npos;
  })) << agent_.Stderr();
  AppendFile(logs() + "/a.log", "while gone\n");
  ASSERT_TRUE(loki_.WaitForLines(3)) << agent_.Stderr();
  EXPECT_EQ(loki_.Requests().back().headers.at("Authorization"), "Bearer tok-2");
  ASSERT_TRUE(agent_.MetricsPort(2)) << agent_.Stderr();
  EXPECT_EQ(agent_.Metric("promtail_config_reload_success_total"), 1);
  EXPECT_EQ(loki_.Lines(), (std::vector<std::string>{"before", "after", "while gone"}));
}

// Alloy's documented loki.echo example runs as it is, with no loki.write: each line is printed
// on standard output, and the positions still move on (printed counts as done).
TEST_F(Alloy, LokiEchoPrintsEntriesWithoutALokiWrite) {
  MakeDirs(logs());
  WriteFile(logs() + "/a.log", Lines("e", 0, 3));
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(local.file_match "varlog" {{
  path_targets = [{{
    __path__ = "{}/*.log",
    job      = "varlog",
  }}]
}}
loki.source.file "logs" {{
  targets    = local.file_match.varlog.targets
  forward_to = [loki.echo.example.receiver]
}}
loki.echo "example" {{ }}
)",
                                logs()));
  StartAgent(config, {"-server.http-listen-port=0", "-positions.file=" + positions_file()});
  ASSERT_TRUE(WaitFor([&] {
    return agent_.Stdout().find("job=\"varlog\"}\te-2\n") != std::string::npos || !agent_.Running();
  })) << agent_.Stderr();
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(agent_.Stdout().find(
                  fmt::format("\t{{filename=\"{}/a.log\", job=\"varlog\"}}\te-{}\n", logs(), i)),
              std::string::npos)
        << agent_.Stdout();
  }
  // Printed counts as done: the file's position reaches its end.
  const std::string end = fmt::format("\"offset\":{}", Lines("e", 0, 3).size());
  ASSERT_TRUE(WaitFor([&] {
    const std::string positions = ReadFile(positions_file());
    return positions.find(logs() + "/a.log") != std::string::npos &&
           positions.find(end) != std::string::npos;
  })) << ReadFile(positions_file());
}

// loki.source.syslog and loki.source.api run as Promtail's syslog and loki_push_api jobs, on
// Alloy's endpoints: relabel_rules see the __syslog_* labels, the push job's labels join the
// pushed ones, and /loki/api/v1/raw and /api/v1/push answer as in Alloy.
TEST_F(Alloy, SyslogAndApiReceiversDeliverWithAlloysLabels) {
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(loki.relabel "sys" {{
  rule {{
    source_labels = ["__syslog_message_hostname"]
    target_label  = "host"
  }}
  forward_to = []
}}
loki.source.syslog "net" {{
  listener {{
    address = "127.0.0.1:0"
    labels  = {{ job = "syslog" }}
  }}
  relabel_rules = loki.relabel.sys.rules
  forward_to    = [loki.write.default.receiver]
}}
loki.source.api "push" {{
  http {{
    listen_address = "127.0.0.1"
    listen_port    = "0"
  }}
  labels     = {{ forwarded = "true" }}
  forward_to = [loki.relabel.mark.receiver]
}}
// In forward_to, a stage over each entry's labels, raw pushes included, as in Alloy.
loki.relabel "mark" {{
  rule {{
    target_label = "relayed"
    replacement  = "yes"
  }}
  forward_to = [loki.write.default.receiver]
}}
)") + AlloyWrite());
  StartAgent(config, {"-server.http-listen-port=0"});
  const std::optional<int> syslog_port = SyslogPort(agent_, "net");
  ASSERT_TRUE(syslog_port.has_value()) << agent_.Stderr();
  const std::optional<int> push_port = PushPort(agent_, "push");
  ASSERT_TRUE(push_port.has_value()) << agent_.Stderr();
  const PushClient push(*push_port);

  SyslogTcpClient tcp;
  ASSERT_TRUE(tcp.Connect(*syslog_port)) << tcp.error();
  ASSERT_TRUE(tcp.Send(NewlineFrame(Rfc5424("from syslog"))));
  EXPECT_EQ(push.Get("/ready").status, 200);
  PushResponse raw = push.Post("from raw\n", "text/plain", "", "/loki/api/v1/raw", "team-c");
  EXPECT_EQ(raw.status, 204) << raw.body;
  PushResponse pb = push.Post(
      ProtobufPushBody({{.labels = R"({app="api"})", .timestamp_ns = 1, .line = "from push"}}),
      "application/x-protobuf", "", "/api/v1/push", "team-b");
  EXPECT_EQ(pb.status, 204) << pb.body;
  ASSERT_TRUE(loki_.WaitForLines(3)) << loki_.LineCount() << agent_.Stderr();
  const std::vector<ReceivedEntry> entries = loki_.Entries();
  const ReceivedEntry* syslog = EntryOf(entries, "from syslog");
  const ReceivedEntry* from_raw = EntryOf(entries, "from raw");
  const ReceivedEntry* pushed = EntryOf(entries, "from push");
  ASSERT_TRUE(syslog && from_raw && pushed) << loki_.LineCount();
  EXPECT_EQ(syslog->labels, R"({host="host5", job="syslog"})");
  EXPECT_EQ(from_raw->labels, R"({forwarded="true", relayed="yes"})");
  EXPECT_EQ(pushed->labels, R"({app="api", forwarded="true", relayed="yes"})");
  // The push's X-Scope-OrgID is its entries' tenant, as Alloy's loki.source.api forwards it.
  EXPECT_EQ(pushed->tenant, "team-b");
  EXPECT_EQ(from_raw->tenant, "");
}

TEST_F(Alloy, KubernetesExampleGivesTheChartsStreams) {
  constexpr const char* kToken = "itest-token";
  const std::string pods = dir_ / "pods";
  MakeDirs(dir_ / "kube");
  WriteFile(dir_ / "kube/token", kToken);
  FakeKubeApi api(dir_ / "kube", kToken);
  agent_.SetEnv("NODE_NAME", "node-1");
  api.Add(PodJson("shop", "api-1", "node-1", {"api"},
                  {{"app.kubernetes.io/name", "api"}, {"app.kubernetes.io/instance", "shop-api"}}));
  const std::string dir = pods + "/shop_api-1_uid-api-1/api";
  MakeDirs(dir);
  WriteFile(dir + "/0.log", "2026-11-24T10:40:12.000000001Z stdout F hello from api\n");
  // config/kubernetes.alloy unchanged but for where the API server, the pods' logs, the
  // positions and Loki are.
  std::string config = ReadFile(SKIDDER_SOURCE_DIR "/config/kubernetes.alloy");
  EXPECT_EQ(ReplaceAll(config, "  role = \"pod\"\n",
                       fmt::format("  role = \"pod\"\n  api_server = \"{}\"\n"
                                   "  bearer_token_file = \"{}\"\n"
                                   "  tls_config {{\n    ca_file = \"{}\"\n  }}\n",
                                   api.url(), dir_ / "kube/token", api.ca_file())),
            1);
  EXPECT_EQ(ReplaceAll(config, "\"/var/log/pods/", "\"" + pods + "/"), 2);
  EXPECT_EQ(ReplaceAll(config, "/var/lib/skidder/positions.json", positions_file()), 1);
  EXPECT_EQ(ReplaceAll(config, "\"http://loki-gateway/loki/api/v1/push\"",
                       "\"" + loki_.url() + "\"\n    batch_wait = \"50ms\""),
            1);
  WriteFile(dir_ / "kubernetes.alloy", config);
  StartAgent(dir_ / "kubernetes.alloy", {"-server.http-listen-port=0"});
  ASSERT_TRUE(loki_.WaitForLines(1)) << agent_.Stderr();
  const std::vector<ReceivedEntry> entries = loki_.Entries();
  ASSERT_EQ(entries.at(0).line, "hello from api");
  // The labels config/kubernetes.yaml gives (tests/integration/kubernetes_test.cc).
  EXPECT_EQ(entries[0].labels, "{app=\"api\", container=\"api\", filename=\"" + dir +
                                   "/0.log\", instance=\"shop-api\", job=\"shop/api\", "
                                   "namespace=\"shop\", node_name=\"node-1\", pod=\"api-1\", "
                                   "stream=\"stdout\"}");
}

}  // namespace
}  // namespace skidder::testing
