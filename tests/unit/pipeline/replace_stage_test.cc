#include <gtest/gtest.h>

#include "stage_test_util.h"

namespace skidder::pipeline {
namespace {

using testing::Collect;
using testing::ConfigError;
using testing::ExtractedOr;
using testing::MakeEntry;
using testing::MustBuild;
using testing::RunStage;

const char* kAccessLog =
    "11.11.11.11 - frank [25/Jan/2000:14:00:01 -0500] \"GET /1986.js HTTP/1.1\" 200 932 \"-\" "
    "\"Mozilla/5.0 (Windows; U; Windows NT 5.1; de; rv:1.9.1.7) Gecko/20091221 Firefox/3.5.7 "
    "GTB6\"";

TEST(ReplaceStage, RewritesCapturedGroupsOfTheLine) {
  struct Case {
    const char* yaml;
    const char* line;
    const char* want;
  } cases[] = {
      // Promtail's documented examples. (The docs show "****!", but \S+ takes the "!" too, in
      // Go's regexp as in RE2.)
      {"replace:\n  expression: \"password (\\\\S+)\"\n  replace: \"****\"",
       "2019-01-01T01:00:00.000000001Z stderr P i'm a log message who has sensitive "
       "information with password xyz!",
       "2019-01-01T01:00:00.000000001Z stderr P i'm a log message who has sensitive "
       "information with password ****"},
      {"replace:\n  expression: \"11.11.11.11 - (\\\\S+\\\\s)\"\n  replace: \"\"", kAccessLog,
       "11.11.11.11 - [25/Jan/2000:14:00:01 -0500] \"GET /1986.js HTTP/1.1\" 200 932 \"-\" "
       "\"Mozilla/5.0 (Windows; U; Windows NT 5.1; de; rv:1.9.1.7) Gecko/20091221 "
       "Firefox/3.5.7 GTB6\""},
      {"replace:\n  expression: '([0-9]{3}-[0-9]{2}-[0-9]{4})'\n"
       "  replace: '*SSN*{{ .Value | Hash \"salt\" }}*'",
       "ssn=123-45-6789 ok",
       "ssn=*SSN*3dd216f082c55f933cab97cc79e3d6b25607c8c0ce0133df8cf7232ae7de84e4* ok"},
      // Every match, not only the first; text between groups kept.
      {"replace:\n  expression: 'user=(\\w+)'\n  replace: '{{ .Value | ToUpper }}'",
       "user=ann x user=bob", "user=ANN x user=BOB"},
      {"replace:\n  expression: '(\\d+)ms'\n  replace: '{{ .Value }}000us'", "took 12ms",
       "took 12000usms"},
      // Absent replace removes the groups; a line without a match is untouched.
      {"replace:\n  expression: 'secret=(\\S+)'", "a secret=hunter2 b", "a secret= b"},
      {"replace:\n  expression: 'secret=(\\S+)'", "nothing here", "nothing here"},
      // Promtail's quirk, kept: a group starting where the previous replaced one ended stays.
      {"replace:\n  expression: '(a)(b)'\n  replace: X", "ab ab", "Xb Xb"},
  };
  for (const auto& c : cases) {
    auto stage = MustBuild(c.yaml);
    auto out = RunStage(*stage, MakeEntry(c.line));
    ASSERT_EQ(out.size(), 1u) << c.yaml;
    EXPECT_EQ(out[0].entry.line, c.want) << c.yaml;
  }
}

TEST(ReplaceStage, TemplateSeesTheValueAndBranchesOnIt) {
  auto stage = MustBuild(R"y(replace:
  expression: '" (\d{3}) (\d+) '
  replace: '{{ if eq .Value "200" }}{{ Replace .Value "200" "HttpStatusOk" -1 }}{{ else }}{{ .Value | ToUpper }}{{ end }}')y");
  auto out = RunStage(*stage, MakeEntry(kAccessLog));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].entry.line.find("\"GET /1986.js HTTP/1.1\" HttpStatusOk 932 \"-\""),
            std::string::npos)
      << out[0].entry.line;
}

