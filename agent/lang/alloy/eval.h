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

class Evaluator {
 public:
  Evaluator(std::string file, Resolver resolver)
      : file_(std::move(file)), resolver_(std::move(resolver)) {}

  Result<Value> Eval(const Expr& e);
  // An error "file:line:col: message" at pos.
  Status ErrorAt(Pos pos, std::string_view message) const;
  const std::string& file() const { return file_; }

 private:
  Result<Value> Reference(const Expr& e);
  Result<Value> Index(const Expr& e);
  Result<Value> Call(const Expr& e);
  Result<Value> Unary(const Expr& e);
  Result<Value> Binary(const Expr& e);

  std::string file_;
  Resolver resolver_;
};

// The standard library: calls a function by its dotted name ("string.format", "env").
// NotFound when there is no such function; other errors are the function's own.
Result<Value> CallFunction(const std::string& name, const std::vector<Value>& args);
// Built-in constants (constants.hostname, constants.os, constants.arch); nullopt if unknown.
std::optional<Value> Constant(const std::string& name);
// JSON text -> Value (objects keep their order); nesting is bounded.
Result<Value> FromJson(std::string_view json);

}  // namespace skidder::lang::alloy
