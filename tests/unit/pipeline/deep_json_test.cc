// Hostile JSON through the json stage: no nesting depth may crash the agent (issue 9, item 1), and
// a lone UTF-16 surrogate escape reads as Go reads it.
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

// As Go's encoding/json: a \u escape of a surrogate that is not half of a pair is U+FFFD, and the
// rest of the document is read as usual (rapidjson alone refuses a lone high surrogate).
TEST(ParseJsonBounded, ReadsALoneSurrogateAsTheReplacementCharacterAsGoDoes) {
  const std::string kFffd = "\xEF\xBF\xBD", kGrin = "\xF0\x9F\x98\x80";
  struct Case {
    std::string json, want;
  } cases[] = {
      {R"(["cut \ud83d"])", "cut " + kFffd},
      {R"(["cut \uD83D", 1])", "cut " + kFffd},
      {R"(["\ud83d\ude00"])", kGrin},
      {R"(["\udc00x"])", kFffd + "x"},
      {R"(["\ud800\ud83d\ude00"])", kFffd + kGrin},
      {R"(["\ud800\u0041"])", kFffd + "A"},
      {R"(["\\ud800"])", "\\ud800"},  // an escaped backslash, then text
      {R"(["\\\ud800"])", "\\" + kFffd},
      {R"(["\"\ud83d"])", "\"" + kFffd},
  };
  for (const Case& c : cases) {
    rapidjson::Document d;
    JsonParseResult r = ParseJsonBounded(d, c.json);
    ASSERT_TRUE(r.ok()) << c.json << ": " << r.Describe();
    ASSERT_TRUE(d.IsArray() && d[0].IsString()) << c.json;
    EXPECT_EQ(std::string(d[0].GetString(), d[0].GetStringLength()), c.want) << c.json;
  }
  // Errors after a repaired escape keep their offsets (the repair does not change the length).
  rapidjson::Document d;
  JsonParseResult r = ParseJsonBounded(d, R"(["\ud83d"] x)");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.Describe().find("at offset 11"), std::string::npos) << r.Describe();
}

// A line cut inside an emoji by a JavaScript logger still gives its fields.
TEST(JsonStage, ExtractsFromALineWithALoneSurrogate) {
  auto stage = MustBuild("json:\n  expressions:\n    level:\n    msg:");
  auto out = RunStage(*stage, MakeEntry(R"({"msg":"cut \ud83d","level":"info"})"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "level"), "info");
  EXPECT_EQ(ExtractedOr(out[0], "msg"), "cut \xEF\xBF\xBD");
}

}  // namespace
}  // namespace skidder::pipeline
