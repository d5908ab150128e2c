// The reset_extracted stage: forgets the values earlier stages extracted; the entry's labels stay
// readable as extracted values, as always (Extracted::Get falls back to them).
//
// Alloy's loki.process starts every entry with an extracted map of its labels alone: a stage of
// one loki.process never sees what another, earlier on the path, extracted. The Alloy loader
// flattens a path's loki.process components into one stage list and puts this stage between
// them (and after the cri stage it adds for loki.source.kubernetes, whose `stream` and `flags`
// Alloy's API stream never extracts). Usable in YAML too; no options.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewResetExtractedStage(const config::StageConfig& cfg,
                                                      const StageContext& ctx,
                                                      const std::string& path);

}  // namespace skidder::pipeline::stages
