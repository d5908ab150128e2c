#include <gtest/gtest.h>

#include <map>

#include "lang/go/tzif.h"
#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::ExtractedOr;
using testing::MakeEntry;
using testing::MustBuild;

// Runs a template stage with source `out` over extracted values and a line.
std::string RunTemplate(const std::string& tmpl, const std::map<std::string, std::string>& kv,
                        const std::string& line = "the line") {
  YAML::Node body;
  body["source"] = "out";
  body["template"] = tmpl;
  auto stage = BuildStage(config::StageConfig{"template", body, "t.yaml"}, {}, "p");
  if (!stage) return "CONFIG ERROR: " + stage.error().message();
  PipelineEntry pe{MakeEntry(line), {}};
  for (const auto& [k, v] : kv) pe.extracted.Set(k, v);
  Collect c;
  (*stage)->Process(std::move(pe), c);
  return ExtractedOr(c.entries.at(0), "out");
}

TEST(TemplateStage, EvaluatesGoTemplatesAsPromtailDocumentsThem) {
  using KV = std::map<std::string, std::string>;
  struct Case {
    const char* tmpl;
    KV kv;
    const char* want;
  } cases[] = {
      // The documented examples (source is "out", so .Value is .out).
      {"hello world!", {}, "hello world!"},
      {"{{ .Value }}_some_suffix", {{"out", "loki"}}, "loki_some_suffix"},
      {"{{ ToLower .Value }}", {{"out", "LOKI"}}, "loki"},
      {"{{ .level }} for app {{ ToUpper .app }}",
       {{"level", "warn"}, {"app", "loki"}},
       "warn for app LOKI"},
      {"{{ Replace .Value \"loki\" \"blokey\" 1 }}", {{"out", "loki loki"}}, "blokey loki"},
      {"{{ Replace .Value \"loki\" \"Loki\" -1 }}", {{"out", "loki loki"}}, "Loki Loki"},
      {"{{ .app }}: {{ .Entry }}", {{"app", "api"}}, "api: the line"},
      {"{{ .app | ToUpper }}", {{"app", "api"}}, "API"},
      {"{{ range $i, $v := splitList \",\" .Value }}{{ if $i }}-{{ end }}{{ ToUpper $v }}{{ end }}",
       {{"out", "a,b"}},
       "A-B"},
      {"{{ with .level }}[{{ . }}]{{ else }}none{{ end }}", {{"level", "warn"}}, "[warn]"},
      {"{{ $app := .app }}{{ if eq $app \"api\" }}front{{ else if .level }}{{ .level }}{{ end }}",
       {{"app", "db"}, {"level", "info"}},
       "info"},
      {"{{ Trim .Value \",. \" }}", {{"out", ",.hello. ,"}}, "hello"},
      {"{{ TrimLeft .Value \"-\" }}|{{ TrimRight .Value \"-\" }}", {{"out", "--x--"}}, "x--|--x"},
      {"{{ TrimSpace .Value }}", {{"out", " \t padded \n"}}, "padded"},
      {"{{ TrimPrefix .Value \"--\" }}", {{"out", "--flag"}}, "flag"},
      {"{{ TrimSuffix .Value \".log\" }}", {{"out", "app.log"}}, "app"},
      {"{{ regexReplaceAll \"(a*)bc\" .Value \"${1}a\" }}", {{"out", "aaabc xbc"}}, "aaaa xa"},
      {"{{ regexReplaceAllLiteral \"(ts=)\" .Value \"timestamp=\" }}",
       {{"out", "ts=1 ts=2"}},
       "timestamp=1 timestamp=2"},
      {"{{ Hash .Value \"salt\" }}",
       {{"out", "loki"}},
       "53ddc627682ed26d0e68af30eb180182ca15b5827126282dd0f76f3af49d742b"},
      {"{{ Sha2Hash .Value \"salt\" }}",
       {{"out", "loki"}},
       "45a238ce9fdf019798e5c5e994198143baee0947d0c9d5c616e0b8f9ddacdc0f"},
      // Control flow, comparisons, logic.
      {"{{ if eq .level \"error\" }}E{{ else if eq .level \"warn\" }}W{{ else }}I{{ end }}",
       {{"level", "warn"}},
       "W"},
      {"{{ if eq .level \"error\" \"fatal\" }}bad{{ else }}ok{{ end }}",
       {{"level", "fatal"}},
       "bad"},
      {"{{ if and .a (not .b) }}yes{{ end }}", {{"a", "1"}}, "yes"},
      {"{{ or .missing .b \"z\" }}", {{"b", "bee"}}, "bee"},
      {"{{ if lt .a \"b\" }}lt{{ end }}{{ if ge 3 2 }}ge{{ end }}", {{"a", "a"}}, "ltge"},
      {"{{ if ne .a \"x\" }}ne{{ end }}", {{"a", "y"}}, "ne"},
      {"{{ if eq .missing \"x\" }}eq{{ else }}missing is not equal{{ end }}",
       {},
       "missing is not equal"},
      // Missing values, sprig helpers.
      {"[{{ .missing }}]", {}, "[<no value>]"},
      {"{{ .missing | default \"none\" }}", {}, "none"},
      {"{{ default \"none\" .a }}", {{"a", "set"}}, "set"},
      {"{{ if contains \"err\" .Value }}c{{ end }}{{ if hasPrefix \"GET\" .Value }}p{{ end }}",
       {{"out", "GET error"}},
       "cp"},
      {"{{ .Value | substr 0 2 }}-{{ .Value | substr 3 5 }}", {{"out", "11/08/2022"}}, "11-08"},
      {"{{ add (.Value | substr 0 1) 2 }}", {{"out", "7:05"}}, "9"},
      // sprig's dateInZone and htmlDateInZone: Go's Time.Format of a time or Unix seconds.
      {"{{ dateInZone \"Monday, 02-Jan-06 3:04:05.000 PM MST\" "
       "(toDate \"2006-01-02T15:04:05.999999Z07:00\" .Value) \"UTC\" }}",
       {{"out", "2022-11-08T13:05:09.120000Z"}},
       "Tuesday, 08-Nov-22 1:05:09.120 PM UTC"},
      {"{{ dateInZone \"2006-01-02T15:04:05.999Z07:00 (MST) Jan _2 002 __2 pm\" "
       "(toDate \"2006-01-02T15:04:05.999999Z07:00\" .Value) \"America/New_York\" }}",
       {{"out", "2022-11-08T13:05:09.120000Z"}},
       "2022-11-08T08:05:09.12-05:00 (EST) Nov  8 312 312 am"},
      {"{{ dateInZone \"-07 Z07 -070000 -07:00:00 05,000 5 4 3 03 06 1 01 Jan January Mon\" "
       "(toDate \"2006-01-02T15:04:05.999999Z07:00\" .Value) \"America/New_York\" }}",
       {{"out", "2022-11-08T13:05:09.120000Z"}},
       "-05 -05 -050000 -05:00:00 09,120 9 5 8 08 22 11 11 Nov November Tue"},
      {"{{ dateInZone \"06 2006 Jan 2\" -62198755200 \"UTC\" }}", {}, "01 -0001 Jan 1"},
      {"{{ htmlDateInZone 86399 \"UTC\" }}|{{ dateInZone \"15:04:05.9 Z07:00 MST\" 0 \"No/Such\" "
       "}}",
       {},
       "1970-01-01|00:00:00 Z UTC"},
      {"{{ printf \"%s=%d\" .k 5 }}", {{"k", "n"}}, "n=5"},
      {"{{ len .Value }}", {{"out", "four"}}, "4"},
      {"{{ lower \"ABC\" }}{{ upper \"d\" }}{{ trim \"  e \" }}{{ replace \"x\" \"f\" \"x\" }}",
       {},
       "abcDef"},
      {"{{ quote .a }}", {{"a", "q\"t"}}, "\"q\\\"t\""},
      // More of sprig's functions and Go's builtins, as Promtail's (all of sprig) has them.
      {"{{ title .Value }}", {{"out", "hello big-world_x"}}, "Hello Big-World_x"},
      {"{{ regexFind \"[0-9]+\" .Value }}|{{ regexFind \"z\" .Value }}",
       {{"out", "ab12c34"}},
       "12|"},
      {"{{ b64enc .Value }}|{{ b64dec \"aGk=\" }}|{{ b64dec \"aGVsbG8\" }}",
       {{"out", "hello"}},
       "aGVsbG8=|hi|illegal base64 data at input byte 4"},
      {"{{ sha256sum .Value }}",
       {{"out", "abc"}},
       "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"{{ sha1sum .Value }}", {{"out", "abc"}}, "a9993e364706816aba3e25717850c26c9cd0d89d"},
      {"{{ nospace .Value }}|{{ cat \"a\" .missing 1 \"\" \"b\" }}",
       {{"out", " a b\tc "}},
       "abc|a 1  b"},
      {"{{ ternary \"yes\" \"no\" (eq .a \"1\") }}{{ ternary \"yes\" \"no\" false }}",
       {{"a", "1"}},
       "yesno"},
      {"{{ indent 2 .Value }}|{{ nindent 1 \"x\" }}", {{"out", "a\nb"}}, "  a\n  b|\n x"},
      {"{{ join \"-\" (splitList \",\" .Value) }}|{{ first (list 1 2) }}{{ last (list 1 2) }}",
       {{"out", "a,b,c"}},
       "a-b-c|12"},
      {"{{ urlquery .Value }}|{{ println \"a\" 1 }}",
       {{"out", "a b&c/é"}},
       "a+b%26c%2F%C3%A9|a 1\n"},
      // quote is %q (Go's strconv.Quote); squote escapes nothing, as sprig's.
      {"{{ quote .a }}", {{"a", "bell\a\x01 \xe2\x80\x8b"}}, "\"bell\\a\\x01 \\u200b\""},
      {"{{ squote .a }}", {{"a", "it's \\ \"x\""}}, "'it's \\ \"x\"'"},
      {"{{ printf \"%q\" 39 }}", {}, "'\\''"},
      // Syntax: trim markers, comments, raw strings, parentheses.
      {"a  {{- .x -}}  b", {{"x", "X"}}, "aXb"},
      {"{{/* a comment */}}x{{- /* trimmed */ -}} y", {}, "xy"},
      {"{{ `raw \\n` }}", {}, "raw \\n"},
      {"{{ (ToUpper .a) }}{{ ToLower (ToUpper .a) }}", {{"a", "Mi"}}, "MImi"},
  };
  for (const auto& c : cases) EXPECT_EQ(RunTemplate(c.tmpl, c.kv), c.want) << c.tmpl;
}

// sprig's toDate parses in Local (time.ParseInLocation), and date formats in Local: a date read
// and written again is the same date wherever the agent runs.
TEST(TemplateStage, ToDateParsesInLocalAndDateWritesInLocal) {
  auto local = lang::go::LoadZone("Local");
  ASSERT_TRUE(local.has_value());
  EXPECT_EQ(RunTemplate("{{ toDate \"2006-01-02\" .Value | unixEpoch }}", {{"out", "2022-11-08"}}),
            std::to_string((*local)->LocalToUnix(1667865600)));  // 2022-11-08 00:00 there
  EXPECT_EQ(RunTemplate("{{ toDate \"2006-01-02 15:04\" .Value | date \"2006-01-02 15:04\" }}",
                        {{"out", "2022-11-08 00:30"}}),
            "2022-11-08 00:30");
  EXPECT_EQ(RunTemplate("{{ toDate \"2006-01-02\" .Value | htmlDate }}", {{"out", "2022-11-08"}}),
            "2022-11-08");
}

TEST(TemplateStage, ConvertsTheDocumentedTwelveHourClockExample) {
  // The long example of Promtail's template documentation, as a YAML double-quoted string.
  const std::string yaml = R"y(template:
  source: time
  template: "\
    {{ .date_local | substr 6 10 }}-{{ .date_local | substr 0 2 }}-{{ .date_local | substr 3 5 }}T\
    {{ if eq (.time_local | substr 0 2) \"12\" }}\
        {{ if eq .hour_period \"AM\" }}00{{ else }}12{{ end }}{{ .time_local | substr 2 10}}Z\
    {{ else }}\
        {{ if eq .hour_period \"AM\" }}\
            {{ if or (eq (.time_local | substr 0 2) \"11\") (eq (.time_local | substr 0 2) \"10\") }}{{ .time_local }}Z\
                {{ else }}0{{ .time_local }}Z\
            {{ end }}\
        {{ else }}\
            {{ if eq (.time_local | substr 0 2) \"11\" }}23{{ .time_local | substr 2 10 }}Z{{ end }}\
            {{ if eq (.time_local | substr 0 2) \"10\" }}22{{ .time_local | substr 2 10 }}Z{{ end }}\
            {{ if eq (.time_local | substr 0 2) \"9:\" }}21{{ .time_local | substr 1 10 }}Z{{ end }}\
            {{ if eq (.time_local | substr 0 2) \"8:\" }}20{{ .time_local | substr 1 10 }}Z{{ end }}\
            {{ if and (le (.time_local | substr 0 1) \"7\") (eq (.time_local | substr 1 2) \":\") }}1{{ add (.time_local | substr 0 1) 2 }}{{ .time_local | substr 1 10 }}Z{{ end }}\
        {{ end }}\
    {{ end }}")y";
  auto stage = MustBuild(yaml);
  struct Case {
    const char* time_local;
    const char* period;
    const char* want;
  } cases[] = {
      {"12:53:24", "PM", "2022-11-08T12:53:24Z"}, {"12:53:24", "AM", "2022-11-08T00:53:24Z"},
      {"7:05:09", "PM", "2022-11-08T19:05:09Z"},  {"10:00:00", "PM", "2022-11-08T22:00:00Z"},
      {"9:15:00", "AM", "2022-11-08T09:15:00Z"},
  };
  for (const auto& c : cases) {
    PipelineEntry pe{MakeEntry("x"), {}};
    pe.extracted.Set("date_local", "11/08/2022");
    pe.extracted.Set("time_local", c.time_local);
    pe.extracted.Set("hour_period", c.period);
    Collect out;
    stage->Process(std::move(pe), out);
    EXPECT_EQ(ExtractedOr(out.entries.at(0), "time"), c.want) << c.time_local << c.period;
  }
}

