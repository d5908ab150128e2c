// JMESPath as the json stage compiles and evaluates it: results from the specification's examples,
// quoted names, what is refused, and the nesting bounds.
#include "lang/go/json_path.h"

#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "support/test_util.h"

namespace skidder::lang::go {
namespace {

using skidder::testing::Repeat;

// Projections, flatten and multi-select lists, with the results JMESPath's specification gives.
TEST(JsonPath, EvaluatesWildcardsProjectionsAndMultiSelectLists) {
  const char* doc =
      R"({"people":[{"first":"James","last":"d","age":30},{"first":"Jacob","last":"e"},)"
      R"({"first":"Jayden","last":"f","age":null},{"missing":"different"}],)"
      R"("ops":{"functionA":{"numArgs":2},"functionB":{"numArgs":3},"functionC":{"variadic":true}},)"
      R"("reservations":[{"instances":[{"state":"running"},{"state":"stopped"}]},)"
      R"({"instances":[{"state":"terminated"},{"state":"running"}]}],)"
      R"("nested":[[0,1],2,[3,[4,5]]],"a-b":{"c":[1,2]},"foo":{"bar":"x","baz":"y","n":null}})";
  const std::pair<const char*, const char*> cases[] = {
      {"people[*].first", R"(["James","Jacob","Jayden"])"},
      {"people[*].age", "[30]"},  // nulls and missing values are dropped
      {"people[0].first", "James"},
      {"people[-1].missing", "different"},
      {"people[*]", R"([{"age":30,"first":"James","last":"d"},{"first":"Jacob","last":"e"},)"
                    R"({"age":null,"first":"Jayden","last":"f"},{"missing":"different"}])"},
      {"ops.*.numArgs", "[2,3]"},
      {"ops.*", R"([{"numArgs":2},{"numArgs":3},{"variadic":true}])"},
      {"reservations[*].instances[*].state", R"([["running","stopped"],["terminated","running"]])"},
      {"reservations[].instances[].state", R"(["running","stopped","terminated","running"])"},
      {"reservations[].instances[0].state", R"(["running","terminated"])"},
      {"nested[]", "[0,1,2,3,[4,5]]"},
      {"nested[][]", "[0,1,2,3,4,5]"},
      {"\"a-b\".c[*]", "[1,2]"},
      {"[foo.bar, foo.baz]", R"(["x","y"])"},
      {"foo.[bar, n]", R"(["x",null])"},
      {"people[*].[first, last]", R"([["James","d"],["Jacob","e"],["Jayden","f"],[null,null]])"},
      {"people[*].first | [0]", "James"},
      {"people[?age > `1`].first", R"(["James"])"},
      {"people[1:].first", R"(["Jacob","Jayden"])"},
      {"length(people)", "4"},
      {"{n: people[0].first}", R"({"n":"James"})"},
      {"abs(people[0].first)", ""},  // a run-time type error: the search fails, as in Promtail
      {"foo.*", R"(["x","y"])"},
      {"*.bar", R"(["x"])"},
      {"nothing[*].x", ""},
      {"foo.bar[*]", ""},   // not an array: null
      {"nope.[a, b]", ""},  // multi-select on null is null
  };
  using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;
  Doc d;
  d.Parse(doc);
  ASSERT_FALSE(d.HasParseError());
  for (auto [expr, want] : cases) {
    SCOPED_TRACE(expr);
    auto path = CompileJsonPath(expr);
    if (std::string_view(want) == "<error>") {
      EXPECT_FALSE(path.has_value());
      continue;
    }
    ASSERT_TRUE(path.has_value()) << path.error().message();
    EXPECT_EQ(path->Eval(d), want);
  }
}

// Objects and arrays print as Promtail prints them: Go's json.Marshal of what json.Unmarshal
// gave. Keys in byte order at every level, HTML-safe and Go-escaped strings, float64 numbers in
// Go's form (integers the document wrote as such stay exact).
TEST(JsonPath, PrintsObjectsAsGosJsonMarshal) {
  using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;
  Doc d;
  d.Parse(R"({"o":{"b":1,"a":{"z":true,"B":null,"y":[{"k":2,"j":3}]},"_":"x"},)"
          R"("s":{"html":"<a href='x'>&</a>","ctl":"\b\f\n\r\t\u0001\u001f",)"
          R"("q":"\"\\\/","ls":"\u2028\u2029","uni":"\u00e9\u4e2d\ud83d\ude00"},)"
          R"("n":{"f":12.50,"w":100.0,"big":1e21,"tiny":1e-7,"small":0.000001,)"
          R"("neg":-2.5e-8,"int":-42,"u":18446744073709551615,"z":0.0},)"
          R"("dup":{"k":1,"k":2}})");
  ASSERT_FALSE(d.HasParseError());
  const std::pair<const char*, const char*> cases[] = {
      {"o", R"({"_":"x","a":{"B":null,"y":[{"j":3,"k":2}],"z":true},"b":1})"},
      {"s",
       R"({"ctl":"\b\f\n\r\t\u0001\u001f","html":"\u003ca href='x'\u003e\u0026\u003c/a\u003e",)"
       R"("ls":"\u2028\u2029","q":"\"\\/","uni":"é中😀"})"},
      {"n", R"({"big":1e+21,"f":12.5,"int":-42,"neg":-2.5e-8,"small":0.000001,"tiny":1e-7,)"
            R"("u":18446744073709551615,"w":100,"z":0})"},
      {"dup", R"({"k":2})"},  // the last of duplicate keys, as Go's map keeps it
      {"dup.k", "2"},
      {"{a: o.b, a: o._}", R"({"a":"x"})"},
      {"{z: o.b, a: o._}", R"({"a":"x","z":1})"},
      {"[n.big, n.tiny]", "[1e+21,1e-7]"},
      {"to_string(o.a)", R"({"B":null,"y":[{"j":3,"k":2}],"z":true})"},
  };
  for (auto [expr, want] : cases) {
    SCOPED_TRACE(expr);
    auto path = CompileJsonPath(expr);
    ASSERT_TRUE(path.has_value()) << path.error().message();
    EXPECT_EQ(path->Eval(d), want);
    std::string into;
    path->EvalInto(d, &into);
    EXPECT_EQ(into, want);
  }
  // Invalid UTF-8 in a value (a document from the json stage is not checked): one U+FFFD per
  // byte, as Go's encoder writes it.
  Doc bad;
  const std::string text =
      "{\"o\":{\"v\":\"a\xE0\xA0"
      "b\xFF\"}}";          // (split: \xA0b is one escape)
  bad.Parse(text.c_str());  // as ParseJsonBounded: no encoding check
  ASSERT_FALSE(bad.HasParseError());
  EXPECT_EQ(CompileJsonPath("o")->Eval(bad), R"({"v":"a\ufffd\ufffdb\ufffd"})");
}

