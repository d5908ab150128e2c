// JMESPath's built-in functions, with the specification's signatures: an argument of the wrong
// type is an "invalid-type" run-time error (the search fails); arity is checked at compile time.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <numeric>
#include <string>

#include "lang/go/json_path_internal.h"

namespace skidder::lang::go::jmes {
namespace {

using Type = Value::Type;
using Args = std::span<const Value>;

Value TypeError(Evaluator& ev, std::string_view fn, std::string_view want, const Value& got) {
  return ev.Fail(
      fmt::format("invalid-type: {}() expects {}, got {}", fn, want, TypeName(got.type)));
}

bool IsArrayOf(const Value& v, Type t) {
  if (v.type != Type::kArray) return false;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v.at(i).type != t) return false;
  }
  return true;
}

// The element type of an array of only numbers or only strings; kNull when neither.
Type Sortable(const Value& v) {
  if (v.type != Type::kArray || v.size() == 0)
    return v.type == Type::kArray ? Type::kNumber : Type::kNull;
  const Type t = v.at(0).type;
  if (t != Type::kNumber && t != Type::kString) return Type::kNull;
  return IsArrayOf(v, t) ? t : Type::kNull;
}

bool Less(const Value& a, const Value& b) {
  return a.type == Type::kNumber ? a.num < b.num : a.str < b.str;
}

Value Num(Evaluator& ev, Args a, std::string_view fn, double (*f)(double)) {
  if (a[0].type != Type::kNumber) return TypeError(ev, fn, "a number", a[0]);
  return Value::Number(f(a[0].num));
}

Value Abs(Evaluator& ev, Args a) {
  return Num(ev, a, "abs", [](double x) { return std::fabs(x); });
}
Value Ceil(Evaluator& ev, Args a) {
  return Num(ev, a, "ceil", [](double x) { return std::ceil(x); });
}
Value Floor(Evaluator& ev, Args a) {
  return Num(ev, a, "floor", [](double x) { return std::floor(x); });
}

Value Sum(Evaluator& ev, Args a) {
  if (!IsArrayOf(a[0], Type::kNumber)) return TypeError(ev, "sum", "an array of numbers", a[0]);
  double s = 0;
  for (size_t i = 0; i < a[0].size(); ++i) s += a[0].at(i).num;
  return Value::Number(s);
}

Value Avg(Evaluator& ev, Args a) {
  if (!IsArrayOf(a[0], Type::kNumber)) return TypeError(ev, "avg", "an array of numbers", a[0]);
  if (a[0].size() == 0) return {};
  return Value::Number(Sum(ev, a).num / static_cast<double>(a[0].size()));
}

Value Contains(Evaluator& ev, Args a) {
  if (a[0].type == Type::kString) {
    return Value::Bool(a[1].type == Type::kString && a[0].str.find(a[1].str) != std::string::npos);
  }
  if (a[0].type != Type::kArray) return TypeError(ev, "contains", "an array or a string", a[0]);
  for (size_t i = 0; i < a[0].size(); ++i) {
    if (Equal(a[0].at(i), a[1])) return Value::Bool(true);
  }
  return Value::Bool(false);
}

template <bool kStarts>
Value Affix(Evaluator& ev, Args a) {
  const char* name = kStarts ? "starts_with" : "ends_with";
  for (const Value& v : a) {
    if (v.type != Type::kString) return TypeError(ev, name, "strings", v);
  }
  return Value::Bool(kStarts ? a[0].str.starts_with(a[1].str) : a[0].str.ends_with(a[1].str));
}

Value Join(Evaluator& ev, Args a) {
  if (a[0].type != Type::kString) return TypeError(ev, "join", "a string glue", a[0]);
  if (!IsArrayOf(a[1], Type::kString)) return TypeError(ev, "join", "an array of strings", a[1]);
  std::string out;
  for (size_t i = 0; i < a[1].size(); ++i) {
    if (i > 0) out += a[0].str;
    out += a[1].at(i).str;
  }
  return ev.NewString(std::move(out));
}

