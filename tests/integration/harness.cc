#include "harness.h"

#include <fmt/format.h>

namespace skidder::testing {

void IntegrationTest::SetUp() {
  MakeDirs(logs());
  ASSERT_TRUE(loki_.Start());
}

void IntegrationTest::TearDown() {
  if (HasFailure()) {
    std::fprintf(stderr, "---- agent stderr (last run) ----\n%s\n", agent_.Stderr().c_str());
  }
  agent_.Kill();
  loki_.Stop();
}

std::string IntegrationTest::WriteConfig(const AgentConfig& c) {
  std::string glob = c.path_glob.empty() ? logs() + "/**/*.log" : c.path_glob;
  std::string yaml = fmt::format(
      R"(server:
  http_listen_port: 0
  log_level: debug
{extra_server}
positions:
  filename: {positions}
  sync_period: {sync}
clients:
  - url: {url}
    batchwait: {batchwait}
    timeout: 2s
    backoff_config:
      min_period: 20ms
      max_period: 200ms
{extra_client}
scrape_configs:
  - job_name: itest
    pipeline_stages: {stages}
    static_configs:
      - labels:
          job: itest
{extra_labels}
          __path__: {glob}
{extra_top}
)",
      fmt::arg("positions", positions_file()), fmt::arg("sync", c.positions_sync),
      fmt::arg("url", loki_.url()), fmt::arg("batchwait", c.batchwait),
      fmt::arg("extra_client", c.extra_client), fmt::arg("stages", c.pipeline_stages),
      fmt::arg("glob", glob), fmt::arg("extra_top", c.extra_top),
      fmt::arg("extra_labels", c.extra_labels), fmt::arg("extra_server", c.extra_server));
  std::string path = dir_ / "skidder.yaml";
  WriteFile(path, yaml);
  return path;
}

void IntegrationTest::StartAgent(const std::string& config_path,
                                 std::vector<std::string> extra_args) {
  std::vector<std::string> args = {"-config.file=" + config_path};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  ASSERT_TRUE(agent_.Start(args));
  ASSERT_TRUE(agent_.MetricsPort().has_value()) << agent_.Stderr();
}

std::string IntegrationTest::AlloyWrite() const {
  return fmt::format(R"(loki.write "default" {{
  endpoint {{
    url        = "{}"
    batch_wait = "50ms"
  }}
}}
)",
                     loki_.url());
}

std::map<std::string, int> IntegrationTest::ReceivedCounts() const {
  std::map<std::string, int> counts;
  for (const std::string& l : loki_.Lines()) ++counts[l];
  return counts;
}

std::string IntegrationTest::Lines(const std::string& prefix, int from, int to) {
  std::string out;
  for (int i = from; i < to; ++i) out.append(fmt::format("{}-{}\n", prefix, i));
  return out;
}

void IntegrationTest::ExpectEachOnce(const std::string& prefix, int from, int to,
                                     bool allow_duplicates) {
  auto counts = ReceivedCounts();
  int missing = 0, duplicated = 0;
  std::string first_missing;
  for (int i = from; i < to; ++i) {
    std::string key = fmt::format("{}-{}", prefix, i);
    auto it = counts.find(key);
    if (it == counts.end()) {
      if (missing++ == 0) first_missing = key;
    } else if (it->second > 1) {
      ++duplicated;
    }
  }
  EXPECT_EQ(missing, 0) << "first missing: " << first_missing;
  if (!allow_duplicates) {
    EXPECT_EQ(duplicated, 0);
  }
}

}  // namespace skidder::testing
