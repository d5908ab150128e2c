#include "kubernetes/relabel.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

namespace skidder::kubernetes {
namespace {

using config::RelabelConfig;

RelabelConfig Rule(std::string action, std::vector<std::string> sources, std::string regex,
                   std::string target, std::string replacement = "$1") {
  RelabelConfig c;
  c.action = std::move(action);
  c.source_labels = std::move(sources);
  c.regex = std::move(regex);
  c.target_label = std::move(target);
  c.replacement = std::move(replacement);
  return c;
}

RelabelConfig HashModRule(std::vector<std::string> sources, std::string target, uint64_t mod) {
  RelabelConfig c = Rule("hashmod", std::move(sources), "(.*)", std::move(target));
  c.modulus = mod;
  return c;
}

RelabelConfig WithSeparator(RelabelConfig c, std::string separator) {
  c.separator = std::move(separator);
  return c;
}

RelabelConfig RegexOnly(std::string action, std::string regex, std::string replacement = "$1") {
  return Rule(std::move(action), {}, std::move(regex), "", std::move(replacement));
}

struct Case {
  std::string name;
  Labels input;
  std::vector<RelabelConfig> rules;
  bool keep;
  Labels output;  // checked only when keep
};

class RelabelTable : public ::testing::TestWithParam<Case> {};

TEST_P(RelabelTable, ProducesPrometheusResult) {
  const Case& c = GetParam();
  auto rules = CompileRelabel(c.rules);
  ASSERT_TRUE(rules.has_value()) << rules.error().ToString();
  Labels labels = c.input;
  EXPECT_EQ(Relabel(*rules, labels), c.keep);
  if (c.keep) {
    EXPECT_EQ(labels.ToString(), c.output.ToString());
  }
}

const Labels kFooBarBaz = {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}};

INSTANTIATE_TEST_SUITE_P(
    Actions, RelabelTable,
    ::testing::Values(
        Case{"ReplaceWithBracedGroup",
             kFooBarBaz,
             {Rule("replace", {"a"}, "f(.*)", "d", "ch${1}-ch${1}")},
             true,
             {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}, {"d", "choo-choo"}}},
        Case{"ReplaceJoinsSourcesWithSeparator",
             kFooBarBaz,
             {Rule("replace", {"a", "b"}, "f(.*);(.*)r", "a", "b${1}${2}m"),
              Rule("replace", {"c", "a"}, "(b).*b(.*)ba(.*)", "d", "$1$2$2$3")},
             true,
             {{"a", "boobam"}, {"b", "bar"}, {"c", "baz"}, {"d", "boooom"}}},
        Case{"ReplaceIsAnchored",
             {{"a", "abc"}},
             {Rule("replace", {"a"}, "b", "d", "x")},
             true,
             {{"a", "abc"}}},
        Case{"ReplaceNoMatchLeavesLabels",
             {{"a", "boo"}},
             {Rule("replace", {"a"}, "f", "b", "bar")},
             true,
             {{"a", "boo"}}},
        Case{"ReplaceEmptyResultRemovesTarget",
             {{"a", "x"}, {"gone", "1"}},
             {Rule("replace", {"missing"}, "(.*)", "gone")},
             true,
             {{"a", "x"}}},
        Case{"ReplaceStaticValueWithoutSources",
             {{"a", "x"}},
             {Rule("replace", {}, "(.*)", "job", "kubernetes-pods")},
             true,
             {{"a", "x"}, {"job", "kubernetes-pods"}}},
        Case{"ReplaceMissingSourceIsEmptyString",
             {{"b", "2"}},
             {Rule("replace", {"a", "b"}, "(.*)", "j")},
             true,
             {{"b", "2"}, {"j", ";2"}}},
        Case{"ReplaceCustomSeparator",
             kFooBarBaz,
             {WithSeparator(Rule("replace", {"a", "b"}, "(.*)", "j"), std::string(1, '/'))},
             true,
             {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}, {"j", "foo/bar"}}},
        Case{"ReplaceTargetFromGroup",
             {{"a", "some-name-value"}},
             {Rule("replace", {"a"}, "some-([^-]+)-([^,]+)", "${1}", "${2}")},
             true,
             {{"a", "some-name-value"}, {"name", "value"}}},
        Case{"ReplaceUnknownGroupExpandsEmptyAndRemoves",
             {{"a", "some-name-value"}},
             {Rule("replace", {"a"}, "some-([^-]+)-([^,]+)", "${1}", "${3}")},
             true,
             {{"a", "some-name-value"}}},
        Case{"ReplaceInvalidExpandedTargetIsSkipped",
             {{"a", "some-name-0"}},
             {Rule("replace", {"a"}, "some-([^-]+)-([^,]+)", "${3}", "${1}"),
              Rule("replace", {"a"}, "some-([^-]+)(-[^,]+)", "${2}", "${1}")},
             true,
             {{"a", "some-name-0"}}},
        Case{"ReplaceNamedGroupAndDollarDollar",
             {{"a", "v1"}},
             {Rule("replace", {"a"}, "v(?P<ver>\\d)", "b", "$$${ver}-$ver")},
             true,
             {{"a", "v1"}, {"b", "$1-1"}}},
        Case{"ReplaceDollarNameRunsToLongestWord",
             {{"a", "xy"}},
             {Rule("replace", {"a"}, "(x)(y)", "b", "$1x|${1}x|$")},
             true,
             {{"a", "xy"}, {"b", "|xx|$"}}},
        Case{
            "KeepMatching", {{"a", "foo"}}, {Rule("keep", {"a"}, "f.*", "")}, true, {{"a", "foo"}}},
        Case{"KeepDropsNonMatching",
             {{"a", "foo"}},
             {Rule("keep", {"a"}, "no-match", "")},
             false,
             {}},
        Case{"KeepDropsOnPartialMatch", {{"a", "foo"}}, {Rule("keep", {"a"}, "f", "")}, false, {}},
        Case{"DropMatching",
             {{"a", "foo"}, {"b", "bar"}},
             {Rule("drop", {"a"}, ".*o.*", "")},
             false,
             {}},
        Case{"DropIsAnchored",
             {{"a", "foo"}},
             {Rule("drop", {"a"}, "f|o", "")},
             true,
             {{"a", "foo"}}},
        Case{"DropStopsLaterRules",
             {{"a", "foo"}},
             {Rule("drop", {"a"}, ".*o.*", ""), Rule("replace", {"a"}, "f(.*)", "d", "x")},
             false,
             {}},
        Case{"DropEmptyPath",
             {{"__path__", ""}, {"a", "x"}},
             {Rule("drop", {"__path__"}, "", "")},
             false,
             {}},
        Case{"KeepEqualSameValue",
             {{"__tmp_port", "1234"}, {"__port1", "1234"}},
             {Rule("keepequal", {"__tmp_port"}, "(.*)", "__port1")},
             true,
             {{"__tmp_port", "1234"}, {"__port1", "1234"}}},
        Case{"KeepEqualDifferentValueDrops",
             {{"__tmp_port", "1234"}, {"__port2", "5678"}},
             {Rule("keepequal", {"__tmp_port"}, "(.*)", "__port2")},
             false,
             {}},
        Case{"DropEqualSameValueDrops",
             {{"__tmp_port", "1234"}, {"__port1", "1234"}},
             {Rule("dropequal", {"__tmp_port"}, "(.*)", "__port1")},
             false,
             {}},
        Case{"DropEqualDifferentValueKeeps",
             {{"__tmp_port", "1234"}, {"__port2", "5678"}},
             {Rule("dropequal", {"__tmp_port"}, "(.*)", "__port2")},
             true,
             {{"__tmp_port", "1234"}, {"__port2", "5678"}}},
        Case{"HashModMatchesPrometheus",
             kFooBarBaz,
             {HashModRule({"c"}, "d", 1000)},
             true,
             {{"a", "foo"}, {"b", "bar"}, {"c", "baz"}, {"d", "976"}}},
        Case{"HashModOfNewline",
             {{"a", "foo\nbar"}},
             {HashModRule({"a"}, "b", 1000)},
             true,
             {{"a", "foo\nbar"}, {"b", "734"}}},
        Case{"HashModJoinsSources",
             {{"a", "foo"}, {"b", "bar"}},
             {HashModRule({"a", "b"}, "s", 1000)},
             true,
             {{"a", "foo"}, {"b", "bar"}, {"s", "750"}}},
        Case{"LabelMapCopies",
             {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}},
             {RegexOnly("labelmap", "(b.*)", "bar_${1}")},
             true,
             {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}, {"bar_b1", "bar"}, {"bar_b2", "baz"}}},
        Case{"LabelMapStripsMetaPrefix",
             {{"__meta_kubernetes_pod_label_app", "web"}, {"__meta_other", "x"}},
             {RegexOnly("labelmap", "__meta_kubernetes_pod_label_(.+)")},
             true,
             {{"__meta_kubernetes_pod_label_app", "web"}, {"__meta_other", "x"}, {"app", "web"}}},
        Case{"LabelDropMatching",
             {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}},
             {RegexOnly("labeldrop", "(b.*)")},
             true,
             {{"a", "foo"}}},
        Case{"LabelDropIsAnchored",
             {{"ab", "1"}, {"b", "2"}},
             {RegexOnly("labeldrop", "b")},
             true,
             {{"ab", "1"}}},
        Case{"LabelKeepMatching",
             {{"a", "foo"}, {"b1", "bar"}, {"b2", "baz"}},
             {RegexOnly("labelkeep", "(b.*)")},
             true,
             {{"b1", "bar"}, {"b2", "baz"}}},
        Case{
            "LowercaseAndUppercase",
            {{"foo", "bAr123Foo"}},
            {Rule("uppercase", {"foo"}, "(.*)", "foo_uppercase"),
             Rule("lowercase", {"foo"}, "(.*)", "foo_lowercase")},
            true,
            {{"foo", "bAr123Foo"}, {"foo_lowercase", "bar123foo"}, {"foo_uppercase", "BAR123FOO"}}},
        Case{"ActionIsCaseInsensitive",
             {{"a", "foo"}},
             {Rule("Keep", {"a"}, "f.*", "")},
             true,
             {{"a", "foo"}}},
        Case{"LabelDropThenReplaceRecreates",
             {{"__meta_port_name", "foo"}, {"__meta_annotation_port", "9091"}},
             {RegexOnly("labeldrop", "__meta_port_name"),
              Rule("replace", {"__meta_annotation_port"}, "(.+)", "__meta_port_name", "metrics"),
              Rule("keep", {"__meta_port_name"}, "metrics", "")},
             true,
             {{"__meta_annotation_port", "9091"}, {"__meta_port_name", "metrics"}}}),
    [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

struct BadCase {
  std::string name;
  RelabelConfig rule;
  std::string error;
};

class RelabelRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(RelabelRejects, InvalidConfigNamingTheRule) {
  const BadCase& c = GetParam();
  auto rules = CompileRelabel({Rule("keep", {"a"}, ".*", ""), c.rule});
  ASSERT_FALSE(rules.has_value());
  EXPECT_NE(rules.error().message().find("relabel_configs[1]"), std::string::npos);
  EXPECT_NE(rules.error().message().find(c.error), std::string::npos) << rules.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Validation, RelabelRejects,
    ::testing::Values(
        BadCase{"UnknownAction", Rule("explode", {}, ".*", ""), "unknown relabel action"},
        BadCase{"ReplaceWithoutTarget", Rule("replace", {"a"}, ".*", ""),
                "requires 'target_label'"},
        BadCase{"LowercaseWithoutTarget", Rule("lowercase", {"a"}, ".*", ""), "requires"},
        BadCase{"LowercaseTemplateTarget", Rule("lowercase", {"a"}, "(.*)", "${3}"),
                "invalid 'target_label'"},
        BadCase{"ReplaceDigitFirstTarget", Rule("replace", {"a"}, "(.*)", "0${3}"),
                "invalid 'target_label'"},
        BadCase{"ReplaceDashTarget", Rule("replace", {"a"}, "(.*)", "-${3}"),
                "invalid 'target_label'"},
        BadCase{"ReplacePlainInvalidTarget", Rule("replace", {"a"}, "(.*)", "a-b"),
                "invalid 'target_label'"},
        BadCase{"HashModWithoutModulus", Rule("hashmod", {"a"}, "(.*)", "s"), "modulus"},
        BadCase{"BadRegex", Rule("keep", {"a"}, "(unclosed", ""), "invalid regex"},
        BadCase{"LabelDropWithSources", Rule("labeldrop", {"a"}, "a", ""), "only 'regex'"},
        BadCase{"LabelKeepWithTarget", Rule("labelkeep", {}, "a", "t"), "only 'regex'"},
        BadCase{"KeepEqualWithRegex", Rule("keepequal", {"a"}, "x", "b"), "no other fields"},
        BadCase{"UppercaseWithReplacement", Rule("uppercase", {"a"}, "(.*)", "b", "x"),
                "'replacement' can not be set"},
        BadCase{"LabelMapInvalidReplacement", RegexOnly("labelmap", "(.*)", "a-$1"),
                "invalid 'replacement'"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

TEST(Relabel, TemplateTargetsPrometheusAccepts) {
  for (std::string t :
       {"label", "label${1}", "${1}label", "${1}", "$1", "asd$2asd", "_${1}_", "foo${bar}foo"}) {
    EXPECT_TRUE(CompileRelabel({Rule("replace", {"a"}, "(.*)", t)}).has_value()) << t;
  }
  for (std::string t : {"${", "$", "${}", "foo${", "-foo${1}bar-"}) {
    EXPECT_FALSE(CompileRelabel({Rule("replace", {"a"}, "(.*)", t)}).has_value()) << t;
  }
}

TEST(Relabel, ExpandTemplateFollowsGoRules) {
  re2::RE2 re("^(?:(?P<first>a)(b)?(c))$");
  std::vector<std::string_view> groups = {"ac", "a", "", "c"};
  struct {
    std::string tmpl, want;
  } cases[] = {
      {"$1", "a"},        {"${1}", "a"},  {"$first", "a"}, {"${first}x", "ax"},
      {"$firstx", ""},    {"$2", ""},     {"$9", ""},      {"$01", ""},
      {"$0", "ac"},       {"$$1", "$1"},  {"${1", "${1"},  {"$-", "$-"},
      {"plain", "plain"}, {"$3$1", "ca"}, {"${}", "${}"},  {"", ""},
  };
  for (const auto& c : cases) {
    std::string out;
    ExpandTemplate(c.tmpl, re, groups, out);
    EXPECT_EQ(out, c.want) << c.tmpl;
  }
}

TEST(Relabel, EmptyRuleListKeepsTargetUnchanged) {
  auto rules = CompileRelabel({});
  ASSERT_TRUE(rules.has_value());
  Labels l = kFooBarBaz;
  EXPECT_TRUE(Relabel(*rules, l));
  EXPECT_EQ(l, kFooBarBaz);
}

}  // namespace
}  // namespace skidder::kubernetes
