#include "pipeline/stages/static_labels.h"

#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "pipeline/stage_support.h"
#include "pipeline/stages/name_mapping.h"

namespace skidder::pipeline::stages {
namespace {

class StaticLabelsStage final : public Stage {
 public:
  explicit StaticLabelsStage(std::vector<Label> labels) : labels_(std::move(labels)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    // The result depends on the label set alone: the next entry of a file reuses it.
    memo_.Apply(e.entry.labels, {}, [this](Labels& l) { Apply(l); });
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "static_labels"; }

 private:
  void Apply(Labels& labels) const {
    for (const Label& l : labels_) {
      const std::string* have = labels.Get(l.name);
      if (have == nullptr || *have != l.value) labels.Set(l.name, l.value);
    }
  }

  std::vector<Label> labels_;
  LabelsMemo memo_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewStaticLabelsStage(const config::StageConfig& cfg,
                                                    const StageContext& ctx,
                                                    const std::string& path) {
  std::vector<Label> labels;
  Status s =
      ForEachName(cfg.body, cfg.file, path, {.label_names = true, .what = "label names to values"},
                  [&](const std::string& name, const YAML::Node& v) -> Status {
                    if (!v.IsNull() && !v.IsScalar()) {
                      return config::ErrorAt(cfg.file, v, path + "." + name, "expected a string");
                    }
                    if (v.IsNull() || v.Scalar().empty()) return Status::Ok();
                    if (!formats::IsValidUtf8(v.Scalar())) {
                      return config::ErrorAt(cfg.file, v, path + "." + name, "value is not UTF-8");
                    }
                    labels.push_back(Label{name, v.Scalar()});
                    return Status::Ok();
                  });
  if (!s.ok()) return Err(std::move(s));
  return std::make_unique<StaticLabelsStage>(std::move(labels));
}

}  // namespace skidder::pipeline::stages
