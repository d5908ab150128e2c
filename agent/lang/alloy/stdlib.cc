// The standard-library functions and constants that log configurations use.
#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>

#include "lang/alloy/eval.h"
#include "lang/alloy/parser.h"
#include "util/json_parse.h"

namespace skidder::lang::alloy {

Result<Value> JsonPathFn(const std::vector<Value>& a);  // json_path.cc

namespace {

using Args = std::vector<Value>;
using Fn = Result<Value> (*)(const Args&);

Status Arity(const Args& a, size_t n) {
  if (a.size() == n) return Status::Ok();
  return InvalidArgument(
      fmt::format("expected {} argument{}, got {}", n, n == 1 ? "" : "s", a.size()));
}

// A call's result past kMaxValueBytes (see eval.h), refused before it is made.
Status TooLarge() {
  return InvalidArgument(
      fmt::format("the result would be larger than {} MiB", kMaxValueBytes >> 20));
}

// The arguments must be n strings.
Status Strings(const Args& a, size_t n) {
  if (Status s = Arity(a, n); !s.ok()) return s;
  for (size_t i = 0; i < n; ++i) {
    if (a[i].kind != Value::Kind::kString) {
      return InvalidArgument(
          fmt::format("argument {} must be a string, got a {}", i + 1, KindName(a[i].kind)));
    }
  }
  return Status::Ok();
}

Result<Value> Env(const Args& a) {
  if (Status s = Strings(a, 1); !s.ok()) return Err(std::move(s));
  const char* v = std::getenv(a[0].str.c_str());
  return Value::String(v ? v : "");
}

bool IsZero(const Value& v) {
  switch (v.kind) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kBool:
      return !v.boolean;
    case Value::Kind::kNumber:
      return v.number == 0;
    case Value::Kind::kString:
      return v.str.empty();
    case Value::Kind::kArray:
      return v.array->empty();
    case Value::Kind::kObject:
      return v.object->empty();
    case Value::Kind::kCapsule:
      return false;
  }
  return true;
}

// The first argument that is not a zero value; the last one when all are.
Result<Value> Coalesce(const Args& a) {
  for (const Value& v : a) {
    if (!IsZero(v)) return v;
  }
  return a.empty() ? Value::Null() : a.back();
}

Result<Value> Concat(const Args& a) {
  Array out;
  for (const Value& v : a) {
    if (v.kind == Value::Kind::kCapsule) {  // e.g. discovery.kubernetes.a.targets
      return Err(InvalidArgument(
          fmt::format("skidder cannot combine the {} of {} with other targets: give each its own "
                      "loki.source component, forwarding to the same receivers",
                      v.capsule.kind, v.capsule.component)));
    }
    if (v.kind != Value::Kind::kArray) {
      return Err(
          InvalidArgument(fmt::format("arguments must be arrays, got a {}", KindName(v.kind))));
    }
  }
  size_t bytes = 0;
  for (const Value& v : a) bytes += ValueBytes(v);
  if (bytes > kMaxValueBytes) return Err(TooLarge());
  for (const Value& v : a) out.insert(out.end(), v.array->begin(), v.array->end());
  return Value::MakeArray(std::move(out));
}

// Go's fmt verbs that configs use: %s %v %d %f %q %t %%.
Result<Value> Format(const Args& a) {
  if (a.empty() || a[0].kind != Value::Kind::kString) {
    return Err(InvalidArgument("the first argument must be a format string"));
  }
  const std::string& f = a[0].str;
  std::string out;
  size_t next = 1;
  for (size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') {
      out += f[i];
      continue;
    }
    if (++i >= f.size()) return Err(InvalidArgument("format ends with %"));
    char verb = f[i];
    if (verb == '%') {
      out += '%';
      continue;
    }
    if (next >= a.size()) return Err(InvalidArgument("not enough arguments for the format"));
    const Value& v = a[next++];
    if (out.size() + ValueBytes(v) > kMaxValueBytes) return Err(TooLarge());
    if (verb == 'q') {
      out += fmt::format("{:?}", ToText(v));
    } else if (verb == 'd' && v.kind == Value::Kind::kNumber) {
      out += fmt::format("{}", static_cast<int64_t>(v.number));
    } else if (verb == 'f' && v.kind == Value::Kind::kNumber) {
      out += fmt::format("{:f}", v.number);
    } else if (verb == 's' || verb == 'v' || verb == 't') {
      out += ToText(v);
    } else {
      return Err(
          InvalidArgument(fmt::format("verb %{} does not apply to a {}", verb, KindName(v.kind))));
    }
  }
  return Value::String(std::move(out));
}

