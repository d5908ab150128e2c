// The relabel stage (skidder's; Promtail has none): Prometheus relabel rules over the entry's
// labels, as Alloy's loki.relabel does after a loki.process. An entry the rules drop, or left
// with no labels, is dropped and counted (reason "relabel").
//
//   - relabel:
//       - source_labels: [level]
//         regex: debug
//         action: drop
//
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewRelabelStage(const config::StageConfig& cfg,
                                               const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