// EvalInto looks plain names, dotted paths and indexes up directly, without the evaluator: it
// must give what Eval gives for every kind of value, missing names, names under non-objects,
// duplicate names, indexes past either end or on non-arrays, and overwrite whatever its buffer
// held. Other expressions go through Eval.
TEST(JsonPath, EvalIntoGivesWhatEvalGives) {
  using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;
  Doc d;
  d.Parse(R"({"s":"text","i":-42,"u":18446744073709551615,"f":12.5,"e":1e300,"g":-0.000001,)"
          R"("t":true,"fa":false,"n":null,"o":{"a":{"b":"deep"},"l":[1,"x",{"k":null}]},)"
          R"("dup":1,"dup":2,"a-b":{"c":"q"},"arr":[{"a":1}],"":"empty name","m":[[1,2],[3]]})");
  ASSERT_FALSE(d.HasParseError());
  const char* exprs[] = {"s",       "i",        "u",           "f",         "e",        "g",
                         "t",       "fa",       "n",           "o",         "o.a",      "o.a.b",
                         "o.l",     "o.a.b.c",  "missing",     "missing.x", "s.x",      "i.x",
                         "arr.a",   "dup",      "\"a-b\".c",   "\"\"",      "o.l[0]",   "[s, i]",
                         "o.*",     "arr[*].a", "@",           "o.l[1]",    "o.l[2].k", "o.l[-1]",
                         "o.l[-3]", "o.l[-4]",  "o.l[3]",      "o[0]",      "s[0]",     "arr[0].a",
                         "arr[0]",  "[0]",      "o.l[0].x",    "@.s",       "m[1][0]",  "m[0][-1]",
                         "m[0][2]", "o.l[1:]",  "m[0][1:][0]", "m[][0]"};
  for (const char* expr : exprs) {
    SCOPED_TRACE(expr);
    auto path = CompileJsonPath(expr);
    ASSERT_TRUE(path.has_value()) << path.error().message();
    std::string into = "what the previous entry left, longer than the small-string buffer";
    path->EvalInto(d, &into);
    EXPECT_EQ(into, path->Eval(d));
    bool cut_into = false, cut_eval = false;
    path->EvalInto(d, &into, 3, &cut_into);
    EXPECT_EQ(into, path->Eval(d, 3, &cut_eval));
    EXPECT_EQ(cut_into, cut_eval);
  }
  auto s = CompileJsonPath("s");
  std::string out;
  bool cut = false;
  s->EvalInto(d, &out, 2, &cut);
  EXPECT_EQ(out, "te");
  EXPECT_TRUE(cut);
}

TEST(JsonPath, DecodesJsonEscapesInQuotedNames) {
  using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;
  Doc d;
  d.Parse(R"({"q\"t":"quote","a\\b/c":"slash","t\tn\n":"ctl","plain":"p"})");
  ASSERT_FALSE(d.HasParseError());
  const std::pair<const char*, const char*> cases[] = {
      {R"("q\"t")", "quote"}, {R"("a\\b\/c")", "slash"}, {R"("t\tn\n")", "ctl"},
      {R"("plain")", "p"},    {R"("\u0070lain")", "p"},
  };
  for (auto [expr, want] : cases) {
    SCOPED_TRACE(expr);
    auto path = CompileJsonPath(expr);
    ASSERT_TRUE(path.has_value()) << path.error().message();
    EXPECT_EQ(path->Eval(d), want);
  }
  for (const char* expr : {R"("bad\q")", R"("cut\")", R"("a\"b)"}) {
    SCOPED_TRACE(expr);
    auto r = CompileJsonPath(expr);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("quoted identifier"), std::string::npos)
        << r.error().message();
  }
}