Result<Value> Join(const Args& a) {
  if (a.size() != 2 || a[0].kind != Value::Kind::kArray || a[1].kind != Value::Kind::kString) {
    return Err(InvalidArgument("expected an array of strings and a separator"));
  }
  std::string out;
  for (size_t i = 0; i < a[0].array->size(); ++i) {
    const Value& v = (*a[0].array)[i];
    if (v.kind != Value::Kind::kString) return Err(InvalidArgument("the array must hold strings"));
    if (out.size() + a[1].str.size() + v.str.size() > kMaxValueBytes) return Err(TooLarge());
    out += (i ? a[1].str : "") + v.str;
  }
  return Value::String(std::move(out));
}

Result<Value> Replace(const Args& a) {
  if (Status s = Strings(a, 3); !s.ok()) return Err(std::move(s));
  std::string s = a[0].str;
  const std::string &from = a[1].str, &to = a[2].str;
  if (from.empty()) return Value::String(s);
  size_t hits = 0;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + from.size())) {
    ++hits;
  }
  if (s.size() - hits * from.size() + hits * to.size() > kMaxValueBytes) return Err(TooLarge());
  std::string out;
  size_t at = 0;
  for (size_t hit; (hit = s.find(from, at)) != std::string::npos; at = hit + from.size()) {
    out += s.substr(at, hit - at) + to;
  }
  return Value::String(out + s.substr(at));
}

Result<Value> Split(const Args& a) {
  if (Status s = Strings(a, 2); !s.ok()) return Err(std::move(s));
  Array out;
  const std::string &s = a[0].str, &sep = a[1].str;
  // Each part is a Value of its own: a string split into characters takes ~100 times its size.
  if (s.size() * (sep.empty() ? sizeof(Value) : 1) > kMaxValueBytes) return Err(TooLarge());
  if (sep.empty()) {
    for (char c : s) out.push_back(Value::String(std::string(1, c)));
    return Value::MakeArray(std::move(out));
  }
  size_t at = 0;
  for (size_t hit; (hit = s.find(sep, at)) != std::string::npos; at = hit + sep.size()) {
    out.push_back(Value::String(s.substr(at, hit - at)));
  }
  out.push_back(Value::String(s.substr(at)));
  return Value::MakeArray(std::move(out));
}

template <int (*Conv)(int)>
Result<Value> MapChars(const Args& a) {
  if (Status s = Strings(a, 1); !s.ok()) return Err(std::move(s));
  std::string s = a[0].str;
  for (char& c : s) c = static_cast<char>(Conv(static_cast<unsigned char>(c)));
  return Value::String(std::move(s));
}

// trim(s, cutset), trim_left/right(s, cutset), trim_prefix/suffix(s, p), trim_space(s).
template <bool kLeft, bool kRight>
Result<Value> Trim(const Args& a) {
  if (Status s = Strings(a, 2); !s.ok()) return Err(std::move(s));
  std::string_view s = a[0].str;
  const std::string& cut = a[1].str;
  while (kLeft && !s.empty() && cut.find(s.front()) != std::string::npos) s.remove_prefix(1);
  while (kRight && !s.empty() && cut.find(s.back()) != std::string::npos) s.remove_suffix(1);
  return Value::String(std::string(s));
}

Result<Value> TrimSpace(const Args& a) {
  if (Status s = Strings(a, 1); !s.ok()) return Err(std::move(s));
  return Trim<true, true>({a[0], Value::String(" \t\n\r\v\f")});
}

template <bool kPrefix>
Result<Value> TrimAffix(const Args& a) {
  if (Status s = Strings(a, 2); !s.ok()) return Err(std::move(s));
  std::string_view s = a[0].str, p = a[1].str;
  if (kPrefix && s.starts_with(p)) s.remove_prefix(p.size());
  if (!kPrefix && s.ends_with(p)) s.remove_suffix(p.size());
  return Value::String(std::string(s));
}

Result<Value> JsonDecode(const Args& a) {
  if (Status s = Strings(a, 1); !s.ok()) return Err(std::move(s));
  return FromJson(a[0].str);
}

Result<Value> Base64Decode(const Args& a) {
  if (Status s = Strings(a, 1); !s.ok()) return Err(std::move(s));
  static constexpr std::string_view kAlpha =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : a[0].str) {
    if (c == '=') {
      ++pad;
      continue;
    }
    size_t d = kAlpha.find(c);
    if (d == std::string_view::npos || pad > 0) {
      return Err(InvalidArgument("illegal base64 data"));
    }
    acc = (acc << 6) | static_cast<uint32_t>(d);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if ((a[0].str.size() % 4) != 0 || pad > 2) return Err(InvalidArgument("illegal base64 data"));
  return Value::String(std::move(out));
}

