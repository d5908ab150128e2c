#include <gtest/gtest.h>

#include "pipeline/pipeline.h"
#include "pipeline/stages/json.h"
#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::ExtractedOr;
using testing::LabelOr;
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
  // null and a missing key are Promtail's nil: there, without a value (not an empty one).
  EXPECT_EQ(e.extracted.GetOwn("nothing"), nullptr);
  EXPECT_TRUE(e.extracted.IsNil("nothing"));
  EXPECT_TRUE(e.extracted.IsNil("missing"));
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

// Go's JSON decoder replaces invalid UTF-8 in strings with U+FFFD, so in Promtail a labels stage
// after json takes such a value; raw bytes would make it skip the label.
TEST(JsonStage, InvalidUtf8InAValueBecomesTheReplacementCharacterAsInGo) {
  auto stage = MustBuild("json:\n  expressions:\n    level:\n    obj:");
  auto out = RunStage(*stage, MakeEntry("{\"level\":\"w\xFF"
                                        "arn\",\"obj\":{\"k\":\"\xC3\"}}"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "level"), "w\uFFFDarn");
  // An object is re-encoded as Go's json.Marshal does it: the bad byte as the escape \ufffd.
  EXPECT_EQ(ExtractedOr(out[0], "obj"), R"({"k":"\ufffd"})");
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

TEST(JsonStage, ExtractsWithFiltersSlicesPipesAndFunctions) {
  auto stage = MustBuild(R"(json:
  expressions:
    errors: 'events[?level == `"error"`].msg'
    first_two: 'events[:2].msg'
    count: 'length(events)'
    last: 'events[-1] | msg'
    summary: '{n: length(events), levels: sort(events[*].level)}'
    joined: 'join(`,`, events[*].msg)'
    bad_type: 'abs(events)')");
  auto out =
      RunStage(*stage, MakeEntry(R"({"events":[{"level":"info","msg":"a"},)"
                                 R"({"level":"error","msg":"b"},{"level":"error","msg":"c"}]})"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ExtractedOr(out[0], "errors"), R"(["b","c"])");
  EXPECT_EQ(ExtractedOr(out[0], "first_two"), R"(["a","b"])");
  EXPECT_EQ(ExtractedOr(out[0], "count"), "3");
  EXPECT_EQ(ExtractedOr(out[0], "last"), "c");
  // Keys in byte order, as Go marshals the map go-jmespath builds.
  EXPECT_EQ(ExtractedOr(out[0], "summary"), R"({"levels":["error","error","info"],"n":3})");
  EXPECT_EQ(ExtractedOr(out[0], "joined"), "a,b,c");       // `,` is not JSON: read as a string
  EXPECT_EQ(ExtractedOr(out[0], "bad_type"), "<absent>");  // a run-time error sets nothing
  EXPECT_FALSE(out[0].extracted.IsNil("bad_type"));
}

// Promtail's json stage stores nil for null or a missing key, and the stages after it take nil
// for no value: `output` keeps the line, `labels` keeps the label. An empty value instead sent
// the line empty and removed the label (moving the entry to another stream).
TEST(JsonStage, ANullOrMissingValueLeavesTheLineAndTheLabelsAsTheyWere) {
  auto p =
      Pipeline::Build(testing::StagesYaml("- json:\n    expressions: {msg: message, app: app}\n"
                                          "- output: {source: msg}\n"
                                          "- labels: {app: }\n"),
                      {});
  ASSERT_TRUE(p.has_value()) << p.error().message();
  for (const std::string line : {R"({"level":"info"})", R"({"message":null,"app":null})"}) {
    Collect c;
    (*p)->Process(MakeEntry(line, Labels{{"app", "api"}}), c);
    ASSERT_EQ(c.entries.size(), 1u) << line;
    EXPECT_EQ(c.entries[0].entry.line, line);
    EXPECT_EQ(LabelOr(c.entries[0], "app"), "api") << line;
  }
  Collect c;
  (*p)->Process(MakeEntry(R"({"message":"hi","app":"web"})", Labels{{"app", "api"}}), c);
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].entry.line, "hi");
  EXPECT_EQ(LabelOr(c.entries[0], "app"), "web");
}

