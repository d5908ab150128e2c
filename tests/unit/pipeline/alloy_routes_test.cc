// Alloy's forward_to graph as skidder runs it: a source fanning out into several loki.process /
// loki.relabel paths gives each path its own copy of every entry, each path's entries go only
// to the loki.write components it reaches, and a loki.relabel after a loki.process relabels the
// processed entry's labels. The file is read once: one scrape config, one pipeline.
#include <gtest/gtest.h>

#include <algorithm>

#include "config/alloy.h"
#include "config/loader.h"
#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::MakeEntry;

constexpr const char* kWrites = R"x(
loki.write "archive" { endpoint { url = "http://archive:3100/loki/api/v1/push" } }
loki.write "alerts" { endpoint { url = "http://alerts:3100/loki/api/v1/push" } }
)x";

config::Config LoadAlloy(const std::string& text) {
  auto cfg = config::ParseAlloyConfig(text + kWrites, "c.alloy");
  EXPECT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error().message());
  EXPECT_EQ(cfg->scrape_configs.size(), 1u);  // one source, read once
  return *cfg;
}

// The entries one pipeline gives for these lines, as (clients bits, labels, line).
std::vector<std::tuple<uint64_t, std::string, std::string>> RunRoutes(
    const config::ScrapeConfig& sc, size_t clients, const std::vector<std::string>& lines) {
  StageContext ctx = testing::Ctx(nullptr);
  ctx.clients = clients;
  auto p = Pipeline::Build(sc.pipeline_stages, ctx);
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message());
  Collect out;
  for (const std::string& line : lines) {
    (*p)->Process(MakeEntry(line, Labels{{"job", "app"}, {"filename", "/var/log/app.log"}}), out);
  }
  std::vector<std::tuple<uint64_t, std::string, std::string>> got;
  for (const PipelineEntry& e : out.entries) {
    got.emplace_back(e.entry.clients, e.entry.labels.ToString(), e.entry.line);
  }
  std::sort(got.begin(), got.end());
  return got;
}

constexpr const char* kFanOut = R"x(
loki.source.file "app" {
  targets    = [{"__path__" = "/var/log/app.log", job = "app"}]
  forward_to = [loki.process.errors.receiver, loki.process.all.receiver]
}
loki.process "errors" {
  stage.regex { expression = "level=(?P<level>\\w+)" }
  stage.labels { values = { level = "" } }
  forward_to = [loki.relabel.only_errors.receiver]
}
loki.relabel "only_errors" {
  rule {
    source_labels = ["level"]
    regex         = "error"
    action        = "keep"
  }
  forward_to = [loki.write.alerts.receiver]
}
loki.process "all" {
  stage.static_labels { values = { copy = "archive" } }
  forward_to = [loki.write.archive.receiver]
}
)x";

TEST(AlloyRoutes, EachPathGetsItsOwnCopyAndGoesOnlyToItsWriters) {
  config::Config cfg = LoadAlloy(kFanOut);
  ASSERT_EQ(cfg.clients.size(), 2u);  // archive = clients[0], alerts = clients[1]
  const auto got = RunRoutes(cfg.scrape_configs[0], 2, {"level=error boom", "level=info fine"});
  const std::vector<std::tuple<uint64_t, std::string, std::string>> want = {
      {1, R"({copy="archive", filename="/var/log/app.log", job="app"})", "level=error boom"},
      {1, R"({copy="archive", filename="/var/log/app.log", job="app"})", "level=info fine"},
      {2, R"({filename="/var/log/app.log", job="app", level="error"})", "level=error boom"},
  };
  EXPECT_EQ(got, want);
}

TEST(AlloyRoutes, ThePrintedConfigRunsTheSameRoutes) {
  config::Config cfg = LoadAlloy(kFanOut);
  auto again = config::ParseConfig(config::DumpConfig(cfg), "dump.yaml", false);
  ASSERT_TRUE(again.has_value()) << again.error().message();
  const std::vector<std::string> lines = {"level=error boom", "level=info fine"};
  EXPECT_EQ(RunRoutes(again->scrape_configs.at(0), 2, lines),
            RunRoutes(cfg.scrape_configs[0], 2, lines));
}

TEST(AlloyRoutes, WriterBesideAPipelineGetsTheEntryUnprocessed) {
  config::Config cfg = LoadAlloy(R"x(
loki.source.file "app" {
  targets    = [{"__path__" = "/var/log/app.log", job = "app"}]
  forward_to = [loki.write.archive.receiver, loki.process.p.receiver]
}
loki.process "p" {
  stage.static_labels { values = { processed = "yes" } }
  forward_to = [loki.write.alerts.receiver, loki.write.archive.receiver]
}
)x");
  const auto got = RunRoutes(cfg.scrape_configs[0], 2, {"hello"});
  const std::vector<std::tuple<uint64_t, std::string, std::string>> want = {
      {1, R"({filename="/var/log/app.log", job="app"})", "hello"},
      {~uint64_t{0}, R"({filename="/var/log/app.log", job="app", processed="yes"})", "hello"},
  };
  EXPECT_EQ(got, want);
}

