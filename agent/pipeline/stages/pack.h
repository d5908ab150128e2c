// The pack stage: wraps the line and chosen labels or extracted values into a JSON object,
// like Promtail's pack stage, so they can leave the stream labels and be unpacked at query time
// with LogQL's `| unpack`.
//
// {"<name>":"<value>",...,"_entry":"<line>"} with the names sorted; each listed name is read
// from the extracted map (falling back to the stream labels) and, when it is a stream label,
// removed from the labels. `ingest_timestamp` (default true) sets the entry's timestamp to the
// wall clock (the StageContext's clock), so packed lines of one stream stay in order.
// The line is byte for byte Promtail's: values and the line escaped as Go's encoding/json does
// (<, > and & as \u003c etc., invalid UTF-8 as \ufffd).
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewPackStage(const config::StageConfig& cfg, const StageContext& ctx,
                                            const std::string& path);

}  // namespace skidder::pipeline::stages
