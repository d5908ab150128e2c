#include "pipeline/stages/labelallow.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "pipeline/stages/common.h"

namespace skidder::pipeline::stages {
namespace {

class LabelAllowStage final : public Stage {
 public:
  explicit LabelAllowStage(std::vector<std::string> names) : names_(std::move(names)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    // Labels has no erase-while-iterating: find one label to remove, copy its name out (Remove
    // shifts the vector), repeat. Label sets are small.
    for (;;) {
      const Label* victim = nullptr;
      for (const Label& l : e.entry.labels) {
        if (!Listed(l.name) && !l.name.starts_with("__")) {
          victim = &l;
          break;
        }
      }
      if (victim == nullptr) break;
      scratch_.assign(victim->name);
      e.entry.labels.Remove(scratch_);
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "labelallow"; }

 private:
  bool Listed(const std::string& name) const {
    return std::find(names_.begin(), names_.end(), name) != names_.end();
  }

  std::vector<std::string> names_;
  std::string scratch_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewLabelAllowStage(const config::StageConfig& cfg,
                                                  const StageContext& ctx,
                                                  const std::string& path) {
  const YAML::Node& body = cfg.body;
  if (!body.IsSequence() || body.size() == 0) {
    return Err(config::ErrorAt(cfg.file, body, path, "expected a non-empty list of label names"));
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < body.size(); ++i) {
    const YAML::Node n = body[i];
    if (!n.IsScalar() || !IsValidLabelName(n.Scalar())) {
      return Err(config::ErrorAt(cfg.file, n, path + "[" + std::to_string(i) + "]",
                                 "expected a label name"));
    }
    names.push_back(n.Scalar());
  }
  return std::make_unique<LabelAllowStage>(std::move(names));
}

}  // namespace skidder::pipeline::stages
