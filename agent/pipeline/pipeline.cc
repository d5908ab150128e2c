#include "pipeline/pipeline.h"

#include <algorithm>
#include <string>
#include <utility>

#include "config/yaml_reader.h"
#include "pipeline/inspector.h"
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

// With -inspect: snapshots the entry, runs stages_[i], and diffs what the stage emits against
// the snapshot before passing it to the next InspectLink (or the caller's Emitter).
class Pipeline::InspectLink final : public Emitter {
 public:
  InspectLink(Pipeline* owner, size_t index) : owner_(owner), index_(index), after_(this) {}
  void Emit(PipelineEntry&& e) override {
    Inspector::Take(e, &before_);
    Stage& stage = *owner_->stages_[index_];
    stage.Process(std::move(e), after_);
    if (!before_.emitted) owner_->inspector_->ReportNothingEmitted(stage.Name());
  }
  Emitter& Next() const {
    return index_ + 1 < owner_->inspect_links_.size() ? *owner_->inspect_links_[index_ + 1]
                                                      : *owner_->out_;
  }

 private:
  class After final : public Emitter {
   public:
    explicit After(InspectLink* link) : link_(link) {}
    void Emit(PipelineEntry&& e) override {
      link_->before_.emitted = true;
      link_->owner_->inspector_->Report(link_->owner_->stages_[link_->index_]->Name(),
                                        link_->before_, e);
      link_->Next().Emit(std::move(e));
    }

   private:
    InspectLink* link_;
  };

  Pipeline* owner_;
  size_t index_;
  Inspector::Snapshot before_;
  After after_;
};

Result<std::unique_ptr<Pipeline>> Pipeline::Build(const std::vector<config::StageConfig>& stages,
                                                  const StageContext& ctx) {
  return Build(stages, ctx, "pipeline_stages");
}

Result<std::unique_ptr<Pipeline>> Pipeline::Build(const std::vector<config::StageConfig>& stages,
                                                  const StageContext& ctx,
                                                  const std::string& path_prefix) {
  std::vector<std::unique_ptr<Stage>> built;
  built.reserve(stages.size());
  for (size_t i = 0; i < stages.size(); ++i) {
    std::string path = !stages[i].name.empty()
                           ? stages[i].name
                           : path_prefix + "[" + std::to_string(i) + "]." + stages[i].type;
    // A fanout's branches end the list; an echo passes nothing on, so later stages never run.
    if ((stages[i].type == "fanout" || stages[i].type == "echo") && i + 1 < stages.size()) {
      return Err(config::ErrorAt(stages[i].file, stages[i].body, path,
                                 stages[i].type + " must be the last stage of its list"));
    }
    auto stage = BuildStage(stages[i], ctx, path);
    if (!stage) return Err(std::move(stage.error()));
    built.push_back(std::move(*stage));
  }
  return std::make_unique<Pipeline>(std::move(built), ctx.clock);
}

Pipeline::Pipeline(std::vector<std::unique_ptr<Stage>> stages, const Clock* clock)
    : stages_(std::move(stages)), clock_(clock != nullptr ? clock : &SystemClock::Get()) {
  links_.reserve(stages_.size());
  for (size_t i = 0; i < stages_.size(); ++i) links_.push_back(std::make_unique<Link>(this, i));
}

Pipeline::~Pipeline() = default;

// Every entry goes through one PipelineEntry, so the extracted map's buffers are reused from line
// to line (a stage that keeps an entry moves it out, and the next one starts afresh).
void Pipeline::Process(Entry&& e, const BatchTime& now, Emitter& out) {
  if (in_process_) {  // re-entered (never expected): a fresh entry keeps this one intact
    Process(PipelineEntry{std::move(e), {}, now}, out);
    return;
  }
  in_process_ = true;
  scratch_.entry = std::move(e);
  scratch_.extracted.clear();
  scratch_.now = now;
  Process(std::move(scratch_), out);
  // An entry no stage emitted (dropped) must go now: its AckRef lets the position advance.
  scratch_.entry = Entry{};
  in_process_ = false;
}

void Pipeline::Process(PipelineEntry&& pe, Emitter& out) {
  if (links_.empty()) {
    out.Emit(std::move(pe));
    return;
  }
  out_ = &out;
  if (inspector_ != nullptr) {  // the one branch -inspect costs per entry
    inspect_links_[0]->Emit(std::move(pe));
    return;
  }
  links_[0]->Emit(std::move(pe));
}

void Pipeline::SetInspector(std::FILE* out) {
  inspect_links_.clear();
  inspector_.reset();
  if (out == nullptr) return;
  inspector_ = std::make_unique<Inspector>(out);
  for (size_t i = 0; i < stages_.size(); ++i) {
    inspect_links_.push_back(std::make_unique<InspectLink>(this, i));
  }
}

// Stage i's held entries go through stages i+1.. before those are flushed in turn, so a line
// released by the cri stage can still be buffered (and then forced out) by a later stage.
int64_t Pipeline::ReadyInNs(int64_t steady_ns) const {
  int64_t wait = 0;
  for (const auto& s : stages_) wait = std::max(wait, s->ReadyInNs(steady_ns));
  return wait;
}

void Pipeline::Flush(int64_t now_ns, bool force, Emitter& out) {
  out_ = &out;
  for (size_t i = 0; i < stages_.size(); ++i) {
    // Under -inspect, released entries are inspected by the stages after the one releasing them.
    Emitter& next = inspector_ != nullptr ? inspect_links_[i]->Next() : links_[i]->Next();
    stages_[i]->Flush(now_ns, force, next);
  }
}

void Pipeline::Hold(int64_t now_ns, const UnreadSources& unread) {
  for (const auto& s : stages_) s->Hold(now_ns, unread);
}

bool Pipeline::Holding() const {
  return std::any_of(stages_.begin(), stages_.end(), [](const auto& s) { return s->Holding(); });
}

int64_t Pipeline::NextFlushNs() const {
  int64_t next = kNoFlush;
  for (const auto& s : stages_) next = std::min(next, s->NextFlushNs());
  return next;
}

}  // namespace skidder::pipeline
