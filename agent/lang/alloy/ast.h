// The Alloy configuration syntax as a tree: values, expressions, attributes and blocks.
//
// Built by Parse() (parser.h), read by the evaluator (eval.h) and by whoever maps blocks onto
// components (config/alloy_*.cc). Plain values: a File owns its whole tree; no shared state.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace skidder::lang::alloy {

// 1-based line and column (columns count bytes, as our YAML errors do).
struct Pos {
  int line = 1;
  int column = 1;
  // > 0: the place is in a copy made for an instance of a custom component (a declare), which
  // errors name (Evaluator::set_instance_names); 0 everywhere the parser puts a position.
  int instance = 0;
};

struct Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string, Value>>;  // keys in written order, unique

// A component's export that is not plain data: a receiver (`loki.write.x.receiver`), a set of
// discovered targets (`discovery.kubernetes.x.targets`) or relabel rules. The config mapper
// decides what each one means; the evaluator only carries it.
struct Capsule {
  std::string kind;       // "receiver", "targets", "rules"
  std::string component;  // "loki.write.default"
  bool operator==(const Capsule&) const = default;
};

struct Value {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject, kCapsule };
  Kind kind = Kind::kNull;
  bool boolean = false;
  double number = 0;
  std::string str;
  std::shared_ptr<Array> array;
  std::shared_ptr<Object> object;
  Capsule capsule;
  // Read from a Secret (remote.kubernetes.secret's data), or made from such a value; cleared
  // by convert.nonsensitive. The config loader refuses it where Alloy takes no secret.
  bool secret = false;

  static Value Null() { return {}; }
  static Value Bool(bool b);
  static Value Number(double n);
  static Value String(std::string s);
  static Value MakeArray(Array a);
  static Value MakeObject(Object o);
  static Value MakeCapsule(std::string kind, std::string component);

  bool is_null() const { return kind == Kind::kNull; }
  // The member named key, or nullptr (objects only).
  const Value* Field(std::string_view key) const;
};

// "string", "number", "array"... for messages.
const char* KindName(Value::Kind kind);
// Numbers as Alloy prints them: integers without a fraction, others shortest round-trip.
std::string FormatNumber(double n);
// A value as text for string.format's %v and for messages (strings unquoted).
std::string ToText(const Value& v);
bool Equal(const Value& a, const Value& b);
// Whether v, or a member of it, is secret.
bool HasSecret(const Value& v);
// About the memory a value takes: its strings and, for arrays and objects, their members'.
size_t ValueBytes(const Value& v);

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,  // value
    kIdent,    // name
    kField,    // kids[0].name
    kIndex,    // kids[0][kids[1]]
    kCall,     // kids[0](kids[1..])
    kArray,    // [kids...]
    kObject,   // { keys[i] = kids[i] }
    kUnary,    // op kids[0]
    kBinary,   // kids[0] op kids[1]
  };
  Kind kind = Kind::kLiteral;
  Pos pos;
  Value value;
  std::string name;  // identifier, field or operator
  std::vector<std::string> keys;
  std::vector<ExprPtr> kids;
  int depth = 1;  // height of this subtree; the parser bounds it
};

// A deep copy of e.
ExprPtr Clone(const Expr& e);
// A copy of e without its operands (kids), for a caller that adds them.
ExprPtr CloneNode(const Expr& e);

struct Attribute {
  std::string name;
  Pos pos;
  ExprPtr value;
};

struct Block {
  std::string name;   // dotted, e.g. "loki.source.file" or "stage.json"
  std::string label;  // "" when the block has none
  Pos pos;
  std::vector<Attribute> attributes;
  std::vector<Block> blocks;  // in written order (stage order matters)
  // The custom component instance a block was copied into, as the prefix of its id
  // ("pod_logs.feature/"); "" for a block written at the top level. Set by the config loader,
  // which expands declare blocks (config/alloy_declare.cc), never by the parser.
  std::string id_prefix;

  const Attribute* Attr(std::string_view attr) const;
};

// A whole file: top-level attributes (rare) and blocks.
struct File {
  std::string name;  // for messages
  std::vector<Attribute> attributes;
  std::vector<Block> blocks;
};

}  // namespace skidder::lang::alloy
