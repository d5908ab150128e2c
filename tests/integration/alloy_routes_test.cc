// An Alloy config that fans a node's file out into two pipelines, each to its own Loki: the
// file is read once, every line reaches the archive Loki with the archive path's labels, and
// only the error lines reach the alerts Loki, relabeled after processing.
#include <fmt/format.h>

#include <set>

#include "harness.h"

namespace skidder::testing {
namespace {

class AlloyRoutes : public IntegrationTest {};

// A loki.write component with a short batch wait; `extra` adds endpoint attributes.
std::string Writer(const std::string& name, const std::string& url, const std::string& extra = "") {
  return fmt::format(R"(loki.write "{}" {{
  endpoint {{
    url        = "{}"
    batch_wait = "50ms"
{}  }}
}}
)",
                     name, url, extra);
}

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
)",
                                logs(), positions_file()) +
                        Writer("archive", loki_.url()) + Writer("alerts", alerts.url()));
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

// Three sources: one to each Loki, one to both; one Loki is down long enough for its writer's
// buffer to fill. Only the sources sending there wait (their files hold the backlog; a file not
// read yet takes one chunk first, see below); the other
// source's lines keep arriving, although a waiting file comes before its file in every turn.
// Before, a full writer paused every reader of the agent.
TEST_F(AlloyRoutes, AWriterThatIsDownPausesOnlyTheSourcesSendingToIt) {
  FakeLoki down;
  ASSERT_TRUE(down.Start());
  down.SetFailFor(std::chrono::minutes(10), 503);
  MakeDirs(logs() + "/a");
  MakeDirs(logs() + "/b");
  MakeDirs(logs() + "/both");
  const std::string config = dir_ / "config.alloy";
  WriteFile(config, fmt::format(R"(loki.source.file "a" {{
  targets               = [{{"__path__" = "{0}/a/*.log", job = "a"}}]
  forward_to            = [loki.write.up.receiver]
  legacy_positions_file = "{1}"
}}
loki.source.file "b" {{
  targets    = [{{"__path__" = "{0}/b/*.log", job = "b"}}]
  forward_to = [loki.write.down.receiver]
}}
loki.source.file "both" {{
  targets    = [{{"__path__" = "{0}/both/*.log", job = "both"}}]
  forward_to = [loki.write.up.receiver, loki.write.down.receiver]
}}
)",
                                logs(), positions_file()) +
                        Writer("up", loki_.url()) +
                        Writer("down", down.url(),
                               "    min_backoff_period = \"50ms\"\n"
                               "    max_backoff_period = \"200ms\"\n"));
  // ~6 MB for the writer that is down: its 2 MiB buffer, the batch it retries, and more.
  const std::string pad(90, 'x');
  std::string backlog;
  for (int i = 0; i < 60000; ++i) backlog += fmt::format("b{:05} {}\n", i, pad);
  WriteFile(logs() + "/b/b.log", backlog);
  StartAgent(config, {"-server.http-listen-port=0"});
  ASSERT_TRUE(WaitFor([&] { return agent_.Metric("skidder_buffered_bytes") >= 2 * 1024 * 1024; },
                      std::chrono::seconds(60)))
      << agent_.HttpGet("/metrics") << agent_.Stderr();
  ASSERT_TRUE(down.WaitForRequests(2)) << agent_.Stderr();
  // The batch being retried left the buffer; the reader filled it again from b's backlog.
  ASSERT_TRUE(WaitFor([&] { return agent_.Metric("skidder_buffered_bytes") >= 2 * 1024 * 1024; },
                      std::chrono::seconds(60)))
      << agent_.HttpGet("/metrics");
  // Written first: the source sending to both waits, its file queued ahead of a's. It reads one
  // chunk (64 KiB) at most: until then nothing tells where its lines go (to a tenant the writer
  // that is down holds back, or to another it keeps room for; see EntrySink::TenantHeld), and
  // once read they go to that writer too, which holds them.
  constexpr int kBoth = 20000;  // ~220 KB
  WriteFile(logs() + "/both/both.log", Lines("both", 0, kBoth));
  ASSERT_TRUE(WaitFor([&] { return agent_.Metric("promtail_files_active_total") >= 2; }))
      << agent_.HttpGet("/metrics");
  WriteFile(logs() + "/a/a.log", Lines("a", 0, 200));
  auto count = [&](const std::string& prefix) {
    int n = 0;
    for (const std::string& l : loki_.Lines()) n += l.starts_with(prefix) ? 1 : 0;
    return n;
  };
  ASSERT_TRUE(WaitFor([&] { return count("a-") == 200; }, std::chrono::seconds(30)))
      << loki_.LineCount() << agent_.HttpGet("/metrics") << agent_.Stderr();
  ExpectEachOnce("a", 0, 200);
  EXPECT_LE(count("both-"), 64 * 1024 / 7) << "the file sent to both read on while one was full";
  EXPECT_EQ(down.LineCount(), 0u);
  // Back up: the waiting sources' backlogs arrive whole, once.
  down.SetFailFor(std::chrono::milliseconds(0), 503);
  ASSERT_TRUE(down.WaitForLines(60000 + kBoth, std::chrono::seconds(90)))
      << down.LineCount() << agent_.Stderr();
  ASSERT_TRUE(loki_.WaitForLines(200 + kBoth)) << loki_.LineCount();
  EXPECT_EQ(agent_.Terminate(), 0) << agent_.Stderr();
  const std::vector<std::string> got = down.Lines();
  std::set<std::string> unique(got.begin(), got.end());
  EXPECT_EQ(got.size(), 60000u + kBoth);
  EXPECT_EQ(unique.size(), 60000u + kBoth);
  ExpectEachOnce("both", 0, kBoth);
}

}  // namespace
}  // namespace skidder::testing
