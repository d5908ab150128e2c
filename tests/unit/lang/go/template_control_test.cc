// {{range}}, {{with}}, {{else if}} / {{else with}}, {{break}} / {{continue}} and variables, with
// the results Go's text/template gives (cases after src/text/template/exec_test.go; the data
// there is Go structs, here lists and maps built with list/splitList/dict/until).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>

#include "lang/go/template_engine.h"

namespace skidder::lang::go {
namespace {

class MapData final : public TemplateData {
 public:
  explicit MapData(std::map<std::string, std::string> m) : m_(std::move(m)) {}
  const std::string* Field(std::string_view name) const override {
    auto it = m_.find(std::string(name));
    return it == m_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, std::string> m_;
};

// The output, or "ERROR: <message>" for a parse or execution error.
std::string Exec(std::string_view text, Template::Limit* limit = nullptr) {
  const MapData data({{"Value", "a,b,c"}, {"empty", ""}, {"x", "X"}, {"three", "3"}});
  auto t = Template::Parse(text);
  if (!t) return "ERROR: " + t.error().message();
  std::string out, err;
  if (!t->Execute(data, &out, &err, limit)) return "ERROR: " + err;
  return out;
}

struct Case {
  const char* tmpl;
  const char* want;
};

void Check(std::initializer_list<Case> cases) {
  for (const Case& c : cases) EXPECT_EQ(Exec(c.tmpl), c.want) << c.tmpl;
}

TEST(TemplateControl, RangeWalksListsMapsInKeyOrderAndIntegers) {
  Check({
      {"{{range splitList \",\" .Value}}-{{.}}-{{end}}", "-a--b--c-"},
      {"{{range list 3 4 5}}-{{.}}-{{end}}", "-3--4--5-"},
      {"{{range $x := list 3 4 5}}<{{$x}}>{{end}}", "<3><4><5>"},
      {"{{range $x, $y := list 3 4 5}}<{{$x}}={{$y}}>{{end}}", "<0=3><1=4><2=5>"},
      // Maps are walked in key order, as Go sorts map keys.
      {"{{range dict \"one\" 1 \"two\" 2 \"three\" 3}}-{{.}}-{{end}}", "-1--3--2-"},
      {"{{range $k, $v := dict \"b\" 2 \"a\" 1}}<{{$k}}={{$v}}>{{end}}", "<a=1><b=2>"},
      {"{{range $k, $v := split \".\" \"x.y\"}}{{$k}}:{{$v}} {{end}}", "_0:x _1:y "},
      {"{{range 3}}{{.}}{{end}}", "012"},  // Go 1.22: range over an int
      {"{{range $i := 2}}[{{$i}}]{{end}}", "[0][1]"},
      {"{{range until 0}}x{{end}}", ""},
      {"{{range .missing}}x{{end}}", ""},  // nil: no iterations, no error
      // Inside a range, . is the element and $ is still the data.
      {"{{range list 1 2}}{{$.x}}{{.}}{{end}}", "X1X2"},
      {"{{range list (list 1 2) (list 3)}}{{len .}}{{range .}}<{{.}}>{{end}}{{end}}",
       "2<1><2>1<3>"},
  });
}

TEST(TemplateControl, RangeElseRunsOnlyForEmptyCollections) {
  Check({
      {"{{range list}}-{{.}}-{{else}}EMPTY{{end}}", "EMPTY"},
      {"{{range list 1}}-{{.}}-{{else}}EMPTY{{end}}", "-1-"},
      {"{{range until 0}}x{{else if .x}}{{.x}}{{end}}", "X"},
      {"{{range until 0}}x{{else with .x}}<{{.}}>{{end}}", "<X>"},
      {"{{range .missing}}x{{else}}none{{end}}", "none"},
  });
}

TEST(TemplateControl, BreakAndContinueLeaveOrSkipAnIteration) {
  Check({
      {"{{range list 3 4 5}}{{if ge . 4}}{{break}}{{end}}{{.}}{{end}}", "3"},
      {"{{range list 3 4 5}}{{if eq . 4}}{{continue}}{{end}}{{.}}{{end}}", "35"},
      // break ends the innermost range only.
      {"{{range list 1 2}}{{range list 7 8 9}}{{if eq . 8}}{{break}}{{end}}{{.}}{{end}};{{end}}",
       "7;7;"},
      {"{{range $i, $v := list 1 2 3}}{{if eq $i 1}}{{continue}}{{end}}{{$v}}{{end}}", "13"},
  });
}

TEST(TemplateControl, WithSetsDotOrRunsItsElse) {
  Check({
      {"{{with .x}}<{{.}}>{{end}}", "<X>"},
      {"{{with .empty}}<{{.}}>{{else}}EMPTY{{end}}", "EMPTY"},
      {"{{with .missing}}<{{.}}>{{else}}NONE{{end}}", "NONE"},
      {"{{with $v := .x}}{{$v}}{{.}}{{end}}", "XX"},
      {"{{with .empty}}a{{else with .x}}b{{.}}{{else}}c{{end}}", "bX"},
      {"{{with .empty}}a{{else with .missing}}b{{else}}c{{end}}", "c"},
      {"{{with .empty}}a{{else if .x}}b{{.x}}{{end}}", "bX"},  // else if keeps the outer dot
      {"{{with dict \"k\" \"v\"}}{{.k}}{{end}}", "v"},
      {"{{with list 1 2}}{{index . 1}}{{end}}", "2"},
  });
}

TEST(TemplateControl, ElseIfChainsPickTheFirstTrueBranch) {
  Check({
      {"{{if .empty}}a{{else if .missing}}b{{else if .x}}c{{else}}d{{end}}", "c"},
      {"{{if .empty}}a{{else if .missing}}b{{else}}d{{end}}", "d"},
      {"{{if .x}}a{{else if .x}}b{{end}}", "a"},
  });
}

TEST(TemplateControl, VariablesFollowGosScoping) {
  Check({
      {"{{$x := \"hello\"}}{{$x}}", "hello"},
      {"{{$x := 1}}{{$x = 2}}{{$x}}", "2"},
      {"{{$.x}}", "X"},
      {"{{$x := .x}}{{$x | ToLower}}", "x"},
      // Assigning in a block changes the outer variable; declaring shadows it until {{end}}.
      {"{{$x := 1}}{{if true}}{{$x = 2}}{{end}}{{$x}}", "2"},
      {"{{$x := 1}}{{if true}}{{$x := 2}}{{$x}}{{end}}{{$x}}", "21"},
      {"{{$x := 0}}{{range list 1 2 3}}{{$x = .}}{{end}}{{$x}}", "3"},
      // Values assigned in a range outlive the collection it walked.
      {"{{$x := \"\"}}{{range $k, $v := dict \"key\" (list 1)}}{{$x = $k}}{{end}}{{$x}}", "key"},
      {"{{$x := 0}}{{range $v := list (splitList \",\" (upper .Value))}}{{$x = $v}}{{end}}{{$x}}",
       "[A B C]"},
      // An if's pipeline variable is visible in its else branches.
      {"{{if $v := .empty}}a{{else}}[{{$v}}]{{end}}", "[]"},
      {"{{$m := dict \"a\" \"1\"}}{{$m.a}}{{$m.b}}", "1<no value>"},
      {"{{$n := len .Value}}{{$n}}", "5"},
      {"{{$l := splitList \",\" .Value}}{{index $l 2}}{{len $l}}", "c3"},
      {"{{- $x := \"t\" -}} {{ $x }}", "t"},
  });
}

TEST(TemplateControl, ExecutionErrorsReadLikeGos) {
  Check({
      {"{{range .x}}{{end}}", "ERROR: range can't iterate over string"},
      {"{{range $}}{{end}}", "ERROR: range can't iterate over map[string]interface {}"},
      {"{{with .x}}{{.a}}{{end}}", "ERROR: can't evaluate field a in type string"},
      {"{{index (list 1) 3}}", "ERROR: index: error calling index: index out of range: 3"},
      {"{{.}}", "ERROR: printing the whole data map ({{ . }}) is not supported"},
  });
}

TEST(TemplateControl, BoundsIterationsOutputAndListSizes) {
  EXPECT_EQ(Exec("{{range until 10000}}{{range until 10000}}{{end}}{{end}}"),
            "ERROR: range: more than 100000 iterations");
  EXPECT_EQ(Exec("{{until 10001}}"), "ERROR: until: more than 10000 elements");
  EXPECT_EQ(Exec("{{$l := list}}{{range until 200}}{{$l = list $l}}{{end}}"),
            "ERROR: list: lists nested more than 100 deep");
  Template::Limit limit{.max_bytes = 10};
  EXPECT_EQ(Exec("{{range until 1000}}abc{{end}}", &limit), "abcabcabca");
  EXPECT_TRUE(limit.exceeded);
  // Deep nesting of any block is refused at parse time.
  std::string deep;
  for (int i = 0; i < 101; ++i) deep += "{{range list 1}}";
  EXPECT_NE(Exec(deep).find("{{range}} nested more than 100 deep"), std::string::npos);
}

// sprig's base, dir, ext, clean and isAbs are Go's path package (cases from path_test.go): a
// filename label's parts.
TEST(TemplateSprig, PathFunctionsAreGosPathPackage) {
  struct PathCase {
    const char* in;
    const char* clean;
    const char* base;
    const char* dir;
  };
  const PathCase cases[] = {
      {"", ".", ".", "."},
      {".", ".", ".", "."},
      {"/", "/", "/", "/"},
      {"////", "/", "/", "/"},
      {"/.", "/", ".", "/"},
      {"x/", "x", "x", "x"},
      {"abc", "abc", "abc", "."},
      {"abc/def", "abc/def", "def", "abc"},
      {"abc////def", "abc/def", "def", "abc"},
      {"/foo", "/foo", "foo", "/"},
      {"a/b/.x", "a/b/.x", ".x", "a/b"},
      {"..", "..", "..", "."},
      {"../../abc", "../../abc", "abc", "../.."},
      {"abc/def/", "abc/def", "def", "abc/def"},
      {"//abc", "/abc", "abc", "/"},
      {"abc/./def", "abc/def", "def", "abc"},
      {"/./abc/def", "/abc/def", "def", "/abc"},
      {"abc/def/ghi/../jkl", "abc/def/jkl", "jkl", "abc/def/ghi/.."},
      {"abc/def/../ghi/../jkl", "abc/jkl", "jkl", "abc/def/../ghi/.."},
      {"abc/def/..", "abc", "..", "abc/def"},
      {"abc/def/../..", ".", "..", "abc/def/.."},
      {"/abc/def/../..", "/", "..", "/abc/def/.."},
      {"abc/def/../../..", "..", "..", "abc/def/../.."},
      {"/abc/def/../../..", "/", "..", "/abc/def/../.."},
      {"abc/def/../../../ghi/jkl/../../../mno", "../../mno", "mno",
       "abc/def/../../../ghi/jkl/../../.."},
      {"abc/./../def", "def", "def", "abc/./.."},
      {"abc/../../././../def", "../../def", "def", "abc/../../././.."},
  };
  for (const PathCase& c : cases) {
    const MapData data(std::map<std::string, std::string>{{"p", c.in}});
    auto run = [&](std::string_view text) {
      auto t = Template::Parse(text);
      if (!t) return "ERROR: " + t.error().message();
      std::string out, err;
      if (!t->Execute(data, &out, &err, nullptr)) return "ERROR: " + err;
      return out;
    };
    EXPECT_EQ(run("{{ clean .p }}"), c.clean) << c.in;
    EXPECT_EQ(run("{{ base .p }}"), c.base) << c.in;
    // Go's Dir is Clean of everything up to the last slash.
    EXPECT_EQ(run("{{ dir .p }}"), run("{{ clean \"" + std::string(c.dir) + "\" }}")) << c.in;
  }
  Check({
      {"{{ ext \"path.go\" }}|{{ ext \"path.pb.go\" }}|{{ ext \"a.dir/b\" }}|{{ ext \"a.dir/b.go\" "
       "}}"
       "|{{ ext \"a.dir/\" }}",
       ".go|.go||.go|"},
      {"{{ isAbs \"/var/log\" }} {{ isAbs \"var/log\" }} {{ isAbs \"\" }}", "true false false"},
      {"{{ base \"/var/log/pods/ns_pod_uid/app/0.log\" | trimSuffix \".log\" }}", "0"},
  });
}

TEST(TemplateSprig, MaxAndMinTakeTheirOperandsAsIntegers) {
  Check({
      {"{{ max 1 5 3 }} {{ min 4 2 9 }} {{ max 7 }}", "5 2 7"},
      {"{{ max -3 -8 }} {{ min -3 -8 }}", "-3 -8"},
  });
}

// regexFindAll is Go's FindAllString: successive non-overlapping matches, at most n (n < 0: all),
// an empty match right after a match not counted.
TEST(TemplateSprig, RegexFindAllIsGosFindAllString) {
  Check({
      {"{{ regexFindAll \"[2,4,6,8]\" \"123456789\" -1 }}", "[2 4 6 8]"},
      {"{{ regexFindAll \"[2,4,6,8]\" \"123456789\" 2 }}", "[2 4]"},
      {"{{ regexFindAll \"[2,4,6,8]\" \"123456789\" 0 }}", "[]"},
      {"{{ regexFindAll \"a*\" \"baaab\" -1 }}", "[ aaa ]"},
      {"{{ regexFindAll \"x*\" \"é\" -1 | len }}", "2"},  // one empty match each side of é
      {"{{ range regexFindAll \"[a-z]+\" \"ab 12 cd\" -1 }}<{{ . }}>{{ end }}", "<ab><cd>"},
      {"{{ regexFindAll \"x*\" \"€\" -1 | len }}", "2"},  // a 3-byte character stepped over whole
      {"{{ regexFindAll \"^a\" \"aaa\" -1 }}", "[a]"},    // ^ only at the start of the text
      {"{{ regexFindAll (print \"[\" \"b]\") \"abcb\" -1 }}",
       "[b b]"},  // a regex built at run time
      {"{{ regexFindAll \"(\" \"x\" -1 }}",
       "ERROR: template: 1:27: regexFindAll: invalid regular expression: missing ): ("},
  });
}

// regexSplit is Go's Regexp.Split, with its quirks at the edges.
TEST(TemplateSprig, RegexSplitIsGosSplit) {
  Check({
      {"{{ regexSplit \"a\" \"banana\" -1 }}", "[b n n ]"},
      {"{{ regexSplit \"a\" \"apple\" 0 }}", "[]"},
      {"{{ regexSplit \"a\" \"grape\" 1 }}", "[grape]"},
      {"{{ regexSplit \"z+\" \"pizza\" 2 }}", "[pi a]"},
      {"{{ regexSplit \"a*\" \"abaabaccadaaae\" 5 }}", "[ b b c cadaaae]"},
      {"{{ regexSplit \"\\\\s*,\\\\s*\" \"a , b,c\" -1 | len }}", "3"},
      {"{{ range regexSplit \"[/.]\" \"/var/log/app.log\" -1 }}<{{ . }}>{{ end }}",
       "<><var><log><app><log>"},
      {"{{ regexSplit \"x\" \"\" -1 | len }}", "1"},  // [""]
      {"{{ regexSplit \"x\" \"abc\" -1 }}", "[abc]"},
      {"{{ regexSplit \"(\" \"x\" -1 }}",
       "ERROR: template: 1:25: regexSplit: invalid regular expression: missing ): ("},
  });
}

// A regexFindAll result longer than the limit is refused, and counted as a refused result.
TEST(TemplateSprig, RegexFindAllPastTheLimitIsRefusedAndCounted) {
  Template::Limit limit;
  limit.max_bytes = 4;
  EXPECT_EQ(Exec("{{ regexFindAll \"[a-z]\" \"abcdef\" -1 | len }}", &limit),
            "ERROR: regexFindAll: result longer than 4 bytes");
  EXPECT_TRUE(limit.exceeded);
}

}  // namespace
}  // namespace skidder::lang::go
