// Every stage.* block gives the same entries as the YAML stage it mirrors: each case is a
// Promtail pipeline_stages list and the loki.process body an Alloy user writes for it, run over
// the same lines (labels, timestamp, line, structured metadata and tenant compared, entry by
// entry), as the file source feeds a pipeline.
#include <gtest/gtest.h>

#include <tuple>

#include "config/alloy.h"
#include "stage_test_util.h"
#include "support/fake_clock.h"
#include "support/mmdb_writer.h"
#include "support/test_util.h"
#include "util/clock.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;

struct ParityCase {
  const char* name;
  const char* yaml;   // pipeline_stages
  const char* alloy;  // the loki.process body
  std::vector<std::string> lines;
};

using Got = std::vector<std::tuple<std::string, int64_t, std::string, std::string>>;

Got RunLines(const std::vector<config::StageConfig>& stages,
             const std::vector<std::string>& lines) {
  FakeClock clock(1'790'000'000'000'000'000);
  auto p = Pipeline::Build(stages, testing::Ctx(nullptr, nullptr, &clock));
  EXPECT_TRUE(p.has_value()) << (p ? "" : p.error().message());
  if (!p) return {};
  Collect out;
  for (const std::string& line : lines) {
    Entry e = testing::MakeEntry(line, Labels{{"job", "app"}, {"filename", "/var/log/app.log"}},
                                 clock.NowNs());
    (*p)->Process(std::move(e), out);
    clock.Advance(std::chrono::milliseconds(1));
    (*p)->Flush(clock.NowNs(), false, out);
  }
  clock.Advance(std::chrono::seconds(10));
  (*p)->Flush(clock.NowNs(), true, out);
  Got got;
  for (const PipelineEntry& pe : out.entries) {
    std::string metadata;
    for (const Label& m : pe.entry.structured_metadata) metadata += m.name + "=" + m.value + ",";
    got.emplace_back(pe.entry.labels.ToString(), pe.entry.timestamp_ns, pe.entry.line, metadata);
  }
  return got;
}

std::vector<config::StageConfig> AlloyStages(const std::string& body) {
  const std::string text = R"x(
loki.source.file "app" {
  targets    = [{"__path__" = "/var/log/app.log", job = "app"}]
  forward_to = [loki.process.p.receiver]
}
loki.write "default" { endpoint { url = "http://loki:3100/loki/api/v1/push" } }
loki.process "p" {
  forward_to = [loki.write.default.receiver]
)x" + body + "}\n";
  auto cfg = config::ParseAlloyConfig(text, "c.alloy");
  EXPECT_TRUE(cfg.has_value()) << (cfg ? "" : cfg.error().message());
  return cfg ? cfg->scrape_configs.at(0).pipeline_stages : std::vector<config::StageConfig>{};
}

const std::vector<std::string> kLogfmt = {
    "level=error msg=\"boom\" user=ann t=2026-11-24T10:40:12Z",
    "level=info msg=ok user=bob t=2026-11-24T10:40:13Z", "not logfmt at all"};

