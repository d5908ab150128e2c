#include "util/regexp_syntax.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

namespace skidder {
namespace {

// Go 1.22's "(?<name>...)" (Promtail 3 and Alloy take it) becomes RE2's "(?P<name>...)"; what
// only looks like it is left alone.
TEST(GoRegexpForRe2, NamedGroupsInGoSyntaxBecomeRe2s) {
  EXPECT_EQ(GoRegexpForRe2(R"(^(?<ts>\S+) (?<level>\w+))"), R"(^(?P<ts>\S+) (?P<level>\w+))");
  EXPECT_EQ(GoRegexpForRe2(R"((?P<a>x)(?<b>y))"), R"((?P<a>x)(?P<b>y))");
  EXPECT_EQ(GoRegexpForRe2(R"(\(?<x>)"), R"(\(?<x>)");           // an escaped parenthesis
  EXPECT_EQ(GoRegexpForRe2(R"([(?<x>])"), R"([(?<x>])");         // inside a class
  EXPECT_EQ(GoRegexpForRe2(R"([]](?<x>a))"), R"([]](?P<x>a))");  // a class holding ']'
  EXPECT_EQ(GoRegexpForRe2(R"(\Q(?<x>\E(?<y>b))"), R"(\Q(?<x>\E(?P<y>b))");
  EXPECT_EQ(GoRegexpForRe2("(?<=a)"), "(?<=a)");  // look-behind: left for RE2 to refuse
  EXPECT_EQ(GoRegexpForRe2("plain"), "plain");
  RE2 re(GoRegexpForRe2(R"(level=(?<level>\w+))"));
  ASSERT_TRUE(re.ok()) << re.error();
  std::string level;
  EXPECT_TRUE(RE2::PartialMatch("ts level=warn", re, &level));
  EXPECT_EQ(level, "warn");
  EXPECT_EQ(re.NamedCapturingGroups().at("level"), 1);
}

}  // namespace
}  // namespace skidder
