#include "pipeline/stages/output.h"

#include <utility>

#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

class OutputStage final : public Stage {
 public:
  explicit OutputStage(std::string source) : source_(std::move(source)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    if (const std::string* v = e.extracted.Get(source_, e.entry.labels)) e.entry.line.assign(*v);
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "output"; }

 private:
  std::string source_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewOutputStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::string source;
  r.Str("source", &source);
  if (source.empty()) r.Fail("source", "output source value is required");
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<OutputStage>(std::move(source));
}

}  // namespace skidder::pipeline::stages
