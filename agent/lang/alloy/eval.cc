// Expression evaluation. Recursion follows the tree, whose height the parser bounds.
#include "lang/alloy/eval.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "lang/alloy/lexer.h"

namespace skidder::lang::alloy {

bool DottedParts(const Expr& e, std::vector<std::string>* parts) {
  if (e.kind == Expr::Kind::kIdent) {
    parts->push_back(e.name);
    return true;
  }
  if (e.kind != Expr::Kind::kField || !DottedParts(*e.kids[0], parts)) return false;
  parts->push_back(e.name);
  return true;
}

namespace {

// A member of container (null when absent): secret when the container is, as what a function
// makes from a secret (a split, a decoded JSON) is secret as a whole.
Value Member(const Value& container, const Value* member) {
  Value v = member != nullptr ? *member : Value::Null();
  v.secret = v.secret || container.secret;
  return v;
}

std::string Join(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < parts.size(); ++i) out += (i ? "." : "") + parts[i];
  return out;
}

}  // namespace

Status Evaluator::ErrorAt(Pos pos, std::string_view message) const {
  const bool named = pos.instance > 0 && instance_names_ != nullptr &&
                     static_cast<size_t>(pos.instance) < instance_names_->size();
  return InvalidArgument(
      fmt::format("{}:{}:{}: {}{}", file_, pos.line, pos.column, message,
                  named ? fmt::format(" (in {})", (*instance_names_)[pos.instance]) : ""));
}

Result<Value> Evaluator::Charge(Result<Value> v, Pos pos) {
  if (!v) return v;
  evaluated_bytes_ += ValueBytes(*v);
  if (evaluated_bytes_ > max_evaluated_bytes_) {
    return Err(ErrorAt(pos, fmt::format("the config's expressions make more than {} MiB of values",
                                        max_evaluated_bytes_ >> 20)));
  }
  return v;
}

Result<Value> Evaluator::Eval(const Expr& e) {
  // What a reference, a call or an operator makes is counted (a reference copies the value's
  // strings), and arrays and objects member by member, before the next is made.
  switch (e.kind) {
    case Expr::Kind::kLiteral:
      return e.value;
    case Expr::Kind::kIdent:
    case Expr::Kind::kField:
      return Charge(Reference(e), e.pos);
    case Expr::Kind::kIndex:
      return Index(e);
    case Expr::Kind::kCall:
      return Charge(Call(e), e.pos);
    case Expr::Kind::kUnary:
      return Unary(e);
    case Expr::Kind::kBinary:
      return Charge(Binary(e), e.pos);
    case Expr::Kind::kArray: {
      Array out;
      for (const ExprPtr& k : e.kids) {
        Result<Value> v = Charge(Eval(*k), k->pos);
        if (!v) return v;
        out.push_back(std::move(*v));
      }
      return Value::MakeArray(std::move(out));
    }
    case Expr::Kind::kObject: {
      Object out;
      for (size_t i = 0; i < e.kids.size(); ++i) {
        Result<Value> v = Charge(Eval(*e.kids[i]), e.kids[i]->pos);
        if (!v) return v;
        out.emplace_back(e.keys[i], std::move(*v));
      }
      return Value::MakeObject(std::move(out));
    }
  }
  return Value::Null();
}

Result<Value> Evaluator::Reference(const Expr& e) {
  std::vector<std::string> parts;
  if (!DottedParts(e, &parts)) {  // a field of a computed value, e.g. json_decode(x).a
    Result<Value> base = Eval(*e.kids[0]);
    if (!base) return base;
    if (base->kind != Value::Kind::kObject) {
      return Err(ErrorAt(e.pos, fmt::format("field {} of a {}: only objects have fields",
                                            Short(e.name), KindName(base->kind))));
    }
    return Member(*base, base->Field(e.name));
  }
  size_t consumed = 0;
  Result<Value> v = Err(NotFound(""));
  if (parts.size() >= 2 && parts[0] == "constants") {
    if (std::optional<Value> c = Constant(Join(parts, 2))) {
      v = *c;
      consumed = 2;
    }
  } else {
    v = resolver_(parts, &consumed, e.pos);
  }
  if (!v && v.error().code() == StatusCode::kNotFound) {
    return Err(
        ErrorAt(e.pos, fmt::format("unknown reference {}", Short(Join(parts, parts.size())))));
  }
  if (!v) return v;
  for (size_t i = consumed; i < parts.size(); ++i) {
    if (v->kind != Value::Kind::kObject) {
      return Err(ErrorAt(e.pos, fmt::format("{} is a {}, it has no field {}", Short(Join(parts, i)),
                                            KindName(v->kind), Short(parts[i]))));
    }
    v = Member(*v, v->Field(parts[i]));
  }
  return v;
}