Value KeysOrValues(Evaluator& ev, Args a, bool keys) {
  if (a[0].type != Type::kObject) return TypeError(ev, keys ? "keys" : "values", "an object", a[0]);
  Array out;
  a[0].ForEachMember([&](std::string_view k, const Value& v) {
    if (!ev.Take()) return;
    if (!keys) {
      out.push_back(v);
      return;
    }
    Value s;
    s.type = Type::kString;
    s.str = k;  // keys live in the document or the compiled tree
    out.push_back(s);
  });
  return ev.NewArray(std::move(out));
}
Value Keys(Evaluator& ev, Args a) { return KeysOrValues(ev, a, true); }
Value Values(Evaluator& ev, Args a) { return KeysOrValues(ev, a, false); }

size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Value Length(Evaluator& ev, Args a) {
  if (a[0].type == Type::kString) return Value::Number(static_cast<double>(CodePoints(a[0].str)));
  if (a[0].type != Type::kArray && a[0].type != Type::kObject) {
    return TypeError(ev, "length", "a string, array or object", a[0]);
  }
  return Value::Number(static_cast<double>(a[0].size()));
}

Value Map(Evaluator& ev, Args a) {
  if (a[0].type != Type::kExpref) return TypeError(ev, "map", "an expression (&...)", a[0]);
  if (a[1].type != Type::kArray) return TypeError(ev, "map", "an array", a[1]);
  Array out;
  for (size_t i = 0; i < a[1].size() && ev.Take(); ++i)
    out.push_back(ev.Eval(*a[0].ref, a[1].at(i)));
  return ev.NewArray(std::move(out));
}

template <bool kMax>
Value Extreme(Evaluator& ev, Args a) {
  const Type t = Sortable(a[0]);
  if (t == Type::kNull) {
    return TypeError(ev, kMax ? "max" : "min", "an array of numbers or of strings", a[0]);
  }
  if (a[0].size() == 0) return {};
  Value best = a[0].at(0);
  for (size_t i = 1; i < a[0].size(); ++i) {
    const Value v = a[0].at(i);
    if (kMax ? Less(best, v) : Less(v, best)) best = v;
  }
  return best;
}

// The keys &expr gives each element: all numbers or all strings, else an error.
bool KeysBy(Evaluator& ev, Args a, std::string_view fn, std::vector<Value>* keys) {
  if (a[0].type != Type::kArray) return TypeError(ev, fn, "an array", a[0]), false;
  if (a[1].type != Type::kExpref) return TypeError(ev, fn, "an expression (&...)", a[1]), false;
  for (size_t i = 0; i < a[0].size(); ++i) {
    Value k = ev.Eval(*a[1].ref, a[0].at(i));
    if ((k.type != Type::kNumber && k.type != Type::kString) ||
        (!keys->empty() && k.type != keys->front().type)) {
      return TypeError(ev, fn, "an expression giving all numbers or all strings", k), false;
    }
    keys->push_back(k);
  }
  return true;
}

template <bool kMax>
Value ExtremeBy(Evaluator& ev, Args a) {
  std::vector<Value> keys;
  if (!KeysBy(ev, a, kMax ? "max_by" : "min_by", &keys)) return {};
  if (keys.empty()) return {};
  size_t best = 0;
  for (size_t i = 1; i < keys.size(); ++i) {
    if (kMax ? Less(keys[best], keys[i]) : Less(keys[i], keys[best])) best = i;
  }
  return a[0].at(best);
}

Value Sort(Evaluator& ev, Args a) {
  if (Sortable(a[0]) == Type::kNull) {
    return TypeError(ev, "sort", "an array of numbers or of strings", a[0]);
  }
  Array out;
  for (size_t i = 0; i < a[0].size() && ev.Take(); ++i) out.push_back(a[0].at(i));
  std::stable_sort(out.begin(), out.end(), Less);
  return ev.NewArray(std::move(out));
}

Value SortBy(Evaluator& ev, Args a) {
  std::vector<Value> keys;
  if (!KeysBy(ev, a, "sort_by", &keys)) return {};
  std::vector<size_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return Less(keys[x], keys[y]); });
  Array out;
  for (size_t i : order) {
    if (!ev.Take()) break;
    out.push_back(a[0].at(i));
  }
  return ev.NewArray(std::move(out));
}

