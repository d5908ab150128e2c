// JsonPath::Eval: walks the compiled tree over a parsed document. Plain paths (names and
// indexes) point into the document and allocate nothing but the result text; projections
// collect pointers to the values they select.
#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <vector>

#include "pipeline/stages/json_path.h"

namespace skidder::pipeline::stages {
namespace {

using Kind = JsonPath::Node::Kind;

// A value in the document, a list a projection built, or null.
struct Value {
  Value() = default;
  explicit Value(const JsonValue* d) : doc(d) {}

  const JsonValue* doc = nullptr;
  bool is_list = false;
  std::vector<Value> list;

  bool null() const { return !is_list && (doc == nullptr || doc->IsNull()); }
  bool array() const { return is_list || (doc != nullptr && doc->IsArray()); }
  size_t size() const { return is_list ? list.size() : doc->Size(); }
  Value at(size_t i) const {
    return is_list ? list[i] : Value(&(*doc)[static_cast<rapidjson::SizeType>(i)]);
  }
};

Value List(std::vector<Value> items) {
  Value v;
  v.is_list = true;
  v.list = std::move(items);
  return v;
}

Value Eval(const JsonPath::Node& n, const Value& cur);

Value Field(const JsonPath::Node& n, const Value& cur) {
  if (cur.is_list || cur.doc == nullptr || !cur.doc->IsObject()) return {};
  auto it = cur.doc->FindMember(JsonValue(rapidjson::StringRef(n.name.data(), n.name.size())));
  return it == cur.doc->MemberEnd() ? Value{} : Value(&it->value);
}

Value Index(const JsonPath::Node& n, const Value& cur) {
  if (!cur.array()) return {};
  const int64_t size = static_cast<int64_t>(cur.size());
  const int64_t i = n.index < 0 ? n.index + size : n.index;
  return i < 0 || i >= size ? Value{} : cur.at(static_cast<size_t>(i));
}

// Projections keep only the non-null results, as JMESPath does.
Value Project(const JsonPath::Node& rhs, const Value& base) {
  if (!base.array()) return {};
  std::vector<Value> out;
  for (size_t i = 0; i < base.size(); ++i) {
    Value v = Eval(rhs, base.at(i));
    if (!v.null()) out.push_back(std::move(v));
  }
  return List(std::move(out));
}

Value ProjectValues(const JsonPath::Node& rhs, const Value& base) {
  if (base.is_list || base.doc == nullptr || !base.doc->IsObject()) return {};
  std::vector<Value> out;
  for (auto it = base.doc->MemberBegin(); it != base.doc->MemberEnd(); ++it) {
    Value v = Eval(rhs, Value(&it->value));
    if (!v.null()) out.push_back(std::move(v));
  }
  return List(std::move(out));
}

Value Flatten(const Value& base) {
  if (!base.array()) return {};
  std::vector<Value> out;
  for (size_t i = 0; i < base.size(); ++i) {
    Value v = base.at(i);
    if (!v.array()) {
      out.push_back(std::move(v));
      continue;
    }
    for (size_t j = 0; j < v.size(); ++j) out.push_back(v.at(j));
  }
  return List(std::move(out));
}

Value Eval(const JsonPath::Node& n, const Value& cur) {
  switch (n.kind) {
    case Kind::kIdentity:
      return cur;
    case Kind::kField:
      return Field(n, cur);
    case Kind::kIndex:
      return Index(n, cur);
    case Kind::kSub: {
      Value left = Eval(*n.children[0], cur);
      return left.null() ? Value{} : Eval(*n.children[1], left);
    }
    case Kind::kProjection:
      return Project(*n.children[1], Eval(*n.children[0], cur));
    case Kind::kValueProjection:
      return ProjectValues(*n.children[1], Eval(*n.children[0], cur));
    case Kind::kFlatten:
      return Flatten(Eval(*n.children[0], cur));
    case Kind::kMultiList: {
      if (cur.null()) return {};
      std::vector<Value> out;
      for (const auto& child : n.children) out.push_back(Eval(*child, cur));
      return List(std::move(out));
    }
  }
  return {};
}

void AppendJson(const Value& v, std::string& out) {
  if (!v.is_list) {
    if (v.doc == nullptr) {
      out += "null";
      return;
    }
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    v.doc->Accept(w);
    out.append(sb.GetString(), sb.GetSize());
    return;
  }
  out += '[';
  for (size_t i = 0; i < v.list.size(); ++i) {
    if (i > 0) out += ',';
    AppendJson(v.list[i], out);
  }
  out += ']';
}

}  // namespace

// Promtail stores numbers as float64 and prints them with %v ('f', shortest); integers are
// kept exact here even beyond 2^53, where Promtail would round.
std::string JsonValueText(const JsonValue& v) {
  switch (v.GetType()) {
    case rapidjson::kStringType:
      return std::string(v.GetString(), v.GetStringLength());
    case rapidjson::kTrueType:
      return "true";
    case rapidjson::kFalseType:
      return "false";
    case rapidjson::kNullType:
      return "";
    case rapidjson::kNumberType: {
      if (v.IsInt64()) return std::to_string(v.GetInt64());
      if (v.IsUint64()) return std::to_string(v.GetUint64());
      char buf[512];
      auto [end, ec] =
          std::to_chars(buf, buf + sizeof(buf), v.GetDouble(), std::chars_format::fixed);
      return ec == std::errc() ? std::string(buf, end) : fmt::format("{}", v.GetDouble());
    }
    default: {  // object or array: compact JSON, as Promtail marshals it back
      std::string out;
      AppendJson(Value(&v), out);
      return out;
    }
  }
}

std::string JsonPath::Eval(const JsonValue& root) const {
  Value v = stages::Eval(*root_, Value(&root));
  if (v.null()) return {};
  if (!v.is_list) return JsonValueText(*v.doc);
  std::string out;
  AppendJson(v, out);
  return out;
}

}  // namespace skidder::pipeline::stages
