// An Alloy config that fans a node's file out into two pipelines, each to its own Loki: the
// file is read once, every line reaches the archive Loki with the archive path's labels, and
// only the error lines reach the alerts Loki, relabeled after processing.
#include <fmt/format.h>

#include "harness.h"

namespace skidder::testing {
namespace {

class AlloyRoutes : public IntegrationTest {};

TEST_F(AlloyRoutes, EachPathReachesOnlyItsOwnLoki) {
  FakeLoki alerts;
  ASSERT_TRUE(alerts.Start());
  MakeDirs(logs());
  std::string text;
  for (int i = 0; i < 40; ++i) text += fmt::format("level={} n={}\n", i % 4 ? "info" : "error", i);
  WriteFile(logs() + "/app.log", text);
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(loki.source.file "app" {{
  targets               = [{{"__path__" = "{}/*.log", job = "app"}}]
  forward_to            = [loki.process.errors.receiver, loki.process.all.receiver]
  legacy_positions_file = "{}"
}}
loki.process "errors" {{
  stage.logfmt {{ mapping = {{ level = "" }} }}
  stage.labels {{ values = {{ level = "" }} }}
  forward_to = [loki.relabel.only_errors.receiver]
}}
loki.relabel "only_errors" {{
  rule {{
    source_labels = ["level"]
    regex         = "error"
    action        = "keep"
  }}
  forward_to = [loki.write.alerts.receiver]
}}
loki.process "all" {{
  stage.static_labels {{ values = {{ copy = "archive" }} }}
  forward_to = [loki.write.archive.receiver]
}}
loki.write "archive" {{
  endpoint {{
    url        = "{}"
    batch_wait = "50ms"
  }}
}}
loki.write "alerts" {{
  endpoint {{
    url        = "{}"
    batch_wait = "50ms"
  }}
}}
)",
                                logs(), positions_file(), loki_.url(), alerts.url()));
  StartAgent(config, {"-server.http-listen-port=0"});
  ASSERT_TRUE(loki_.WaitForLines(40)) << loki_.LineCount() << agent_.Stderr();
  ASSERT_TRUE(alerts.WaitForLines(10)) << alerts.LineCount() << agent_.Stderr();
  const std::string file = logs() + "/app.log";
  for (const ReceivedEntry& e : loki_.Entries()) {
    EXPECT_EQ(e.labels, R"({copy="archive", filename=")" + file + R"(", job="app"})") << e.line;
  }
  for (const ReceivedEntry& e : alerts.Entries()) {
    EXPECT_EQ(e.labels, R"({filename=")" + file + R"(", job="app", level="error"})") << e.line;
    EXPECT_TRUE(e.line.starts_with("level=error")) << e.line;
  }
  EXPECT_EQ(agent_.Terminate(), 0) << agent_.Stderr();
  EXPECT_EQ(loki_.LineCount(), 40u);
  EXPECT_EQ(alerts.LineCount(), 10u);
}

}  // namespace
}  // namespace skidder::testing
