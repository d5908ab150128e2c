#include <gtest/gtest.h>

#include "pipeline/stages/json.h"
#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::ExtractedOr;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;
using testing::TestMetrics;

TEST(JsonStage, ExtractsValuesByExpressionLikePromtailsExample) {
  auto stage = MustBuild(R"(json:
  expressions:
    output: log
    stream: stream
    timestamp: time
    user:
    nested: extra.user
    first: items[0]
    last: items[-1]
    dashed: '"user-agent"'
    obj: extra
    arr: items
    num: n
    float: f
    big: big
    flag: ok
    nothing: nil
    missing: no.such.key)");
  auto out = RunStage(
      *stage,
      MakeEntry(
          R"({"log":"log message\n","stream":"stderr","time":"2019-04-30T02:12:41.8443515Z",)"
          R"("user":"alice","extra":{"user":"bob"},"items":[1,"two",3.5],"user-agent":"curl",)"
          R"("n":42,"f":0.25,"big":12345678901234567890,"ok":true,"nil":null})"));
  ASSERT_EQ(out.size(), 1u);
  const PipelineEntry& e = out[0];
  EXPECT_EQ(ExtractedOr(e, "output"), "log message\n");
  EXPECT_EQ(ExtractedOr(e, "stream"), "stderr");
  EXPECT_EQ(ExtractedOr(e, "timestamp"), "2019-04-30T02:12:41.8443515Z");
  EXPECT_EQ(ExtractedOr(e, "user"), "alice");
  EXPECT_EQ(ExtractedOr(e, "nested"), "bob");
  EXPECT_EQ(ExtractedOr(e, "first"), "1");
  EXPECT_EQ(ExtractedOr(e, "last"), "3.5");
  EXPECT_EQ(ExtractedOr(e, "dashed"), "curl");
  EXPECT_EQ(ExtractedOr(e, "obj"), R"({"user":"bob"})");
  EXPECT_EQ(ExtractedOr(e, "arr"), R"([1,"two",3.5])");
  EXPECT_EQ(ExtractedOr(e, "num"), "42");
  EXPECT_EQ(ExtractedOr(e, "float"), "0.25");
  EXPECT_EQ(ExtractedOr(e, "big"), "12345678901234567890");
  EXPECT_EQ(ExtractedOr(e, "flag"), "true");
  EXPECT_EQ(ExtractedOr(e, "nothing"), "");
  EXPECT_EQ(ExtractedOr(e, "missing"), "");
  EXPECT_EQ(e.entry.line.front(), '{');  // the line itself is unchanged
}

TEST(JsonStage, ParsesAnExtractedSource) {
  auto stage = MustBuild("json:\n  expressions:\n    app:\n  source: payload");
  Collect c;
  PipelineEntry pe{MakeEntry("line"), {}};
  pe.extracted.Set("payload", R"({"app":"loki"})");
  stage->Process(std::move(pe), c);
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(ExtractedOr(c.entries[0], "app"), "loki");
}

TEST(JsonStage, PassesOrDropsLinesThatAreNotJsonObjects) {
  TestMetrics m;
  auto keep = MustBuild("json:\n  expressions:\n    a:");
  auto drop =
      MustBuild("json:\n  expressions:\n    a:\n  drop_malformed: true", testing::Ctx(&m.metrics));
  for (const char* bad : {"plain text", "[1,2]", "{\"a\":", "\"str\""}) {
    SCOPED_TRACE(bad);
    auto out = RunStage(*keep, MakeEntry(bad));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].extracted.empty());
    EXPECT_TRUE(RunStage(*drop, MakeEntry(bad)).empty());
  }
  EXPECT_EQ(m.Dropped("malformed"), 4);
}

