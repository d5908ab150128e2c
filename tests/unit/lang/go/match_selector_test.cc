// LogQL stream selectors with line filters, as the match stage uses them.
#include "lang/go/match_selector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <utility>

#include "model/entry.h"

namespace skidder::lang::go {
namespace {

using ::testing::HasSubstr;

Entry MakeEntry(const std::string& line, const Labels& labels) {
  Entry e;
  e.line = line;
  e.labels = labels;
  return e;
}

TEST(MatchSelector, MatchesLabelsAndLineFiltersLikeLogql) {
  const Labels labels{{"app", "loki"}, {"env", "prod"}, {"team", "obs"}};
  struct Case {
    const char* selector;
    const char* line;
    bool match;
  } cases[] = {
      {R"({app="loki"})", "x", true},
      {R"({app="promtail"})", "x", false},
      {R"({app!="promtail"})", "x", true},
      {R"({ app = "loki" , env=~"prod|stage" })", "x", true},
      {R"({env=~"pro"})", "x", false},  // regex matchers are anchored
      {R"({env!~"dev|test"})", "x", true},
      {R"({missing=""})", "x", true},  // an absent label is ""
      {R"({missing!=""})", "x", false},
      {R"({missing=~".*"})", "x", true},
      {R"({app="loki", team!="obs"})", "x", false},
      {R"({app="loki"} |= "noisy error")", "foo noisy error", true},
      {R"({app="loki"} |= "noisy error")", "foo error", false},
      {R"({app="loki"} != "debug")", "a debug line", false},
      {R"({app="loki"} |~ ".*noisy error.*")", "foo noisy error", true},
      {R"({app="loki"} |~ "err(or)?\\s+\\d+")", "got err 42", true},
      {R"({app="loki"} |~ `err(or)?\s+\d+`)", "got error  7", true},
      {R"({app="loki"} !~ "^GET")", "GET /", false},
      {R"({app="loki"} |= "a" |= "b" != "c")", "a b", true},
      {R"({app="loki"} |= "a" |= "b" != "c")", "a b c", false},
      {R"({app="loki"} |= "tab\there")", "tab\there", true},
      {R"({app="loki"} |= "\u00e9t\u00e9")", "\xc3\xa9t\xc3\xa9", true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.selector);
    auto sel = Selector::Parse(c.selector);
    ASSERT_TRUE(sel.has_value()) << sel.error().message();
    Entry e = MakeEntry(c.line, labels);
    EXPECT_EQ(sel->Matches(e), c.match);
  }
}

TEST(MatchSelector, RefusesMalformedSelectorsSayingWhere) {
  const std::pair<const char*, const char*> cases[] = {
      {"app=\"x\"", "offset 0: expected {"},
      {"{}", "offset 2: at least one label matcher is required"},
      {"{app}", "offset 4: expected one of =, !=, =~, !~"},
      {"{app=x}", "offset 5: expected a string in double quotes or backticks"},
      {"{app=\"x}", "unterminated string"},
      {"{app=\"x\" env=\"y\"}", "offset 9: expected , or }"},
      {"{app=~\"(\"}", "bad regular expression: missing ): ("},
      {"{app=\"x\"} | json", "offset 10: expected a line filter"},
      {"{app=\"x\"} |~ \"\\d\"", "unknown escape \\d"},
      {"{1app=\"x\"}", "offset 1: expected a label name"},
  };
  for (auto [text, want] : cases) {
    SCOPED_TRACE(text);
    auto sel = Selector::Parse(text);
    ASSERT_FALSE(sel.has_value());
    EXPECT_THAT(sel.error().message(), HasSubstr(want));
  }
}

}  // namespace
}  // namespace skidder::lang::go
