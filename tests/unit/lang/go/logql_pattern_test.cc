// LogQL's pattern parser, as Loki's pkg/logql/log/pattern matches (Alloy's stage.pattern).
#include "lang/go/logql_pattern.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace skidder::lang::go {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

std::vector<std::string> Captures(const char* pattern, const char* line) {
  auto p = LinePattern::Parse(pattern);
  EXPECT_TRUE(p.has_value()) << pattern << ": " << (p ? "" : p.error().message());
  if (!p) return {};
  std::vector<std::string_view> values;
  const size_t n = p->Match(line, &values);
  EXPECT_EQ(n, values.size());
  return {values.begin(), values.end()};
}

TEST(LinePattern, MatchesCommonFormatsLeftToRight) {
  struct Case {
    const char* pattern;
    const char* line;
    std::vector<std::string> want;
  } cases[] = {
      {"user <who> logged in", "user ann logged in", {"ann"}},
      // A capture at the end takes the rest, "" when nothing is left.
      {"user <who> logged<rest>", "user ann logged", {"ann", ""}},
      {"<a> x<b>", " x", {"", ""}},
      {"<path>?<_>", "/search?q=1&page=2", {"/search"}},
      // The literal after a capture is not found: the capture takes the rest, and matching ends.
      {"<path>?<_>", "/healthz", {"/healthz"}},
      {"<path>?<query> <status>", "/healthz 200", {"/healthz 200"}},
      // nginx / Apache combined log format.
      {R"(<ip> - <user> [<_>] "<method> <uri> <_>" <status> <size> )",
       R"(10.0.0.7 - - [07/Dec/2026:18:40:01 +0000] "POST /api/v1/push HTTP/1.1" 204 0 "-" "curl")",
       {"10.0.0.7", "-", "POST", "/api/v1/push", "204", "0"}},
      // The first occurrence of a literal ends a capture, even where a later one was meant.
      {"<k>=<v>", "a=b=c", {"a", "b=c"}},
      // klog: runs of spaces are literals like any other.
      {"<sev> <_>   <_> <file>] <msg>",
       "I1207 18:40:01.123456   12 server.go:88] listening on :8080",
       {"I1207", "server.go:88", "listening on :8080"}},
      {"<_> level=<level> <_>", "ts=1 level=warn msg=x", {"warn"}},
      // Non-ASCII literals are matched byte for byte.
      {"température=<t>°C", "température=21°C", {"21"}},
      {"<<tag>>", "<b>", {"b"}},  // a '<' that starts no capture is literal
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Captures(c.pattern, c.line), ElementsAreArray(c.want)) << c.pattern;
  }
}

TEST(LinePattern, ALeadingLiteralMustStartTheLine) {
  EXPECT_THAT(Captures("GET <path>", "GET /a"), ElementsAre("/a"));
  EXPECT_THAT(Captures("GET <path>", "POST /a GET /b"), ElementsAre());
  EXPECT_THAT(Captures("<x> y", ""), ElementsAre());  // an empty line matches nothing
  // Only skipped text before the first missing literal: nothing named is set.
  EXPECT_THAT(Captures("<_> id=<id>", "no id here"), ElementsAre());
}

TEST(LinePattern, NamesAreTheNamedCapturesInOrder) {
  auto p = LinePattern::Parse("<_> [<level>] <_> <msg_2>");
  ASSERT_TRUE(p.has_value());
  EXPECT_THAT(p->names(), ElementsAre("level", "msg_2"));
}

TEST(LinePattern, RefusesWhatLokiRefuses) {
  struct Case {
    const char* pattern;
    const char* error;
  } cases[] = {
      {"", "pattern is required"},
      {"no captures", "at least one named capture"},
      {"<_> only <_>", "at least one named capture"},
      {"<a><b>", "consecutive captures <a><b> at byte 0"},
      {"<a> x<b><c>", "consecutive captures <b><c> at byte 5"},
      // Older Loki releases missed this one (and their matcher then panicked).
      {"x<a><b>", "consecutive captures <a><b> at byte 1"},
      {"<a> x<a>", "duplicate capture name <a> at byte 5"},
  };
  for (const Case& c : cases) {
    auto p = LinePattern::Parse(c.pattern);
    ASSERT_FALSE(p.has_value()) << c.pattern;
    EXPECT_THAT(p.error().message(), HasSubstr(c.error)) << c.pattern;
  }
  // Not captures, so literal: a name starting with a digit, an unclosed one, an empty one.
  for (const char* literal : {"<1a> <x>", "<a <x>", "<> <x>", "<a-b> <x>"}) {
    EXPECT_TRUE(LinePattern::Parse(literal).has_value()) << literal;
  }
  EXPECT_THAT(Captures("<1a> <x>", "<1a> y"), ElementsAre("y"));
}

}  // namespace
}  // namespace skidder::lang::go
