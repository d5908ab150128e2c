// JsonPath: JMESPath as the json stage evaluates it (go-jmespath in Promtail), compiled once per
// expression.
//
// The whole grammar of the specification: identifiers and "quoted identifiers", sub-expressions
// (a.b), indexes ([0], [-1]) and slices ([a:b:c]), list projections (a[*].b), object value
// projections (a.*.b, *), flatten (a[].b), filter projections (a[?b > `1`].c) with the
// comparators == != < <= > >=, pipes (a | b), multi-select lists ([a, b]) and hashes ({x: a}),
// JSON literals (`...`) and raw strings ('...'), ||, && and !, the current node @, expression
// references (&a), and the built-in functions (abs, avg, ceil, contains, ends_with, floor, join,
// keys, length, map, max, max_by, merge, min, min_by, not_null, reverse, sort, sort_by,
// starts_with, sum, to_array, to_number, to_string, type, values). Syntax errors, unknown
// functions and wrong argument counts are refused at compile time with the offset; a function
// given the wrong type at run time makes the result null, as a failed search does in Promtail.
//
// Bounded: expressions nest at most 128 levels and trees are at most 256 high (evaluation
// recurses per level); an evaluation collects and visits a bounded number of values.
// Immutable once compiled: safe to share between threads.
#pragma once

#include <rapidjson/document.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace skidder::lang::go {

// The json stage's parsed values live in a per-entry arena.
using JsonValue = rapidjson::GenericValue<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;

// What a JsonPath evaluation found: a value, null (or no match), or a run-time error.
enum class JsonFound { kValue, kNull, kError };

class JsonPath {
 public:
  struct Node;

  // Evaluates against root; the text the json stage stores: strings as they are, numbers as Go
  // prints them, true/false, "" for null, no match or a run-time error, objects and arrays as
  // compact JSON the way Promtail's json.Marshal writes them (keys in byte order, Go's
  // escaping, float64 number forms; see AppendJson in json_path_eval.cc). The result is cut at
  // max_bytes (a character boundary), with *cut set: a multi-select in a projection can repeat a
  // large value many times.
  std::string Eval(const JsonValue& root, size_t max_bytes = std::string::npos,
                   bool* cut = nullptr) const;
  // As Eval, into *out, whose buffer is reused. A plain path of names and indexes (`level`,
  // `user.name`, `"a-b".c`, `items[0].id`, `args[-1]`: what most json stages use) is looked up
  // directly in the document, without the evaluator and its arena: no allocation once *out has
  // grown to its values' size (objects and arrays still print through a buffer).
  // kNull for null or no match (Promtail's json stage stores nil then), kError for a run-time
  // error (it stores nothing); *out is empty for both.
  JsonFound EvalInto(const JsonValue& root, std::string* out, size_t max_bytes = std::string::npos,
                     bool* cut = nullptr) const;
  // The result as JSON text ("null" for null); false with *error set on a run-time error
  // (e.g. "invalid-type: abs() expects a number").
  bool EvalJson(const JsonValue& root, std::string* out, std::string* error,
                size_t max_bytes = std::string::npos) const;

 private:
  friend Result<JsonPath> CompileJsonPath(std::string_view expr);
  // One step of a plain path: a member name, or an array index (negative from the end).
  struct PlainStep {
    std::string name;
    std::optional<int64_t> index;
  };
  static std::vector<PlainStep> PlainPath(const Node& n);
  // Eval's text, and what was found.
  std::string EvalText(const JsonValue& root, size_t max_bytes, bool* cut, JsonFound* found) const;

  std::shared_ptr<const Node> root_;
  std::vector<PlainStep> plain_path_;  // the steps of a plain path; empty otherwise
};

// The compiled tree, shaped as in the JMESPath reference implementation's AST.
struct JsonPath::Node {
  enum class Kind {
    kCurrent,          // @ (and the implicit current node)
    kField,            // name
    kIndex,            // index, negative from the end
    kSlice,            // slice[0..2]: start, stop, step
    kSub,              // children evaluated in turn, each on the previous result
    kProjection,       // children[1] on each element of the array children[0] yields
    kValueProjection,  // children[1] on each member value of the object children[0] yields
    kFilter,           // children[1] on each element of children[0] where children[2] is true
    kFlatten,          // children[0]'s array with nested arrays merged one level
    kMultiList,        // [children...]
    kMultiHash,        // {keys[i]: children[i]...}
    kOr,
    kAnd,
    kNot,
    kCompare,   // children[0] op children[1]
    kPipe,      // children[1] on the result of children[0]
    kLiteral,   // literal
    kExpref,    // &children[0]
    kFunction,  // name(children...)
  };
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe };
  Kind kind = Kind::kCurrent;
  std::string name;
  int64_t index = 0;
  std::array<std::optional<int64_t>, 3> slice;
  Op op = Op::kEq;
  std::vector<std::string> keys;
  std::shared_ptr<const rapidjson::Document> literal;
  int function = -1;  // index in the function table (json_path_funcs.cc)
  std::vector<std::shared_ptr<const Node>> children;
  int height = 1;  // this node and the deepest path below it; bounded at compile time
};

Result<JsonPath> CompileJsonPath(std::string_view expr);

// A single JSON value as the json stage stores it (see Eval).
std::string JsonValueText(const JsonValue& v);
// The same into *out (replacing its contents, reusing its buffer).
void AssignJsonValueText(const JsonValue& v, std::string* out);

}  // namespace skidder::lang::go