TEST(ReplaceStage, SetsNamedGroupsToTheirReplacedValues) {
  // The documented named-group example: every group upper-cased, and extracted so.
  auto stage = MustBuild(R"y(replace:
  expression: "^(?P<ip>\\S+) (?P<identd>\\S+) (?P<user>\\S+) \\[(?P<timestamp>[\\w:/]+\\s[+\\-]\\d{4})\\] \"(?P<action>\\S+)\\s?(?P<path>\\S+)?\\s?(?P<protocol>\\S+)?\" (?P<status>\\d{3}|-) (?P<size>\\d+|-)\\s?\"?(?P<referer>[^\"]*)\"?\\s?\"?(?P<useragent>[^\"]*)?\"?$"
  replace: '{{ .Value | ToUpper }}')y");
  auto out = RunStage(*stage, MakeEntry(kAccessLog));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.line,
            "11.11.11.11 - FRANK [25/JAN/2000:14:00:01 -0500] \"GET /1986.JS HTTP/1.1\" 200 932 "
            "\"-\" \"MOZILLA/5.0 (WINDOWS; U; WINDOWS NT 5.1; DE; RV:1.9.1.7) GECKO/20091221 "
            "FIREFOX/3.5.7 GTB6\"");
  EXPECT_EQ(ExtractedOr(out[0], "ip"), "11.11.11.11");
  EXPECT_EQ(ExtractedOr(out[0], "user"), "FRANK");
  EXPECT_EQ(ExtractedOr(out[0], "timestamp"), "25/JAN/2000:14:00:01 -0500");
  EXPECT_EQ(ExtractedOr(out[0], "path"), "/1986.JS");
  EXPECT_EQ(ExtractedOr(out[0], "status"), "200");
}

TEST(ReplaceStage, RewritesAnExtractedSource) {
  auto json = MustBuild("json:\n  expressions:\n    level:\n    msg:");
  auto stage = MustBuild(
      "replace:\n  expression: \"\\\\S+ - \\\"POST (\\\\S+) .*\"\n  source: msg\n"
      "  replace: \"/loki/api/v1/push\"");
  auto parsed = RunStage(
      *json,
      MakeEntry(
          R"({"level":"info","msg":"11.11.11.11 - \"POST /loki/api/push/ HTTP/1.1\" 200 932"})"));
  ASSERT_EQ(parsed.size(), 1u);
  const std::string line = parsed[0].entry.line;
  Collect out;
  stage->Process(std::move(parsed[0]), out);
  ASSERT_EQ(out.entries.size(), 1u);
  EXPECT_EQ(ExtractedOr(out.entries[0], "msg"),
            "11.11.11.11 - \"POST /loki/api/v1/push HTTP/1.1\" 200 932");
  EXPECT_EQ(out.entries[0].entry.line, line);  // the line itself is untouched
}

TEST(ReplaceStage, LeavesEntryAloneOnTemplateError) {
  auto stage = MustBuild("replace:\n  expression: '(x)'\n  replace: '{{ ToUpper .missing }}'");
  auto out = RunStage(*stage, MakeEntry("axb"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].entry.line, "axb");
}

TEST(ReplaceStage, RefusesBadConfigWithPosition) {
  struct Case {
    const char* yaml;
    const char* want;
  } cases[] = {
      {"replace:\n  replace: x",
       "promtail.yaml:2:3: pipeline_stages[0].expression: expression is required"},
      {"replace:\n  expression: '('",
       "promtail.yaml:2:15: pipeline_stages[0].expression: could not compile regular "
       "expression: missing ): ("},
      {"replace:\n  expression: a\n  replace: '{{ Nope }}'",
       "promtail.yaml:3:12: pipeline_stages[0].replace: template: 1:4: function \"Nope\" not "
       "defined"},
      {"replace:\n  expression: a\n  source: ''",
       "promtail.yaml:3:11: pipeline_stages[0].source: must not be empty"},
      {"replace:\n  expression: a\n  replacement: b",
       "promtail.yaml:3:3: pipeline_stages[0]: unknown key \"replacement\""},
  };
  for (const auto& c : cases) EXPECT_EQ(ConfigError(c.yaml), c.want) << c.yaml;
}

}  // namespace
}  // namespace skidder::pipeline
