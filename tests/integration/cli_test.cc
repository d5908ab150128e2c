// The command line a user meets first: config errors, -check-syntax, -dry-run, endpoints.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include "harness.h"

namespace skidder::testing {
namespace {

class Cli : public IntegrationTest {};

TEST_F(Cli, UnknownKeyIsRefusedWithFileLineColumnAndName) {
  std::string path = dir_ / "bad.yaml";
  WriteFile(path, "server:\n  http_listen_port: 9080\n  htp_listen_address: x\n");
  ASSERT_TRUE(agent_.Start({"-config.file=" + path, "-check-syntax"}));
  EXPECT_EQ(agent_.Wait(), 1);
  EXPECT_NE(agent_.Stderr().find(path + ":3:3"), std::string::npos) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("htp_listen_address"), std::string::npos);
}

// A discovery that cannot start names its scrape config (a file may have several).
TEST_F(Cli, AKubernetesDiscoveryThatCannotStartNamesItsJob) {
  agent_.SetEnv("KUBERNETES_SERVICE_HOST", "");  // unset: not in a cluster
  agent_.SetEnv("KUBERNETES_SERVICE_PORT", "");
  std::string path = WriteConfig({.extra_top = R"(  - job_name: pods
    kubernetes_sd_configs: [{role: pod}]
)"});
  ASSERT_TRUE(agent_.Start({"-config.file=" + path}));
  EXPECT_EQ(agent_.Wait(), 1);
  EXPECT_NE(agent_.Stderr().find("scrape_configs[1] (pods): kubernetes_sd_configs: not running "
                                 "in a cluster"),
            std::string::npos)
      << agent_.Stderr();
}

// A key Promtail's stage decoding ignores (a typo, an option of another version) does not stop
// a config Promtail ran: the agent starts and says where the key is.
TEST_F(Cli, AKeyAPromtailStageIgnoresIsAWarningWithItsPosition) {
  std::string path =
      WriteConfig({.pipeline_stages = "[{regex: {expression: \"(?P<a>x)\", sorce: y}}]"});
  ASSERT_TRUE(agent_.Start({"-config.file=" + path, "-check-syntax"}));
  EXPECT_EQ(agent_.Wait(), 0) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("skidder: warning: " + path + ":"), std::string::npos)
      << agent_.Stderr();
  EXPECT_NE(
      agent_.Stderr().find(
          "pipeline_stages[0].regex: unknown key \"sorce\" (did you mean \"source\"?): ignored, as "
          "Promtail ignores it"),
      std::string::npos)
      << agent_.Stderr();
}

// Alloy refuses an attribute a block does not have: so does skidder, in a stage.* block too.
TEST_F(Cli, AnAttributeAnAlloyStageDoesNotHaveIsRefused) {
  const std::string path = dir_ / "config.alloy";
  WriteFile(path,
            "loki.write \"default\" { endpoint { url = \"http://127.0.0.1:1/push\" } }\n"
            "loki.source.file \"app\" {\n"
            "  targets    = [{\"__path__\" = \"" +
                logs() +
                "/*.log\"}]\n"
                "  forward_to = [loki.process.p.receiver]\n"
                "}\n"
                "loki.process \"p\" {\n"
                "  stage.regex {\n"
                "    expression = \"(?P<a>x)\"\n"
                "    sorce      = \"y\"\n"
                "  }\n"
                "  forward_to = [loki.write.default.receiver]\n"
                "}\n");
  ASSERT_TRUE(agent_.Start({"-config.file=" + path, "-check-syntax"}));
  EXPECT_EQ(agent_.Wait(), 1) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("stage.regex: unknown key \"sorce\""), std::string::npos)
      << agent_.Stderr();
}

TEST_F(Cli, InvalidRegexInAStageIsRefusedWithItsPosition) {
  std::string path = WriteConfig({.pipeline_stages = "[{regex: {expression: \"(unclosed\"}}]"});
  ASSERT_TRUE(agent_.Start({"-config.file=" + path, "-check-syntax"}));
  EXPECT_EQ(agent_.Wait(), 1);
  EXPECT_NE(agent_.Stderr().find(path + ":"), std::string::npos) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("expression"), std::string::npos) << agent_.Stderr();
}

// Alloy evaluates every component: a loki.process no source reaches yet (a pipeline kept for
// later) is still built, and its error named where it is.
TEST_F(Cli, AnUnusedAlloyProcessWithABadStageIsRefusedWithItsPosition) {
  const std::string path = dir_ / "config.alloy";
  const std::string head =
      "loki.write \"default\" { endpoint { url = \"http://127.0.0.1:1/loki/api/v1/push\" } }\n"
      "loki.source.file \"app\" {\n"
      "  targets    = [{\"__path__\" = \"" +
      logs() +
      "/*.log\"}]\n"
      "  forward_to = [loki.write.default.receiver]\n"
      "}\n"
      "loki.process \"later\" {\n";
  WriteFile(path, head +
                      "  stage.regex { expression = \"(unclosed\" }\n"
                      "  forward_to = [loki.write.default.receiver]\n"
                      "}\n");
  ASSERT_TRUE(agent_.Start({"-config.file=" + path, "-check-syntax"}));
  EXPECT_EQ(agent_.Wait(), 1);
  EXPECT_NE(agent_.Stderr().find(path + ":7:3"), std::string::npos) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("expression"), std::string::npos) << agent_.Stderr();
  // Fixed, it is accepted (and still reaches nothing).
  WriteFile(path, head +
                      "  stage.regex { expression = \"(?P<level>\\\\w+)\" }\n"
                      "  forward_to = [loki.write.default.receiver]\n"
                      "}\n");
  ASSERT_TRUE(agent_.Start({"-config.file=" + path, "-check-syntax"}));
  EXPECT_EQ(agent_.Wait(), 0) << agent_.Stderr();
}