TEST(AlloyRoutes, SourceReachingOneOfTwoWritersSendsOnlyThere) {
  config::Config cfg = LoadAlloy(R"x(
loki.source.file "app" {
  targets    = [{"__path__" = "/var/log/app.log", job = "app"}]
  forward_to = [loki.process.p.receiver]
}
loki.process "p" {
  stage.static_labels { values = { team = "a" } }
  forward_to = [loki.write.alerts.receiver]
}
)x");
  const auto got = RunRoutes(cfg.scrape_configs[0], 2, {"hello"});
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(std::get<0>(got[0]), 2u);  // alerts only
}

TEST(AlloyRoutes, RelabelAfterProcessSeesTheProcessedLabels) {
  config::Config cfg = LoadAlloy(R"x(
loki.source.file "app" {
  targets    = [{"__path__" = "/var/log/app.log", job = "app"}]
  forward_to = [loki.process.p.receiver]
}
loki.process "p" {
  stage.logfmt { mapping = { level = "" } }
  stage.labels { values = { level = "" } }
  forward_to = [loki.relabel.r.receiver]
}
loki.relabel "r" {
  rule {
    source_labels = ["level"]
    regex         = "debug"
    action        = "drop"
  }
  rule {
    source_labels = ["filename"]
    regex         = ".*/(.*)\\.log"
    target_label  = "file"
  }
  rule {
    action = "labeldrop"
    regex  = "filename"
  }
  forward_to = [loki.write.alerts.receiver, loki.write.archive.receiver]
}
)x");
  const auto got = RunRoutes(cfg.scrape_configs[0], 2, {"level=debug x", "level=warn y"});
  const std::vector<std::tuple<uint64_t, std::string, std::string>> want = {
      {~uint64_t{0}, R"({file="app", job="app", level="warn"})", "level=warn y"},
  };
  EXPECT_EQ(got, want);  // both writers: no routing needed, every client gets it
}

TEST(AlloyRoutes, RelabelBeforeAnyProcessStaysTargetRelabeling) {
  config::Config cfg = LoadAlloy(R"x(
loki.source.file "app" {
  targets    = [{"__path__" = "/var/log/app.log", job = "app"}]
  forward_to = [loki.relabel.r.receiver]
}
loki.relabel "r" {
  rule {
    target_label = "env"
    replacement  = "prod"
  }
  forward_to = [loki.write.alerts.receiver, loki.write.archive.receiver]
}
)x");
  EXPECT_TRUE(cfg.scrape_configs[0].pipeline_stages.empty());
  ASSERT_EQ(cfg.scrape_configs[0].relabel_configs.size(), 1u);
  EXPECT_EQ(cfg.scrape_configs[0].relabel_configs[0].target_label, "env");
}

// What building the source's pipeline says; "" when it builds.
std::string BuildError(const config::Config& cfg) {
  StageContext ctx = testing::Ctx(nullptr);
  ctx.clients = cfg.clients.size();
  auto p = Pipeline::Build(cfg.scrape_configs.at(0).pipeline_stages, ctx);
  return p ? "" : p.error().message();
}

// A stage's error names the Alloy block it was written as, at that block's line, wherever the
// translation put the stage: first in the pipeline, inside a stage.match, or in one branch of a
// fan-out, where it would otherwise take the place of the forward_to that fans out.
TEST(AlloyRoutes, AStageErrorNamesItsOwnBlockWhereverItRuns) {
  constexpr const char* kBadRegex = R"x(
loki.process "p" {
  stage.static_labels { values = { team = "a" } }
  stage.regex { expression = "(?P<x" }
  forward_to = [loki.write.alerts.receiver]
}
)x";
  constexpr const char* kWant =
      "c.alloy:5:3: stage.regex.expression: could not compile regular expression";
  // The source takes two lines in each, so the process starts on line 3.
  const std::string one_path =
      "loki.source.file \"app\" { targets = [{\"__path__\" = \"/a.log\"}]\n"
      "  forward_to = [loki.process.p.receiver] }";
  EXPECT_EQ(BuildError(LoadAlloy(one_path + kBadRegex)).find(kWant), 0u)
      << BuildError(LoadAlloy(one_path + kBadRegex));
  const std::string fan_out =
      "loki.source.file \"app\" { targets = [{\"__path__\" = \"/a.log\"}]\n"
      "  forward_to = [loki.write.archive.receiver, loki.process.p.receiver] }";
  EXPECT_EQ(BuildError(LoadAlloy(fan_out + kBadRegex)).find(kWant), 0u)
      << BuildError(LoadAlloy(fan_out + kBadRegex));

  constexpr const char* kInMatch = R"x(
