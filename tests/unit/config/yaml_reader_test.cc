// MapReader and ParseDuration: the strictness every config section relies on.
#include "config/yaml_reader.h"

#include <gtest/gtest.h>

#include <chrono>

namespace skidder::config {
namespace {

using namespace std::chrono_literals;

struct DurationCase {
  const char* text;
  bool ok;
  Duration want;
};

TEST(ParseDuration, AcceptsGoDurationSyntax) {
  const DurationCase cases[] = {
      {"0", true, 0ns},
      {"-0", true, 0ns},
      {"500ms", true, 500ms},
      {"1m30s", true, 90s},
      {"1h", true, 1h},
      {"1.5h", true, 90min},
      {".5s", true, 500ms},
      {"1.s", true, 1s},
      {"-2s", true, -2s},
      {"+3s", true, 3s},
      {"10us", true, 10us},
      {"10\xC2\xB5s", true, 10us},
      {"7ns", true, 7ns},
      {"1h2m3s4ms5us6ns", true, 1h + 2min + 3s + 4ms + 5us + 6ns},
      {"1.000000001s", true, 1000000001ns},
      {"", false, {}},
      {"abc", false, {}},
      {"10", false, {}},
      {"1", false, {}},
      {"5d", false, {}},
      {"s", false, {}},
      {".s", false, {}},
      {"-", false, {}},
      {"1m 30s", false, {}},
      {"3000000h", false, {}},  // overflows int64 nanoseconds
  };
  for (const auto& c : cases) {
    Duration got{-1};
    EXPECT_EQ(ParseDuration(c.text, &got), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(got, c.want) << c.text;
    }
  }
}

// Prometheus's model.Duration, which Promtail's service-discovery settings take (refresh_interval
// in file_sd_configs and docker_sd_configs), and Go's forms besides.
TEST(ParsePromDuration, AcceptsPrometheusUnitsAndGoDurations) {
  constexpr auto kDay = 24h;
  const DurationCase cases[] = {
      {"1d", true, kDay},
      {"2w", true, 14 * kDay},
      {"1y", true, 365 * kDay},
      {"1d12h", true, kDay + 12h},
      {"1h30m", true, 90min},
      {"500ms", true, 500ms},
      {"1m500ms", true, 1min + 500ms},
      {"0", true, 0ns},
      {"1.5h", true, 90min},  // Go's form
      {"", false, {}},
      {"d", false, {}},
      {"1h1d", false, {}},  // units largest first, as Prometheus
      {"1d1d", false, {}},
      {"10", false, {}},
      {"1x", false, {}},
      {"999999y", false, {}},  // past int64 nanoseconds
  };
  for (const auto& c : cases) {
    Duration got{-1};
    EXPECT_EQ(ParsePromDuration(c.text, &got), c.ok) << c.text;
    if (c.ok) {
      EXPECT_EQ(got, c.want) << c.text;
    }
  }
}

TEST(ErrorAt, ReportsOneBasedLineAndColumn) {
  YAML::Node root = YAML::Load("a: 1\nb:\n  c: x\n");
  Status s = ErrorAt("f.yaml", root["b"]["c"], "b.c", "bad");
  EXPECT_EQ(s.message(), "f.yaml:3:6: b.c: bad");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(MapReader, ReadsTypedValuesAndKeepsDefaultsForAbsentKeys) {
  YAML::Node n = YAML::Load(
      "s: hello\nb: yes\ni: -42\nbig: 9000000000\nd: 1.5\ndur: 1m\nl: [a, b]\none: x\n"
      "m: {k: v, n: 1}\nnul:\n");
  MapReader r(n, "f.yaml", "top");
  std::string s, absent = "default", nul = "keep";
  bool b = false;
  int i = 0;
  int64_t big = 0;
  double d = 0;
  Duration dur{};
  std::vector<std::string> l, one;
  std::map<std::string, std::string> m;
  r.Str("s", &s);
  r.Str("absent", &absent);
  r.Str("nul", &nul);
  r.Bool("b", &b);
  r.Int("i", &i);
  r.Int("big", &big);
  r.Double("d", &d);
  r.Dur("dur", &dur);
  r.StrList("l", &l);
  r.StrList("one", &one);
  r.StrMap("m", &m);
  ASSERT_TRUE(r.Finish().ok()) << r.Finish().message();
  EXPECT_EQ(s, "hello");
  EXPECT_EQ(absent, "default");
  EXPECT_EQ(nul, "keep");
  EXPECT_TRUE(b);
  EXPECT_EQ(i, -42);
  EXPECT_EQ(big, 9000000000);
  EXPECT_DOUBLE_EQ(d, 1.5);
  EXPECT_EQ(dur, std::chrono::minutes(1));
  EXPECT_EQ(l, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(one, (std::vector<std::string>{"x"}));
  EXPECT_EQ(m, (std::map<std::string, std::string>{{"k", "v"}, {"n", "1"}}));
}

struct ReaderErrorCase {
  const char* yaml;
  const char* want;
};

Status ReadAll(const YAML::Node& n) {
  MapReader r(n, "c.yaml", "sec");
  std::string s;
  bool b = false;
  int i = 0;
  double d = 0;
  Duration dur{};
  std::vector<std::string> l;
  std::map<std::string, std::string> m;
  r.Str("s", &s);
  r.Bool("b", &b);
  r.Int("i", &i);
  r.Double("d", &d);
  r.Dur("dur", &dur);
  r.StrList("l", &l);
  r.StrMap("m", &m);
  return r.Finish();
}

TEST(MapReader, RefusesWrongTypesAndUnknownKeysWithPosition) {
  const ReaderErrorCase cases[] = {
      {"s: {a: 1}", "c.yaml:1:4: sec.s: expected a string, got a mapping"},
      {"s: [1]", "c.yaml:1:4: sec.s: expected a string, got a list"},
      {"b: maybe", "c.yaml:1:4: sec.b: expected true or false, got \"maybe\""},
      {"i: 1.5", "c.yaml:1:4: sec.i: expected an integer, got \"1.5\""},
      {"i: abc", "c.yaml:1:4: sec.i: expected an integer, got \"abc\""},
      {"i: 3000000000", "c.yaml:1:4: sec.i: integer 3000000000 is out of range"},
      {"i: 99999999999999999999",
       "c.yaml:1:4: sec.i: integer 99999999999999999999 is out of range"},
      {"d: fast", "c.yaml:1:4: sec.d: expected a number, got \"fast\""},
      {"dur: abc", "c.yaml:1:6: sec.dur: expected a duration like 500ms or 1m30s, got \"abc\""},
      {"dur: 10", "c.yaml:1:6: sec.dur: expected a duration like 500ms or 1m30s, got \"10\""},
      {"l:\n  - a\n  - {x: 1}", "c.yaml:3:5: sec.l[1]: expected a string, got a mapping"},
      {"m: [a]", "c.yaml:1:4: sec.m: expected a mapping, got a list"},
      {"m:\n  k: [1]", "c.yaml:2:6: sec.m.k: expected a string, got a list"},
      {"s: a\nexpresion: x", "c.yaml:2:1: sec: unknown key \"expresion\""},
      {"s: a\ns: b", "c.yaml:2:1: sec: duplicate key \"s\""},
      {"just a string", "c.yaml:1:1: sec: expected a mapping, got \"just a string\""},
  };
  for (const auto& c : cases) {
    Status s = ReadAll(YAML::Load(c.yaml));
    EXPECT_EQ(s.message(), c.want) << c.yaml;
  }
}

// A misspelt key is shown with the one key of its section it is nearest to (within two edits,
// one for a short key), optional keys only looked for included; when several are as near, none.
TEST(MapReader, AnUnknownKeyNamesTheKeyItWasProbablyMeantAs) {
  auto read = [](const std::string& yaml) {
    MapReader r(YAML::Load(yaml), "c.yaml", "sec");
    std::string s;
    r.Str("expression", &s);
    r.Str("source", &s);
    r.Str("dur", &s);
    r.Str("dir", &s);
    if (r.Has("drop_malformed")) r.Str("drop_malformed", &s);
    return r.Finish().message();
  };
  EXPECT_EQ(read("sorce: x"), "c.yaml:1:1: sec: unknown key \"sorce\" (did you mean \"source\"?)");
  EXPECT_EQ(read("expresion: x"),
            "c.yaml:1:1: sec: unknown key \"expresion\" (did you mean \"expression\"?)");
  EXPECT_EQ(read("drop_malfromed: x"),
            "c.yaml:1:1: sec: unknown key \"drop_malfromed\" (did you mean \"drop_malformed\"?)");
  EXPECT_EQ(read("dor: x"), "c.yaml:1:1: sec: unknown key \"dor\"") << "dur and dir are as near";
  EXPECT_EQ(read("dx: x"), "c.yaml:1:1: sec: unknown key \"dx\"") << "two edits of a short key";
  EXPECT_EQ(read("level: x"), "c.yaml:1:1: sec: unknown key \"level\"");
  EXPECT_EQ(read("DROP_MALFORMED: x"),
            "c.yaml:1:1: sec: unknown key \"DROP_MALFORMED\" (did you mean \"drop_malformed\"?)")
      << "the same key in other case, however many letters differ";
}

TEST(MapReader, HonoursYamlMergeKeysLikePromtail) {
  YAML::Node root = YAML::Load(
      "defaults: &d {s: merged, i: 1}\n"
      "more: &m {b: true}\n"
      "one: {<<: *d, i: 2}\n"
      "many: {<<: [*d, *m]}\n"
      "bad: {<<: {typo: 1}}\n");
  MapReader one(root["one"], "c.yaml", "one");
  std::string s;
  int i = 0;
  one.Str("s", &s);
  one.Int("i", &i);
  ASSERT_TRUE(one.Finish().ok()) << one.Finish().message();
  EXPECT_EQ(s, "merged");
  EXPECT_EQ(i, 2) << "own keys win over merged ones";
  MapReader many(root["many"], "c.yaml", "many");
  bool b = false;
  many.Str("s", &s);
  many.Int("i", &i);
  many.Bool("b", &b);
  ASSERT_TRUE(many.Finish().ok()) << many.Finish().message();
  EXPECT_TRUE(b);
  MapReader bad(root["bad"], "c.yaml", "bad");
  EXPECT_EQ(bad.Finish().message(), "c.yaml:5:12: bad: unknown key \"typo\"");
}

TEST(MapReader, AcceptsNullSectionAsEmpty) {
  EXPECT_TRUE(ReadAll(YAML::Load("~")).ok());
  EXPECT_TRUE(ReadAll(YAML::Node()).ok());
}

TEST(MapReader, FirstErrorWins) {
  Status s = ReadAll(YAML::Load("b: maybe\ni: x\n"));
  EXPECT_EQ(s.message(), "c.yaml:1:4: sec.b: expected true or false, got \"maybe\"");
}

TEST(MapReader, FailPointsAtTheKeyOrTheMap) {
  YAML::Node n = YAML::Load("a: 1\nurl: x\n");
  MapReader present(n, "c.yaml", "clients[0]");
  present.Node("a");
  present.Fail("url", "must start with http");
  EXPECT_EQ(present.Finish().message(), "c.yaml:2:6: clients[0].url: must start with http");
  MapReader absent(YAML::Load("a: 1"), "c.yaml", "clients[0]");
  absent.Node("a");
  absent.Fail("url", "is required");
  EXPECT_EQ(absent.Finish().message(), "c.yaml:1:1: clients[0].url: is required");
}

}  // namespace
}  // namespace skidder::config