Value Merge(Evaluator& ev, Args a) {
  Object out;
  for (const Value& o : a) {
    if (o.type != Type::kObject) return TypeError(ev, "merge", "objects", o);
    o.ForEachMember([&](std::string_view k, const Value& v) {
      auto it = std::find_if(out.begin(), out.end(), [&](const auto& kv) { return kv.first == k; });
      if (it != out.end()) {
        it->second = v;
      } else if (ev.Take()) {
        out.emplace_back(k, v);
      }
    });
  }
  return ev.NewObject(std::move(out));
}

Value NotNull(Evaluator&, Args a) {
  for (const Value& v : a) {
    if (!v.null()) return v;
  }
  return {};
}

Value Reverse(Evaluator& ev, Args a) {
  if (a[0].type == Type::kString) {
    std::string out;
    std::string_view s = a[0].str;
    while (!s.empty()) {  // by code point
      size_t n = 1;
      while (n < s.size() && (static_cast<unsigned char>(s[s.size() - n]) & 0xC0) == 0x80) ++n;
      out.append(s.substr(s.size() - n));
      s.remove_suffix(n);
    }
    return ev.NewString(std::move(out));
  }
  if (a[0].type != Type::kArray) return TypeError(ev, "reverse", "an array or a string", a[0]);
  Array out;
  for (size_t i = a[0].size(); i-- > 0 && ev.Take();) out.push_back(a[0].at(i));
  return ev.NewArray(std::move(out));
}

Value ToArray(Evaluator& ev, Args a) {
  if (a[0].type == Type::kArray) return a[0];
  return ev.Take() ? ev.NewArray(Array{a[0]}) : Value{};
}

Value ToNumber(Evaluator&, Args a) {
  if (a[0].type == Type::kNumber) return a[0];
  if (a[0].type != Type::kString) return {};
  const std::string_view s = a[0].str;
  if (s.empty() || !(s[0] == '-' || s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return {};
  double d = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size()) return {};
  return Value::Number(d);
}

Value ToString(Evaluator& ev, Args a) {
  if (a[0].type == Type::kString) return a[0];
  std::string out;
  AppendJson(a[0], &out, std::string::npos);
  return ev.NewString(std::move(out));
}

Value TypeOf(Evaluator& ev, Args a) {
  Value v;
  v.type = Type::kString;
  v.str = TypeName(a[0].type);
  return v;
}

constexpr Function kFunctions[] = {
    {"abs", 1, 1, Abs},
    {"avg", 1, 1, Avg},
    {"ceil", 1, 1, Ceil},
    {"contains", 2, 2, Contains},
    {"ends_with", 2, 2, Affix<false>},
    {"floor", 1, 1, Floor},
    {"join", 2, 2, Join},
    {"keys", 1, 1, Keys},
    {"length", 1, 1, Length},
    {"map", 2, 2, Map},
    {"max", 1, 1, Extreme<true>},
    {"max_by", 2, 2, ExtremeBy<true>},
    {"merge", 1, -1, Merge},
    {"min", 1, 1, Extreme<false>},
    {"min_by", 2, 2, ExtremeBy<false>},
    {"not_null", 1, -1, NotNull},
    {"reverse", 1, 1, Reverse},
    {"sort", 1, 1, Sort},
    {"sort_by", 2, 2, SortBy},
    {"starts_with", 2, 2, Affix<true>},
    {"sum", 1, 1, Sum},
    {"to_array", 1, 1, ToArray},
    {"to_number", 1, 1, ToNumber},
    {"to_string", 1, 1, ToString},
    {"type", 1, 1, TypeOf},
    {"values", 1, 1, Values},
};

}  // namespace

int FindFunction(std::string_view name) {
  for (size_t i = 0; i < std::size(kFunctions); ++i) {
    if (kFunctions[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

const Function& FunctionAt(int index) { return kFunctions[index]; }

}  // namespace skidder::lang::go::jmes