TEST(JsonPath, RefusesInvalidExpressionsSayingWhere) {
  const std::pair<const char*, const char*> cases[] = {
      {"a.", "at offset 2: expected a name after ."},
      {"\"unterminated", "at offset 0: unterminated quoted identifier"},
      {"a..b", "at offset 2: unexpected '.'"},
      {"a b", "at offset 2: unexpected 'b'"},
      {"a[*", "at offset 3: expected ]"},
      {"[a, b", "at offset 5: expected , or ]"},
      {"", "at offset 0: unexpected end"},
      {"a[-]", "at offset 2: expected digits after -"},
      {"a[?b", "at offset 4: expected ]"},
      {"a[::0]", "slice step cannot be 0"},
      {"nope(a)", "at offset 4: unknown-function: nope()"},
      {"length(a, b)", "invalid-arity: length() takes 1 arguments, got 2"},
      {"`\"a`", "at offset 0: bad JSON literal"},
      {"'open", "unterminated raw string"},
      {"a | ", "at offset 4: unexpected end"},
  };
  for (auto [expr, want] : cases) {
    SCOPED_TRACE(expr);
    auto r = CompileJsonPath(expr);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("invalid JMESPath expression"), std::string::npos);
    EXPECT_NE(r.error().message().find(want), std::string::npos) << r.error().message();
  }
}

TEST(JsonPath, RefusesDeeplyNestedExpressionsWithTheirOffset) {
  for (const std::string& expr :
       {Repeat("[", 100000) + "a" + Repeat("]", 100000), Repeat("[*]", 100000),
        "a" + Repeat("[*].a", 50000), Repeat("a.", 100000) + "a", "a" + Repeat("[0]", 100000)}) {
    auto r = CompileJsonPath(expr);
    ASSERT_FALSE(r.has_value()) << expr.substr(0, 20);
    EXPECT_NE(r.error().message().find(" at offset "), std::string::npos);
    EXPECT_TRUE(r.error().message().find("nested more than 128 levels deep") != std::string::npos ||
                r.error().message().find("more than 256 levels of operators") != std::string::npos)
        << r.error().message().substr(r.error().message().size() - 200);
  }
  auto r = CompileJsonPath(Repeat("[", 200) + "a" + Repeat("]", 200));
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message().find("at offset 128: nested more than 128 levels deep"),
            std::string::npos);
}

TEST(JsonPath, EvaluatesExpressionsUpToTheLimits) {
  using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;
  Doc d;
  d.Parse(R"({"a":{"a":{"a":"leaf"}},"l":[[[[1]]]]})");
  auto chain = CompileJsonPath(Repeat("a.", 200) + "a");
  ASSERT_TRUE(chain.has_value()) << chain.error().message();
  EXPECT_EQ(chain->Eval(d), "");
  auto lists = CompileJsonPath(Repeat("[", 100) + "l" + Repeat("]", 100));
  ASSERT_TRUE(lists.has_value()) << lists.error().message();
  EXPECT_EQ(lists->Eval(d), Repeat("[", 104) + "1" + Repeat("]", 104));
}

}  // namespace
}  // namespace skidder::lang::go

namespace skidder::lang::go {
namespace {

// Seeded random expressions from the grammar's pieces: compiling and evaluating never crash
// (sanitizer builds check memory safety), whatever comes out.
TEST(JsonPath, SurvivesRandomExpressions) {
  const char* pieces[] = {"a",       "b",        ".",         "*",       "[",          "]",
                          "[]",      "[?",       "@",         "|",       "||",         "&&",
                          "!",       "==",       "<",         ">=",      "`1`",        "'s'",
                          "{",       "}",        ":",         ",",       "(",          ")",
                          "&",       "-1",       "0",         "2",       "::",         "\"q\"",
                          "length(", "sort_by(", "map(",      "max(",    "join(",      "to_string(",
                          "merge(",  "keys(",    "not_null(", "`[1,2]`", "`{\"a\":1}`"};
  using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;
  Doc d;
  d.Parse(R"({"a":[{"a":1,"b":"x"},{"a":[2,3],"b":null}],"b":{"a":{"b":[true,"y",{}]}},"q":"s"})");
  ASSERT_FALSE(d.HasParseError());
  std::mt19937 rng(20261201);
  int compiled = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string expr;
    const int n = 1 + static_cast<int>(rng() % 10);
    for (int k = 0; k < n; ++k) expr += pieces[rng() % std::size(pieces)];
    auto path = CompileJsonPath(expr);
    if (!path) continue;
    ++compiled;
    std::string out, error;
    path->Eval(d, 4096);
    path->EvalJson(d, &out, &error, 4096);
  }
  EXPECT_GT(compiled, 100);
}

}  // namespace
}  // namespace skidder::lang::go
