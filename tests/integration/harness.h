// Shared fixture for integration tests: a temp dir with a logs/ folder, a FakeLoki on loopback,
// and the real skidder binary started on a generated config.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "support/agent_process.h"
#include "support/fake_loki.h"
#include "support/test_util.h"

namespace skidder::testing {

struct AgentConfig {
  std::string pipeline_stages = "[]";  // YAML flow list
  std::string path_glob;               // default: <dir>/logs/**/*.log
  std::string extra_client;            // YAML lines appended to the client (indented 4)
  std::string extra_top;               // YAML appended at top level
  std::string extra_labels;            // YAML lines added to the static labels (indented 10)
  std::string extra_server;            // YAML lines added to server (indented 2)
  std::string positions_sync = "100ms";
  std::string batchwait = "50ms";
};

class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  std::string logs() const { return dir_ / "logs"; }
  std::string positions_file() const { return dir_ / "positions.json"; }
  // Writes the config file and returns its path.
  std::string WriteConfig(const AgentConfig& c = {});
  // Starts the agent on the config; waits until it serves /ready.
  void StartAgent(const std::string& config_path, std::vector<std::string> extra_args = {});
  // An Alloy config's `loki.write "default"` pushing to the fake Loki with a short batch wait,
  // to append to the components that forward to loki.write.default.receiver.
  std::string AlloyWrite() const;
  // Count of each line received (to check exactly-once / at-least-once).
  std::map<std::string, int> ReceivedCounts() const;
  // "<prefix>-<n>" lines, n in [from, to).
  static std::string Lines(const std::string& prefix, int from, int to);
  // Expects each of the lines to have arrived exactly once (or at least once).
  void ExpectEachOnce(const std::string& prefix, int from, int to, bool allow_duplicates = false);

  TempDir dir_;
  FakeLoki loki_;
  AgentProcess agent_{SKIDDER_BINARY, dir_.path()};
};

}  // namespace skidder::testing
