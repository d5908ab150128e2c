// The regex stage: RE2 named capture groups into the extracted map, like Promtail's regex stage.
//
// Matches the line, or the extracted value named by `source` (no match or no such value: the
// entry passes unchanged). Every named group is set, unmatched optional groups to "".
// Owned by one Pipeline; called from its thread only (match buffers are reused per entry).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

struct RegexStageConfig {
  std::string expression;             // RE2 syntax (Go regexp's), required
  std::optional<std::string> source;  // extracted key to match instead of the line
};

Result<std::unique_ptr<Stage>> NewRegexStage(const config::StageConfig& cfg,
                                             const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
