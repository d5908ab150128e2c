// PipelineHandler: a scrape config's pipeline wrapping the sink, as the file source's ReadHandler
// (Promtail's Pipeline.Wrap(next)). One per scrape config, shared by its file targets; called on
// the file source's reading thread only. What one read produced reaches the sink as one batch.
#pragma once

#include <cstdint>
#include <string_view>

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
      const std::string_view now = tenant != nullptr ? std::string_view(*tenant) : "";
      if (batch.target->tenant != now || batch.target->clients != last->clients) {
        batch.target->tenant.assign(now);
        batch.target->clients = last->clients;
        batch.target->held_epoch = UINT64_MAX;
      }
    }
    out_.Flush();
  }
  void Flush(int64_t now_ns, bool force) override {
    pipeline_->Flush(now_ns, force, out_);
    out_.Flush();
  }
  void Hold(int64_t now_ns, const UnreadSources& unread) override {
    pipeline_->Hold(now_ns, unread);
  }
  bool Holding() const override { return pipeline_->Holding(); }
  int64_t ReadyInNs(int64_t steady_ns) const override { return pipeline_->ReadyInNs(steady_ns); }
  int64_t NextFlushNs() const override { return pipeline_->NextFlushNs(); }
  // No file can go on: not even one sending elsewhere than to a tenant Loki refuses for now.
  bool Saturated() const override { return sink_->SaturatedExceptHeld(~uint64_t{0}, true); }
  // A file whose entries went to a tenant Loki refuses for now waits for the whole budget; the
  // others may use what that tenant holds beyond half of it, a file not read yet less of it.
  // Asked before every chunk of every waiting file: whether the tenant is held is asked again
  // only after the held tenants changed (HeldEpoch).
  bool SaturatedFor(const sources::SinkTarget& target) const override {
    if (target.clients == 0) return sink_->SaturatedExceptHeld(~uint64_t{0}, false);
    if (const uint64_t epoch = sink_->HeldEpoch(); epoch != target.held_epoch) {
      target.held = epoch != 0 && sink_->TenantHeld(target.tenant, target.clients);
      target.held_epoch = epoch;
    }
    return target.held ? sink_->Saturated() : Saturated();
  }

 private:
  pipeline::Pipeline* pipeline_;
  EntrySink* sink_;  // the job's: waits only for the clients its pipeline routes to (RoutedSink)
  pipeline::BatchEmitter out_;  // collects the pipeline's output of one read for the sink
};

}  // namespace skidder::app
