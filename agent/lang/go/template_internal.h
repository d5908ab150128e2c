// Internals of the template engine (template_engine.h): the syntax tree template_parser.cc
// builds and template_engine.cc runs, the runtime value type, and the function table of
// template_funcs.cc and template_sprig.cc. Not for use outside those files.
#pragma once

#include <re2/re2.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lang/go/template_engine.h"
#include "util/status.h"

namespace skidder::lang::go::tmpl {

// A value during execution. Strings either point at data that outlives the execution (the
// template text, the TemplateData's fields) or own their bytes.
struct Value;
using List = std::vector<Value>;
using Map = std::vector<std::pair<std::string, Value>>;  // sorted by key, keys unique

struct Value {
  // kData is the TemplateData itself: the root dot and `$`. kList and kMap come from functions
  // (list, splitList, dict, ...) and are shared, never changed after they are built.
  enum Kind { kNil, kString, kInt, kBool, kTime, kList, kMap, kData };
  Kind kind = kNil;
  int64_t i = 0;     // kInt; kTime: Unix seconds
  int64_t nsec = 0;  // kTime
  bool b = false;    // kBool
  std::string_view view;
  std::string owned;
  bool is_owned = false;
  std::shared_ptr<const List> list;  // kList
  std::shared_ptr<const Map> map;    // kMap
  int depth = 0;                     // lists and maps nested in this one, plus one

  std::string_view str() const { return is_owned ? std::string_view(owned) : view; }
  static Value Str(std::string_view v) {
    Value r;
    r.kind = kString;
    r.view = v;
    return r;
  }
  static Value Own(std::string s) {
    Value r;
    r.kind = kString;
    r.owned = std::move(s);
    r.is_owned = true;
    return r;
  }
  static Value Int(int64_t v) {
    Value r;
    r.kind = kInt;
    r.i = v;
    return r;
  }
  static Value Bool(bool v) {
    Value r;
    r.kind = kBool;
    r.b = v;
    return r;
  }
  static Value Of(List l) {
    Value r;
    r.kind = kList;
    for (const Value& e : l) r.depth = std::max(r.depth, e.depth + 1);
    r.list = std::make_shared<const List>(std::move(l));
    return r;
  }
  static Value Of(Map m) {
    Value r;
    r.kind = kMap;
    for (const auto& kv : m) r.depth = std::max(r.depth, kv.second.depth + 1);
    r.map = std::make_shared<const Map>(std::move(m));
    return r;
  }
  // A part of this string value: a view when this value's bytes outlive the execution, else a
  // copy (an owned string dies with this value).
  Value Part(std::string_view part) const { return is_owned ? Own(std::string(part)) : Str(part); }
};

// The value of key in a kMap; nullptr when absent.
const Value* MapFind(const Map& m, std::string_view key);

const char* KindName(Value::Kind k);
// Go's truth: false, 0, "", nil are false.
bool Truth(const Value& v);
// Go's fmt %v of a value, appended.
// Lists share their elements, so a small list can print as gigabytes: printing stops once *out
// is longer than max (callers cut or refuse what is past their own limit).
constexpr size_t kMaxPrintBytes = 16 << 20;
void AppendPrint(const Value& v, std::string* out, size_t max = kMaxPrintBytes);

// One function call: evaluated arguments (the piped value last), where the result goes.
struct Call {
  std::string_view name;
  std::span<Value> args;
  Value* result;
  std::string* error;
  const TemplateData* data;
  const RE2* re;     // the first argument precompiled when it was a literal (regex functions)
  size_t max_bytes;  // the longest string result allowed (Template::Limit)
  bool* exceeded;    // set when a result was refused for its size

