// Evaluates expressions of an Alloy file: operators, indexing, the standard library and
// references to other components' exports (through a Resolver the caller provides).
//
// Not thread-safe; one Evaluator per load. Errors name file:line:column of the expression.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lang/alloy/ast.h"
#include "util/status.h"

namespace skidder::lang::alloy {

// Resolves a dotted reference such as {"loki", "write", "default", "receiver"}. Sets *consumed
// to how many leading parts named the value (the rest are read as fields of it). Returns
// NotFound when no component matches; the evaluator then reports an unknown reference.
using Resolver =
    std::function<Result<Value>(const std::vector<std::string>& parts, size_t* consumed, Pos pos)>;

// What one function call may make (a string, or an array's members): a config file's own
// limit. Nested replace() or format() multiply a string at each level (six levels of a 64-byte
// replacement are terabytes), so each call checks before it allocates.
inline constexpr size_t kMaxValueBytes = 16 << 20;
// What a whole load may make, in function results, concatenations and array and object values:
// references copy values, so a value of kMaxValueBytes used many times (or arrays of arrays
// nested a level per component) would pass each call's limit and still exhaust memory.
inline constexpr size_t kMaxEvaluatedBytes = 256 << 20;

class Evaluator {
 public:
  Evaluator(std::string file, Resolver resolver, size_t max_evaluated_bytes = kMaxEvaluatedBytes)
      : file_(std::move(file)),
        resolver_(std::move(resolver)),
        max_evaluated_bytes_(max_evaluated_bytes) {}

  Result<Value> Eval(const Expr& e);
  // An error "file:line:col: message" at pos, and " (in <instance>)" for a place in a custom
  // component's instance.
  Status ErrorAt(Pos pos, std::string_view message) const;
  // Names of custom component instances, by Pos::instance; not owned, outlives the evaluator.
  void set_instance_names(const std::vector<std::string>* names) { instance_names_ = names; }
  const std::string& file() const { return file_; }

 private:
  Result<Value> Reference(const Expr& e);
  Result<Value> Index(const Expr& e);
  Result<Value> Call(const Expr& e);
  Result<Value> Unary(const Expr& e);
  Result<Value> Binary(const Expr& e);
  // Counts v against max_evaluated_bytes_; an error at pos past it.
  Result<Value> Charge(Result<Value> v, Pos pos);

  std::string file_;
  Resolver resolver_;
  size_t max_evaluated_bytes_;
  size_t evaluated_bytes_ = 0;
  const std::vector<std::string>* instance_names_ = nullptr;
};

// The dotted name of an identifier or a chain of fields on one (`a.b.c`): false (parts
// unspecified) for anything else, such as a field of a call's result.
bool DottedParts(const Expr& e, std::vector<std::string>* parts);

// The standard library: calls a function by its dotted name ("string.format", "env").
// NotFound when there is no such function; other errors are the function's own.
Result<Value> CallFunction(const std::string& name, const std::vector<Value>& args);
// Built-in constants (constants.hostname, constants.os, constants.arch); nullopt if unknown.
std::optional<Value> Constant(const std::string& name);
// JSON text -> Value (objects keep their order); nesting is bounded.
Result<Value> FromJson(std::string_view json);

}  // namespace skidder::lang::alloy
