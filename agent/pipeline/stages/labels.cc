#include "pipeline/stages/labels.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "pipeline/stages/common.h"

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
  const YAML::Node& body = cfg.body;
  if (!body.IsMap() || body.size() == 0) {
    return Err(config::ErrorAt(cfg.file, body, path,
                               "expected a mapping of label names to extracted keys"));
  }
  std::vector<std::pair<std::string, std::string>> map;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const YAML::Node k = it->first;  // copies: it-> is a proxy temporary
    const YAML::Node v = it->second;
    if (!k.IsScalar() || !IsValidLabelName(k.Scalar())) {
      return Err(config::ErrorAt(
          cfg.file, k, path,
          fmt::format("invalid label name \"{}\"", k.IsScalar() ? k.Scalar() : std::string("?"))));
    }
    if (!v.IsNull() && !v.IsScalar()) {
      return Err(config::ErrorAt(cfg.file, v, path + "." + k.Scalar(),
                                 "expected an extracted key (a string) or nothing"));
    }
    std::string source = v.IsNull() || v.Scalar().empty() ? k.Scalar() : v.Scalar();
    map.emplace_back(k.Scalar(), std::move(source));
  }
  return std::make_unique<LabelsStage>(std::move(map));
}

}  // namespace skidder::pipeline::stages
