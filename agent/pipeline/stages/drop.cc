#include "pipeline/stages/drop.h"

#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <utility>
#include <vector>

#include "lang/go/go_regexp.h"
#include "pipeline/stage_support.h"
#include "util/byte_size.h"

namespace skidder::pipeline::stages {
namespace {

struct DropConfig {
  std::vector<std::string> source;
  std::string separator = ";";
  std::optional<std::string> value;
  std::unique_ptr<RE2> expression;
  std::optional<config::Duration> older_than;
  std::optional<int64_t> longer_than;
  std::string reason = "drop_stage";
};

class DropStage final : public Stage {
 public:
  DropStage(DropConfig cfg, telemetry::Counter* dropped)
      : cfg_(std::move(cfg)), dropped_(dropped) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    if (!ShouldDrop(e)) {
      out.Emit(std::move(e));
      return;
    }
    Inc(dropped_);  // e is destroyed on return: its ack ref is released
  }

  std::string_view Name() const override { return "drop"; }

 private:
  // Cheapest checks first; any condition that does not hold keeps the entry.
  bool ShouldDrop(const PipelineEntry& e) {
    if (cfg_.longer_than && static_cast<int64_t>(e.entry.line.size()) <= *cfg_.longer_than) {
      return false;
    }
    if (cfg_.older_than && e.entry.timestamp_ns >= e.now.wall_ns - cfg_.older_than->count()) {
      return false;
    }
    if (!cfg_.source.empty()) {
      if (!cfg_.expression && !cfg_.value) {
        // Only whether every source is there, as Promtail: a json stage's null counts (nil).
        return std::all_of(cfg_.source.begin(), cfg_.source.end(), [&](const std::string& s) {
          return e.extracted.Has(s, e.entry.labels);
        });
      }
      if (!JoinSources(e)) return false;  // a source is missing (or nil: no value to compare)
      if (!cfg_.expression) return !cfg_.value || joined_ == *cfg_.value;
      return RE2::PartialMatch(lang::go::GoRegexpInput(joined_, &valid_), *cfg_.expression);
    }
    if (cfg_.expression) {
      return RE2::PartialMatch(lang::go::GoRegexpInput(e.entry.line, &valid_), *cfg_.expression);
    }
    return true;
  }

  bool JoinSources(const PipelineEntry& e) {
    joined_.clear();
    for (size_t i = 0; i < cfg_.source.size(); ++i) {
      const std::string* v = e.extracted.Get(cfg_.source[i], e.entry.labels);
      if (v == nullptr) return false;
      if (i > 0) joined_ += cfg_.separator;
      joined_ += *v;
    }
    return true;
  }

  DropConfig cfg_;
  telemetry::Counter* dropped_;
  std::string joined_;  // reused per entry
  std::string valid_;   // a text that is not UTF-8, as Go's regexp reads it (GoRegexpInput)
};

Status ReadDropConfig(config::MapReader& r, DropConfig* c) {
  r.StrList("source", &c->source);
  r.Str("separator", &c->separator);
  if (r.Has("value")) r.Str("value", &c->value.emplace());
  std::string expr, size, reason;
  r.Str("expression", &expr);
  if (r.Has("older_than")) r.Dur("older_than", &c->older_than.emplace());
  r.Str("longer_than", &size);
  r.Str("drop_counter_reason", &reason);
  if (!reason.empty()) c->reason = reason;
  if (r.Has("longer_than") && !ParseByteSize(size, &c->longer_than.emplace())) {
    r.Fail("longer_than", "expected a size in bytes like 8192 or 8kb");
  }
  if (r.Has("expression")) {
    c->expression = lang::go::CompileGoRegexp(expr);
    if (!c->expression->ok()) {
      r.Fail("expression", "could not compile regular expression: " + c->expression->error());
    }
  }
  if (c->value && c->expression) r.Fail("value", "value and expression cannot both be set");
  if (c->value && c->source.empty()) r.Fail("value", "value requires source");
  if (c->source.empty() && !c->expression && !c->older_than && !c->longer_than) {
    r.Fail("source", "needs at least one of source, expression, older_than or longer_than");
  }
  return r.Finish();
}

}  // namespace

Result<std::unique_ptr<Stage>> NewDropStage(const config::StageConfig& cfg, const StageContext& ctx,
                                            const std::string& path) {
  DropConfig c;
  config::MapReader r = ReaderFor(cfg, path);
  if (Status s = ReadDropConfig(r, &c); !s.ok()) return Err(std::move(s));
  telemetry::Counter* dropped = DropCounter(ctx, c.reason);
  return std::make_unique<DropStage>(std::move(c), dropped);
}

}  // namespace skidder::pipeline::stages
