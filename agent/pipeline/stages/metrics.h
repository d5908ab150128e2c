// The metrics stage: counters, gauges and histograms from extracted values, exported on
// /metrics, like Promtail's metrics stage.
//
// Each metric (`prefix` + name, prefix "promtail_custom_" by default) reads the extracted value
// named by `source` (default: the metric's name) and, when `value` is set, acts only if they are
// equal. Counters: inc | add, or match_all (every entry; count_entry_bytes adds the line's
// length). Gauges: set | inc | dec | add | sub. Histograms: observe into `buckets`. Values are
// numbers, Go durations ("0.5ms" = 0.0005 seconds) or true/false; others are skipped.
// A series is labelled with the entry's labels (internal "__" ones left out) and removed once
// not updated for `max_idle_duration` (5m by default; at least 1s). Series are keyed by the
// label set's 64-bit hash, as Promtail keys them by fingerprint.
// Time: idleness is measured with the `now` of the pipeline's Flush calls (a series is stamped
// with the latest Flush time, or the context clock's time at construction), so no clock is read
// per entry; the precision is the flush interval.
// Owned by one Pipeline; Process/Flush from its thread only; /metrics renders concurrently.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewMetricsStage(const config::StageConfig& cfg,
                                               const StageContext& ctx, const std::string& path);

// Promtail's conversion of an extracted value to a metric value: a float ("0.804", "1e3",
// "+Inf"), a Go duration in seconds ("0.5ms" -> 0.0005), or true/false as 1/0.
bool MetricValue(std::string_view text, double* out);

}  // namespace skidder::pipeline::stages
