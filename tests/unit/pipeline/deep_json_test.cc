// Hostile JSON through the json stage: no nesting depth may crash the agent (issue 9, item 1).
#include <gtest/gtest.h>

#include <string>

#include "stage_test_util.h"
#include "util/json_parse.h"

namespace skidder::pipeline {
namespace {

using testing::ExtractedOr;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;
using testing::TestMetrics;

std::string Nested(size_t depth, std::string_view open = "[", std::string_view close = "]") {
  std::string s;
  s.reserve(depth * (open.size() + close.size()));
  for (size_t i = 0; i < depth; ++i) s += open;
  for (size_t i = 0; i < depth; ++i) s += close;
  return s;
}

// The reproduction from the issue: 100000 '[' then 100000 ']' (200 KB) used to overflow the
// stack in the recursive parser.
TEST(JsonStage, PassesOnADeeplyNestedLineUnchangedAsPromtailDoes) {
  auto stage = MustBuild("json:\n  expressions:\n    a:");
  for (const std::string& line : {Nested(100000), "{\"a\":" + Nested(200000, "{\"b\":", "}") + "}",
                                  "{\"a\":1,\"x\":" + Nested(100000) + "}"}) {
    auto out = RunStage(*stage, MakeEntry(line));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].entry.line, line);
    EXPECT_TRUE(out[0].extracted.empty());
  }
}

TEST(JsonStage, DropsADeeplyNestedLineAsMalformedWhenAskedTo) {
  TestMetrics m;
  auto stage =
      MustBuild("json:\n  expressions:\n    a:\n  drop_malformed: true", testing::Ctx(&m.metrics));
  EXPECT_TRUE(RunStage(*stage, MakeEntry("{\"a\":" + Nested(200000) + "}")).empty());
  EXPECT_EQ(m.Dropped("malformed"), 1);
}

// Up to the limit, a nested value is extracted (and serialised back) as before.
TEST(JsonStage, ExtractsValuesNestedUpToTheDepthLimit) {
  auto stage = MustBuild("json:\n  expressions:\n    a:\n    b: b[0]");
  const std::string inner = Nested(kMaxJsonDepth - 1);
  auto out = RunStage(*stage, MakeEntry("{\"a\":" + inner + ",\"b\":[7]}"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "a"), inner);
  EXPECT_EQ(ExtractedOr(out[0], "b"), "7");
  // One level more and the line is malformed: passed on without extracted values.
  out = RunStage(*stage, MakeEntry("{\"a\":" + Nested(kMaxJsonDepth) + ",\"b\":[7]}"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].extracted.empty());
}

// The stage reuses its arenas: a refused line leaves nothing behind for the next one.
TEST(JsonStage, ParsesNormalLinesAfterADeepOne) {
  auto stage = MustBuild("json:\n  expressions:\n    a:");
  RunStage(*stage, MakeEntry("{\"a\":" + Nested(150000, "{\"b\":", "}") + "}"));
  auto out = RunStage(*stage, MakeEntry(R"({"a":"after"})"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "a"), "after");
}

TEST(ParseJsonBounded, ReportsTooDeepWithItsOffsetAndKeepsOtherErrors) {
  rapidjson::Document d;
  JsonParseResult r = ParseJsonBounded(d, Nested(5000));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.too_deep);
  EXPECT_EQ(r.Describe(), "nesting deeper than 1000 at offset 1000");
  r = ParseJsonBounded(d, "{\"a\":1} x");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.too_deep);
  EXPECT_NE(r.Describe().find("at offset 8"), std::string::npos) << r.Describe();
  r = ParseJsonBounded(d, "{\"a\":[1,{\"b\":null}]}");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(d["a"][1]["b"].IsNull(), true);
}

}  // namespace
}  // namespace skidder::pipeline
