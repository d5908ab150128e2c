#include "pipeline/stages/structured_metadata.h"

#include <algorithm>
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

class StructuredMetadataDropStage final : public Stage {
 public:
  explicit StructuredMetadataDropStage(std::vector<std::string> names) : names_(std::move(names)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    std::erase_if(e.entry.structured_metadata, [&](const Label& m) {
      return std::find(names_.begin(), names_.end(), m.name) != names_.end();
    });
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "structured_metadata_drop"; }

 private:
  std::vector<std::string> names_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewStructuredMetadataStage(const config::StageConfig& cfg,
                                                          const StageContext& ctx,
                                                          const std::string& path) {
  auto map = ReadNameMapping(cfg.body, cfg.file, path);
  if (!map) return Err(std::move(map.error()));
  return std::make_unique<StructuredMetadataStage>(std::move(*map));
}

Result<std::unique_ptr<Stage>> NewStructuredMetadataDropStage(const config::StageConfig& cfg,
                                                              const StageContext& ctx,
                                                              const std::string& path) {
  auto names = ReadNameList(cfg.body, cfg.file, path,
                            {.label_names = false, .what = "structured metadata names"});
  if (!names) return Err(std::move(names.error()));
  return std::make_unique<StructuredMetadataDropStage>(std::move(*names));
}

}  // namespace skidder::pipeline::stages
