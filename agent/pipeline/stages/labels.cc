#include "pipeline/stages/labels.h"

#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "pipeline/stage_support.h"
#include "pipeline/stages/name_mapping.h"

namespace skidder::pipeline::stages {
namespace {

class LabelsStage final : public Stage {
 public:
  explicit LabelsStage(std::vector<std::pair<std::string, std::string>> map)
      : map_(std::move(map)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    for (const auto& [name, source] : map_) {
      const std::string* v = e.extracted.Get(source, e.entry.labels);
      if (v == nullptr || !formats::IsValidUtf8(*v)) continue;
      if (e.extracted.GetOwn(source) == nullptr) {
        // A label's own value: copy it out before Set() can move the label storage.
        if (v == e.entry.labels.Get(name)) continue;
        scratch_.assign(*v);
        v = &scratch_;
      }
      e.entry.labels.Set(name, *v);
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "labels"; }

 private:
  std::vector<std::pair<std::string, std::string>> map_;  // label name -> extracted key
  std::string scratch_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewLabelsStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path) {
  auto map = ReadNameMapping(cfg.body, cfg.file, path);
  if (!map) return Err(std::move(map.error()));
  return std::make_unique<LabelsStage>(std::move(*map));
}

}  // namespace skidder::pipeline::stages