const ParityCase kCases[] = {
    {"cri",
     "- cri: {}\n",
     "stage.cri {}\n",
     {"2026-11-24T10:40:12.000000001Z stdout F one", "2026-11-24T10:40:12.2Z stderr P part, ",
      "2026-11-24T10:40:12.3Z stderr F end"}},
    {"docker",
     "- docker: {}\n",
     "stage.docker {}\n",
     {R"({"log":"hello\n","stream":"stdout","time":"2026-11-24T10:40:12.1Z"})",
      R"({"log":"err\n","stream":"stderr","time":"2026-11-24T10:40:13Z"})"}},
    {"json, labels, structured_metadata, output",
     "- json: {expressions: {level: level, msg: msg, req: 'ctx.req'}}\n"
     "- labels: {level: }\n- structured_metadata: {req: }\n- output: {source: msg}\n",
     "stage.json {\n expressions = {level = \"level\", msg = \"msg\", req = \"ctx.req\"}\n}\n"
     "stage.labels {\n values = {level = \"\"}\n}\n"
     "stage.structured_metadata {\n values = {req = \"\"}\n}\n"
     "stage.output {\n source = \"msg\"\n}\n",
     {R"({"level":"warn","msg":"disk","ctx":{"req":"r1"}})", R"({"msg":"no level"})", "plain"}},
    {"regex, timestamp",
     "- regex: {expression: '^(?P<ts>\\S+) (?P<level>\\w+) (?P<msg>.*)$'}\n"
     "- timestamp: {source: ts, format: RFC3339Nano}\n- labels: {level: }\n",
     "stage.regex {\n expression = `^(?P<ts>\\S+) (?P<level>\\w+) (?P<msg>.*)$`\n}\n"
     "stage.timestamp {\n source = \"ts\"\n format = \"RFC3339Nano\"\n}\n"
     "stage.labels {\n values = {level = \"\"}\n}\n",
     {"2026-11-24T10:40:12.5Z INFO started", "2026-11-24T10:40:13Z ERROR failed x", "garbage"}},
    {"logfmt, template, tenant",
     "- logfmt: {mapping: {level: , who: user}}\n"
     "- template: {source: level, template: '{{ ToUpper .Value }}'}\n"
     "- labels: {level: }\n- tenant: {source: who}\n",
     "stage.logfmt {\n mapping = {level = \"\", who = \"user\"}\n}\n"
     "stage.template {\n source = \"level\"\n template = \"{{ ToUpper .Value }}\"\n}\n"
     "stage.labels {\n values = {level = \"\"}\n}\n"
     "stage.tenant {\n source = \"who\"\n}\n",
     kLogfmt},
    {"static_labels, label_drop, label_keep",
     "- static_labels: {env: prod, team: a}\n- labeldrop: [filename]\n- labelallow: [job, env]\n",
     "stage.static_labels {\n values = {env = \"prod\", team = \"a\"}\n}\n"
     "stage.label_drop {\n values = [\"filename\"]\n}\n"
     "stage.label_keep {\n values = [\"job\", \"env\"]\n}\n",
     {"a", "b"}},
    {"match",
     "- logfmt: {mapping: {level: }}\n- labels: {level: }\n"
     "- match: {selector: '{level=\"error\"}', stages: [{static_labels: {alert: 'yes'}}]}\n"
     "- match: {selector: '{level=\"info\"} |= \"ok\"', action: drop}\n",
     "stage.logfmt {\n mapping = {level = \"\"}\n}\n"
     "stage.labels {\n values = {level = \"\"}\n}\n"
     "stage.match {\n selector = \"{level=\\\"error\\\"}\"\n"
     " stage.static_labels {\n  values = {alert = \"yes\"}\n }\n}\n"
     "stage.match {\n selector = \"{level=\\\"info\\\"} |= \\\"ok\\\"\"\n action = \"drop\"\n}\n",
     kLogfmt},
    {"multiline",
     "- multiline: {firstline: '^\\d{4}-', max_wait_time: 3s}\n",
     "stage.multiline {\n firstline = `^\\d{4}-`\n max_wait_time = \"3s\"\n}\n",
     {"2026-11-24 Traceback:", "  File x", "  Error", "2026-11-24 next", "2026-11-24 last"}},
    {"drop",
     "- drop: {expression: '.*debug.*'}\n- drop: {longer_than: 12}\n",
     "stage.drop {\n expression = \".*debug.*\"\n}\nstage.drop {\n longer_than = 12\n}\n",
     {"a debug line", "short", "a much longer line"}},
    {"limit",
     "- limit: {rate: 1, burst: 2, drop: true}\n",
     "stage.limit {\n rate = 1\n burst = 2\n drop = true\n}\n",
     {"1", "2", "3", "4"}},
    {"replace",
     "- replace: {expression: 'password=(\\S+)', replace: '****'}\n",
     "stage.replace {\n expression = `password=(\\S+)`\n replace = \"****\"\n}\n",
     {"login password=hunter2 ok", "nothing"}},
    {"pack",
     "- static_labels: {env: prod}\n- pack: {labels: [env]}\n",
     "stage.static_labels {\n values = {env = \"prod\"}\n}\n"
     "stage.pack {\n labels = [\"env\"]\n}\n",
     {"line one", "line \"two\""}},
    {"tenant value",
     "- tenant: {value: team-a}\n",
     "stage.tenant {\n value = \"team-a\"\n}\n",
     {"x"}},
    {"metrics",
     "- metrics: {lines: {type: Counter, description: all, config: {match_all: true, action: "
     "inc}}}\n",
     "stage.metrics {\n metric.counter {\n  name = \"lines\"\n  description = \"all\"\n"
     "  match_all = true\n  action = \"inc\"\n }\n}\n",
     {"a", "b"}},
    {"decolorize",
     "- decolorize: {}\n",
     "stage.decolorize {}\n",
     {"\x1b[31mred\x1b[0m text", "plain"}},
    {"sampling", "- sampling: {rate: 1}\n", "stage.sampling {\n rate = 1\n}\n", {"a", "b"}},
    {"truncate",
     "- truncate: {rules: [{limit: 8, suffix: '...'}]}\n",
     "stage.truncate {\n rule {\n  limit = 8\n  suffix = \"...\"\n }\n}\n",
     {"short", "a line longer than eight bytes"}},
    {"luhn",
     "- luhn: {replacement: '<card>'}\n",
     "stage.luhn {\n replacement = \"<card>\"\n}\n",
     {"paid with 4111 1111 1111 1111 today", "4111111111111111", "1234"}},
    {"pattern, structured_metadata, structured_metadata_drop",
     "- pattern: {pattern: '<level> [<component>] <_> trace=<trace> pod=<pod>', "
     "labels_from_groups: true}\n"
     "- structured_metadata: {trace: , pod: }\n- structured_metadata_drop: [pod]\n",
     "stage.pattern {\n pattern = \"<level> [<component>] <_> trace=<trace> pod=<pod>\"\n"
     " labels_from_groups = true\n}\n"
     "stage.structured_metadata {\n values = {trace = \"\", pod = \"\"}\n}\n"
     "stage.structured_metadata_drop {\n values = [\"pod\"]\n}\n",
     {"INFO [api] done trace=t1 pod=p1", "WARN [db] slow", "not matching at all"}},
    {"split_json, structured_metadata_regex",
     "- split_json: {}\n- structured_metadata_regex: {regex: '^file'}\n",
     "stage.split_json {}\n"
     "stage.structured_metadata_regex {\n regex = \"^file\"\n}\n",
     {"[{\"a\": 1}, \"two\", null]", "[]", "not an array"}},
};