TEST(TemplateStage, EmptyResultRemovesTheKeyAndErrorsLeaveItAlone) {
  EXPECT_EQ(RunTemplate("{{ if .nope }}x{{ end }}", {{"out", "before"}}), "<absent>");
  EXPECT_EQ(RunTemplate("{{ ToUpper .missing }}", {{"out", "before"}}), "before");
  EXPECT_EQ(RunTemplate("{{ lt .a 1 }}", {{"out", "before"}, {"a", "x"}}), "before");
  EXPECT_EQ(RunTemplate("{{ .Value }}", {}), "<no value>");
}

TEST(TemplateStage, ReadsLabelsLikeExtractedValues) {
  auto stage = MustBuild("template:\n  source: out\n  template: '{{ .namespace }}/{{ .pod }}'");
  Collect out;
  stage->Process(PipelineEntry{MakeEntry("x", {{"namespace", "shop"}, {"pod", "web-1"}}), {}}, out);
  EXPECT_EQ(ExtractedOr(out.entries.at(0), "out"), "shop/web-1");
}

TEST(TemplateStage, RefusesBadConfigWithPosition) {
  EXPECT_EQ(ConfigError("template:\n  template: x"),
            "promtail.yaml:2:3: pipeline_stages[0].source: template source value is required");
  EXPECT_EQ(ConfigError("template:\n  source: a\n  template: '{{ if }}'"),
            "promtail.yaml:3:13: pipeline_stages[0].template: template: 1:6: missing value for "
            "command");
  EXPECT_EQ(ConfigError("template:\n  source: a\n  tmpl: x"),
            "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"tmpl\"");
}

}  // namespace
}  // namespace skidder::pipeline
