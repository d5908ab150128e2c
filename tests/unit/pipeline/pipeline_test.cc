#include "pipeline/pipeline.h"

#include <gtest/gtest.h>

#include "model/ack.h"
#include "stage_test_util.h"
#include "support/fake_clock.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::MakeEntry;
using testing::StagesYaml;
using testing::TestMetrics;

const char* kKubernetesPipeline = R"(
- cri: {}
- regex:
    expression: "level=(?P<level>\\w+) msg=\"(?P<msg>[^\"]*)\""
- labels:
    level:
- static_labels:
    cluster: prod
- drop:
    source: level
    value: debug
    drop_counter_reason: debug_logs
- output:
    source: msg
)";

std::vector<std::pair<std::string, std::string>> Fields(const Extracted& x) {
  return {x.begin(), x.end()};
}

TEST(Extracted, SetFieldsFillsAnEmptyMapInOrderAndReusesSpareSlots) {
  using KV = std::vector<std::pair<std::string, std::string>>;
  Extracted x;
  x.SetFields({{"time", "t1"}, {"stream", "stdout"}, {"flags", "F"}});
  EXPECT_EQ(Fields(x), (KV{{"time", "t1"}, {"stream", "stdout"}, {"flags", "F"}}));
  x.clear();  // slots kept, holding other keys in another order than the next entry sets
  x.SetFields({{"stream", "stderr"}, {"content", "c"}});
  EXPECT_EQ(Fields(x), (KV{{"stream", "stderr"}, {"content", "c"}}));
  EXPECT_EQ(x.GetOwn("time"), nullptr) << "a spare slot's old key is not visible";
  EXPECT_EQ(x.GetOwn("flags"), nullptr);
}

TEST(Extracted, SetFieldsOverwritesKeysAStageBeforeSet) {
  using KV = std::vector<std::pair<std::string, std::string>>;
  Extracted x;
  x.Set("stream", "old");
  x.Set("level", "info");
  x.SetFields({{"time", "t"}, {"stream", "stdout"}});
  EXPECT_EQ(Fields(x), (KV{{"stream", "stdout"}, {"level", "info"}, {"time", "t"}}))
      << "one field per key, however many stages set it";
}

