// JsonPath: the JMESPath subset the json stage evaluates, compiled once per expression.
//
// Supported: identifiers and "quoted identifiers", sub-expressions (a.b), indexes ([0], [-1]),
// list projections (a[*].b), object value projections (a.*.b, *), flatten (a[].b, a[][0]) and
// multi-select lists ([a, b], a.[b, c]); projections drop null results as JMESPath does.
// Everything else (filters, slices, pipes, functions, literals, multi-select hashes) is refused
// at compile time with the offset and what was found. Immutable once compiled: safe to share.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace skidder::lang::go {

// The json stage's parsed values live in a per-entry arena.
using JsonValue = rapidjson::GenericValue<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;

class JsonPath {
 public:
  struct Node;

  // Evaluates against root; the text the json stage stores: strings as they are, numbers as Go
  // prints them, true/false, "" for null or no match, objects and arrays (including the lists
  // projections build) as compact JSON.
  // The result is cut at max_bytes (a character boundary), with *cut set: a multi-select in a
  // projection can repeat a large value many times.
  std::string Eval(const JsonValue& root, size_t max_bytes = std::string::npos,
                   bool* cut = nullptr) const;

 private:
  friend Result<JsonPath> CompileJsonPath(std::string_view expr);
  std::shared_ptr<const Node> root_;
};

// The compiled tree, shaped as in the JMESPath reference implementation's AST.
struct JsonPath::Node {
  enum class Kind {
    kIdentity,         // the current value
    kField,            // name
    kIndex,            // index, negative from the end
    kSub,              // children[1] evaluated on the result of children[0]
    kProjection,       // children[1] on each element of the array children[0] yields
    kValueProjection,  // children[1] on each member value of the object children[0] yields
    kFlatten,          // children[0]'s array with nested arrays merged one level
    kMultiList,        // [children...] evaluated on the current value
  };
  Kind kind = Kind::kIdentity;
  std::string name;
  int64_t index = 0;
  std::vector<std::shared_ptr<const Node>> children;
  int height = 1;  // this node and the deepest path below it; bounded at compile time
};

Result<JsonPath> CompileJsonPath(std::string_view expr);

// A single JSON value as the json stage stores it (see Eval).
std::string JsonValueText(const JsonValue& v);

}  // namespace skidder::lang::go
