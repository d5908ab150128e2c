// JsonPath::Eval: walks the compiled tree over a parsed document. Plain paths (names and
// indexes) point into the document and allocate nothing but the result text; projections
// collect pointers to the values they select.
#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <vector>

#include "formats/utf8.h"
#include "lang/go/json_path.h"

namespace skidder::lang::go {
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

// One evaluation. Projections over multi-selects multiply what they collect (a[*].[b, b, b]
// yields three values per element), so the values collected are budgeted: past the budget
// the lists stop growing and the result is marked as cut.
class Evaluator {
 public:
  explicit Evaluator(size_t budget) : budget_(budget) {}

  Value Eval(const JsonPath::Node& n, const Value& cur);
  bool exceeded() const { return exceeded_; }

 private:
  bool Take(std::vector<Value>& out, Value v) {
    if (budget_ == 0) return !(exceeded_ = true);
    --budget_;
    out.push_back(std::move(v));
    return true;
  }
  Value Project(const JsonPath::Node& rhs, const Value& base);
  Value ProjectValues(const JsonPath::Node& rhs, const Value& base);
  Value Flatten(const Value& base);

  size_t budget_;
  bool exceeded_ = false;
};

// Projections keep only the non-null results, as JMESPath does.
Value Evaluator::Project(const JsonPath::Node& rhs, const Value& base) {
  if (!base.array()) return {};
  std::vector<Value> out;
  for (size_t i = 0; i < base.size(); ++i) {
    Value v = Eval(rhs, base.at(i));
    if (!v.null() && !Take(out, std::move(v))) break;
  }
  return List(std::move(out));
}

Value Evaluator::ProjectValues(const JsonPath::Node& rhs, const Value& base) {
  if (base.is_list || base.doc == nullptr || !base.doc->IsObject()) return {};
  std::vector<Value> out;
  for (auto it = base.doc->MemberBegin(); it != base.doc->MemberEnd(); ++it) {
    Value v = Eval(rhs, Value(&it->value));
    if (!v.null() && !Take(out, std::move(v))) break;
  }
  return List(std::move(out));
}

Value Evaluator::Flatten(const Value& base) {
  if (!base.array()) return {};
  std::vector<Value> out;
  for (size_t i = 0; i < base.size(); ++i) {
    Value v = base.at(i);
    if (!v.array()) {
      if (!Take(out, std::move(v))) break;
      continue;
    }
    for (size_t j = 0; j < v.size(); ++j) {
      if (!Take(out, v.at(j))) break;
    }
  }
  return List(std::move(out));
}

Value Evaluator::Eval(const JsonPath::Node& n, const Value& cur) {
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
      for (const auto& child : n.children) {
        if (!Take(out, Eval(*child, cur))) break;
      }
      return List(std::move(out));
    }
  }
  return {};
}

// Stops adding list items once out is longer than max_bytes.
void AppendJson(const Value& v, std::string& out, size_t max_bytes) {
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
  for (size_t i = 0; i < v.list.size() && out.size() <= max_bytes; ++i) {
    if (i > 0) out += ',';
    AppendJson(v.list[i], out, max_bytes);
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
      AppendJson(Value(&v), out, std::string::npos);
      return out;
    }
  }
}

std::string JsonPath::Eval(const JsonValue& root, size_t max_bytes, bool* cut) const {
  // Every collected value prints as at least one byte and a separator.
  Evaluator ev(max_bytes / 2 + 1);
  Value v = ev.Eval(*root_, Value(&root));
  std::string out;
  if (v.null()) {
  } else if (!v.is_list) {
    out = JsonValueText(*v.doc);
  } else {
    AppendJson(v, out, max_bytes);
  }
  if (ev.exceeded() || out.size() > max_bytes) {
    formats::TruncateUtf8(out, max_bytes);
    if (cut != nullptr) *cut = true;
  }
  return out;
}

}  // namespace skidder::lang::go
