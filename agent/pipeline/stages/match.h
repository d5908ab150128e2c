// The match stage: runs nested stages, or drops the entry, when a LogQL selector matches, like
// Promtail's match stage.
//
// `selector` is a stream selector with optional line filters (see match_selector.h). With
// action keep (the default) matching entries go through the nested `stages` (required) and the
// others pass unchanged; with action drop (no stages allowed) matching entries are dropped and
// counted in logentry_dropped_lines_total{reason=drop_counter_reason} ("match_stage" by
// default). `pipeline_name` is accepted for compatibility: Promtail uses it only to label its
// pipeline_duration_seconds histogram, which skidder does not export.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewMatchStage(const config::StageConfig& cfg,
                                             const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
