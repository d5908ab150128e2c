#include "pipeline/stages/structured_metadata.h"

#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "pipeline/stage_support.h"
#include "pipeline/stages/name_mapping.h"

namespace skidder::pipeline::stages {
namespace {

void SetMetadata(std::vector<Label>& md, const std::string& name, const std::string& value) {
  for (Label& l : md) {
    if (l.name == name) {
      l.value = value;
      return;
    }
  }
  md.push_back(Label{name, value});
}

class StructuredMetadataStage final : public Stage {
 public:
  explicit StructuredMetadataStage(std::vector<std::pair<std::string, std::string>> map)
      : map_(std::move(map)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    for (const auto& [name, source] : map_) {
      if (const std::string* v = e.extracted.GetOwn(source)) {
        if (!v->empty() && formats::IsValidUtf8(*v)) {
          SetMetadata(e.entry.structured_metadata, name, *v);
        }
      } else if (const std::string* l = e.entry.labels.Get(source)) {
        if (formats::IsValidUtf8(*l)) SetMetadata(e.entry.structured_metadata, name, *l);
        e.entry.labels.Remove(source);
      }
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "structured_metadata"; }

 private:
  std::vector<std::pair<std::string, std::string>> map_;  // metadata name -> extracted key
};

}  // namespace

Result<std::unique_ptr<Stage>> NewStructuredMetadataStage(const config::StageConfig& cfg,
                                                          const StageContext& ctx,
                                                          const std::string& path) {
  auto map = ReadNameMapping(cfg.body, cfg.file, path);
  if (!map) return Err(std::move(map.error()));
  return std::make_unique<StructuredMetadataStage>(std::move(*map));
}

}  // namespace skidder::pipeline::stages