Result<Value> PathJoin(const Args& a) {
  std::string out;
  for (const Value& v : a) {
    if (v.kind != Value::Kind::kString) return Err(InvalidArgument("arguments must be strings"));
    if (v.str.empty()) continue;
    if (out.size() + 1 + v.str.size() > kMaxValueBytes) return Err(TooLarge());
    if (!out.empty() && out.back() != '/') out += '/';
    out += v.str;
  }
  return Value::String(std::move(out));
}

// The value as it is; the evaluator clears its secret mark (Evaluator::Call), so it may go into
// plain attributes, as in Alloy.
Result<Value> Nonsensitive(const Args& a) {
  if (Status s = Arity(a, 1); !s.ok()) return Err(std::move(s));
  return a[0];
}

const std::map<std::string, Fn, std::less<>>& Functions() {
  static const auto* fns = new std::map<std::string, Fn, std::less<>>{
      {"sys.env", Env},
      {"env", Env},
      {"coalesce", Coalesce},
      {"array.concat", Concat},
      {"concat", Concat},
      {"string.format", Format},
      {"format", Format},
      {"string.join", Join},
      {"join", Join},
      {"string.replace", Replace},
      {"replace", Replace},
      {"string.split", Split},
      {"split", Split},
      {"string.to_lower", MapChars<std::tolower>},
      {"to_lower", MapChars<std::tolower>},
      {"string.to_upper", MapChars<std::toupper>},
      {"to_upper", MapChars<std::toupper>},
      {"string.trim", Trim<true, true>},
      {"trim", Trim<true, true>},
      {"string.trim_left", Trim<true, false>},
      {"string.trim_right", Trim<false, true>},
      {"string.trim_prefix", TrimAffix<true>},
      {"trim_prefix", TrimAffix<true>},
      {"string.trim_suffix", TrimAffix<false>},
      {"trim_suffix", TrimAffix<false>},
      {"string.trim_space", TrimSpace},
      {"trim_space", TrimSpace},
      {"encoding.from_json", JsonDecode},
      {"json_decode", JsonDecode},
      {"encoding.from_base64", Base64Decode},
      {"json_path", JsonPathFn},
      {"file.path_join", PathJoin},
      {"convert.nonsensitive", Nonsensitive},
      {"nonsensitive", Nonsensitive},
  };
  return *fns;
}

Result<Value> FromRapid(const rapidjson::Value& j, int depth) {
  if (depth > kMaxDepth) return Err(InvalidArgument("JSON nested too deeply"));
  if (j.IsNull()) return Value::Null();
  if (j.IsBool()) return Value::Bool(j.GetBool());
  if (j.IsNumber()) return Value::Number(j.GetDouble());
  if (j.IsString()) return Value::String(std::string(j.GetString(), j.GetStringLength()));
  if (j.IsArray()) {
    Array out;
    for (const auto& item : j.GetArray()) {
      Result<Value> v = FromRapid(item, depth + 1);
      if (!v) return v;
      out.push_back(std::move(*v));
    }
    return Value::MakeArray(std::move(out));
  }
  Object out;
  for (const auto& m : j.GetObject()) {
    Result<Value> v = FromRapid(m.value, depth + 1);
    if (!v) return v;
    std::string key(m.name.GetString(), m.name.GetStringLength());
    auto same = [&](const auto& kv) { return kv.first == key; };
    if (auto it = std::ranges::find_if(out, same); it != out.end()) {
      it->second = std::move(*v);  // the last duplicate wins, as Go's decoder
    } else {
      out.emplace_back(std::move(key), std::move(*v));
    }
  }
  return Value::MakeObject(std::move(out));
}

}  // namespace

Result<Value> FromJson(std::string_view json) {
  rapidjson::Document doc;
  // Iterative and bounded: hostile nesting cannot overflow the stack inside rapidjson; numbers
  // round as Go's decoder rounds them, lone surrogates become U+FFFD as in Go.
  const JsonParseResult parsed = ParseJsonBounded(doc, json);
  if (!parsed.ok()) {
    return Err(InvalidArgument(
        fmt::format("invalid JSON at offset {}: {}", parsed.result.Offset(),
                    parsed.too_deep ? "nested too deeply"
                                    : rapidjson::GetParseError_En(parsed.result.Code()))));
  }
  return FromRapid(doc, 0);
}

Result<Value> CallFunction(const std::string& name, const std::vector<Value>& args) {
  auto it = Functions().find(name);
  if (it == Functions().end()) return Err(NotFound(name));
  return it->second(args);
}

std::optional<Value> Constant(const std::string& name) {
  if (name == "constants.hostname") {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) return Value::String("");
    return Value::String(host);
  }
  if (name == "constants.os") return Value::String("linux");
  if (name == "constants.arch") {
#if defined(__aarch64__)
    return Value::String("arm64");
#else
    return Value::String("amd64");
#endif
  }
  return std::nullopt;
}

}  // namespace skidder::lang::alloy
