#include "pipeline/stages/match.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "lang/go/match_selector.h"
#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {

using lang::go::Selector;

namespace {

class MatchStage final : public Stage {
 public:
  MatchStage(Selector selector, std::unique_ptr<Pipeline> nested, telemetry::Counter* dropped)
      : selector_(std::move(selector)), nested_(std::move(nested)), dropped_(dropped) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    if (!selector_.Matches(e.entry)) {
      out.Emit(std::move(e));
    } else if (nested_ != nullptr) {
      nested_->Process(std::move(e), out);
    } else {
      Inc(dropped_);  // action: drop; e is destroyed on return, releasing its ack
    }
  }

  void Flush(int64_t now_ns, bool force, Emitter& out) override {
    if (nested_ != nullptr) nested_->Flush(now_ns, force, out);
  }

  void Hold(int64_t now_ns, const UnreadSources& unread) override {
    if (nested_ != nullptr) nested_->Hold(now_ns, unread);
  }
  bool Holding() const override { return nested_ != nullptr && nested_->Holding(); }

  int64_t NextFlushNs() const override {
    return nested_ != nullptr ? nested_->NextFlushNs() : kNoFlush;
  }

  // A limit stage (drop: false) inside the match asks the source to wait like one outside.
  int64_t ReadyInNs(int64_t steady_ns) const override {
    return nested_ != nullptr ? nested_->ReadyInNs(steady_ns) : 0;
  }

  std::string_view Name() const override { return "match"; }

 private:
  Selector selector_;
  std::unique_ptr<Pipeline> nested_;  // null for action: drop
  telemetry::Counter* dropped_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewMatchStage(const config::StageConfig& cfg,
                                             const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::string selector_text, action = "keep", reason = "match_stage";
  r.Str("selector", &selector_text);
  if (r.Has("pipeline_name")) {
    std::string name;
    r.Str("pipeline_name", &name);
    if (name.empty()) r.Fail("pipeline_name", "pipeline_name can be omitted but cannot be empty");
  }
  r.Str("action", &action);
  r.Str("drop_counter_reason", &reason);
  if (reason.empty()) reason = "match_stage";
  YAML::Node stages = r.Node("stages");
  const bool has_stages =
      stages.IsDefined() && !stages.IsNull() && !(stages.IsSequence() && stages.size() == 0);
  if (action != "keep" && action != "drop") r.Fail("action", "action must be keep or drop");
  if (action == "keep" && !has_stages) {
    r.Fail("stages", "match stage requires at least one stage in stages (or action: drop)");
  }
  if (action == "drop" && has_stages) {
    r.Fail("stages", "match stage configured to drop entries cannot contain stages");
  }
  Selector selector;
  if (selector_text.empty()) {
    r.Fail("selector", "selector is required");
  } else if (auto parsed = Selector::Parse(selector_text); !parsed) {
    r.Fail("selector", parsed.error().message());
  } else {
    selector = std::move(*parsed);
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  std::unique_ptr<Pipeline> nested;
  if (action == "keep") {
    std::vector<config::StageConfig> list;
    const std::string sub = path + ".stages";
    if (Status s = ReadNestedStages(stages, cfg, sub, &list); !s.ok()) return Err(s);
    auto built = Pipeline::Build(list, ctx, sub);
    if (!built) return Err(std::move(built.error()));
    nested = std::move(*built);
  }
  telemetry::Counter* dropped = action == "drop" ? DropCounter(ctx, reason) : nullptr;
  return std::make_unique<MatchStage>(std::move(selector), std::move(nested), dropped);
}

}  // namespace skidder::pipeline::stages
