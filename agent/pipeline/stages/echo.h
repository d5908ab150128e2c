// The echo stage (skidder's; Alloy's loki.echo): prints each entry to standard output as
// -dry-run does ("<time>\t<labels>\t<line>"), and the entry goes no further. An Alloy
// forward_to that names a loki.echo becomes this stage, at the end of its own branch when the
// entries also go to a loki.write.
//
//   - echo: {}
//
// Owned by one Pipeline; called from its thread only (stdout is written a line at a time, so
// lines from several pipelines do not interleave).
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewEchoStage(const config::StageConfig& cfg, const StageContext& ctx,
                                            const std::string& path);

}  // namespace skidder::pipeline::stages
