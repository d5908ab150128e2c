// JsonPath::Eval: walks the compiled tree over a parsed document. Document values are pointed
// at, never copied; what projections, multi-selects and functions build lives in the
// evaluation's arena. The values collected and the nodes visited are budgeted, since a
// projection of multi-selects or nested filters can multiply work.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <deque>
#include <vector>

#include "formats/utf8.h"
#include "lang/go/go_json.h"
#include "lang/go/json_path.h"
#include "lang/go/json_path_internal.h"

namespace skidder::lang::go {
namespace jmes {

using Kind = Node::Kind;
using Type = Value::Type;

Value Value::Of(const JsonValue* d) {
  Value v;
  v.doc = d;
  switch (d->GetType()) {
    case rapidjson::kNullType:
      v.doc = nullptr;
      break;
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      v.type = Type::kBool;
      v.b = d->IsTrue();
      break;
    case rapidjson::kNumberType:
      v.type = Type::kNumber;
      v.num = d->GetDouble();
      break;
    case rapidjson::kStringType:
      v.type = Type::kString;
      v.str = std::string_view(d->GetString(), d->GetStringLength());
      break;
    case rapidjson::kArrayType:
      v.type = Type::kArray;
      break;
    case rapidjson::kObjectType:
      v.type = Type::kObject;
      break;
  }
  return v;
}

size_t Value::size() const {
  if (doc != nullptr) return type == Type::kArray ? doc->Size() : doc->MemberCount();
  return arr != nullptr ? arr->size() : obj != nullptr ? obj->size() : 0;
}

Value Value::at(size_t i) const {
  return doc != nullptr ? Of(&(*doc)[static_cast<rapidjson::SizeType>(i)]) : (*arr)[i];
}

const JsonValue* LastMember(const JsonValue& object, std::string_view name) {
  for (auto it = object.MemberEnd(); it != object.MemberBegin();) {
    --it;
    if (std::string_view(it->name.GetString(), it->name.GetStringLength()) == name) {
      return &it->value;
    }
  }
  return nullptr;
}

Value Value::Get(std::string_view key) const {
  if (type != Type::kObject) return {};
  if (doc != nullptr) {
    const JsonValue* v = LastMember(*doc, key);
    return v == nullptr ? Value{} : Of(v);
  }
  for (auto it = obj->rbegin(); it != obj->rend(); ++it) {  // the last, as a Go map keeps it
    if (it->first == key) return it->second;
  }
  return {};
}

const char* TypeName(Type t) {
  static constexpr const char* kNames[] = {"null",  "boolean", "number", "string",
                                           "array", "object",  "expref"};
  return kNames[static_cast<int>(t)];
}

bool Truthy(const Value& v) {
  switch (v.type) {
    case Type::kNull:
      return false;
    case Type::kBool:
      return v.b;
    case Type::kString:
      return !v.str.empty();
    case Type::kArray:
    case Type::kObject:
      return v.size() > 0;
    default:
      return true;
  }
}

bool Equal(const Value& a, const Value& b) {
  if (a.type != b.type) return false;
  if (a.doc != nullptr && a.doc == b.doc) return true;
  switch (a.type) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return a.b == b.b;
    case Type::kNumber:
      return a.num == b.num;
    case Type::kString:
      return a.str == b.str;
    case Type::kArray:
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i) {
        if (!Equal(a.at(i), b.at(i))) return false;
      }
      return true;
    case Type::kObject: {
      if (a.size() != b.size()) return false;
      bool same = true;  // same size, and every key of a is in b with an equal value
      a.ForEachMember([&](std::string_view k, const Value& v) {
        if (!same) return;
        bool found = false;
        b.ForEachMember([&](std::string_view bk, const Value& bv) {
          if (!found && bk == k) found = true, same = Equal(v, bv);
        });
        same = same && found;
      });
      return same;
    }
    case Type::kExpref:
      return a.ref == b.ref;
  }
  return false;
}

namespace {

// Compact JSON as Promtail writes an object or array it extracted (Go's json.Marshal of what
// json.Unmarshal gave): object keys in byte order (of duplicate keys the last, which the map
// kept), numbers as float64 except integers the document wrote as such, which stay exact.
// The key orders are sorted in per-depth buffers kept by the thread: no allocation once they
// have grown.
class GoJsonWriter {
 public:
  GoJsonWriter(std::string* out, size_t max) : out_(out), start_(out->size()), max_(max) {}

