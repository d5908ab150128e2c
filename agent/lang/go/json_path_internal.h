// Internals of JsonPath (json_path.h): the run-time value, the evaluator the functions call back
// into (for expression references), and the function table. Not for use outside
// json_path*.cc.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lang/go/json_path.h"

namespace skidder::lang::go::jmes {

using Node = JsonPath::Node;

struct Value;
using Array = std::vector<Value>;
using Object = std::vector<std::pair<std::string_view, Value>>;  // in insertion order

// A value during evaluation: a node of the document (or of a literal), or one the evaluation
// built (arrays, objects, strings and numbers owned by the Evaluator's arena), or an expression
// reference. Cheap to copy.
struct Value {
  enum class Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject, kExpref };
  Type type = Type::kNull;
  bool b = false;
  double num = 0;
  std::string_view str;
  const JsonValue* doc = nullptr;  // set for document values (any type)
  const Array* arr = nullptr;      // built arrays
  const Object* obj = nullptr;     // built objects
  const Node* ref = nullptr;       // kExpref

  static Value Of(const JsonValue* d);
  static Value Bool(bool v) {
    Value r;
    r.type = Type::kBool;
    r.b = v;
    return r;
  }
  static Value Number(double v) {
    Value r;
    r.type = Type::kNumber;
    r.num = v;
    return r;
  }
  bool null() const { return type == Type::kNull; }
  size_t size() const;                    // arrays and objects
  Value at(size_t i) const;               // arrays
  Value Get(std::string_view key) const;  // objects; null when absent
  template <typename F>
  void ForEachMember(F&& f) const {  // objects: f(key, value)
    if (doc != nullptr) {
      for (auto it = doc->MemberBegin(); it != doc->MemberEnd(); ++it) {
        f(std::string_view(it->name.GetString(), it->name.GetStringLength()), Of(&it->value));
      }
    } else if (obj != nullptr) {
      for (const auto& [k, v] : *obj) f(k, v);
    }
  }
};

// The member `name` of a document object, nullptr when absent. Of duplicate names the last, as
// Go's json.Unmarshal into a map keeps it (Promtail's json stage searches what that gave).
const JsonValue* LastMember(const JsonValue& object, std::string_view name);

const char* TypeName(Value::Type t);
bool Truthy(const Value& v);
bool Equal(const Value& a, const Value& b);
// Compact JSON; stops once *out is longer than max.
void AppendJson(const Value& v, std::string* out, size_t max);

// One evaluation: the arena for built values, the budgets, the first run-time error.
class Evaluator {
 public:
  Evaluator(size_t budget, size_t steps) : budget_(budget), steps_(steps) {}

  Value Eval(const Node& n, const Value& cur);

  // Arena: built values live until the evaluation ends.
  Value NewArray(Array a);
  Value NewObject(Object o);
  Value NewString(std::string s);
  // Counts a value collected into a built array or object; false once the budget is spent.
  bool Take() {
    if (budget_ == 0) return !(exceeded_ = true);
    --budget_;
    return true;
  }
  Value Fail(std::string msg) {
    if (error_.empty()) error_ = std::move(msg);
    return {};
  }
  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  bool exceeded() const { return exceeded_; }

 private:
  Value Project(const Node& n, const Value& cur);
  Value Filter(const Node& n, const Value& cur);
  Value Flatten(const Value& base);
  Value Slice(const Node& n, const Value& cur);
  Value Compare(const Node& n, const Value& cur);
  Value Multi(const Node& n, const Value& cur);

  std::deque<Array> arrays_;
  std::deque<Object> objects_;
  std::deque<std::string> strings_;
  size_t budget_;
  size_t steps_;  // nodes still allowed to be evaluated
  bool exceeded_ = false;
  std::string error_;
};

// The built-in functions.
struct Function {
  std::string_view name;
  int min_args;
  int max_args;  // -1: variadic
  Value (*fn)(Evaluator& ev, std::span<const Value> args);
};
// The index of the function called name, or -1.
int FindFunction(std::string_view name);
const Function& FunctionAt(int index);

}  // namespace skidder::lang::go::jmes
