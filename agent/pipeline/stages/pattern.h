// The pattern stage (Grafana Alloy's stage.pattern; Promtail has none): LogQL's pattern parser
// (lang/go/logql_pattern.h) sets the extracted value of each named capture, from the line or
// from the extracted value named by `source` (no such value: the entry passes unchanged). A
// line that does not match sets nothing; one that matches part of the way sets the captures up
// to where it stopped, as in Loki. With labels_from_groups each capture also becomes a stream
// label (replacing one of that name; an empty capture removes it, as an empty label value means
// none; a value that is not UTF-8 is skipped). Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewPatternStage(const config::StageConfig& cfg,
                                               const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
