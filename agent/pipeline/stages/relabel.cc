#include "pipeline/stages/relabel.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "config/sections.h"
#include "kubernetes/relabel.h"
#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

class RelabelStage final : public Stage {
 public:
  RelabelStage(kubernetes::RelabelRules rules, telemetry::Counter* dropped)
      : rules_(std::move(rules)), dropped_(dropped) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    if (!kubernetes::Relabel(rules_, e.entry.labels) || e.entry.labels.empty()) {
      Inc(dropped_);  // e is destroyed on return, releasing its ack
      return;
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "relabel"; }

 private:
  kubernetes::RelabelRules rules_;
  telemetry::Counter* dropped_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewRelabelStage(const config::StageConfig& cfg,
                                               const StageContext& ctx, const std::string& path) {
  if (!cfg.body.IsSequence()) {
    return Err(config::ErrorAt(cfg.file, cfg.body, path, "expected a list of relabel rules"));
  }
  std::vector<config::RelabelConfig> configs(cfg.body.size());
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::string p = fmt::format("{}[{}]", path, i);
    if (Status s = config::internal::ReadRelabelConfig(cfg.body[i], cfg.file, p, &configs[i]);
        !s.ok()) {
      return Err(std::move(s));
    }
  }
  Result<kubernetes::RelabelRules> rules = kubernetes::CompileRelabel(configs);
  if (!rules) return Err(config::ErrorAt(cfg.file, cfg.body, path, rules.error().message()));
  return std::make_unique<RelabelStage>(std::move(*rules), DropCounter(ctx, "relabel"));
}

}  // namespace skidder::pipeline::stages