  bool Fail(std::string msg) {
    *error = std::string(name) + ": " + std::move(msg);
    return false;
  }
  // Typed arguments as Go's reflection would convert them; false (with *error set) on a
  // mismatch, e.g. a missing field passed where a string is expected.
  bool Str(size_t i, std::string_view* out);
  bool Int(size_t i, int64_t* out);
};

using Fn = bool (*)(Call& call);

struct FuncDef {
  std::string_view name;
  int min_args;
  int max_args;              // -1 = variadic
  Fn fn;                     // nullptr for and/or, which the executor evaluates lazily
  bool regex_first = false;  // first argument is a regular expression
};

// nullptr when no such function.
const FuncDef* FindFunc(std::string_view name);
// The sprig part of the table (template_sprig.cc).
std::span<const FuncDef> SprigFuncs();
// Lists and maps: list, splitList, split, dict, keys, index, until, regexFindAll
// (template_collections.cc).
std::span<const FuncDef> CollectionFuncs();
// The longest list a function may build, so that no template can allocate without bound.
constexpr size_t kMaxListLen = 10000;
// Lists in lists: printing and freeing recurse per level.
constexpr int kMaxValueDepth = 100;

// Helpers the function files share.
std::string_view TrimCut(std::string_view s, std::string_view cutset, bool left, bool right);
// Stops once the result is longer than max_bytes (the caller refuses it then).
std::string GoReplace(std::string_view s, std::string_view old, std::string_view repl, int64_t n,
                      size_t max_bytes);
int64_t ToInt64(const Value& v);  // cast.ToInt64 as sprig uses it
std::string ToStr(const Value& v);
// Go's fmt.Sprintf(format, args...) appended to *out, stopping once it is longer than max
// (template_printf.cc).
void GoSprintf(std::string_view format, std::span<const Value> args, std::string* out, size_t max);
bool SetStr(Call& c, std::string s);  // fails when s is longer than c.max_bytes
bool SetBool(Call& c, bool b);
// The regex argument 0 of a call: precompiled (c.re), else compiled into *holder.
const RE2* RegexArg(Call& c, std::unique_ptr<RE2>* holder);

// ---- The syntax tree ---------------------------------------------------------------------

// Arguments of a call held on the stack, the piped value included; a call with more (sprig's
// dict and list take any number: a lookup table of 30 pairs is common) allocates.
constexpr size_t kMaxArgs = 8;

struct Pipe;
struct Arg {
  enum Kind { kField, kDot, kVar, kString, kInt, kBool, kNil, kFunc, kPipe };
  Kind kind = kNil;
  std::string text;  // field name (kField; kVar: the field after the variable, if any) or string
  int64_t i = 0;     // kInt; kVar: the variable's slot
  bool b = false;
  const tmpl::FuncDef* fn = nullptr;
  std::unique_ptr<Pipe> pipe;
};
struct Command {
  std::vector<Arg> args;
  std::unique_ptr<RE2> re;  // regex functions: a literal first argument, compiled once
};
// Variables live in slots: a stack that grows with each declaration and shrinks at the end of
// the block that declared them, as Go's scoping does. The parser gives each declaration the
// slot the stack will have reached when it runs; slot 0 is `$`.
struct Pipe {
  std::vector<Command> cmds;
  std::vector<int> decl;  // `$x := ...` (one slot; range: one or two) or `$x = ...` (assign)
  bool assign = false;
};
struct Node;
using NodeList = std::vector<Node>;
// One clause of an if/with/range: {{if p}}, {{else if p}}, {{with p}}, {{else with p}}, and
// {{range p}}, which is always the first clause of its node.
struct Branch {
  enum Kind { kIf, kWith, kRange };
  Kind kind = kIf;
  Pipe pipe;
  NodeList body;
};
struct Node {
  enum Kind { kText, kAction, kControl, kBreak, kContinue };
  Kind kind = kText;
  std::string text;
  Pipe pipe;                     // kAction
  std::vector<Branch> branches;  // kControl: the clauses in order
  NodeList else_body;            // kControl: {{else}}
  bool in_else = false;          // parsing state: {{else}} seen
};

// Bounds on one execution: range iterations in all (so a nested range cannot run for minutes).
constexpr size_t kMaxIterations = 100000;

// Parses template text into nodes; errors read "template: <line>:<col>: <message>".
Status ParseTree(std::string_view text, NodeList* out);

}  // namespace skidder::lang::go::tmpl
