// The limit stage: a token-bucket rate limit on entries, like Promtail's limit stage.
//
// `rate` entries per second with bursts of `burst` (both > 0); with `by_label_name`, one bucket
// per value of that label (entries without it are not limited; drop must be true), keeping the
// buckets of at most `max_distinct_labels` recent values (at least 10000, as Promtail adjusts
// it). Over-limit entries are dropped and counted in logentry_dropped_lines_total with reason
// "ratelimit_drop_stage" (and, by label, logentry_dropped_lines_by_label_total{label_name,
// label_value}).
// drop: false applies backpressure, as Promtail does: nothing is dropped. Promtail blocks the
// pipeline until a token is free; a skidder stage must not block its reading thread, so it lets
// the entry through (taking a token, into debt if need be) and reports through ReadyInNs() how
// long the source must wait before handing it more: reading pauses, the file holds the backlog,
// and the average rate is `rate` (at most one read, 64 KiB, passes before the pause).
// Time comes from the context's clock (wall time, as Promtail's limiter uses), read once per
// entry. Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewLimitStage(const config::StageConfig& cfg,
                                             const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
