// The Go text/template engine on its own: what it refuses at parse time, its nesting bounds, and
// random templates under the sanitizers. The template stage's tests are in tests/unit/pipeline.
#include "lang/go/template_engine.h"

#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <string>
#include <string_view>

#include "support/test_util.h"

namespace skidder::lang::go {
namespace {

using skidder::testing::Repeat;

TEST(TemplateEngine, RefusesWhatItDoesNotSupportAtParseTime) {
  struct Case {
    const char* tmpl;
    const char* want;  // a substring of the error
  } cases[] = {
      {"{{ foo .a }}", "function \"foo\" not defined"},
      {"{{ if .a }}x", "missing {{end}}"},
      {"{{ end }}", "unexpected {{end}}"},
      {"{{ define \"x\" }}{{ end }}", "{{define}} is not supported"},
      {"{{ $x }}", "undefined variable \"$x\""},
      {"{{ with $x := 1 }}{{ end }}{{ $x }}", "1:31: undefined variable \"$x\""},
      {"{{ range $i := until 2 }}{{ else }}{{ $i }}{{ end }}", "undefined variable \"$i\""},
      {"{{ if true }}{{ $y := 1 }}{{ else }}{{ $y }}{{ end }}", "undefined variable \"$y\""},
      {"{{ $x = 1 }}", "undefined variable \"$x\""},
      {"{{ $ := 1 }}", "cannot declare or assign $"},
      {"{{ break }}", "{{break}} outside {{range}}"},
      {"{{ range until 2 }}{{ else }}{{ continue }}{{ end }}", "{{continue}} outside {{range}}"},
      {"{{ with .a }}{{ else }}{{ else }}{{ end }}", "unexpected {{else}}"},
      {"{{ range $a, $b, $c := .x }}{{ end }}", "too many declarations"},
      {"{{ .a.b }}", "chained fields"},
      {"{{ 1.5 }}", "only decimal integer literals"},
      {"{{ regexReplaceAll \"(\" .Value \"\" }}", "invalid regular expression"},
      {"{{ .a", "unclosed action"},
      {"{{ \"open }}", "unterminated quoted string"},
      {"{{ .a .b }}", "can't give argument to non-function"},
      {"{{ ToUpper .a .b }}", "wrong number of args for ToUpper"},
      {"{{/* never closed", "unclosed comment"},
  };
  for (const auto& c : cases) {
    auto t = Template::Parse(c.tmpl);
    ASSERT_FALSE(t.has_value()) << c.tmpl;
    EXPECT_NE(t.error().message().find(c.want), std::string::npos)
        << c.tmpl << " -> " << t.error().message();
  }
}

// Seeded random templates built from the syntax's pieces: parse and run must never crash
// (sanitizer builds check memory safety), whatever comes out.
TEST(TemplateEngine, SurvivesRandomTemplates) {
  class Data final : public TemplateData {
   public:
    const std::string* Field(std::string_view name) const override {
      return name == "missing" ? nullptr : &value_;
    }

   private:
    std::string value_ = "Some Value 123";
  };
  const char* pieces[] = {"{{",       "}}",
                          "{{-",      "-}}",
                          " ",        ".Value",
                          ".missing", "|",
                          "(",        ")",
                          "\"s\"",    "`r`",
                          "1",        "-2",
                          "if",       "else",
                          "end",      "eq",
                          "ToUpper",  "default",
                          "substr",   "regexReplaceAll",
                          "\"(a+)\"", "and",
                          "or",       "not",
                          "printf",   "\"%s%d\"",
                          "/*",       "*/",
                          "x",        "\\",
                          "\"",       "$",
                          "range",    "with",
                          "$x",       ":=",
                          "=",        ",",
                          "break",    "continue",
                          "list",     "splitList",
                          "dict",     "until",
                          "index",    "$.Value",
                          "3",        "."};
  std::mt19937 rng(20261124);
  Data data;
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    const int n = static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) text += pieces[rng() % std::size(pieces)];
    auto t = Template::Parse(text);
    if (!t) continue;
    std::string out, err;
    t->Execute(data, &out, &err);
  }
}

