// Template functions that build or read lists and maps, so that {{range}} has something to walk:
// Go's index, and sprig's list, splitList, split, dict, get, hasKey, keys, until, regexFindAll and
// regexSplit.
// Lists are bounded by kMaxListLen elements and kMaxValueDepth levels.
#include <fmt/format.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "lang/go/go_regexp.h"
#include "lang/go/template_internal.h"

namespace skidder::lang::go::tmpl {
namespace {

bool SetValue(Call& c, Value v) {
  if (v.depth > kMaxValueDepth) {
    return c.Fail(fmt::format("lists nested more than {} deep", kMaxValueDepth));
  }
  *c.result = std::move(v);
  return true;
}

bool TooLong(Call& c) { return c.Fail(fmt::format("more than {} elements", kMaxListLen)); }

// list a b c: its arguments as a list.
bool FList(Call& c) { return SetValue(c, Value::Of(List(c.args.begin(), c.args.end()))); }

// The parts of s between each sep, as Go's strings.Split (an empty sep splits into characters,
// here bytes).
bool SplitParts(Call& c, const Value& src, std::string_view sep, List* out) {
  std::string_view s = src.str();
  for (;;) {
    if (out->size() >= kMaxListLen) return TooLong(c);
    const size_t at = sep.empty() ? (s.size() > 1 ? 1 : std::string_view::npos) : s.find(sep);
    if (at == std::string_view::npos) {
      if (!sep.empty() || !s.empty()) out->push_back(src.Part(s));
      return true;
    }
    out->push_back(src.Part(s.substr(0, at)));
    s.remove_prefix(at + sep.size());
  }
}

// regexFindAll(regex, s, n): Go's FindAllString: up to n (all when n < 0) successive
// non-overlapping matches; an empty match right after a match is not one.
bool FRegexFindAll(Call& c) {
  std::unique_ptr<RE2> holder;
  const RE2* re = RegexArg(c, &holder);
  std::string_view s;
  int64_t n = 0;
  if (re == nullptr || !c.Str(1, &s) || !c.Int(2, &n)) return false;
  std::string valid;
  const std::string_view in = GoRegexpInput(s, &valid);
  List found;
  size_t bytes = 0;
  bool ok = true;
  std::vector<re2::StringPiece> groups;
  if (n != 0) {
    ForEachGoMatch(*re, in, groups, [&](const std::vector<re2::StringPiece>& g) {
      if (found.size() == kMaxListLen) return ok = TooLong(c);
      bytes += g[0].size();
      if (bytes > c.max_bytes) {  // counted as a refused result, as SetStr's
        *c.exceeded = true;
        return ok = c.Fail(fmt::format("result longer than {} bytes", c.max_bytes));
      }
      found.push_back(Value::Own(std::string(g[0].data(), g[0].size())));
      return n < 0 || static_cast<int64_t>(found.size()) < n;
    });
  }
  return ok && SetValue(c, Value::Of(std::move(found)));
}

// regexSplit(regex, s, n): Go's Regexp.Split: the text between the first n (all when n < 0)
// matches, at most n parts, the last holding the rest; n == 0: an empty list. As in Go, a match
// at the very start (an empty one included) makes no empty first part unless it has length,
// and the rest is added only when the last match looked at did not start at the end.
bool FRegexSplit(Call& c) {
  std::unique_ptr<RE2> holder;
  const RE2* re = RegexArg(c, &holder);
  std::string_view pattern, s;
  int64_t n = 0;
  if (re == nullptr || !c.Str(0, &pattern) || !c.Str(1, &s) || !c.Int(2, &n)) return false;
  List parts;
  if (n == 0) return SetValue(c, Value::Of(std::move(parts)));
  if (!pattern.empty() && s.empty()) {
    parts.push_back(Value::Str(""));
    return SetValue(c, Value::Of(std::move(parts)));
  }
  std::string valid;
  const std::string_view in = GoRegexpInput(s, &valid);
  std::vector<std::pair<size_t, size_t>> matches;  // FindAllStringIndex(s, n)
  std::vector<re2::StringPiece> groups;
  bool ok = true;
  ForEachGoMatch(*re, in, groups, [&](const std::vector<re2::StringPiece>& g) {
    if (matches.size() == kMaxListLen) return ok = TooLong(c);
    const auto at = static_cast<size_t>(g[0].data() - in.data());
    matches.emplace_back(at, at + g[0].size());
    return n < 0 || static_cast<int64_t>(matches.size()) < n;
  });
  if (!ok) return false;
  size_t begin = 0, end = 0;
  for (const auto& [from, to] : matches) {
    if (n > 0 && static_cast<int64_t>(parts.size()) == n - 1) break;
    end = from;
    if (to != 0) parts.push_back(Value::Own(std::string(in.substr(begin, end - begin))));
    begin = to;
  }
  if (end != in.size()) parts.push_back(Value::Own(std::string(in.substr(begin))));
  return SetValue(c, Value::Of(std::move(parts)));
}

// splitList sep s: a list.
bool FSplitList(Call& c) {
  std::string_view sep, s;
  if (!c.Str(0, &sep) || !c.Str(1, &s)) return false;
  List parts;
  return SplitParts(c, c.args[1], sep, &parts) && SetValue(c, Value::Of(std::move(parts)));
}

// split sep s: a map _0, _1, ... as sprig's (so that {{ (split "." .a)._1 }} works).
bool FSplit(Call& c) {
  std::string_view sep, s;
  if (!c.Str(0, &sep) || !c.Str(1, &s)) return false;
  List parts;
  if (!SplitParts(c, c.args[1], sep, &parts)) return false;
  Map m;
  m.reserve(parts.size());
  for (size_t k = 0; k < parts.size(); ++k) m.emplace_back(fmt::format("_{}", k), parts[k]);
  std::sort(m.begin(), m.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return SetValue(c, Value::Of(std::move(m)));
}

// dict k1 v1 k2 v2: a map; a later key replaces an earlier one, a missing last value is "".
bool FDict(Call& c) {
  Map m;
  for (size_t k = 0; k < c.args.size(); k += 2) {
    std::string_view key;
    if (!c.Str(k, &key)) return false;
    Value v = k + 1 < c.args.size() ? c.args[k + 1] : Value::Str("");
    auto it = std::lower_bound(m.begin(), m.end(), key,
                               [](const auto& kv, std::string_view x) { return kv.first < x; });
    if (it != m.end() && it->first == key) {
      it->second = std::move(v);
    } else {
      m.emplace(it, std::string(key), std::move(v));
    }
  }
  return SetValue(c, Value::Of(std::move(m)));
}

// The value of the key (argument 1) in the map (argument 0) of sprig's get and hasKey; false
// (the call failed) when argument 0 is no map. The template's data (`.`, `$`) is a map of its
// fields there, and a missing value an empty map, as Go converts nil.
bool LookUp(Call& c, std::optional<Value>* found) {
  std::string_view key;
  if (!c.Str(1, &key)) return false;
  const Value& m = c.args[0];
  found->reset();
  if (m.kind == Value::kMap) {
    if (const Value* v = MapFind(*m.map, key)) found->emplace(*v);
  } else if (m.kind == Value::kData) {
    if (const std::string* v = c.data->Field(key)) found->emplace(Value::Str(*v));
  } else if (m.kind != Value::kNil) {
    return c.Fail(std::string("wrong type for value; expected map; got ") + KindName(m.kind));
  }
  return true;
}

// get m key: the value, or "" when the map has no such key (sprig's get).
bool FGet(Call& c) {
  std::optional<Value> v;
  if (!LookUp(c, &v)) return false;
  *c.result = v ? std::move(*v) : Value::Str("");
  return true;
}

// hasKey m key: whether the map has the key.
bool FHasKey(Call& c) {
  std::optional<Value> v;
  if (!LookUp(c, &v)) return false;
  *c.result = Value::Bool(v.has_value());
  return true;
}

// keys m...: the keys of the maps, sorted (sprig leaves the order to Go's map iteration).
bool FKeys(Call& c) {
  List out;
  for (const Value& v : c.args) {
    if (v.kind != Value::kMap) {
      return c.Fail(std::string("wrong type for value; expected map; got ") + KindName(v.kind));
    }
    for (const auto& kv : *v.map) {
      if (out.size() >= kMaxListLen) return TooLong(c);
      out.push_back(Value::Own(kv.first));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const Value& a, const Value& b) { return a.str() < b.str(); });
  return SetValue(c, Value::Of(std::move(out)));
}

// until n: 0 .. n-1.
bool FUntil(Call& c) {
  int64_t n = 0;
  if (!c.Int(0, &n)) return false;
  if (n > static_cast<int64_t>(kMaxListLen)) return TooLong(c);
  List out;
  for (int64_t k = 0; k < n; ++k) out.push_back(Value::Int(k));
  return SetValue(c, Value::Of(std::move(out)));
}

// index x k...: Go's builtin: list elements by integer, map values by key.
bool FIndex(Call& c) {
  Value cur = c.args[0];
  for (size_t k = 1; k < c.args.size(); ++k) {
    if (cur.kind == Value::kList) {
      int64_t i = 0;
      if (!c.Int(k, &i)) return false;
      if (i < 0 || static_cast<size_t>(i) >= cur.list->size()) {
        return c.Fail(fmt::format("error calling index: index out of range: {}", i));
      }
      Value next = (*cur.list)[static_cast<size_t>(i)];
      cur = std::move(next);
    } else if (cur.kind == Value::kMap) {
      std::string_view key;
      if (!c.Str(k, &key)) return false;
      const Value* v = MapFind(*cur.map, key);
      Value next = v != nullptr ? *v : Value{};
      cur = std::move(next);
    } else {
      return c.Fail(std::string("can't index item of type ") + KindName(cur.kind));
    }
  }
  *c.result = std::move(cur);
  return true;
}

constexpr FuncDef kCollectionFuncs[] = {
    {"dict", 0, -1, FDict},
    {"index", 1, -1, FIndex},
    {"keys", 1, -1, FKeys},
    {"list", 0, -1, FList},
    {"split", 2, 2, FSplit},
    {"splitList", 2, 2, FSplitList},
    {"until", 1, 1, FUntil},
    {"get", 2, 2, FGet},
    {"hasKey", 2, 2, FHasKey},
    {"regexFindAll", 3, 3, FRegexFindAll, true},
    {"regexSplit", 3, 3, FRegexSplit, true},
};

}  // namespace

const Value* MapFind(const Map& m, std::string_view key) {
  auto it = std::lower_bound(m.begin(), m.end(), key,
                             [](const auto& kv, std::string_view x) { return kv.first < x; });
  return it != m.end() && it->first == key ? &it->second : nullptr;
}

std::span<const FuncDef> CollectionFuncs() { return kCollectionFuncs; }

}  // namespace skidder::lang::go::tmpl
