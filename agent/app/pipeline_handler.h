// PipelineHandler: a scrape config's pipeline wrapping the sink, as the file source's ReadHandler
// (Promtail's Pipeline.Wrap(next)). One per scrape config, shared by its file targets; called on
// the file source's reading thread only. What one read produced reaches the sink as one batch.
#pragma once

#include <cstdint>

#include "model/sink.h"
#include "pipeline/pipeline.h"
#include "sources/file/read_handler.h"

namespace skidder::app {

class PipelineHandler final : public sources::ReadHandler {
 public:
  // Neither is owned; both must outlive the handler.
  PipelineHandler(pipeline::Pipeline* pipeline, EntrySink* sink)
      : pipeline_(pipeline), sink_(sink), out_(sink) {}

  void Handle(sources::ReadBatch& batch) override {
    batch.ForEach([&](Entry& e) { pipeline_->Process(std::move(e), batch.now, out_); });
    if (const Entry* last = out_.last(); last != nullptr && batch.target != nullptr) {
      const std::string* tenant = last->labels.Get(kTenantLabel);
      if (tenant != nullptr) {
        batch.target->tenant.assign(*tenant);
      } else {
        batch.target->tenant.clear();
      }
      batch.target->clients = last->clients;
    }
    out_.Flush();
  }
  void Flush(int64_t now_ns, bool force) override {
    pipeline_->Flush(now_ns, force, out_);
    out_.Flush();
  }
  int64_t ReadyInNs(int64_t steady_ns) const override { return pipeline_->ReadyInNs(steady_ns); }
  int64_t NextFlushNs() const override { return pipeline_->NextFlushNs(); }
  // No file can go on: not even one sending elsewhere than to a tenant Loki refuses for now.
  bool Saturated() const override { return sink_->SaturatedExceptHeld(~uint64_t{0}); }
  // A file whose entries went to a tenant Loki refuses for now waits for the whole budget; the
  // others (and a file not read yet) may use what that tenant holds beyond half of it.
  bool SaturatedFor(const sources::SinkTarget& target) const override {
    if (target.clients != 0 && sink_->TenantHeld(target.tenant, target.clients)) {
      return sink_->Saturated();
    }
    return Saturated();
  }

 private:
  pipeline::Pipeline* pipeline_;
  EntrySink* sink_;  // the job's: waits only for the clients its pipeline routes to (RoutedSink)
  pipeline::BatchEmitter out_;  // collects the pipeline's output of one read for the sink
};

}  // namespace skidder::app
