#include "pipeline/pipeline.h"

#include <string>
#include <utility>

#include "pipeline/registry.h"

namespace skidder::pipeline {

// Feeds stages_[i]; the stage emits into the next link, or into the caller's Emitter after the
// last stage. One virtual call per stage per entry; nothing allocated per entry.
class Pipeline::Link final : public Emitter {
 public:
  Link(Pipeline* owner, size_t index) : owner_(owner), index_(index) {}
  void Emit(PipelineEntry&& e) override { owner_->stages_[index_]->Process(std::move(e), Next()); }
  Emitter& Next() const {
    return index_ + 1 < owner_->links_.size() ? *owner_->links_[index_ + 1] : *owner_->out_;
  }

 private:
  Pipeline* owner_;
  size_t index_;
};

Result<std::unique_ptr<Pipeline>> Pipeline::Build(const std::vector<config::StageConfig>& stages,
                                                  const StageContext& ctx) {
  std::vector<std::unique_ptr<Stage>> built;
  built.reserve(stages.size());
  for (size_t i = 0; i < stages.size(); ++i) {
    std::string path = "pipeline_stages[" + std::to_string(i) + "]." + stages[i].type;
    auto stage = BuildStage(stages[i], ctx, path);
    if (!stage) return Err(std::move(stage.error()));
    built.push_back(std::move(*stage));
  }
  return std::make_unique<Pipeline>(std::move(built));
}

Pipeline::Pipeline(std::vector<std::unique_ptr<Stage>> stages) : stages_(std::move(stages)) {
  links_.reserve(stages_.size());
  for (size_t i = 0; i < stages_.size(); ++i) links_.push_back(std::make_unique<Link>(this, i));
}

Pipeline::~Pipeline() = default;

void Pipeline::Process(Entry&& e, Emitter& out) {
  PipelineEntry pe{std::move(e), {}};
  if (links_.empty()) {
    out.Emit(std::move(pe));
    return;
  }
  out_ = &out;
  links_[0]->Emit(std::move(pe));
}

// Stage i's held entries go through stages i+1.. before those are flushed in turn, so a line
// released by the cri stage can still be buffered (and then forced out) by a later stage.
void Pipeline::Flush(int64_t now_ns, bool force, Emitter& out) {
  out_ = &out;
  for (size_t i = 0; i < stages_.size(); ++i) stages_[i]->Flush(now_ns, force, links_[i]->Next());
}

}  // namespace skidder::pipeline