TEST_F(Cli, CheckSyntaxAcceptsTheBundledConfigs) {
  for (const char* cfg : {"config/default.yaml", "config/kubernetes.yaml"}) {
    ASSERT_TRUE(agent_.Start(
        {"-config.file=" + std::string(SKIDDER_SOURCE_DIR) + "/" + cfg, "-check-syntax"}));
    EXPECT_EQ(agent_.Wait(), 0) << cfg << ": " << agent_.Stderr();
  }
}

// Promtail's .deb keeps positions in /tmp/positions.yaml; under a unit with PrivateTmp that file
// is gone at the next start and everything is sent again: said once at start.
TEST_F(Cli, APositionsFileInTmpIsWarnedAbout) {
  WriteFile(logs() + "/a.log", "hello\n");
  StartAgent(WriteConfig());
  ASSERT_TRUE(WaitFor([&] { return loki_.LineCount() >= 1; }));
  const bool in_tmp = positions_file().starts_with("/tmp/");  // unless TMPDIR is elsewhere
  EXPECT_EQ(
      agent_.Stderr().find("the positions file is in a temporary directory") != std::string::npos,
      in_tmp)
      << positions_file() << "\n"
      << agent_.Stderr();
  EXPECT_EQ(agent_.Terminate(), 0);
}