  void Write(const Value& v, size_t depth) {
    switch (v.type) {
      case Type::kNull:
      case Type::kExpref:
        out_->append("null");
        return;
      case Type::kBool:
        out_->append(v.b ? "true" : "false");
        return;
      case Type::kNumber:
        WriteNumber(v);
        return;
      case Type::kString:
        AppendGoJsonString(v.str, out_);
        return;
      case Type::kArray:
        out_->push_back('[');
        for (size_t i = 0; i < v.size() && !Full(); ++i) {
          if (i != 0) out_->push_back(',');
          Write(v.at(i), depth + 1);
        }
        out_->push_back(']');
        return;
      case Type::kObject:
        WriteObject(v, depth);
        return;
    }
  }

 private:
  using Keys = std::vector<std::pair<std::string_view, uint32_t>>;

  bool Full() const { return out_->size() - start_ > max_; }

  void WriteNumber(const Value& v) {
    char buf[32];
    std::to_chars_result r{};
    if (v.doc != nullptr && v.doc->IsInt64()) {
      r = std::to_chars(buf, buf + sizeof(buf), v.doc->GetInt64());
    } else if (v.doc != nullptr && v.doc->IsUint64()) {
      r = std::to_chars(buf, buf + sizeof(buf), v.doc->GetUint64());
    } else {
      AppendGoJsonFloat(v.num, out_);
      return;
    }
    out_->append(buf, r.ptr);
  }

  void WriteObject(const Value& v, size_t depth) {
    // A deque: growing it for a nested object keeps this level's buffer where it is.
    thread_local std::deque<Keys> by_depth;
    if (by_depth.size() <= depth) by_depth.resize(depth + 1);
    Keys& keys = by_depth[depth];
    keys.clear();
    uint32_t index = 0;
    v.ForEachMember([&](std::string_view k, const Value&) { keys.emplace_back(k, index++); });
    std::sort(keys.begin(), keys.end());
    out_->push_back('{');
    for (size_t i = 0; i < keys.size() && !Full(); ++i) {
      if (i + 1 < keys.size() && keys[i + 1].first == keys[i].first) continue;  // not the last
      if (out_->back() != '{') out_->push_back(',');
      AppendGoJsonString(keys[i].first, out_);
      out_->push_back(':');
      Write(Member(v, keys[i].second), depth + 1);
    }
    out_->push_back('}');
  }

  static Value Member(const Value& v, uint32_t i) {
    if (v.doc != nullptr) return Value::Of(&(v.doc->MemberBegin() + i)->value);
    return (*v.obj)[i].second;
  }

  std::string* out_;
  size_t start_, max_;
};

}  // namespace

void AppendJson(const Value& v, std::string* out, size_t max) {
  GoJsonWriter(out, max).Write(v, 0);
}

Value Evaluator::NewArray(Array a) {
  Value v;
  v.type = Type::kArray;
  v.arr = &arrays_.emplace_back(std::move(a));
  return v;
}

Value Evaluator::NewObject(Object o) {
  Value v;
  v.type = Type::kObject;
  v.obj = &objects_.emplace_back(std::move(o));
  return v;
}

Value Evaluator::NewString(std::string s) {
  Value v;
  v.type = Type::kString;
  v.str = strings_.emplace_back(std::move(s));
  return v;
}

// Projections keep only the non-null results, as JMESPath does.
Value Evaluator::Project(const Node& n, const Value& cur) {
  const Value base = Eval(*n.children[0], cur);
  const bool values = n.kind == Kind::kValueProjection;
  if (base.type != (values ? Type::kObject : Type::kArray)) return {};
  Array out;
  auto each = [&](const Value& item) {
    if (exceeded_ || failed()) return;
    Value v = Eval(*n.children[1], item);
    if (!v.null() && Take()) out.push_back(v);
  };
  if (values) {
    base.ForEachMember([&](std::string_view, const Value& item) { each(item); });
  } else {
    for (size_t i = 0; i < base.size(); ++i) each(base.at(i));
  }
  return NewArray(std::move(out));
}

Value Evaluator::Filter(const Node& n, const Value& cur) {
  const Value base = Eval(*n.children[0], cur);
  if (base.type != Type::kArray) return {};
  Array out;
  for (size_t i = 0; i < base.size() && !exceeded_ && !failed(); ++i) {
    const Value item = base.at(i);
    if (!Truthy(Eval(*n.children[2], item))) continue;
    Value v = Eval(*n.children[1], item);
    if (!v.null() && Take()) out.push_back(v);
  }
  return NewArray(std::move(out));
}

Value Evaluator::Flatten(const Value& base) {
  if (base.type != Type::kArray) return {};
  Array out;
  for (size_t i = 0; i < base.size(); ++i) {
    Value v = base.at(i);
    if (v.type != Type::kArray) {
      if (!Take()) break;
      out.push_back(v);
      continue;
    }
    for (size_t j = 0; j < v.size() && Take(); ++j) out.push_back(v.at(j));
  }
  return NewArray(std::move(out));
}