TEST(Pipeline, RunsStagesInOrderEndToEnd) {
  TestMetrics m;
  auto p = Pipeline::Build(StagesYaml(kKubernetesPipeline), testing::Ctx(&m.metrics));
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ((*p)->size(), 6u);
  Collect out;
  const Labels file{{"filename", "/var/log/pods/a/b/0.log"}};
  (*p)->Process(MakeEntry("2024-05-01T10:00:00Z stdout F level=info msg=\"started\"", file), out);
  (*p)->Process(MakeEntry("2024-05-01T10:00:01Z stdout F level=debug msg=\"noise\"", file), out);
  (*p)->Process(MakeEntry("2024-05-01T10:00:02Z stderr P level=warn msg=\"long ", file), out);
  (*p)->Process(MakeEntry("2024-05-01T10:00:03Z stderr F line\"", file), out);
  ASSERT_EQ(out.entries.size(), 2u);
  const Entry& a = out.entries[0].entry;
  EXPECT_EQ(a.line, "started");
  EXPECT_EQ(a.labels.ToString(),
            "{cluster=\"prod\", filename=\"/var/log/pods/a/b/0.log\", level=\"info\", "
            "stream=\"stdout\"}");
  EXPECT_EQ(a.timestamp_ns, 1714557600LL * 1'000'000'000);
  const Entry& b = out.entries[1].entry;
  EXPECT_EQ(b.line, "long line");
  EXPECT_EQ(*b.labels.Get("level"), "warn");
  EXPECT_EQ(*b.labels.Get("stream"), "stderr");
  EXPECT_EQ(m.Dropped("debug_logs"), 1);
}

// Go's regexp reads a byte that is not UTF-8 (Latin-1 text) as U+FFFD, which `.`, `\S` and
// negated classes match; RE2 matches nothing there. Each regex-using stage reads such a line as
// Go does: a secret is masked whole, the line's fields are extracted, a filter applies.
TEST(Pipeline, RegexStagesReadBytesThatAreNotUtf8AsGoDoes) {
  auto p = Pipeline::Build(StagesYaml(R"(
- multiline:
    firstline: '^\d{4}-\S+ \w+ .*$'
- replace:
    expression: 'password=(\S+)'
    replace: '****'
- regex:
    expression: '(?s)^(?P<ts>\S+) (?P<level>\w+) (?P<msg>.*)$'
- labels:
    level:
- match:
    selector: '{level="DEBUG"} |~ "caf.$"'
    action: drop
- drop:
    expression: 'user=\S+ denied'
- template:
    source: short
    template: '{{ regexReplaceAll "caf[^ ]" .Entry "cafe" }}'
)"),
                           {});
  ASSERT_TRUE(p.has_value()) << p.error().message();
  Collect out;
  for (const char* line : {"2024-01-02T03:04:05Z ERROR caf\xe9 password=s3cr\xe9tPass ok",
                           "\tat Foo.bar",                                   // joins the block
                           "2024-01-02T03:04:06Z DEBUG caf\xe9",             // dropped by the match
                           "2024-01-02T03:04:07Z INFO user=jos\xe9 denied",  // by the drop
                           "2024-01-02T03:04:08Z INFO caf\xe9"}) {
    (*p)->Process(MakeEntry(line), out);
  }
  (*p)->Flush(0, /*force=*/true, out);
  ASSERT_EQ(out.entries.size(), 2u);
  const PipelineEntry& a = out.entries[0];
  EXPECT_EQ(a.entry.line, "2024-01-02T03:04:05Z ERROR caf\uFFFD password=**** ok\n\tat Foo.bar");
  ASSERT_NE(a.entry.labels.Get("level"), nullptr);
  EXPECT_EQ(*a.entry.labels.Get("level"), "ERROR");
  EXPECT_EQ(out.entries[1].entry.line, "2024-01-02T03:04:08Z INFO caf\xe9");  // as it came
  EXPECT_EQ(testing::ExtractedOr(out.entries[1], "short", "(none)"),
            "2024-01-02T03:04:08Z INFO cafe");
}

// reset_extracted (the boundary between two of Alloy's loki.process): the values stages before it
// extracted are gone; the entry's labels still read as extracted values, as at the start.
TEST(Pipeline, ResetExtractedForgetsWhatEarlierStagesExtracted) {
  auto p = Pipeline::Build(StagesYaml(R"(
- regex:
    expression: 'level=(?P<level>\w+)'
- reset_extracted: {}
- labels:
    level:
    app:
)"),
                           {});
  ASSERT_TRUE(p.has_value()) << p.error().message();
  Collect out;
  (*p)->Process(MakeEntry("level=warn", Labels{{"app", "web"}}), out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.labels.ToString(), "{app=\"web\"}");
  EXPECT_EQ(testing::ExtractedOr(out.entries[0], "level", "(none)"), "(none)");
}

TEST(Pipeline, EmptyPipelinePassesEntriesThrough) {
  auto p = Pipeline::Build({}, {});
  ASSERT_TRUE(p.has_value());
  Collect out;
  (*p)->Process(MakeEntry("as is"), out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "as is");
}

// "Now" is read once per batch by the source and travels with the entries: stages compare with
// it, never with a clock of their own (the pipeline's clock here is a day off on purpose).
TEST(Pipeline, StagesTakeNowFromTheBatchNotFromAClock) {
  constexpr int64_t kSec = 1'000'000'000;
  FakeClock pipeline_clock(1'700'000'000 * kSec);
  StageContext ctx;
  ctx.clock = &pipeline_clock;
  auto p = Pipeline::Build(StagesYaml("- drop:\n    older_than: 1h\n"
                                      "- template:\n    source: t\n"
                                      "    template: '{{ unixEpoch now }}'\n"
                                      "- pack:\n    labels: [job]\n"
                                      "- limit:\n    rate: 1\n    burst: 1\n"),
                           ctx);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  const BatchTime batch{1'700'086'400 * kSec, 5 * kSec};  // a day after the pipeline's clock
  Collect out;
  // Ten minutes old by the batch's time (kept), a day younger than the pipeline clock's now.
  (*p)->Process(MakeEntry("fresh", {{"job", "a"}}, batch.wall_ns - 600 * kSec), batch, out);
  // Two hours old by the batch's time: dropped, though in the pipeline clock's future.
  (*p)->Process(MakeEntry("old", {{"job", "a"}}, batch.wall_ns - 7200 * kSec), batch, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.timestamp_ns, batch.wall_ns);  // pack's ingest time
  EXPECT_EQ(testing::ExtractedOr(out.entries[0], "t"), "1700086400");
  // limit (drop: false) measures its debt against the batch's monotonic time.
  (*p)->Process(MakeEntry("more", {{"job", "a"}}, batch.wall_ns), batch, out);
  EXPECT_GT((*p)->ReadyInNs(batch.steady_ns), 0);
  EXPECT_EQ((*p)->ReadyInNs(batch.steady_ns + 10 * kSec), 0);
}

// A limit (drop: false) inside a match makes the source wait as one outside does; before, match
// did not pass the wait on and the nested limit let everything through at once.
TEST(Pipeline, ALimitInsideAMatchAsksTheSourceToWait) {
  constexpr int64_t kSec = 1'000'000'000;
  auto p = Pipeline::Build(StagesYaml("- match:\n    selector: '{job=\"a\"}'\n    stages:\n"
                                      "      - limit:\n          rate: 1\n          burst: 1\n"),
                           {});
  ASSERT_TRUE(p.has_value()) << p.error().message();
  const BatchTime batch{1'700'000'000 * kSec, 5 * kSec};
  Collect out;
  for (int i = 0; i < 3; ++i) (*p)->Process(MakeEntry("x", {{"job", "a"}}, 0), batch, out);
  EXPECT_GT((*p)->ReadyInNs(batch.steady_ns), kSec);
  EXPECT_EQ((*p)->ReadyInNs(batch.steady_ns + 10 * kSec), 0);
}

TEST(Pipeline, FlushSendsHeldLinesThroughTheRemainingStages) {
  auto p = Pipeline::Build(StagesYaml("- cri: {}\n- static_labels: {after: flush}"), {});
  ASSERT_TRUE(p.has_value());
  Collect out;
  (*p)->Process(MakeEntry("2024-05-01T10:00:00Z stdout P held", {{"filename", "/f"}}), out);
  EXPECT_TRUE(out.entries.empty());
  (*p)->Flush(0, true, out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(out.entries[0].entry.line, "held");
  EXPECT_EQ(*out.entries[0].entry.labels.Get("after"), "flush");
}

TEST(Pipeline, RefusesUnknownStagesWithPositionAndName) {
  auto p = Pipeline::Build(StagesYaml("- cri: {}\n- regx:\n    expression: a"), {});
  ASSERT_FALSE(p.has_value());
  // The list of known stages grows with every stage added: check its shape, not its length.
  const std::string msg = p.error().message();
  EXPECT_EQ(msg.rfind("promtail.yaml:3:5: pipeline_stages[1].regx: unknown stage type \"regx\" "
                      "(known: cri, ",
                      0),
            0u)
      << msg;
  EXPECT_NE(msg.find(", regex, "), std::string::npos) << msg;
  p = Pipeline::Build(StagesYaml("- eventlogmessage:\n    source: x"), {});
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message(),
            "promtail.yaml:2:5: pipeline_stages[0].eventlogmessage: stage \"eventlogmessage\" is "
            "not supported by skidder yet");
}

// Promtail decodes a stage's body with mapstructure, which ignores keys it does not know, so a
// config Promtail ran starts here too: each such key is a warning. Keys of the config itself,
// and of an Alloy block, are still refused.
TEST(Pipeline, KeysAPromtailStageDoesNotKnowAreWarnedAboutWhereWritten) {
  const std::string yaml =
      "- regex:\n    expression: \"(?P<a>x)\"\n    sorce: y\n"
      "- match:\n    selector: '{job=\"a\"}'\n    stages:\n"
      "    - json:\n        expressions: {a: b}\n        drop_malformd: true\n"
      "- metrics:\n    lines:\n      type: Counter\n      descripton: x\n"
      "      config: {match_all: true, action: inc, extra: 1}\n";
  std::vector<std::string> warnings;
  StageContext ctx;
  ctx.warnings = &warnings;
  auto p = Pipeline::Build(StagesYaml(yaml), ctx);
  ASSERT_TRUE(p.has_value()) << p.error().message();
  EXPECT_EQ(
      warnings,
      (std::vector<std::string>{
          "promtail.yaml:3:5: pipeline_stages[0].regex: unknown key \"sorce\" (did you mean "
          "\"source\"?): ignored, as "
          "Promtail ignores it",
          "promtail.yaml:9:9: pipeline_stages[1].match.stages[0].json: unknown key "
          "\"drop_malformd\" (did you mean \"drop_malformed\"?): ignored, as Promtail ignores it",
          "promtail.yaml:13:7: pipeline_stages[2].metrics.lines: unknown key \"descripton\" "
          "(did you mean \"description\"?): ignored, as Promtail ignores it",
          "promtail.yaml:14:46: pipeline_stages[2].metrics.lines.config: unknown key "
          "\"extra\": ignored, as Promtail ignores it"}));
  // Without a place for warnings (and so for a stage of an Alloy block), they are errors.
  EXPECT_FALSE(Pipeline::Build(StagesYaml(yaml), {}).has_value());
  std::vector<config::StageConfig> alloy = StagesYaml("- regex:\n    expression: a\n    sorce: y");
  alloy[0].origins = std::make_shared<std::vector<config::StageOrigin>>();
  auto refused = Pipeline::Build(alloy, ctx);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().message(),
            "promtail.yaml:3:5: pipeline_stages[0].regex: unknown key \"sorce\" (did you mean "
            "\"source\"?)");
  // Promtail matches keys whatever their case: such a key is applied there, so refused here.
  auto upper = Pipeline::Build(StagesYaml("- regex:\n    expression: a\n    Source: y"), ctx);
  ASSERT_FALSE(upper.has_value());
  EXPECT_EQ(upper.error().message(),
            "promtail.yaml:3:5: pipeline_stages[0].regex: unknown key \"Source\" (did you mean "
            "\"source\"?)");
  // A stage that fails names its unknown keys too (often the reason: a required key misspelt).
  auto typo = Pipeline::Build(StagesYaml("- regex:\n    expresion: a"), ctx);
  ASSERT_FALSE(typo.has_value());
  EXPECT_EQ(typo.error().message(),
            "promtail.yaml:2:5: pipeline_stages[0].regex.expression: expression is required (also "
            "promtail.yaml:2:5: pipeline_stages[0].regex: unknown key \"expresion\" (did you mean "
            "\"expression\"?))");
  // Stages Promtail has not are skidder's (or Alloy's): refused.
  EXPECT_FALSE(Pipeline::Build(StagesYaml("- luhn:\n    replacment: x"), ctx).has_value());
  // Built again (a reload of the same config), a warning is not repeated.
  ASSERT_TRUE(Pipeline::Build(StagesYaml(yaml), ctx).has_value());
  EXPECT_EQ(warnings.size(), 4u);
  // A wrong value is an error still, as in Promtail.
  EXPECT_FALSE(Pipeline::Build(StagesYaml("- regex:\n    expression: \"(\"\n    sorce: y"), ctx)
                   .has_value());
}

TEST(Pipeline, ReportsTheFirstBadStageWithItsPath) {
  auto p = Pipeline::Build(
      StagesYaml("- cri: {}\n- json:\n    expressions: {a: b}\n- regex:\n    expression: \"(\""),
      {});
  ASSERT_FALSE(p.has_value());
  EXPECT_EQ(p.error().message(),
            "promtail.yaml:5:17: pipeline_stages[2].regex.expression: could not compile regular "
            "expression: missing ): (");
}

TEST(Pipeline, DroppedEntriesReleaseTheirAcks) {
  auto tracker = AckTracker::Create(0);
  auto p = Pipeline::Build(StagesYaml("- drop:\n    expression: x"), {});
  ASSERT_TRUE(p.has_value());
  Collect out;
  Entry e = MakeEntry("x");
  e.ack = tracker->Open(10);
  (*p)->Process(std::move(e), out);
  EXPECT_TRUE(out.entries.empty());
  EXPECT_EQ(tracker->Committed(), 10u);
}

}  // namespace
}  // namespace skidder::pipeline
