// The labels stage: sets stream labels from extracted values, like Promtail's labels stage.
//
// Body: a mapping of label name -> extracted key (empty or null = the same name). A missing
// key leaves the label alone; a value that is not valid UTF-8 is skipped, as Promtail does.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewLabelsStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
