// Configs that explode or are not configs at all (issue 9, item 5): refused at once, with a
// position, and without copying the file's content into the message.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "config/loader.h"
#include "config/yaml_reader.h"
#include "support/test_util.h"

namespace skidder::config {
namespace {

using skidder::testing::TempDir;
using skidder::testing::WriteFile;

constexpr const char* kHead =
    "clients: [{url: 'http://127.0.0.1:1/loki/api/v1/push'}]\n"
    "scrape_configs:\n"
    "- job_name: j\n"
    "  static_configs: [{targets: [localhost], labels: {__path__: /tmp/x.log}}]\n"
    "  pipeline_stages: [";

// Level k is a match stage whose stages are level k-1 and eight aliases of it: 9^k stages from
// a few hundred bytes (800 bytes for the 4.8 million stages of level 7).
std::string Bomb(int k) {
  if (k == 0) return "&x0 {labels: {a: }}";
  std::string refs;
  for (int i = 0; i < 8; ++i) refs += ", *x" + std::to_string(k - 1);
  return "&x" + std::to_string(k) + " {match: {selector: '{a=\"b\"}', stages: [" + Bomb(k - 1) +
         refs + "]}}";
}

TEST(HostileConfig, RefusesAnAliasBombAtTheAliasThatExceedsTheBound) {
  const std::string yaml = std::string(kHead) + Bomb(7) + "]\n";
  ASSERT_LT(yaml.size(), 1200u);
  Result<Config> cfg = ParseConfig(yaml, "bomb.yaml", false);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message().rfind("bomb.yaml:5:", 0), 0u) << cfg.error().message();
  EXPECT_NE(
      cfg.error().message().find("yaml: aliases expand to more than 100000 nodes (an alias bomb?)"),
      std::string::npos)
      << cfg.error().message();
}

// Anchors that reuse a pipeline across jobs, as people write them, stay fine.
TEST(HostileConfig, AcceptsOrdinaryAnchorsAndAliases) {
  std::string yaml =
      "clients: [{url: 'http://127.0.0.1:1/loki/api/v1/push'}]\n"
      "scrape_configs:\n"
      "- job_name: j0\n"
      "  static_configs: [{targets: [localhost], labels: {__path__: /tmp/x.log}}]\n"
      "  pipeline_stages: &p [" +
      Bomb(2) + "]\n";
  for (int i = 1; i < 50; ++i) {
    yaml += "- job_name: j" + std::to_string(i) +
            "\n  static_configs: [{targets: [localhost], labels: {__path__: /tmp/x.log}}]\n"
            "  pipeline_stages: *p\n";
  }
  Result<Config> cfg = ParseConfig(yaml, "ok.yaml", false);
  ASSERT_TRUE(cfg) << cfg.error().message();
  EXPECT_EQ(cfg->scrape_configs.size(), 50u);
}

TEST(HostileConfig, RefusesDeepNestingWithAPosition) {
  const std::string yaml = "server: " + std::string(100000, '[') + std::string(100000, ']');
  Result<Config> cfg = ParseConfig(yaml, "deep.yaml", false);
  ASSERT_FALSE(cfg);
  // yaml-cpp reports where its scanner stood, not where the 501st level opened.
  EXPECT_EQ(cfg.error().message(), "deep.yaml:1:200009: yaml: nested more than 500 levels deep");
}

TEST(HostileConfig, RefusesDevZeroAndFifosAtOnce) {
  Flags flags;
  flags.config_file = "/dev/zero";
  Result<Config> cfg = LoadConfig(flags);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(), "config file /dev/zero is not a regular file");
  TempDir dir;
  // No writer ever opens the FIFO: reading it would block for ever.
  flags.config_file = dir / "fifo";
  ASSERT_EQ(::mkfifo(flags.config_file.c_str(), 0600), 0);
  cfg = LoadConfig(flags);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(), "config file " + flags.config_file + " is not a regular file");
  flags.config_file = dir.path();
  cfg = LoadConfig(flags);
  ASSERT_FALSE(cfg);
  EXPECT_NE(cfg.error().message().find("is not a regular file"), std::string::npos);
}

TEST(HostileConfig, RefusesFilesOverSixteenMebibytes) {
  TempDir dir;
  Flags flags;
  flags.config_file = dir / "big.yaml";
  WriteFile(flags.config_file, "server: {}\n" + std::string(kMaxConfigBytes, '#'));
  Result<Config> cfg = LoadConfig(flags);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(), "config file " + flags.config_file + " is larger than 16 MiB");
}

// -config.file=/etc/shadow printed the file's first line; -config.file=/etc/hostname its content.
TEST(HostileConfig, NeverQuotesAFileThatIsNotAConfig) {
  TempDir dir;
  Flags flags;
  flags.config_file = dir / "shadow";
  WriteFile(flags.config_file,
            "root:$6$s3cr3tsalt$hashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n");
  Result<Config> cfg = LoadConfig(flags);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(),
            flags.config_file + ":1:1: unknown key (not shown: it is no config key)");
  WriteFile(flags.config_file, "hunter2-the-password\n");
  cfg = LoadConfig(flags);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(),
            flags.config_file +
                ":1:1: the file is a single text value, not a mapping of config sections: is it "
                "a skidder or Promtail config file?");
}

TEST(HostileConfig, QuotesAtMostAShortExcerptOfAValue) {
  const std::string long_value(10000, 'v');
  Result<Config> cfg =
      ParseConfig("server: {http_listen_port: " + long_value + "}\n", "cfg.yaml", false);
  ASSERT_FALSE(cfg);
  EXPECT_EQ(cfg.error().message(),
            "cfg.yaml:1:28: server.http_listen_port: expected an integer, "
            "got \"" +
                std::string(64, 'v') + "\"...");
}

}  // namespace
}  // namespace skidder::config