// Python's slice semantics, as jmespath.py.
Value Evaluator::Slice(const Node& n, const Value& cur) {
  if (cur.type != Type::kArray) return {};
  const int64_t len = static_cast<int64_t>(cur.size());
  const int64_t step = n.slice[2].value_or(1);
  auto cap = [&](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v;
    if (x < 0) {
      x += len;
      if (x < 0) x = step < 0 ? -1 : 0;
    } else if (x >= len) {
      x = step < 0 ? len - 1 : len;
    }
    return x;
  };
  const int64_t start = cap(n.slice[0], step < 0 ? len - 1 : 0);
  const int64_t stop = cap(n.slice[1], step < 0 ? -1 : len);
  Array out;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (!Take()) break;
    out.push_back(cur.at(static_cast<size_t>(i)));
  }
  return NewArray(std::move(out));
}

// == and != compare any values; ordering is defined on numbers only (else null).
Value Evaluator::Compare(const Node& n, const Value& cur) {
  const Value a = Eval(*n.children[0], cur);
  const Value b = Eval(*n.children[1], cur);
  using Op = Node::Op;
  if (n.op == Op::kEq) return Value::Bool(Equal(a, b));
  if (n.op == Op::kNe) return Value::Bool(!Equal(a, b));
  if (a.type != Type::kNumber || b.type != Type::kNumber) return {};
  switch (n.op) {
    case Op::kLt:
      return Value::Bool(a.num < b.num);
    case Op::kLe:
      return Value::Bool(a.num <= b.num);
    case Op::kGt:
      return Value::Bool(a.num > b.num);
    default:
      return Value::Bool(a.num >= b.num);
  }
}

Value Evaluator::Multi(const Node& n, const Value& cur) {
  if (cur.null()) return {};
  if (n.kind == Kind::kMultiList) {
    Array out;
    for (const auto& child : n.children) {
      if (!Take()) break;
      out.push_back(Eval(*child, cur));
    }
    return NewArray(std::move(out));
  }
  Object out;
  for (size_t i = 0; i < n.children.size(); ++i) {
    if (!Take()) break;
    out.emplace_back(n.keys[i], Eval(*n.children[i], cur));
  }
  return NewObject(std::move(out));
}

Value Evaluator::Eval(const Node& n, const Value& cur) {
  if (steps_ == 0 || failed()) {
    exceeded_ = exceeded_ || steps_ == 0;
    return {};
  }
  --steps_;
  switch (n.kind) {
    case Kind::kCurrent:
      return cur;
    case Kind::kField:
      return cur.Get(n.name);
    case Kind::kIndex: {
      if (cur.type != Type::kArray) return {};
      const int64_t size = static_cast<int64_t>(cur.size());
      const int64_t i = n.index < 0 ? n.index + size : n.index;
      return i < 0 || i >= size ? Value{} : cur.at(static_cast<size_t>(i));
    }
    case Kind::kSlice:
      return Slice(n, cur);
    case Kind::kSub: {
      Value v = cur;
      for (const auto& child : n.children) v = Eval(*child, v);
      return v;
    }
    case Kind::kPipe:
      return Eval(*n.children[1], Eval(*n.children[0], cur));
    case Kind::kProjection:
    case Kind::kValueProjection:
      return Project(n, cur);
    case Kind::kFilter:
      return Filter(n, cur);
    case Kind::kFlatten:
      return Flatten(Eval(*n.children[0], cur));
    case Kind::kMultiList:
    case Kind::kMultiHash:
      return Multi(n, cur);
    case Kind::kOr: {
      Value a = Eval(*n.children[0], cur);
      return Truthy(a) ? a : Eval(*n.children[1], cur);
    }
    case Kind::kAnd: {
      Value a = Eval(*n.children[0], cur);
      return Truthy(a) ? Eval(*n.children[1], cur) : a;
    }
    case Kind::kNot:
      return Value::Bool(!Truthy(Eval(*n.children[0], cur)));
    case Kind::kCompare:
      return Compare(n, cur);
    case Kind::kLiteral:
      return Value::Of(n.literal.get());
    case Kind::kExpref: {
      Value v;
      v.type = Type::kExpref;
      v.ref = n.children[0].get();
      return v;
    }
    case Kind::kFunction: {
      std::vector<Value> args;
      args.reserve(n.children.size());
      for (const auto& child : n.children) args.push_back(Eval(*child, cur));
      if (failed()) return {};
      return FunctionAt(n.function).fn(*this, args);
    }
  }
  return {};
}

}  // namespace jmes

