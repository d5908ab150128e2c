#include "pipeline/stages/json.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <charconv>
#include <map>
#include <optional>
#include <utility>

#include "pipeline/stages/common.h"
#include "telemetry/agent_metrics.h"

namespace skidder::pipeline::stages {
namespace {

// Both the values and the parser's stack live in arenas reset per entry: no malloc per line
// unless a document outgrows them.
using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                                       rapidjson::MemoryPoolAllocator<>>;
using Value = rapidjson::GenericValue<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;

const Value* Walk(const Value& root, const std::vector<JsonPathStep>& path) {
  const Value* v = &root;
  for (const auto& step : path) {
    if (const auto* name = std::get_if<std::string>(&step)) {
      if (!v->IsObject()) return nullptr;
      auto it = v->FindMember(Value(rapidjson::StringRef(name->data(), name->size())));
      if (it == v->MemberEnd()) return nullptr;
      v = &it->value;
    } else {
      int64_t i = std::get<int64_t>(step);
      if (!v->IsArray()) return nullptr;
      const int64_t n = v->Size();
      if (i < 0) i += n;
      if (i < 0 || i >= n) return nullptr;
      v = &(*v)[static_cast<rapidjson::SizeType>(i)];
    }
  }
  return v;
}

// Promtail stores numbers as float64 and prints them with %v ('f', shortest); integers are
// kept exact here even beyond 2^53, where Promtail would round.
std::string ToText(const Value& v) {
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
      rapidjson::StringBuffer sb;
      rapidjson::Writer<rapidjson::StringBuffer> w(sb);
      v.Accept(w);
      return std::string(sb.GetString(), sb.GetSize());
    }
  }
}

class JsonStage final : public Stage {
 public:
  struct Expr {
    std::string name;
    std::vector<JsonPathStep> path;
  };

  JsonStage(std::vector<Expr> exprs, std::optional<std::string> source, bool drop_malformed,
            telemetry::Counter* dropped)
      : exprs_(std::move(exprs)),
        source_(std::move(source)),
        drop_malformed_(drop_malformed),
        dropped_(dropped),
        pool_(arena_, sizeof(arena_)),
        stack_pool_(stack_arena_, sizeof(stack_arena_)),
        doc_(&pool_, 1024, &stack_pool_) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    const std::string* input = &e.entry.line;
    if (source_) {
      input = e.extracted.Get(*source_, e.entry.labels);
      if (input == nullptr) {
        out.Emit(std::move(e));
        return;
      }
    }
    // Reuse the arena: values from the previous entry are gone, its memory is not freed.
    doc_.SetNull();
    pool_.Clear();
    stack_pool_.Clear();
    doc_.Parse(input->data(), input->size());
    if (doc_.HasParseError() || !doc_.IsObject()) {
      if (drop_malformed_) {
        Inc(dropped_);
        return;
      }
      out.Emit(std::move(e));
      return;
    }
    // Walk first, then write: Set may move the source value's storage.
    values_.clear();
    for (const Expr& x : exprs_) {
      const Value* v = Walk(doc_, x.path);
      values_.push_back(v == nullptr ? std::string() : ToText(*v));
    }
    for (size_t i = 0; i < exprs_.size(); ++i)
      e.extracted.Set(exprs_[i].name, std::move(values_[i]));
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "json"; }

 private:
  std::vector<Expr> exprs_;
  std::optional<std::string> source_;
  bool drop_malformed_;
  telemetry::Counter* dropped_;
  char arena_[16 * 1024];
  rapidjson::MemoryPoolAllocator<> pool_;
  char stack_arena_[4 * 1024];
  rapidjson::MemoryPoolAllocator<> stack_pool_;
  Doc doc_;
  std::vector<std::string> values_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewJsonStage(const config::StageConfig& cfg, const StageContext& ctx,
                                            const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::map<std::string, std::string> expressions;
  r.StrMap("expressions", &expressions);
  std::optional<std::string> source;
  if (r.Has("source")) {
    std::string s;
    r.Str("source", &s);
    if (s.empty()) r.Fail("source", "must not be empty");
    source = std::move(s);
  }
  bool drop_malformed = false;
  r.Bool("drop_malformed", &drop_malformed);
  if (expressions.empty()) r.Fail("expressions", "at least one expression is required");
  std::vector<JsonStage::Expr> exprs;
  for (const auto& [name, expr] : expressions) {
    auto compiled = CompileJsonPath(expr.empty() ? name : expr);
    if (!compiled) {
      r.Fail("expressions", fmt::format("{}: {}", name, compiled.error().message()));
      break;
    }
    exprs.push_back({name, std::move(*compiled)});
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<JsonStage>(std::move(exprs), std::move(source), drop_malformed,
                                     DropCounter(ctx, telemetry::kReasonMalformed));
}

}  // namespace skidder::pipeline::stages
