#include "pipeline/stages/label_filter.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "pipeline/stage_support.h"
#include "pipeline/stages/name_mapping.h"

namespace skidder::pipeline::stages {
namespace {

enum class Keep { kListed, kUnlisted };

class LabelFilterStage final : public Stage {
 public:
  LabelFilterStage(std::vector<std::string> names, Keep keep, std::string_view name)
      : names_(std::move(names)), keep_(keep), name_(name) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    // One pass and one rehash, however many go (a Remove() per label would be quadratic over
    // the thousands of labels a pod can carry through labelmap); nothing is copied when none go.
    // The result depends on the label set alone: the next line of a file takes the set made for
    // the one before (no copy per line).
    memo_.Apply(e.entry.labels, {}, [this](Labels& labels) {
      labels.RemoveIf([this](const Label& l) { return Goes(l.name); });
    });
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return name_; }

 private:
  bool Goes(const std::string& name) const {
    const bool listed = std::find(names_.begin(), names_.end(), name) != names_.end();
    // labelallow removes every label it does not list, __tenant_id__ too, as Promtail's and
    // Alloy's stage.label_keep do: a tenant set by a stage or a push before it goes unless
    // listed, and the entry goes to the client's tenant_id, where those agents send it.
    return keep_ == Keep::kUnlisted ? listed : !listed;
  }

  std::vector<std::string> names_;
  Keep keep_;
  std::string_view name_;  // a literal
  LabelsMemo memo_;
};

Result<std::unique_ptr<Stage>> NewLabelFilterStage(const config::StageConfig& cfg,
                                                   const std::string& path, Keep keep,
                                                   std::string_view name) {
  auto names = ReadNameList(cfg.body, cfg.file, path, {.what = "label names"});
  if (!names) return Err(std::move(names.error()));
  return std::make_unique<LabelFilterStage>(std::move(*names), keep, name);
}

}  // namespace

Result<std::unique_ptr<Stage>> NewLabelAllowStage(const config::StageConfig& cfg,
                                                  const StageContext& ctx,
                                                  const std::string& path) {
  return NewLabelFilterStage(cfg, path, Keep::kListed, "labelallow");
}

Result<std::unique_ptr<Stage>> NewLabelDropStage(const config::StageConfig& cfg,
                                                 const StageContext& ctx, const std::string& path) {
  return NewLabelFilterStage(cfg, path, Keep::kUnlisted, "labeldrop");
}

}  // namespace skidder::pipeline::stages
