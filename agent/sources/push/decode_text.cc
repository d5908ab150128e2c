// The text halves of push decoding: Prometheus label text (protobuf streams) and Loki's JSON body.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "sources/push/decode.h"
#include "util/json_parse.h"

namespace skidder::sources::push {
namespace {

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// One escape after the backslash at s[0]: appends it, returns the characters used (0: invalid).
size_t Unescape(std::string_view s, char quote, std::string& out) {
  if (s.size() < 2) return 0;
  static constexpr std::string_view kFrom = "abfnrtv\\", kTo = "\a\b\f\n\r\t\v\\";
  if (size_t i = kFrom.find(s[1]); i != std::string_view::npos) {
    out += kTo[i];
    return 2;
  }
  if (s[1] == quote) {
    out += quote;
    return 2;
  }
  int digits = 0, base = 16;
  switch (s[1]) {
    case 'x':
      digits = 2;
      break;
    case 'u':
      digits = 4;
      break;
    case 'U':
      digits = 8;
      break;
    default:
      if (s[1] < '0' || s[1] > '7') return 0;
      digits = 3, base = 8;
  }
  const size_t skip = base == 8 ? 1 : 2;
  if (s.size() < skip + digits) return 0;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(s.data() + skip, s.data() + skip + digits, v, base);
  if (ec != std::errc() || end != s.data() + skip + digits) return 0;
  if (base == 8 || s[1] == 'x') {
    if (v > 0xFF) return 0;
    out += static_cast<char>(v);  // a raw byte, as in Go
  } else {
    AppendUtf8(out, v);
  }
  return skip + digits;
}

// A quoted value at the start of s ("..", '..' or `..`); advances s past it.
Result<std::string> ReadQuoted(std::string_view& s) {
  if (s.empty() || (s[0] != '"' && s[0] != '\'' && s[0] != '`')) {
    return Err(InvalidArgument("expected a quoted label value"));
  }
  const char quote = s[0];
  std::string out;
  for (size_t i = 1; i < s.size();) {
    const char c = s[i];
    if (c == quote) {
      s.remove_prefix(i + 1);
      return out;
    }
    if (c == '\\' && quote != '`') {
      size_t n = Unescape(s.substr(i), quote, out);
      if (n == 0) return Err(InvalidArgument("invalid escape in a label value"));
      i += n;
      continue;
    }
    if (c == '\n' && quote != '`') return Err(InvalidArgument("newline in a label value"));
    out += c;
    ++i;
  }
  return Err(InvalidArgument("unterminated label value"));
}

void SkipSpace(std::string_view& s) {
  while (!s.empty() && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r')) {
    s.remove_prefix(1);
  }
}

}  // namespace

Result<Labels> ParseLabelText(std::string_view s) {
  SkipSpace(s);
  if (s.empty() || s[0] != '{') return Err(InvalidArgument("expected '{'"));
  s.remove_prefix(1);
  std::vector<Label> pairs;
  while (true) {
    SkipSpace(s);
    if (!s.empty() && s[0] == '}') break;
    size_t n = 0;
    while (n < s.size() && (std::isalnum(static_cast<unsigned char>(s[n])) || s[n] == '_')) ++n;
    std::string name(s.substr(0, n));
    if (!IsValidLabelName(name)) return Err(InvalidArgument("expected a label name"));
    s.remove_prefix(n);
    SkipSpace(s);
    if (s.empty() || s[0] != '=') return Err(InvalidArgument("expected '=' after " + name));
    s.remove_prefix(1);
    SkipSpace(s);
    auto value = ReadQuoted(s);
    if (!value) return Err(value.error());
    pairs.push_back({std::move(name), std::move(*value)});
    SkipSpace(s);
    if (!s.empty() && s[0] == ',') {
      s.remove_prefix(1);
      continue;
    }
    if (s.empty() || s[0] != '}') return Err(InvalidArgument("expected ',' or '}'"));
    break;
  }
  s.remove_prefix(1);
  SkipSpace(s);
  if (!s.empty()) return Err(InvalidArgument("text after '}'"));
  // Checked and built in O(n log n): a request may carry a stream with thousands of labels, and
  // a check or a Set() per label against all the others would be quadratic in them.
  std::vector<std::string_view> names;
  names.reserve(pairs.size());
  for (const Label& l : pairs) names.push_back(l.name);
  std::sort(names.begin(), names.end());
  if (auto twice = std::adjacent_find(names.begin(), names.end()); twice != names.end()) {
    return Err(InvalidArgument("label " + std::string(*twice) + " given twice"));
  }
  LabelsBuilder builder;
  builder.Reserve(pairs.size());
  for (Label& l : pairs) builder.Add(std::move(l.name), std::move(l.value));
  return builder.Build();
}

namespace {

using JsonValue = rapidjson::Value;

std::string_view Str(const JsonValue& v) { return {v.GetString(), v.GetStringLength()}; }

Status ReadValue(const JsonValue& v, size_t si, size_t vi, PushedEntry* out) {
  auto bad = [&](std::string_view what) {
    return InvalidArgument(fmt::format("streams[{}].values[{}]: {}", si, vi, what));
  };
  if (!v.IsArray() || v.Size() < 2 || v.Size() > 3) {
    return bad("expected [\"<unix ns>\", \"line\"] or [\"<unix ns>\", \"line\", {metadata}]");
  }
  if (!v[0].IsString()) return bad("the timestamp must be a string of Unix nanoseconds");
  std::string_view ts = Str(v[0]);
  auto [end, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), out->timestamp_ns);
  if (ec != std::errc() || end != ts.data() + ts.size()) {
    return bad("the timestamp must be a string of Unix nanoseconds");
  }
  if (!v[1].IsString()) return bad("the line must be a string");
  out->line.assign(Str(v[1]));
  if (v.Size() == 3) {
    if (!v[2].IsObject()) return bad("structured metadata must be an object of strings");
    for (auto it = v[2].MemberBegin(); it != v[2].MemberEnd(); ++it) {
      if (!it->value.IsString()) return bad("structured metadata values must be strings");
      out->structured_metadata.push_back({std::string(Str(it->name)), std::string(Str(it->value))});
    }
  }
  return Status::Ok();
}

Status ReadStream(const JsonValue& s, size_t si, PushedStream* out) {
  if (!s.IsObject()) return InvalidArgument(fmt::format("streams[{}]: expected an object", si));
  if (auto it = s.FindMember("stream"); it != s.MemberEnd() && !it->value.IsNull()) {
    if (!it->value.IsObject()) {
      return InvalidArgument(fmt::format("streams[{}].stream: expected an object of labels", si));
    }
    LabelsBuilder builder(std::move(out->labels));  // one sort and hash for all of them
    builder.Reserve(it->value.MemberCount());
    for (auto l = it->value.MemberBegin(); l != it->value.MemberEnd(); ++l) {
      if (!l->value.IsString() || !IsValidLabelName(Str(l->name))) {
        return InvalidArgument(
            fmt::format("streams[{}].stream: label names must be valid and values strings", si));
      }
      builder.Add(std::string(Str(l->name)), std::string(Str(l->value)));
    }
    out->labels = builder.Build();
  }
  auto values = s.FindMember("values");
  if (values == s.MemberEnd() || values->value.IsNull()) return Status::Ok();
  if (!values->value.IsArray()) {
    return InvalidArgument(fmt::format("streams[{}].values: expected a list", si));
  }
  out->entries.resize(values->value.Size());
  for (rapidjson::SizeType vi = 0; vi < values->value.Size(); ++vi) {
    if (Status st = ReadValue(values->value[vi], si, vi, &out->entries[vi]); !st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<PushedStream>> DecodeJsonPush(std::string_view json) {
  rapidjson::Document doc;
  JsonParseResult parsed = ParseJsonBounded(doc, json);
  if (!parsed.ok()) return Err(InvalidArgument("body is not JSON: " + parsed.Describe()));
  if (!doc.IsObject()) return Err(InvalidArgument("expected a JSON object with \"streams\""));
  auto streams = doc.FindMember("streams");
  if (streams == doc.MemberEnd() || !streams->value.IsArray()) {
    return Err(InvalidArgument("expected a JSON object with a \"streams\" list"));
  }
  std::vector<PushedStream> out(streams->value.Size());
  for (rapidjson::SizeType si = 0; si < streams->value.Size(); ++si) {
    if (Status st = ReadStream(streams->value[si], si, &out[si]); !st.ok()) return Err(st);
  }
  return out;
}

}  // namespace skidder::sources::push
