// The static_labels stage: adds fixed labels to every entry, like Promtail's static_labels.
//
// Body: a mapping of label name -> value; empty or null values are skipped, as in Promtail.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewStaticLabelsStage(const config::StageConfig& cfg,
                                                    const StageContext& ctx,
                                                    const std::string& path);

}  // namespace skidder::pipeline::stages