// nil hides a label of the same name (Promtail's extracted map starts from the labels, and the
// json stage's nil replaces the value there), yet is there for a drop that asks only that.
TEST(JsonStage, ANilHidesTheLabelOfItsNameButIsThereForDrop) {
  auto p = Pipeline::Build(testing::StagesYaml("- json:\n    expressions: {app: kube.app}\n"
                                               "- labels: {application: app}\n"),
                           {});
  ASSERT_TRUE(p.has_value()) << p.error().message();
  Collect c;
  (*p)->Process(MakeEntry(R"({"kube":{}})", Labels{{"app", "api"}}), c);
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(LabelOr(c.entries[0], "application"), "<absent>");
  auto drop = Pipeline::Build(testing::StagesYaml("- json:\n    expressions: {err: error}\n"
                                                  "- drop: {source: err}\n"),
                              {});
  ASSERT_TRUE(drop.has_value()) << drop.error().message();
  Collect d;
  (*drop)->Process(MakeEntry(R"({"error":null})"), d);
  (*drop)->Process(MakeEntry(R"({"ok":true})"), d);
  (*drop)->Process(MakeEntry("not json"), d);  // no json stage value at all: kept
  ASSERT_EQ(d.entries.size(), 1u);
  EXPECT_EQ(d.entries[0].entry.line, "not json");
}

TEST(JsonStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("json:\n  expressions:\n    x: 'a[?b'"),
            "promtail.yaml:3:5: pipeline_stages[0].expressions: x: invalid JMESPath expression "
            "\"a[?b\" at offset 4: expected ]");
  EXPECT_EQ(ConfigError("json:\n  expressions:\n    x: 'lenght(a)'"),
            "promtail.yaml:3:5: pipeline_stages[0].expressions: x: invalid JMESPath expression "
            "\"lenght(a)\" at offset 6: unknown-function: lenght()");
  EXPECT_EQ(ConfigError("json:\n  source: x"),
            "promtail.yaml:2:3: pipeline_stages[0].expressions: at least one expression is "
            "required");
  EXPECT_EQ(
      ConfigError("json:\n  expressions: {a: }\n  sauce: x"),
      "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"sauce\" (did you mean \"source\"?)");
}

// Go's ParseFloat rounds a number of many digits exactly; rapidjson's default parse was a few
// ulps off (1.2345678901234566e+29 for the first, 2.2250738585072014e-308 for the second), and
// C++'s shortest fixed form spelled out the first's exact integer (...677877719597056).
TEST(JsonStage, NumbersOfManyDigitsRoundAsInGo) {
  auto stage = MustBuild(
      "json:\n  expressions:\n    wide: wide\n    tiny: tiny\n    under: under\n    zero: zero");
  auto out = RunStage(*stage, MakeEntry(R"({"wide":123456789012345678901234567890,)"
                                        R"("tiny":2.2250738585072011e-308,"under":-1e-400,)"
                                        R"("zero":-0})"));
  ASSERT_EQ(out.size(), 1u);
  // Printed as Go's strconv.FormatFloat(v, 'f', -1, 64): the shortest digits, zero-padded.
  EXPECT_EQ(ExtractedOr(out[0], "wide"), "123456789012345680000000000000");
  EXPECT_EQ(ExtractedOr(out[0], "tiny"), "0." + std::string(307, '0') + "2225073858507201");
  EXPECT_EQ(ExtractedOr(out[0], "under"), "-0");  // below the smallest denormal: 0, as in Go
  EXPECT_EQ(ExtractedOr(out[0], "zero"), "-0");   // Go's float64 -0
}

}  // namespace
}  // namespace skidder::pipeline