// printf as Go's fmt.Sprintf prints (Go 1.23 and later: '0' does not pad strings): flags, width and
// precision, the verbs of strings, integers and booleans, and Go's own error forms.
TEST(TemplateEngine, PrintfFormatsAsGo) {
  class Data final : public TemplateData {
   public:
    const std::string* Field(std::string_view name) const override {
      if (name == "level") return &level_;
      if (name == "msg") return &msg_;
      return nullptr;
    }

   private:
    std::string level_ = "warn", msg_ = "größe überschritten";
  };
  struct Case {
    const char* tmpl;
    const char* want;
  } cases[] = {
      {R"({{ printf "%-5s|%05d|%.3s" .level 42 .msg }})", "warn |00042|grö"},
      {R"({{ printf "%6.2s|%-6d|%+d|% d" .level 7 7 7 }})", "    wa|7     |+7| 7"},
      {R"({{ printf "%x %X %#x %o" 255 255 255 8 }})", "ff FF 0xff 10"},
      {R"({{ printf "%#o %O %b %08b" 8 8 5 5 }})", "010 0o10 101 00000101"},
      {R"({{ printf "%x|% x|%#X" .level .level .level }})", "7761726e|77 61 72 6e|0X7761726E"},
      {R"({{ printf "%q|%#q|%c" .level .level 65 }})", "\"warn\"|`warn`|A"},
      {R"({{ printf "%q|%U|%#U" 65 233 233 }})", "'A'|U+00E9|U+00E9 'é'"},
      {R"({{ printf "%t %v %5t" true false true }})", "true false  true"},
      {R"({{ printf "%-8d|%08d|%.4d|%8.4d|%.0d" -42 -42 -42 -42 0 }})",
       "-42     |-0000042|-0042|   -0042|"},
      {R"({{ printf "%6s|%-6s|%06s" "ab" "ab" "ab" }})", "    ab|ab    |    ab"},
      {R"({{ printf "%*d|%-*d" 4 1 3 2 }})", "   1|2  "},
      {R"({{ printf "%.*s|%*d" 2 .level -3 1 }})", "wa|1  "},
      {R"({{ printf "%d|%s|%t" .level 42 1 }})", "%!d(string=warn)|%!s(int=42)|%!t(int=1)"},
      {R"({{ printf "%s %v" .missing .missing }})", "%!s(<nil>) <nil>"},
      {R"({{ printf "%s %d" .level }})", "warn %!d(MISSING)"},
      {R"({{ printf "%s" .level 1 "x" }})", "warn%!(EXTRA int=1, string=x)"},
      {R"({{ printf "100%%" }})", "100%"},
      {R"({{ printf "%z" 1 }})", "%!z(int=1)"},
      {R"({{ printf "a%" }})", "a%!(NOVERB)"},
      {R"({{ printf "%*d" "x" 1 }})", "%!(BADWIDTH)1"},
      {R"({{ printf "%99999999d|" 1 }})", "%!(NOVERB)%!(EXTRA int=1)"},
      {R"({{ printf "%v" (list 1 "a") }})", "[1 a]"},
      // Any number of arguments, as Go: a lookup table with dict (seen in a real Alloy config).
      {R"({{ $m := dict "a" "1" "b" "2" "c" "3" "d" "4" "e" "5" "f" "6" "g" "7" "h" "8" "i" "9" }})"
       R"({{ get $m "i" }}{{ get $m "a" }})",
       "91"},
      {R"({{ printf "%v" (list 1 2 3 4 5 6 7 8 9 10) }})", "[1 2 3 4 5 6 7 8 9 10]"},
      {R"({{ $m := dict "a" "1" }}{{ get $m "b" | printf "%q" }}|{{ hasKey $m "a" }}|{{ hasKey $m "b" }})",
       R"(""|true|false)"},
      // sprig's int: numbers compared as numbers (a real Alloy config's `ge (.reason | int) 3`).
      {R"({{ if ge ("12" | int) 3 }}big{{ end }}|{{ int "x" }}|{{ int64 true }}|{{ int .nope }})",
       "big|0|1|0"},
      // Go's strconv.ParseInt(s, 0, 64) as cast does it: prefixes choose the base, a leading 0
      // is octal ("08" is no number), a zero decimal part is dropped.
      {R"({{ int "0x1f" }} {{ int "010" }} {{ int "08" }} {{ int "+3" }} {{ int "1_000" }} )"
       R"({{ int "3.0" }} {{ int "1.5" }} {{ int " 12" }} {{ int "-0b101" }})",
       "31 8 0 3 1000 3 0 0 -5"},
      {R"({{ atoi "010" }} {{ atoi "+7" }} {{ atoi "0x1f" }})", "10 7 0"},  // strconv.Atoi
      // The data (`.`) is a map of its fields to them; a missing value an empty map, as in Go.
      {R"({{ hasKey . "level" }}|{{ hasKey . "nope" }}|{{ get . "level" }}|{{ get .nope "k" }}|)"
       R"({{ hasKey .nope "k" }})",
       "true|false|warn||false"},
      {R"({{ 8 | printf "%d%d%d%d%d%d%d%d" 1 2 3 4 5 6 7 }})", "12345678"},
  };
  Data data;
  for (const auto& c : cases) {
    auto t = Template::Parse(c.tmpl);
    EXPECT_TRUE(t.has_value()) << c.tmpl << ": " << t.error().message();
    if (!t.has_value()) continue;
    std::string out, err;
    EXPECT_TRUE(t->Execute(data, &out, &err)) << c.tmpl << ": " << err;
    EXPECT_EQ(out, c.want) << c.tmpl;
  }
}

// sprig's arithmetic on int64 wraps around as Go's does; the operands come from log lines, so
// INT64_MIN / -1 (a SIGFPE in C++ on x86-64) must not bring the agent down, and overflows must
// not be undefined behaviour (the UBSan build aborts on them).
TEST(TemplateEngine, IntegerArithmeticWrapsAroundAsGo) {
  class Data final : public TemplateData {
   public:
    const std::string* Field(std::string_view name) const override {
      if (name == "min") return &min_;
      if (name == "max") return &max_;
      return nullptr;
    }

   private:
    std::string min_ = "-9223372036854775808", max_ = "9223372036854775807";
  };
  struct Case {
    const char* tmpl;
    const char* want;
  } cases[] = {
      {"{{ div .min -1 }}|{{ mod .min -1 }}", "-9223372036854775808|0"},
      {"{{ div 7 -2 }}|{{ mod -7 2 }}|{{ div 7 -1 }}|{{ mod 7 -1 }}", "-3|-1|-7|0"},
      {"{{ add .max 1 }}|{{ add .max .max 2 }}", "-9223372036854775808|0"},
      {"{{ sub .min 1 }}|{{ sub 0 .min }}", "9223372036854775807|-9223372036854775808"},
      {"{{ mul .min -1 }}|{{ mul \"4611686018427387904\" 2 }}|{{ mul .max .max }}",
       "-9223372036854775808|-9223372036854775808|1"},
  };
  Data data;
  for (const auto& c : cases) {
    auto t = Template::Parse(c.tmpl);
    ASSERT_TRUE(t.has_value()) << c.tmpl << ": " << t.error().message();
    std::string out, err;
    EXPECT_TRUE(t->Execute(data, &out, &err)) << c.tmpl << ": " << err;
    EXPECT_EQ(out, c.want) << c.tmpl;
  }
  for (const char* by_zero : {"{{ div .min 0 }}", "{{ mod 1 0 }}"}) {
    auto t = Template::Parse(by_zero);
    ASSERT_TRUE(t.has_value()) << by_zero;
    std::string out, err;
    EXPECT_FALSE(t->Execute(data, &out, &err)) << by_zero;
    EXPECT_NE(err.find("integer divide by zero"), std::string::npos) << err;
  }
}

TEST(TemplateEngine, RefusesDeepNestingWithAPosition) {
  auto parens = Template::Parse("{{ " + Repeat("(", 100000) + ".a" + Repeat(")", 100000) + " }}");
  ASSERT_FALSE(parens.has_value());
  EXPECT_EQ(parens.error().message(), "template: 1:104: parentheses nested more than 100 deep");
  auto ifs = Template::Parse(Repeat("{{if .a}}", 100000) + Repeat("{{end}}", 100000));
  ASSERT_FALSE(ifs.has_value());
  EXPECT_EQ(ifs.error().message(), "template: 1:910: {{if}} nested more than 100 deep");
  EXPECT_TRUE(Template::Parse(Repeat("{{if .a}}", 100) + Repeat("{{end}}", 100)));
  EXPECT_TRUE(Template::Parse("{{ " + Repeat("(", 100) + ".a" + Repeat(")", 100) + " }}"));
}

}  // namespace
}  // namespace skidder::lang::go
