// The Alloy syntax: what parses, what it means, and where errors point.
#include <gtest/gtest.h>

#include <string>

#include "lang/alloy/eval.h"
#include "lang/alloy/parser.h"

namespace skidder::lang::alloy {
namespace {

// Evaluates `x = <expr>` with no components known.
Result<Value> EvalText(const std::string& expr, size_t max_bytes = kMaxEvaluatedBytes) {
  Result<File> f = Parse("x = " + expr + "\n", "t.alloy");
  if (!f) return Err(f.error());
  Evaluator ev(
      "t.alloy",
      [](const std::vector<std::string>&, size_t*, Pos) -> Result<Value> {
        return Err(NotFound(""));
      },
      max_bytes);
  return ev.Eval(*f->attributes.at(0).value);
}

std::string EvalString(const std::string& expr) {
  Result<Value> v = EvalText(expr);
  if (!v) return "ERROR: " + v.error().message();
  return v->kind == Value::Kind::kString ? v->str : "NOT A STRING: " + ToText(*v);
}

std::string ParseError(const std::string& text) {
  Result<File> f = Parse(text, "c.alloy");
  return f ? "parsed" : f.error().message();
}

TEST(AlloyParser, ReadsBlocksLabelsAttributesAndComments) {
  Result<File> f = Parse(R"(// a comment
/* block
   comment */ logging {
  level = "debug"  # shell-style too
}
loki.source.file "pods" {
  targets    = [{"__path__" = "/var/log/*.log", job = "x"}]
  forward_to = [loki.write.default.receiver]
  stage.json { expressions = { level = "" } }
}
)",
                         "c.alloy");
  ASSERT_TRUE(f) << f.error().message();
  ASSERT_EQ(f->blocks.size(), 2u);
  EXPECT_EQ(f->blocks[0].name, "logging");
  EXPECT_EQ(f->blocks[0].label, "");
  EXPECT_EQ(f->blocks[0].pos.line, 3);
  EXPECT_EQ(f->blocks[1].name, "loki.source.file");
  EXPECT_EQ(f->blocks[1].label, "pods");
  EXPECT_EQ(f->blocks[1].attributes.size(), 2u);
  ASSERT_EQ(f->blocks[1].blocks.size(), 1u);
  EXPECT_EQ(f->blocks[1].blocks[0].name, "stage.json");
  EXPECT_EQ(f->blocks[1].attributes[1].pos.line, 8);
  EXPECT_EQ(f->blocks[1].attributes[1].pos.column, 3);
}

TEST(AlloyParser, DecodesStringEscapesAndKeepsRawStringsAsWritten) {
  EXPECT_EQ(EvalString(R"("a\tb\n\"q\"\\ \x41\u00e9\101")"),
            "a\tb\n\"q\"\\ A\xc3\xa9"
            "A");
  EXPECT_EQ(EvalString(R"(`^\d+ "raw" \n`)"), R"(^\d+ "raw" \n)");
  EXPECT_EQ(EvalString("`two\nlines`"), "two\nlines");
}

TEST(AlloyEval, AppliesOperatorsWithAlloyPrecedence) {
  EXPECT_EQ(EvalString(R"("a" + "b" + string.format("%d", 1 + 2 * 3))"), "ab7");
  EXPECT_EQ(EvalString(R"(string.format("%v", 2 ^ 3 ^ 2))"), "512");
  EXPECT_EQ(EvalString(R"(string.format("%v %v", 7 % 4, -(1 - 3) / 4))"), "3 0.5");
  EXPECT_EQ(EvalString(R"(string.format("%v", 1 < 2 && !(2 >= 3) || false))"), "true");
  EXPECT_EQ(EvalString(R"(string.format("%v", [1, "a"] == [1, "a"] && {a = 1} != {a = 2}))"),
            "true");
  EXPECT_EQ(EvalString(R"(string.format("%v", "a" < "b"))"), "true");
}

TEST(AlloyEval, IndexesArraysAndReadsObjectFields) {
  EXPECT_EQ(EvalString(R"(["a", "b"][1])"), "b");
  EXPECT_EQ(EvalString(R"({a = {b = "deep"}}.a.b)"), "deep");
  EXPECT_EQ(EvalString(R"({a = "x"}["a"])"), "x");
  EXPECT_EQ(EvalString(R"(encoding.from_json("{\"k\": [1, {\"v\": \"w\"}]}").k[1].v)"), "w");
  EXPECT_EQ(EvalString(R"(["a"][3])"),
            "ERROR: t.alloy:1:10: index 3 out of range for an array of 1");
}

TEST(AlloyStdlib, StringFunctions) {
  EXPECT_EQ(EvalString(R"(string.join(string.split("a,b,c", ","), "-"))"), "a-b-c");
  EXPECT_EQ(EvalString(R"(string.replace("aXbX", "X", "y"))"), "ayby");
  EXPECT_EQ(EvalString(R"(string.to_upper("ab") + to_lower("CD"))"), "ABcd");
  EXPECT_EQ(EvalString(R"(string.trim("xxhixx", "x") + string.trim_space("  y "))"), "hiy");
  EXPECT_EQ(
      EvalString(R"(string.trim_prefix("prefix-a", "prefix-") + trim_suffix("b.log", ".log"))"),
      "ab");
  EXPECT_EQ(EvalString(R"(string.format("%s=%q %%", "k", "v"))"), "k=\"v\" %");
}

TEST(AlloyStdlib, EnvironmentCoalesceConcatAndPaths) {
  setenv("SKIDDER_ALLOY_TEST", "from-env", 1);
  unsetenv("SKIDDER_ALLOY_UNSET");
  EXPECT_EQ(EvalString(R"(sys.env("SKIDDER_ALLOY_TEST"))"), "from-env");
  EXPECT_EQ(EvalString(R"(coalesce(env("SKIDDER_ALLOY_UNSET"), "fallback"))"), "fallback");
  EXPECT_EQ(EvalString(R"(string.join(array.concat(["a"], concat(["b"], ["c"])), ""))"), "abc");
  EXPECT_EQ(EvalString(R"(file.path_join("/var/log", "pods", "x.log"))"), "/var/log/pods/x.log");
  EXPECT_EQ(EvalString(R"(encoding.from_base64("c2VjcmV0"))"), "secret");
  EXPECT_EQ(EvalString(R"(convert.nonsensitive("tenant"))"), "tenant");
  EXPECT_NE(EvalString("constants.hostname"), "");
}

TEST(AlloyStdlib, JsonDecodeAndJsonPath) {
  EXPECT_EQ(EvalString(R"(json_decode("{\"a\": \"b\"}")["a"])"), "b");
  // Numbers round as Go's decoder does (rapidjson's default parse: ...5660000000000000).
  EXPECT_EQ(
      EvalString(
          R"(json_decode("{\"n\": 123456789012345678901234567890}")["n"] == 1.2345678901234568e29)"),
      "NOT A STRING: true");
  EXPECT_NE(EvalString(R"(json_decode("{\"a\": ")["a"])").find("invalid JSON at offset"),
            std::string::npos);
  EXPECT_EQ(EvalString(R"(json_path("{\"k\": {\"v\": \"w\"}}", ".k.v")[0])"), "w");
  EXPECT_EQ(EvalString(R"(json_path("[{\"v\": 1}, {\"v\": \"two\"}]", "$[1].v")[0])"), "two");
  EXPECT_EQ(EvalString(R"(string.join(json_path("{\"a\": [\"x\", \"y\"]}", "$.a[*]"), ""))"), "xy");
  EXPECT_NE(EvalString(R"(json_path("{}", "$[?(@.a)]"))").find("not supported"), std::string::npos);
}

TEST(AlloyEval, ErrorsNameThePositionOfTheExpression) {
  EXPECT_EQ(EvalString(R"("a" + 1)"),
            "ERROR: t.alloy:1:9: operator + does not apply to a string and a number");
  EXPECT_EQ(EvalString("nope.thing"), "ERROR: t.alloy:1:5: unknown reference nope.thing");
  EXPECT_EQ(EvalString(R"(string.nope("a"))"), "ERROR: t.alloy:1:5: unknown function string.nope");
  EXPECT_EQ(EvalString(R"(string.join("a"))"),
            "ERROR: t.alloy:1:5: string.join: expected an array of strings and a separator");
  EXPECT_EQ(EvalString("1 / 0"), "ERROR: t.alloy:1:7: division by zero");
}

// A few hundred bytes of config must not make gigabytes: nested calls multiply a string at each
// level, and each call refuses a result past kMaxValueBytes before making it.
TEST(AlloyEval, RefusesExpressionsThatGrowPastTheValueLimit) {
  const std::string a64 = "\"" + std::string(64, 'a') + "\"";
  // Each level makes 64 of every 'a': six levels would be 64^7 bytes (4 TiB).
  auto times64 = [&](const std::string& x) { return "replace(" + x + ", \"a\", " + a64 + ")"; };
  std::string bomb = a64;
  for (int i = 0; i < 6; ++i) bomb = times64(bomb);
  EXPECT_NE(EvalString(bomb).find("1:21: replace: the result would be larger than 16 MiB"),
            std::string::npos)
      << EvalString(bomb).substr(0, 200);
  const std::string mib16 = times64(times64(times64(a64)));  // 64^4 bytes: 16 MiB, the limit
  EXPECT_EQ(EvalString(mib16).size(), size_t{16} << 20);
  EXPECT_NE(EvalString(mib16 + " + \"b\"").find("the string would be larger than 16 MiB"),
            std::string::npos);
  EXPECT_NE(EvalString("format(\"%s%s\", " + mib16 + ", \"b\")").find("would be larger than"),
            std::string::npos);
  EXPECT_NE(EvalString("join([" + mib16 + ", \"b\"], \"\")").find("would be larger than"),
            std::string::npos);
  EXPECT_NE(EvalString("file.path_join(" + mib16 + ", \"b\")").find("would be larger than"),
            std::string::npos);
  // A half-MiB string split into characters: a Value each, far more than 16 MiB.
  const std::string half = "replace(" + times64(times64(a64)) + ", \"a\", \"bb\")";
  EXPECT_NE(EvalString("split(" + half + ", \"\")").find("would be larger than"),
            std::string::npos);
  // Arrays doubled a level at a time.
  std::string concat = "[" + times64(times64(a64)) + "]";
  for (int i = 0; i < 8; ++i) concat = "array.concat(" + concat + ", " + concat + ")";
  EXPECT_NE(EvalString(concat).find("would be larger than"), std::string::npos);
  // Within the limits, the same functions still work.
  EXPECT_EQ(EvalString(R"(replace("a-b-c", "-", "+"))"), "a+b+c");
  EXPECT_EQ(EvalString(R"(format("%s%s", "a", "b") + join(["c", "d"], "") + "e")"), "abcde");
}

// Each call within its limit, but many of them: the load's budget stops the sum.
TEST(AlloyEval, RefusesALoadWhoseValuesAddUpPastItsBudget) {
  const std::string a64 = "\"" + std::string(64, 'a') + "\"";
  auto times64 = [&](const std::string& x) { return "replace(" + x + ", \"a\", " + a64 + ")"; };
  const std::string mib = times64(times64(times64("\"aaaa\"")));  // 4 * 64^3 bytes: 1 MiB
  std::string many = "[";
  for (int i = 0; i < 10; ++i) many += (i ? ", " : "") + mib;
  many += "]";
  EXPECT_TRUE(EvalText(many, 32 << 20).has_value());
  Result<Value> v = EvalText(many, 8 << 20);
  ASSERT_FALSE(v.has_value());
  EXPECT_NE(v.error().message().find("make more than 8 MiB of values"), std::string::npos)
      << v.error().message();
}

TEST(AlloyParser, SyntaxErrorsNameLineColumnAndAShortExcerpt) {
  struct Case {
    std::string text, error;
  };
  const Case cases[] = {
      {"a = \"open\n", "c.alloy:1:5: unterminated string: a newline in \"...\" (at \"\\\"open\")"},
      {"a = `open", "c.alloy:1:5: unterminated raw string (at \"`open\")"},
      {"/* never closed", "c.alloy:1:1: unterminated /* comment (at \"/* never closed\")"},
      {"a = \"\\q\"", "c.alloy:1:6: unknown escape sequence in string (at \"\\\\q\\\"\")"},
      {"a = \"\\u12\"", "c.alloy:1:6: malformed unicode escape (at \"\\\\u12\\\"\")"},
      {"a = 1e", "c.alloy:1:7: malformed number: expected digits in the exponent"},
      {"a = 12ab", "c.alloy:1:7: malformed number (at \"ab\")"},
      {"a = @", "c.alloy:1:5: unexpected character \"@\" (at \"@\")"},
      {"blk {\n  a = 1\n", "c.alloy:3:1: unexpected end of the file: a block is not closed"},
      {"blk {\n  a = 1 b = 2\n}",
       "c.alloy:2:9: expected a line break after the statement, found "
       "identifier b (at \"b = 2\")"},
      {"blk \"l\" x",
       "c.alloy:1:9: expected \"=\" or a block's \"{\" after blk, found identifier x "
       "(at \"x\")"},
      {"= 1", "c.alloy:1:1: expected an attribute or a block, found \"=\" (at \"= 1\")"},
      {"a = [1, 2", "c.alloy:1:10: expected \"]\", found the end of the file"},
      {"a = {k = 1, k = 2}", "c.alloy:1:13: object key \"k\" is set twice (at \"k = 2}\")"},
      {"a = 1\na = 2", "c.alloy:2:1: attribute a is set twice (at \"a = 2\")"},
      {"a = x.", "c.alloy:1:7: expected a field name after \".\", found the end of the file"},
      {"a = (1", "c.alloy:1:7: expected \")\", found the end of the file"},
      {"a = ", "c.alloy:1:5: expected a value, found the end of the file"},
      {"a.b = 1",
       "c.alloy:1:5: expected \"=\" or a block's \"{\" after a.b, found \"=\" (at \"= 1\")"},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseError(c.text), c.error) << c.text;
}

TEST(AlloyParser, ErrorExcerptsAreShortEvenForHugeLines) {
  std::string text = "a = @" + std::string(100000, 'x');
  std::string error = ParseError(text);
  EXPECT_LT(error.size(), 120u) << error;
  EXPECT_NE(error.find("..."), std::string::npos);
}

TEST(AlloyParser, RefusesHostileNestingWithoutOverflowingTheStack) {
  EXPECT_NE(ParseError("a = " + std::string(100000, '[')).find("nested too deeply"),
            std::string::npos);
  EXPECT_NE(ParseError("a = " + std::string(100000, '(')).find("nested too deeply"),
            std::string::npos);
  EXPECT_NE(ParseError("a = " + std::string(100000, '!') + "true").find("nested too deeply"),
            std::string::npos);
  std::string chain = "a = 1";
  for (int i = 0; i < 50000; ++i) chain += " + 1";
  EXPECT_NE(ParseError(chain).find("nested too deeply"), std::string::npos);
  std::string power = "a = 1";
  for (int i = 0; i < 50000; ++i) power += " ^ 1";
  EXPECT_NE(ParseError(power).find("nested too deeply"), std::string::npos);
  std::string blocks;
  for (int i = 0; i < 50000; ++i) blocks += "b {\n";
  EXPECT_NE(ParseError(blocks).find("nested too deeply"), std::string::npos);
  // Reasonable depth is fine.
  EXPECT_EQ(ParseError("a = " + std::string(50, '[') + std::string(50, ']')), "parsed");
}

}  // namespace
}  // namespace skidder::lang::alloy
