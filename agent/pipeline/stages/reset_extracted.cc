#include "pipeline/stages/reset_extracted.h"

#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

class ResetExtractedStage final : public Stage {
 public:
  void Process(PipelineEntry&& e, Emitter& out) override {
    e.extracted.clear();  // the slots keep their buffers: no allocation per entry
    out.Emit(std::move(e));
  }
  std::string_view Name() const override { return "reset_extracted"; }
};

}  // namespace

Result<std::unique_ptr<Stage>> NewResetExtractedStage(const config::StageConfig& cfg,
                                                      const StageContext& /*ctx*/,
                                                      const std::string& path) {
  if (Status s = CheckNoOptions(cfg, path); !s.ok()) return Err(std::move(s));
  return std::make_unique<ResetExtractedStage>();
}

}  // namespace skidder::pipeline::stages
