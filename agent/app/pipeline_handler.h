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
    out_.Flush();
  }
  void Flush(int64_t now_ns, bool force) override {
    pipeline_->Flush(now_ns, force, out_);
    out_.Flush();
  }
  int64_t ReadyInNs(int64_t steady_ns) const override { return pipeline_->ReadyInNs(steady_ns); }
  int64_t NextFlushNs() const override { return pipeline_->NextFlushNs(); }
  bool Saturated() const override { return sink_->Saturated(); }

 private:
  pipeline::Pipeline* pipeline_;
  EntrySink* sink_;  // the job's: waits only for the clients its pipeline routes to (RoutedSink)
  pipeline::BatchEmitter out_;  // collects the pipeline's output of one read for the sink
};

}  // namespace skidder::app