Result<Value> Evaluator::Index(const Expr& e) {
  Result<Value> base = Eval(*e.kids[0]);
  if (!base) return base;
  Result<Value> index = Eval(*e.kids[1]);
  if (!index) return index;
  if (base->kind == Value::Kind::kArray && index->kind == Value::Kind::kNumber) {
    double i = index->number;
    if (i != std::trunc(i) || i < 0 || i >= static_cast<double>(base->array->size())) {
      return Err(ErrorAt(e.pos, fmt::format("index {} out of range for an array of {}",
                                            FormatNumber(i), base->array->size())));
    }
    return Member(*base, &(*base->array)[static_cast<size_t>(i)]);
  }
  if (base->kind == Value::Kind::kObject && index->kind == Value::Kind::kString) {
    return Member(*base, base->Field(index->str));
  }
  return Err(ErrorAt(e.pos, fmt::format("cannot index a {} with a {}", KindName(base->kind),
                                        KindName(index->kind))));
}

Result<Value> Evaluator::Call(const Expr& e) {
  std::vector<std::string> parts;
  if (!DottedParts(*e.kids[0], &parts)) {
    return Err(ErrorAt(e.pos, "only functions of the standard library can be called"));
  }
  const std::string name = Join(parts, parts.size());
  std::vector<Value> args;
  for (size_t i = 1; i < e.kids.size(); ++i) {
    Result<Value> v = Eval(*e.kids[i]);
    if (!v) return v;
    args.push_back(std::move(*v));
  }
  Result<Value> out = CallFunction(name, args);
  if (!out && out.error().code() == StatusCode::kNotFound) {
    return Err(ErrorAt(e.kids[0]->pos, fmt::format("unknown function {}", Short(name))));
  }
  if (!out) return Err(ErrorAt(e.kids[0]->pos, fmt::format("{}: {}", name, out.error().message())));
  // What a function makes from a secret is secret, except what convert.nonsensitive says is not
  // and what coalesce picks (one of its arguments, secret or not as it was).
  if (name == "convert.nonsensitive" || name == "nonsensitive") {
    out->secret = false;
  } else if (name != "coalesce") {
    out->secret = out->secret || std::ranges::any_of(args, HasSecret);
  }
  return out;
}

Result<Value> Evaluator::Unary(const Expr& e) {
  Result<Value> v = Eval(*e.kids[0]);
  if (!v) return v;
  if (e.name == "!" && v->kind == Value::Kind::kBool) return Value::Bool(!v->boolean);
  if (e.name == "-" && v->kind == Value::Kind::kNumber) return Value::Number(-v->number);
  return Err(
      ErrorAt(e.pos, fmt::format("operator {} does not apply to a {}", e.name, KindName(v->kind))));
}

Result<Value> Evaluator::Binary(const Expr& e) {
  const std::string& op = e.name;
  Result<Value> a = Eval(*e.kids[0]);
  if (!a) return a;
  if ((op == "&&" || op == "||") && a->kind == Value::Kind::kBool) {
    if (op == "&&" && !a->boolean) return Value::Bool(false);  // short-circuit, as Alloy
    if (op == "||" && a->boolean) return Value::Bool(true);
  }
  Result<Value> b = Eval(*e.kids[1]);
  if (!b) return b;
  if (op == "==") return Value::Bool(Equal(*a, *b));
  if (op == "!=") return Value::Bool(!Equal(*a, *b));
  auto mismatch = [&] {
    return Err(ErrorAt(e.pos, fmt::format("operator {} does not apply to a {} and a {}", op,
                                          KindName(a->kind), KindName(b->kind))));
  };
  if (a->kind == Value::Kind::kBool && b->kind == Value::Kind::kBool) {
    if (op == "&&" || op == "||") return Value::Bool(b->boolean);
    return mismatch();
  }
  if (a->kind == Value::Kind::kString && b->kind == Value::Kind::kString) {
    if (op == "+") {
      if (a->str.size() + b->str.size() > kMaxValueBytes) {
        return Err(ErrorAt(
            e.pos, fmt::format("the string would be larger than {} MiB", kMaxValueBytes >> 20)));
      }
      Value joined = Value::String(a->str + b->str);
      joined.secret = a->secret || b->secret;
      return joined;
    }
    if (op == "<") return Value::Bool(a->str < b->str);
    if (op == "<=") return Value::Bool(a->str <= b->str);
    if (op == ">") return Value::Bool(a->str > b->str);
    if (op == ">=") return Value::Bool(a->str >= b->str);
    return mismatch();
  }
  if (a->kind != Value::Kind::kNumber || b->kind != Value::Kind::kNumber) return mismatch();
  const double x = a->number, y = b->number;
  if (op == "<") return Value::Bool(x < y);
  if (op == "<=") return Value::Bool(x <= y);
  if (op == ">") return Value::Bool(x > y);
  if (op == ">=") return Value::Bool(x >= y);
  if (op == "+") return Value::Number(x + y);
  if (op == "-") return Value::Number(x - y);
  if (op == "*") return Value::Number(x * y);
  if (op == "^") return Value::Number(std::pow(x, y));
  if ((op == "/" || op == "%") && y == 0) return Err(ErrorAt(e.pos, "division by zero"));
  if (op == "/") return Value::Number(x / y);
  if (op == "%") return Value::Number(std::fmod(x, y));
  return mismatch();
}

}  // namespace skidder::lang::alloy
