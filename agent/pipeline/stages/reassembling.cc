#include "pipeline/stages/reassembling.h"

#include <utility>

#include "telemetry/agent_metrics.h"
#include "util/log.h"

namespace skidder::pipeline::stages {

formats::PartialOptions PartialOptionsFor(int max_partial_lines, int64_t max_partial_line_size,
                                          bool truncate, const config::LimitsConfig* limits) {
  formats::PartialOptions o;
  o.max_pending = max_partial_lines > 0 ? static_cast<size_t>(max_partial_lines) : 100;
  if (truncate && max_partial_line_size > 0) {
    o.max_line_bytes = static_cast<size_t>(max_partial_line_size);
    o.truncate = true;
  } else if (limits != nullptr && limits->max_line_size > 0) {
    o.max_line_bytes = static_cast<size_t>(limits->max_line_size);
    o.truncate = limits->max_line_size_truncate;
  } else {
    o.max_line_bytes = kMaxAssembledLineBytes;
    o.truncate = true;
  }
  return o;
}

ReassemblingStage::ReassemblingStage(const StageContext& ctx, formats::PartialOptions options,
                                     std::string_view format)
    : assembler_(options), format_(format) {
  if (ctx.metrics != nullptr) {
    malformed_ = ctx.metrics->malformed_lines.With({std::string(format)});
    truncated_ = ctx.metrics->truncated_lines.With({});
    too_long_ = ctx.metrics->dropped_lines.With({telemetry::kReasonLineTooLong});
  }
}

void ReassemblingStage::Feed(PipelineEntry&& e, bool partial, Emitter& out) {
  if (!partial && assembler_.pending() == 0) {  // the common case: no hashing, no lookup
    out.Emit(std::move(e));
    return;
  }
  // Labels already carry the stream (and filename), so their hash keys one stream of one file,
  // as Promtail keys partials by label fingerprint.
  const uint64_t key = e.entry.labels.Hash();
  assembler_.Add(key, std::move(e), partial,
                 [&out](PipelineEntry&& done) { out.Emit(std::move(done)); });
  if (assembler_.stats().truncated != reported_.truncated ||
      assembler_.stats().dropped != reported_.dropped ||
      assembler_.stats().evicted != reported_.evicted) {
    Report();
  }
}

void ReassemblingStage::Flush(int64_t now_ns, bool force, Emitter& out) {
  if (assembler_.pending() == 0) return;
  assembler_.Flush(now_ns, force, [&out](PipelineEntry&& e) { out.Emit(std::move(e)); });
  Report();
}

void ReassemblingStage::Report() {
  const formats::PartialStats& now = assembler_.stats();
  Inc(truncated_, static_cast<double>(now.truncated - reported_.truncated));
  Inc(too_long_, static_cast<double>(now.dropped - reported_.dropped));
  if (now.evicted != reported_.evicted) {
    LOG_WARN("partial lines upper bound exceeded: incomplete lines sent as they are",
             {{"format", format_}, {"lines", std::to_string(now.evicted - reported_.evicted)}});
  }
  reported_ = now;
}

}  // namespace skidder::pipeline::stages
