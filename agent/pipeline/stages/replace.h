// The replace stage: rewrites the captured groups of a regular expression, like Promtail's
// replace stage.
//
// Every match of `expression` (RE2) in the line, or in the extracted value `source`, has each
// of its capture groups replaced by `replace` (empty or absent: the groups are removed); the
// text outside groups is kept. `replace` is a Go template (template_engine.h): .Value is the
// captured text, other fields are extracted values, e.g. "{{ .Value | ToUpper }}" or
// "{{ .user }}-{{ .Value }}". Named groups are also set in the extracted map, to their replaced
// value in the first match (as Promtail does). No match, a missing source or a template error
// leave the entry unchanged. As in Promtail, a group that starts inside, or right at the end
// of, the previously replaced group is left as it is.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewReplaceStage(const config::StageConfig& cfg,
                                               const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
