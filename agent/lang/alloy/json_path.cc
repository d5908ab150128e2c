// json_path(json, path): the subset of JSONPath configs use to pick values out of a secret or
// a JSON file: `$`, `.name`, `['name']`, `[n]`, `[*]` and `.*`. Always an array of matches, as
// Alloy's. Filters (`[?(...)]`), slices and recursive descent are refused by name.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "lang/alloy/eval.h"

namespace skidder::lang::alloy {
namespace {

void Children(const Value& v, Array* out) {
  if (v.kind == Value::Kind::kArray) out->insert(out->end(), v.array->begin(), v.array->end());
  if (v.kind == Value::Kind::kObject) {
    for (const auto& kv : *v.object) out->push_back(kv.second);
  }
}

Array Step(const Array& in, std::string_view name) {
  Array out;
  for (const Value& v : in) {
    if (name == "*") {
      Children(v, &out);
    } else if (const Value* f = v.Field(name)) {
      out.push_back(*f);
    }
  }
  return out;
}

}  // namespace

Result<Value> JsonPathFn(const std::vector<Value>& a) {
  if (a.size() != 2 || a[0].kind != Value::Kind::kString || a[1].kind != Value::Kind::kString) {
    return Err(InvalidArgument("expected a JSON string and a path"));
  }
  Result<Value> root = FromJson(a[0].str);
  if (!root) return root;
  std::string_view p = a[1].str;
  if (p.starts_with("$")) p.remove_prefix(1);
  Array cur{*root};
  while (!p.empty()) {
    if (p.starts_with("..")) return Err(InvalidArgument("recursive descent (..) is not supported"));
    if (p[0] == '.') {
      p.remove_prefix(1);
      size_t n = 0;
      while (n < p.size() && p[n] != '.' && p[n] != '[') ++n;
      if (n == 0) return Err(InvalidArgument("empty name after ."));
      cur = Step(cur, p.substr(0, n));
      p.remove_prefix(n);
    } else if (p[0] == '[') {
      size_t close = p.find(']');
      if (close == std::string_view::npos) return Err(InvalidArgument("unterminated ["));
      std::string_view in = p.substr(1, close - 1);
      p.remove_prefix(close + 1);
      if (in == "*") {
        cur = Step(cur, "*");
      } else if (in.size() >= 2 && (in[0] == '\'' || in[0] == '"') && in.back() == in[0]) {
        cur = Step(cur, in.substr(1, in.size() - 2));
      } else if (!in.empty() && std::ranges::all_of(in, [](char c) {
                   return std::isdigit(static_cast<unsigned char>(c)) != 0;
                 })) {
        size_t i = std::stoul(std::string(in));
        Array out;
        for (const Value& v : cur) {
          if (v.kind == Value::Kind::kArray && i < v.array->size()) out.push_back((*v.array)[i]);
        }
        cur = std::move(out);
      } else {
        return Err(InvalidArgument(
            fmt::format("[{}] is not supported (only names, indexes and *)", in.substr(0, 20))));
      }
    } else if (cur.size() == 1 && cur[0].Field(p.substr(0, p.find_first_of(".["))) != nullptr) {
      size_t n = p.find_first_of(".[");  // a leading bare name, e.g. "key"
      cur = Step(cur, p.substr(0, n));
      p = n == std::string_view::npos ? std::string_view() : p.substr(n);
    } else {
      return Err(InvalidArgument("a path starts with $, . or ["));
    }
  }
  return Value::MakeArray(std::move(cur));
}

}  // namespace skidder::lang::alloy