// Promtail stores numbers as float64 and prints them with %v ('f', shortest); integers are
// kept exact here even beyond 2^53, where Promtail would round.
void AssignJsonValueText(const JsonValue& v, std::string* out) {
  switch (v.GetType()) {
    case rapidjson::kStringType:
      out->assign(v.GetString(), v.GetStringLength());
      return;
    case rapidjson::kTrueType:
      out->assign("true");
      return;
    case rapidjson::kFalseType:
      out->assign("false");
      return;
    case rapidjson::kNullType:
      out->clear();
      return;
    case rapidjson::kNumberType: {
      char buf[32];
      std::to_chars_result r{};
      if (v.IsInt64()) {
        r = std::to_chars(buf, buf + sizeof(buf), v.GetInt64());
      } else if (v.IsUint64()) {
        r = std::to_chars(buf, buf + sizeof(buf), v.GetUint64());
      } else {
        out->clear();
        AppendGoFloatF(v.GetDouble(), out);  // finite: JSON has no NaN or infinity
        return;
      }
      out->assign(buf, r.ptr);
      return;
    }
    default:  // object or array: compact JSON, as Promtail marshals it back
      out->clear();
      jmes::AppendJson(jmes::Value::Of(&v), out, std::string::npos);
      return;
  }
}

std::string JsonValueText(const JsonValue& v) {
  std::string out;
  AssignJsonValueText(v, &out);
  return out;
}

namespace {

// Every collected value prints as at least one byte and a separator; nodes visited are bounded
// separately (nested filters visit without collecting).
jmes::Evaluator MakeEvaluator(size_t max_bytes) {
  const size_t budget = max_bytes / 2 + 1;
  return jmes::Evaluator(budget, std::max<size_t>(std::min<size_t>(budget, 1 << 24) * 4, 1 << 20));
}

}  // namespace

std::string JsonPath::Eval(const JsonValue& root, size_t max_bytes, bool* cut) const {
  JsonFound found = JsonFound::kValue;
  return EvalText(root, max_bytes, cut, &found);
}

std::string JsonPath::EvalText(const JsonValue& root, size_t max_bytes, bool* cut,
                               JsonFound* found) const {
  jmes::Evaluator ev = MakeEvaluator(max_bytes);
  const jmes::Value v = ev.Eval(*root_, jmes::Value::Of(&root));
  std::string out;
  *found = ev.failed()                                        ? JsonFound::kError
           : v.null() || v.type == jmes::Value::Type::kExpref ? JsonFound::kNull
                                                              : JsonFound::kValue;
  if (*found != JsonFound::kValue) {
  } else if (v.doc != nullptr) {
    out = JsonValueText(*v.doc);
  } else if (v.type == jmes::Value::Type::kString) {
    out = std::string(v.str);
  } else if (v.type == jmes::Value::Type::kBool) {
    out = v.b ? "true" : "false";
  } else {
    jmes::AppendJson(v, &out, max_bytes);
  }
  if (ev.exceeded() || out.size() > max_bytes) {
    formats::TruncateUtf8(out, max_bytes);
    if (cut != nullptr) *cut = true;
  }
  return out;
}

JsonFound JsonPath::EvalInto(const JsonValue& root, std::string* out, size_t max_bytes,
                             bool* cut) const {
  if (plain_path_.empty()) {
    JsonFound found = JsonFound::kValue;
    *out = EvalText(root, max_bytes, cut, &found);
    return found;
  }
  // What Eval does step by step: a name on anything but an object is null, of duplicate names
  // the last counts; an index on anything but an array, or past its end, is null.
  const JsonValue* v = &root;
  for (const PlainStep& step : plain_path_) {
    if (step.index) {
      const int64_t size = v->IsArray() ? static_cast<int64_t>(v->Size()) : 0;
      const int64_t i = *step.index < 0 ? *step.index + size : *step.index;
      if (i < 0 || i >= size) {
        out->clear();
        return JsonFound::kNull;
      }
      v = &(*v)[static_cast<rapidjson::SizeType>(i)];
      continue;
    }
    if (!v->IsObject()) {
      out->clear();
      return JsonFound::kNull;
    }
    v = jmes::LastMember(*v, step.name);
    if (v == nullptr) {
      out->clear();
      return JsonFound::kNull;
    }
  }
  if (v->IsNull()) {
    out->clear();
    return JsonFound::kNull;
  }
  AssignJsonValueText(*v, out);
  if (out->size() > max_bytes) {
    formats::TruncateUtf8(*out, max_bytes);
    if (cut != nullptr) *cut = true;
  }
  return JsonFound::kValue;
}

bool JsonPath::EvalJson(const JsonValue& root, std::string* out, std::string* error,
                        size_t max_bytes) const {
  jmes::Evaluator ev = MakeEvaluator(max_bytes);
  const jmes::Value v = ev.Eval(*root_, jmes::Value::Of(&root));
  if (ev.failed()) {
    *error = ev.error();
    return false;
  }
  jmes::AppendJson(v, out, max_bytes);
  return true;
}

}  // namespace skidder::lang::go
