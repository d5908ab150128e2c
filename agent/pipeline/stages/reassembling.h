// Base of the cri and docker stages: keyed reassembly of partial-line fragments, bounded and
// counted. Called on the pipeline's thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "formats/partial.h"
#include "pipeline/stage.h"
#include "pipeline/stage_support.h"
#include "telemetry/registry.h"

namespace skidder::pipeline::stages {

// The bound on a reassembled line (faults #11/#12): max_partial_line_size when Promtail would
// truncate to it; else limits_config.max_line_size with its own truncate flag (the client would
// apply it later anyway; applying it here bounds memory); else a 1 MiB safety cap, truncating.
inline constexpr int64_t kMaxAssembledLineBytes = 1 << 20;
formats::PartialOptions PartialOptionsFor(int max_partial_lines, int64_t max_partial_line_size,
                                          bool truncate, const config::LimitsConfig* limits);

// Base of the cri and docker stages: keyed reassembly of fragments, with metrics.
class ReassemblingStage : public Stage {
 public:
  ReassemblingStage(const StageContext& ctx, formats::PartialOptions options,
                    std::string_view format);
  void Flush(int64_t now_ns, bool force, Emitter& out) override;
  void Hold(int64_t now_ns, const UnreadSources& unread) override {
    assembler_.Hold(now_ns,
                    [&unread](const PipelineEntry& e) { return unread.Contains(e.entry.ack); });
  }
  bool Holding() const override { return assembler_.pending() != 0; }
  int64_t NextFlushNs() const override { return assembler_.NextFlushNs(); }

 protected:
  // Passes e on, joined with its stream's earlier fragments when there are any.
  void Feed(PipelineEntry&& e, bool partial, Emitter& out);
  void CountMalformed() { Inc(malformed_); }

 private:
  void Report();

  formats::PartialAssembler<PipelineEntry> assembler_;
  formats::PartialStats reported_;
  telemetry::Counter* malformed_ = nullptr;
  telemetry::Counter* truncated_ = nullptr;
  telemetry::Counter* too_long_ = nullptr;
  std::string format_;
};

}  // namespace skidder::pipeline::stages
