// The docker stage: parses docker json-file log lines like Promtail's docker stage.
//
// Extracted: output, stream, timestamp. Label `stream` is set; the entry's timestamp becomes
// the record's `time` and its line the unescaped `log` without its "\n". Unlike Promtail,
// `log` values without "\n" (docker's 16 KiB fragments) are joined per stream like the cri
// stage does. A line that is not docker JSON passes through unchanged and is counted in
// skidder_malformed_lines_total{format="docker"}. The stage takes no options.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewDockerStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