loki.process "p" {
  stage.match {
    selector = "{job=\"app\"}"
    stage.static_labels { values = { team = "a" } }
    stage.timestamp {
      source   = "t"
      format   = "RFC3339"
      location = "Nowhere/Land"
    }
  }
  forward_to = [loki.write.alerts.receiver]
}
)x";
  for (const std::string& source : {one_path, fan_out}) {
    const std::string error = BuildError(LoadAlloy(source + kInMatch));
    EXPECT_EQ(error.find("c.alloy:7:5: stage.timestamp.location: "), 0u) << error;
  }
  // Alloy's own stages too.
  constexpr const char* kBadPattern = R"x(
loki.process "p" {
  stage.structured_metadata_drop { values = ["trace_id"] }
  stage.pattern { pattern = "<method><path> <_>" }
  forward_to = [loki.write.alerts.receiver]
}
)x";
  EXPECT_EQ(BuildError(LoadAlloy(one_path + kBadPattern)),
            "c.alloy:5:3: stage.pattern.pattern: consecutive captures <method><path> at byte 0: a "
            "literal must separate them");
  constexpr const char* kNoValues = R"x(
loki.process "p" {
  stage.structured_metadata_drop { }
  forward_to = [loki.write.alerts.receiver]
}
)x";
  EXPECT_EQ(BuildError(LoadAlloy(one_path + kNoValues)).find("c.alloy:4:3: "), 0u)
      << BuildError(LoadAlloy(one_path + kNoValues));
  // Fixed, the same routes build.
  std::string fixed = fan_out + kInMatch;
  fixed.replace(fixed.find("Nowhere/Land"), 12, "UTC");
  EXPECT_EQ(BuildError(LoadAlloy(fixed)), "");
}

}  // namespace
}  // namespace skidder::pipeline

namespace skidder::pipeline {
namespace {

// loki.echo: a path to it prints each entry as -dry-run does, and the entry goes no further;
// beside a loki.write, the write still gets its own copy.
TEST(AlloyRoutes, ALokiEchoPrintsItsPathsEntriesAndSendsNothing) {
  config::Config cfg = LoadAlloy(R"x(
loki.source.file "app" {
  targets    = [{"__path__" = "/var/log/app.log", job = "app"}]
  forward_to = [loki.write.archive.receiver, loki.process.debug.receiver]
}
loki.process "debug" {
  stage.static_labels { values = { path = "debug" } }
  forward_to = [loki.echo.show.receiver]
}
loki.echo "show" { }
)x");
  ::testing::internal::CaptureStdout();
  const auto got = RunRoutes(cfg.scrape_configs[0], 2, {"one", "two"});
  const std::string printed = ::testing::internal::GetCapturedStdout();
  const std::vector<std::tuple<uint64_t, std::string, std::string>> want = {
      {1, R"({filename="/var/log/app.log", job="app"})", "one"},
      {1, R"({filename="/var/log/app.log", job="app"})", "two"},
  };
  EXPECT_EQ(got, want);
  EXPECT_NE(printed.find("\t{filename=\"/var/log/app.log\", job=\"app\", path=\"debug\"}\tone\n"),
            std::string::npos)
      << printed;
  EXPECT_NE(printed.find("path=\"debug\"}\ttwo\n"), std::string::npos) << printed;
  // Only the echo path's copies: the write's are not printed.
  EXPECT_EQ(std::count(printed.begin(), printed.end(), '\n'), 2) << printed;

  // A source that forwards to loki.echo alone: the echo stage ends its pipeline.
  config::Config only = LoadAlloy(R"x(
loki.source.file "app" {
  targets    = [{"__path__" = "/var/log/app.log"}]
  forward_to = [loki.echo.show.receiver]
}
loki.echo "show" { }
)x");
  ASSERT_EQ(only.scrape_configs[0].pipeline_stages.size(), 1u);
  EXPECT_EQ(only.scrape_configs[0].pipeline_stages[0].type, "echo");
  ::testing::internal::CaptureStdout();
  EXPECT_TRUE(RunRoutes(only.scrape_configs[0], 2, {"three"}).empty());
  EXPECT_NE(::testing::internal::GetCapturedStdout().find("\tthree\n"), std::string::npos);

  auto bad = config::ParseAlloyConfig(R"x(loki.echo "show" { level = "info" })x", "c.alloy");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "c.alloy:1:20: unknown attribute level in loki.echo");
}

}  // namespace
}  // namespace skidder::pipeline
