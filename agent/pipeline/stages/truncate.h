// The truncate stage (Grafana Alloy's stage.truncate; Promtail has none): rules that cut the
// line, labels, structured metadata or extracted values longer than a byte limit, with an
// optional suffix counted in the limit. The fields cut are listed, sorted, in the extracted
// value `truncated` ("label,line"), as Alloy does. Bytes, not characters, as in Alloy.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewTruncateStage(const config::StageConfig& cfg,
                                                const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
