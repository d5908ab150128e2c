// The labelallow and labeldrop stages, one implementation told which way to filter:
// - labelallow keeps only the listed labels and removes every other one, like Promtail's
//   labelallow and Alloy's stage.label_keep: __tenant_id__ too (set by a tenant stage or a push),
//   unless listed.
// - labeldrop removes the listed stream labels, like Promtail's labeldrop stage.
//
// Body: a list of label names. Nothing is allocated when no label has to go.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewLabelAllowStage(const config::StageConfig& cfg,
                                                  const StageContext& ctx, const std::string& path);

Result<std::unique_ptr<Stage>> NewLabelDropStage(const config::StageConfig& cfg,
                                                 const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
