// Hostile log lines against the real binary (issue 9, item 1): a 200 KB line of nested JSON
// used to crash the agent in the json stage, and every restart died on it again.
#include <string>

#include "harness.h"

namespace skidder::testing {
namespace {

class HostileInput : public IntegrationTest {};

TEST_F(HostileInput, DeeplyNestedJsonLineNeitherCrashesTheAgentNorHoldsBackOthers) {
  StartAgent(WriteConfig(
      {.pipeline_stages = "[{json: {expressions: {level: level}}}, {labels: {level: }}]"}));
  const std::string nested = std::string(100000, '[') + std::string(100000, ']');
  WriteFile(logs() + "/a.log", "{\"level\":\"info\",\"msg\":\"before\"}\n" + nested + "\n" +
                                   "{\"level\":\"warn\",\"msg\":\"after\"}\n");
  ASSERT_TRUE(loki_.WaitForLines(3)) << loki_.LineCount();
  EXPECT_TRUE(agent_.Running());
  // Promtail passes a line its JSON decoder refuses on unchanged, without the extracted label.
  std::map<std::string, std::string> level_of;
  for (const ReceivedEntry& e : loki_.Entries()) {
    const size_t at = e.labels.find("level=\"");
    level_of[e.line] = at == std::string::npos
                           ? "<none>"
                           : e.labels.substr(at + 7, e.labels.find('"', at + 7) - at - 7);
  }
  EXPECT_EQ(level_of["{\"level\":\"info\",\"msg\":\"before\"}"], "info");
  EXPECT_EQ(level_of["{\"level\":\"warn\",\"msg\":\"after\"}"], "warn");
  ASSERT_TRUE(level_of.contains(nested));
  EXPECT_EQ(level_of[nested], "<none>");
  EXPECT_EQ(agent_.HttpGet("/ready"), "Ready\n");
  EXPECT_EQ(agent_.Terminate(), 0);
}

}  // namespace
}  // namespace skidder::testing