// Dashboards built for Promtail read its build info and the process_* series of Go's client.
TEST_F(Cli, MetricsHaveBuildInfoAndTheProcessSeries) {
  StartAgent(WriteConfig());
  EXPECT_EQ(agent_.Metric("promtail_build_info", {"version=\""}), 1);
  EXPECT_GT(agent_.Metric("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(agent_.Metric("process_virtual_memory_bytes"), 1e6);
  EXPECT_GT(agent_.Metric("process_open_fds"), 3);
  EXPECT_GE(agent_.Metric("process_max_fds"), agent_.Metric("process_open_fds"));
  EXPECT_GE(agent_.Metric("process_cpu_seconds_total"), 0);
  const double now = static_cast<double>(std::time(nullptr));
  const double started = agent_.Metric("process_start_time_seconds");
  EXPECT_LE(started, now + 2);
  EXPECT_GT(started, now - 600);  // it was started by this test
  EXPECT_EQ(agent_.Terminate(), 0);
}

TEST_F(Cli, DryRunPrintsEntriesAndLeavesPositionsAlone) {
  WriteFile(logs() + "/a.log", "hello world\n");
  StartAgent(WriteConfig(), {"-dry-run"});
  ASSERT_TRUE(WaitFor([&] { return agent_.Stdout().find("hello world") != std::string::npos; }));
  EXPECT_NE(agent_.Stdout().find("job=\"itest\""), std::string::npos) << agent_.Stdout();
  EXPECT_EQ(agent_.Terminate(), 0);
  EXPECT_EQ(loki_.RequestCount(), 0u);
  EXPECT_FALSE(std::filesystem::exists(positions_file()));
}

TEST_F(Cli, DryRunShowsEveryFileFromItsStartAndNeverTouchesThePositionsFile) {
  WriteFile(logs() + "/a.log", "first\nsecond\n");
  const std::string garbage = "not a positions file {";
  WriteFile(positions_file(), garbage);
  std::string config = WriteConfig();
  for (int run = 0; run < 2; ++run) {  // a pipeline developer runs it again and again
    StartAgent(config, {"-dry-run"});
    ASSERT_TRUE(WaitFor([&] { return agent_.Stdout().find("second") != std::string::npos; }));
    EXPECT_NE(agent_.Stdout().find("first"), std::string::npos);
    EXPECT_EQ(agent_.Terminate(), 0);
  }
  EXPECT_EQ(ReadFile(positions_file()), garbage);
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_EQ(e.path().filename().string().find("positions.json.corrupt"), std::string::npos);
  }
}

TEST_F(Cli, StdinRunsTheFirstPipelineShipsEveryLineAndExitsAtEndOfInput) {
  std::string input = dir_ / "input.txt";
  WriteFile(input, "level=info msg=a\nlevel=warn msg=b\nlevel=error msg=c");  // last: no \n
  std::string config =
      WriteConfig({.pipeline_stages = "[{logfmt: {mapping: {level: }}}, {labels: {level: }}]"});
  agent_.SetStdinFile(input);
  ASSERT_TRUE(agent_.Start({"-config.file=" + config, "-stdin"}));
  EXPECT_EQ(agent_.Wait(), 0) << agent_.Stderr();
  ASSERT_EQ(loki_.LineCount(), 3u) << "all lines are flushed before exit";
  auto entries = loki_.Entries();
  EXPECT_EQ(entries[2].line, "level=error msg=c");
  EXPECT_NE(entries[2].labels.find("level=\"error\""), std::string::npos) << entries[2].labels;
  EXPECT_NE(entries[0].labels.find("job=\"itest\""), std::string::npos) << entries[0].labels;
  EXPECT_FALSE(std::filesystem::exists(positions_file()));
}

// `tail -f app.log | skidder -stdin`: a multiline block goes out after max_wait_time although no
// further line comes to close it (before, it waited for the next line or the end of input).
TEST_F(Cli, StdinFlushesAMultilineBlockAfterMaxWaitTimeWhileInputStaysOpen) {
  const std::string fifo = dir_ / "input.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  agent_.SetStdinFile(fifo);
  ASSERT_TRUE(agent_.Start(
      {"-config.file=" +
           WriteConfig(
               {.pipeline_stages = "[{multiline: {firstline: '^2024', max_wait_time: 500ms}}]"}),
       "-stdin"}));
  const int w = open(fifo.c_str(), O_WRONLY);  // meets the agent's open of its stdin
  ASSERT_GE(w, 0);
  const std::string block = "2024 a\n  at x\n";
  ASSERT_EQ(write(w, block.data(), block.size()), static_cast<ssize_t>(block.size()));
  ASSERT_TRUE(loki_.WaitForLines(1)) << agent_.Stderr();
  EXPECT_EQ(loki_.Entries()[0].line, "2024 a\n  at x");
  const std::string next = "2024 b\n";
  ASSERT_EQ(write(w, next.data(), next.size()), static_cast<ssize_t>(next.size()));
  close(w);  // end of input: the agent delivers the rest and exits
  EXPECT_EQ(agent_.Wait(), 0) << agent_.Stderr();
  ASSERT_EQ(loki_.LineCount(), 2u);
  EXPECT_EQ(loki_.Entries()[1].line, "2024 b");
}

TEST_F(Cli, StdinCutsLongLinesWithoutDroppingAByte) {
  // 2.5 MiB without a newline: cut into 1 MiB pieces, every byte delivered.
  std::string input = dir_ / "input.txt";
  std::string line(5 * 512 * 1024, 'z');
  for (size_t i = 0; i < line.size(); i += 4096) line[i] = static_cast<char>('a' + (i / 4096) % 26);
  WriteFile(input, line + "\nshort\n");
  agent_.SetStdinFile(input);
  ASSERT_TRUE(agent_.Start({"-config.file=" + WriteConfig(), "-stdin"}));
  EXPECT_EQ(agent_.Wait(), 0) << agent_.Stderr();
  std::string joined;
  for (const auto& e : loki_.Entries()) {
    if (e.line != "short") joined += e.line;
  }
  EXPECT_EQ(joined.size(), line.size());
  EXPECT_EQ(joined, line);
}

TEST_F(Cli, StdinThatCannotBeDeliveredExitsNonZero) {
  std::string input = dir_ / "input.txt";
  WriteFile(input, "a\nb\n");
  loki_.SetFailFor(std::chrono::minutes(5), 503);
  agent_.SetStdinFile(input);
  ASSERT_TRUE(agent_.Start({"-config.file=" + WriteConfig(), "-stdin"}));
  EXPECT_EQ(agent_.Wait(60000), 1) << agent_.Stderr();
  EXPECT_NE(agent_.Stderr().find("cannot be read again"), std::string::npos) << agent_.Stderr();
  EXPECT_EQ(agent_.Stderr().find("re-read on next start"), std::string::npos) << agent_.Stderr();
}

TEST_F(Cli, MetricsAndReadyAreServed) {
  WriteFile(logs() + "/a.log", "x\n");
  StartAgent(WriteConfig());
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_EQ(agent_.HttpGet("/ready"), "Ready\n");
  ASSERT_TRUE(WaitFor([&] { return agent_.Metric("promtail_sent_entries_total") == 1; }));
  EXPECT_GT(agent_.Metric("promtail_read_bytes_total"), 0);
  EXPECT_EQ(agent_.Metric("promtail_files_active_total"), 1);
}

TEST_F(Cli, CredentialsNeverAppearInLogs) {
  std::string path = WriteConfig({.extra_client = "    basic_auth:\n      username: u\n"
                                                  "      password: hunter2-secret\n"});
  loki_.ScriptStatuses({401, 401});
  WriteFile(logs() + "/a.log", "x\n");
  StartAgent(path, {"-print-config-stderr"});
  ASSERT_TRUE(loki_.WaitForLines(1));
  EXPECT_EQ(agent_.Stderr().find("hunter2-secret"), std::string::npos) << agent_.Stderr();
}

}  // namespace
}  // namespace skidder::testing
