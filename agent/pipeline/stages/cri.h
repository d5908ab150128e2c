// The cri stage: parses CRI container log lines (containerd, CRI-O) like Promtail's cri stage.
//
// Extracted: time, stream, flags, content. Label `stream` is set; the entry's timestamp becomes
// the record's and its line the message. P fragments are joined per stream (labels) with the
// F that ends them, bounded as PartialOptionsFor() describes. A line that is not CRI passes
// through unchanged and is counted in skidder_malformed_lines_total{format="cri"}.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

struct CriStageConfig {
  int max_partial_lines = 100;                  // streams with a line in progress at once
  int64_t max_partial_line_size = 0;            // bytes; used when max_partial_line_size_truncate
  bool max_partial_line_size_truncate = false;  // cut joined lines to max_partial_line_size
};

Result<CriStageConfig> ParseCriStageConfig(const config::StageConfig& cfg, const std::string& path);
Result<std::unique_ptr<Stage>> NewCriStage(const config::StageConfig& cfg, const StageContext& ctx,
                                           const std::string& path);

}  // namespace skidder::pipeline::stages