// Projections, flatten and multi-select lists, with the results JMESPath's specification gives.
TEST(JsonPath, EvaluatesWildcardsProjectionsAndMultiSelectLists) {
  const char* doc =
      R"({"people":[{"first":"James","last":"d","age":30},{"first":"Jacob","last":"e"},)"
      R"({"first":"Jayden","last":"f","age":null},{"missing":"different"}],)"
      R"("ops":{"functionA":{"numArgs":2},"functionB":{"numArgs":3},"functionC":{"variadic":true}},)"
      R"("reservations":[{"instances":[{"state":"running"},{"state":"stopped"}]},)"
      R"({"instances":[{"state":"terminated"},{"state":"running"}]}],)"
      R"("nested":[[0,1],2,[3,[4,5]]],"a-b":{"c":[1,2]},"foo":{"bar":"x","baz":"y","n":null}})";
  const std::pair<const char*, const char*> cases[] = {
      {"people[*].first", R"(["James","Jacob","Jayden"])"},
      {"people[*].age", "[30]"},  // nulls and missing values are dropped
      {"people[0].first", "James"},
      {"people[-1].missing", "different"},
      {"people[*]", R"([{"first":"James","last":"d","age":30},{"first":"Jacob","last":"e"},)"
                    R"({"first":"Jayden","last":"f","age":null},{"missing":"different"}])"},
      {"ops.*.numArgs", "[2,3]"},
      {"ops.*", R"([{"numArgs":2},{"numArgs":3},{"variadic":true}])"},
      {"reservations[*].instances[*].state", R"([["running","stopped"],["terminated","running"]])"},
      {"reservations[].instances[].state", R"(["running","stopped","terminated","running"])"},
      {"reservations[].instances[0].state", R"(["running","terminated"])"},
      {"nested[]", "[0,1,2,3,[4,5]]"},
      {"nested[][]", "[0,1,2,3,4,5]"},
      {"\"a-b\".c[*]", "[1,2]"},
      {"[foo.bar, foo.baz]", R"(["x","y"])"},
      {"foo.[bar, n]", R"(["x",null])"},
      {"people[*].[first, last]", R"([["James","d"],["Jacob","e"],["Jayden","f"],[null,null]])"},
      {"people[*].first | [0]", "<error>"},
      {"foo.*", R"(["x","y"])"},
      {"*.bar", R"(["x"])"},
      {"nothing[*].x", ""},
      {"foo.bar[*]", ""},   // not an array: null
      {"nope.[a, b]", ""},  // multi-select on null is null
  };
  using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;
  Doc d;
  d.Parse(doc);
  ASSERT_FALSE(d.HasParseError());
  for (auto [expr, want] : cases) {
    SCOPED_TRACE(expr);
    auto path = stages::CompileJsonPath(expr);
    if (std::string_view(want) == "<error>") {
      EXPECT_FALSE(path.has_value());
      continue;
    }
    ASSERT_TRUE(path.has_value()) << path.error().message();
    EXPECT_EQ(path->Eval(d), want);
  }
}

TEST(JsonPath, DecodesJsonEscapesInQuotedNamesButRefusesUnicodeOnes) {
  using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;
  Doc d;
  d.Parse(R"({"q\"t":"quote","a\\b/c":"slash","t\tn\n":"ctl","plain":"p"})");
  ASSERT_FALSE(d.HasParseError());
  const std::pair<const char*, const char*> cases[] = {
      {R"("q\"t")", "quote"},
      {R"("a\\b\/c")", "slash"},
      {R"("t\tn\n")", "ctl"},
      {R"("plain")", "p"},
  };
  for (auto [expr, want] : cases) {
    SCOPED_TRACE(expr);
    auto path = stages::CompileJsonPath(expr);
    ASSERT_TRUE(path.has_value()) << path.error().message();
    EXPECT_EQ(path->Eval(d), want);
  }
  for (const char* expr : {R"("\u00e9")", R"("bad\q")", R"("cut\")", R"("a\"b)"}) {
    SCOPED_TRACE(expr);
    auto r = stages::CompileJsonPath(expr);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("bad quoted name"), std::string::npos)
        << r.error().message();
  }
}

TEST(JsonStage, ExtractsProjectionsFromALine) {
  auto stage = MustBuild(R"(json:
  expressions:
    users: 'users[*].name'
    first_tag: 'tags[0]'
    both: '[level, msg]')");
  auto out = RunStage(*stage, MakeEntry(R"({"users":[{"name":"a"},{"name":"b"}],"tags":["x"],)"
                                        R"("level":"info","msg":"hi"})"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "users"), R"(["a","b"])");
  EXPECT_EQ(ExtractedOr(out[0], "first_tag"), "x");
  EXPECT_EQ(ExtractedOr(out[0], "both"), R"(["info","hi"])");
}

TEST(JsonPath, RefusesUnsupportedJmesPathAtConfigTime) {
  for (const char* expr :
       {"a | b", "length(a)", "a[?b==`1`]", "@", "a.", "a[0:2]", "\"unterminated", "a..b", "a b",
        "{x: a}", "a[*", "[a, b", "a.[]", "", "a[-]", "`1`", "a || b", "a.*.[", "*.1"}) {
    SCOPED_TRACE(expr);
    auto r = stages::CompileJsonPath(expr);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("unsupported JMESPath"), std::string::npos);
  }
  EXPECT_EQ(ConfigError("json:\n  expressions:\n    x: 'a[?b]'"),
            "promtail.yaml:3:5: pipeline_stages[0].expressions: x: unsupported JMESPath "
            "expression \"a[?b]\" at offset 2: only [n] indexes, [*] and [] may follow an "
            "expression (skidder supports names, \"quoted names\", dots, [n] indexes, [*], *, [] "
            "and [a, b])");
  EXPECT_EQ(ConfigError("json:\n  source: x"),
            "promtail.yaml:2:3: pipeline_stages[0].expressions: at least one expression is "
            "required");
  EXPECT_EQ(ConfigError("json:\n  expressions: {a: }\n  sauce: x"),
            "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"sauce\"");
}

}  // namespace
}  // namespace skidder::pipeline
