// Value helpers: construction, printing and equality.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "lang/alloy/ast.h"

namespace skidder::lang::alloy {

bool HasSecret(const Value& v) {
  if (v.secret) return true;
  if (v.kind == Value::Kind::kArray) return std::ranges::any_of(*v.array, HasSecret);
  if (v.kind == Value::Kind::kObject) {
    return std::ranges::any_of(*v.object, [](const auto& kv) { return HasSecret(kv.second); });
  }
  return false;
}

Value Value::Bool(bool b) {
  Value v;
  v.kind = Kind::kBool;
  v.boolean = b;
  return v;
}

Value Value::Number(double n) {
  Value v;
  v.kind = Kind::kNumber;
  v.number = n;
  return v;
}

Value Value::String(std::string s) {
  Value v;
  v.kind = Kind::kString;
  v.str = std::move(s);
  return v;
}

Value Value::MakeArray(Array a) {
  Value v;
  v.kind = Kind::kArray;
  v.array = std::make_shared<Array>(std::move(a));
  return v;
}

Value Value::MakeObject(Object o) {
  Value v;
  v.kind = Kind::kObject;
  v.object = std::make_shared<Object>(std::move(o));
  return v;
}

Value Value::MakeCapsule(std::string kind, std::string component) {
  Value v;
  v.kind = Kind::kCapsule;
  v.capsule = {std::move(kind), std::move(component)};
  return v;
}

const Value* Value::Field(std::string_view key) const {
  if (kind != Kind::kObject) return nullptr;
  for (const auto& [k, v] : *object) {
    if (k == key) return &v;
  }
  return nullptr;
}

const Attribute* Block::Attr(std::string_view attr) const {
  for (const Attribute& a : attributes) {
    if (a.name == attr) return &a;
  }
  return nullptr;
}

const char* KindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kNumber:
      return "number";
    case Value::Kind::kString:
      return "string";
    case Value::Kind::kArray:
      return "array";
    case Value::Kind::kObject:
      return "object";
    case Value::Kind::kCapsule:
      return "capsule";
  }
  return "?";
}

std::string FormatNumber(double n) {
  if (std::isfinite(n) && n == std::trunc(n) && std::fabs(n) < 1e18) {
    return fmt::format("{}", static_cast<int64_t>(n));
  }
  return fmt::format("{}", n);
}

std::string ToText(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return "null";
    case Value::Kind::kBool:
      return v.boolean ? "true" : "false";
    case Value::Kind::kNumber:
      return FormatNumber(v.number);
    case Value::Kind::kString:
      return v.str;
    case Value::Kind::kCapsule:
      return fmt::format("{}.{}", v.capsule.component, v.capsule.kind);
    case Value::Kind::kArray: {
      std::string out = "[";
      for (size_t i = 0; i < v.array->size(); ++i) {
        out += (i ? ", " : "") + ToText((*v.array)[i]);
      }
      return out + "]";
    }
    case Value::Kind::kObject: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, item] : *v.object) {
        out += fmt::format("{}{} = {}", first ? "" : ", ", k, ToText(item));
        first = false;
      }
      return out + "}";
    }
  }
  return "";
}

size_t ValueBytes(const Value& v) {
  size_t n = sizeof(Value) + v.str.size() + v.capsule.kind.size() + v.capsule.component.size();
  if (v.array) {
    for (const Value& m : *v.array) n += ValueBytes(m);
  }
  if (v.object) {
    for (const auto& [key, m] : *v.object) n += key.size() + ValueBytes(m);
  }
  return n;
}

bool Equal(const Value& a, const Value& b) {
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kBool:
      return a.boolean == b.boolean;
    case Value::Kind::kNumber:
      return a.number == b.number;
    case Value::Kind::kString:
      return a.str == b.str;
    case Value::Kind::kCapsule:
      return a.capsule == b.capsule;
    case Value::Kind::kArray:
      if (a.array->size() != b.array->size()) return false;
      for (size_t i = 0; i < a.array->size(); ++i) {
        if (!Equal((*a.array)[i], (*b.array)[i])) return false;
      }
      return true;
    case Value::Kind::kObject:
      if (a.object->size() != b.object->size()) return false;
      for (const auto& [k, item] : *a.object) {
        const Value* other = b.Field(k);
        if (other == nullptr || !Equal(item, *other)) return false;
      }
      return true;
  }
  return false;
}

}  // namespace skidder::lang::alloy
