// A positions file nested too deep to parse is unreadable, not a crash (issue 9, item 1).
#include <gtest/gtest.h>

#include <string>

#include "sources/file/positions.h"
#include "support/test_util.h"
#include "telemetry/agent_metrics.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

TEST(PositionsDeepJson, DeeplyNestedPositionsFileStartsEmptyWithoutCrashing) {
  skidder::testing::TempDir dir;
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics(registry);
  const std::string file = dir / "positions.json";
  std::string deep = R"({"version":1,"files":[{"path":"/x","extra":)";
  deep += std::string(200000, '[') + std::string(200000, ']') + "}]}";
  for (const std::string& content : {deep, std::string(200000, '[')}) {
    skidder::testing::WriteFile(file, content);
    std::string log;
    log::CaptureForTest(&log);
    Positions p(file, false, &metrics);
    log::CaptureForTest(nullptr);
    EXPECT_TRUE(p.All().empty());
    EXPECT_NE(log.find("positions file is unreadable"), std::string::npos);
  }
}

}  // namespace
}  // namespace skidder::sources
