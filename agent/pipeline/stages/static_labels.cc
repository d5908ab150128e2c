#include "pipeline/stages/static_labels.h"

#include <fmt/format.h>

#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "pipeline/stages/common.h"

namespace skidder::pipeline::stages {
namespace {

class StaticLabelsStage final : public Stage {
 public:
  explicit StaticLabelsStage(std::vector<Label> labels) : labels_(std::move(labels)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    for (const Label& l : labels_) {
      const std::string* have = e.entry.labels.Get(l.name);
      if (have == nullptr || *have != l.value) e.entry.labels.Set(l.name, l.value);
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "static_labels"; }

 private:
  std::vector<Label> labels_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewStaticLabelsStage(const config::StageConfig& cfg,
                                                    const StageContext& ctx,
                                                    const std::string& path) {
  const YAML::Node& body = cfg.body;
  if (!body.IsMap() || body.size() == 0) {
    return Err(
        config::ErrorAt(cfg.file, body, path, "expected a mapping of label names to values"));
  }
  std::vector<Label> labels;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const YAML::Node k = it->first;  // copies: it-> is a proxy temporary
    const YAML::Node v = it->second;
    if (!k.IsScalar() || !IsValidLabelName(k.Scalar())) {
      return Err(config::ErrorAt(
          cfg.file, k, path,
          fmt::format("invalid label name \"{}\"", k.IsScalar() ? k.Scalar() : std::string("?"))));
    }
    if (!v.IsNull() && !v.IsScalar()) {
      return Err(config::ErrorAt(cfg.file, v, path + "." + k.Scalar(), "expected a string"));
    }
    if (v.IsNull() || v.Scalar().empty()) continue;
    if (!formats::IsValidUtf8(v.Scalar())) {
      return Err(config::ErrorAt(cfg.file, v, path + "." + k.Scalar(), "value is not UTF-8"));
    }
    labels.push_back(Label{k.Scalar(), v.Scalar()});
  }
  return std::make_unique<StaticLabelsStage>(std::move(labels));
}

}  // namespace skidder::pipeline::stages
