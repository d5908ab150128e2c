// The drop stage: drops entries matching every configured condition, like Promtail's drop stage.
//
// Conditions (all that are set must hold; use several stages for OR): longer_than (bytes, "8kb"
// accepted), older_than (Go duration, against the context's clock), source (extracted keys;
// with several, their values joined by `separator`) present or equal to `value`, expression
// (RE2, unanchored) matching the joined sources or else the line. Drops are counted in
// logentry_dropped_lines_total{reason=drop_counter_reason} ("drop_stage" by default); the
// dropped entry's ack is released so the file position still advances.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewDropStage(const config::StageConfig& cfg, const StageContext& ctx,
                                            const std::string& path);

}  // namespace skidder::pipeline::stages
