#include "pipeline/stages/json.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <map>
#include <optional>
#include <utility>

#include "formats/utf8.h"
#include "pipeline/stage_support.h"
#include "telemetry/agent_metrics.h"
#include "util/json_parse.h"

namespace skidder::pipeline::stages {

using lang::go::CompileJsonPath;
using lang::go::JsonPath;

namespace {

// Both the values and the parser's stack live in arenas reset per entry: no malloc per line
// unless a document outgrows them.
using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                                       rapidjson::MemoryPoolAllocator<>>;

class JsonStage final : public Stage {
 public:
  struct Expr {
    std::string name;
    JsonPath path;
  };

  JsonStage(std::vector<Expr> exprs, std::optional<std::string> source, bool drop_malformed,
            telemetry::Counter* dropped, size_t max_bytes, telemetry::Counter* truncated)
      : exprs_(std::move(exprs)),
        source_(std::move(source)),
        drop_malformed_(drop_malformed),
        dropped_(dropped),
        max_bytes_(max_bytes),
        truncated_(truncated),
        pool_(arena_, sizeof(arena_)),
        stack_pool_(stack_arena_, sizeof(stack_arena_)),
        doc_(&pool_, 1024, &stack_pool_),
        values_(exprs_.size()),
        found_(exprs_.size()) {}

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
    // Too deep is malformed, as for Promtail's decoder (which stops at 10000 levels).
    if (!ParseJsonBounded(doc_, *input, &stack_pool_).ok() || !doc_.IsObject()) {
      if (drop_malformed_) {
        Inc(dropped_);
        return;
      }
      out.Emit(std::move(e));
      return;
    }
    // Walk first, then write: Set may move the source value's storage. values_ keeps its
    // strings' buffers from entry to entry, and Set copies into the extracted map's reused
    // slots: no allocation per line once both have grown to the values' size.
    bool cut = false;
    for (size_t i = 0; i < exprs_.size(); ++i) {
      found_[i] = exprs_[i].path.EvalInto(doc_, &values_[i], max_bytes_, &cut);
      // Go's decoder turns invalid UTF-8 in a string into U+FFFD, so Promtail's labels stage
      // takes the value; kept raw, it would skip it as an invalid label value. (Valid values
      // are only scanned.)
      formats::SanitizeUtf8(values_[i]);
    }
    if (cut) Inc(truncated_);
    // A null or missing value is Promtail's nil: no value for the stages after this one, so
    // `output` keeps the line and `labels` the label, where an empty value blanked the line and
    // removed the label (Extracted::SetNil). A run-time error sets nothing, as in Promtail.
    for (size_t i = 0; i < exprs_.size(); ++i) {
      if (found_[i] == lang::go::JsonFound::kValue) {
        e.extracted.Set(exprs_[i].name, std::string_view(values_[i]));
      } else if (found_[i] == lang::go::JsonFound::kNull) {
        e.extracted.SetNil(exprs_[i].name);
      }
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "json"; }

 private:
  std::vector<Expr> exprs_;
  std::optional<std::string> source_;
  bool drop_malformed_;
  telemetry::Counter* dropped_;
  size_t max_bytes_;  // per extracted value (StageOutputCap)
  telemetry::Counter* truncated_;
  char arena_[16 * 1024];
  rapidjson::MemoryPoolAllocator<> pool_;
  char stack_arena_[4 * 1024];
  rapidjson::MemoryPoolAllocator<> stack_pool_;
  Doc doc_;
  std::vector<std::string> values_;         // one per expression, reused
  std::vector<lang::go::JsonFound> found_;  // per expression: what EvalInto found
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
                                     DropCounter(ctx, telemetry::kReasonMalformed),
                                     StageOutputCap(ctx), TruncatedCounter(ctx));
}

}  // namespace skidder::pipeline::stages