TEST(AlloyStageParity, EveryStageBlockGivesTheSameEntriesAsItsYamlStage) {
  for (const ParityCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const Got yaml = RunLines(testing::StagesYaml(c.yaml), c.lines);
    const Got alloy = RunLines(AlloyStages(c.alloy), c.lines);
    EXPECT_FALSE(yaml.empty());
    EXPECT_EQ(alloy, yaml);
  }
}

TEST(AlloyStageParity, GeoipBlockGivesTheSameEntriesAsItsYamlStage) {
  using skidder::testing::MmdbValue;
  skidder::testing::TempDir dir;
  skidder::testing::MmdbWriter city("GeoLite2-City", 6);
  const MmdbValue names = MmdbValue::Map({{"en", MmdbValue::String("Kansas City")}});
  ASSERT_TRUE(city.Insert(
      "34.120.0.0/16",
      MmdbValue::Map({{"city", MmdbValue::Map({{"names", names}})},
                      {"country", MmdbValue::Map({{"iso_code", MmdbValue::String("US")}})}})));
  const std::string db = dir / "city.mmdb";
  ASSERT_TRUE(city.WriteFile(db));
  const std::string yaml =
      "- regex: {expression: '^(?P<ip>\\S+)'}\n"
      "- geoip: {db: '" +
      db +
      "', source: ip, db_type: city}\n"
      "- labels: {geoip_city_name: , geoip_country_code: }\n";
  const std::string alloy =
      "stage.regex {\n expression = `^(?P<ip>\\S+)`\n}\n"
      "stage.geoip {\n db = \"" +
      db +
      "\"\n source = \"ip\"\n"
      " db_type = \"city\"\n}\n"
      "stage.labels {\n values = {geoip_city_name = \"\", "
      "geoip_country_code = \"\"}\n}\n";
  const std::vector<std::string> lines = {"34.120.177.193 GET /", "10.0.0.1 GET /"};
  const Got want = RunLines(testing::StagesYaml(yaml), lines);
  ASSERT_EQ(want.size(), 2u);
  EXPECT_NE(std::get<0>(want[0]).find("geoip_city_name=\"Kansas City\""), std::string::npos);
  EXPECT_EQ(RunLines(AlloyStages(alloy), lines), want);
}

}  // namespace
}  // namespace skidder::pipeline
