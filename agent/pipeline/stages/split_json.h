// The split_json stage (Grafana Alloy's stage.split_json; Promtail has none): an entry whose line
// (or the extracted value named by `source`) is a top-level JSON array becomes one entry per
// element, each element's JSON text, byte for byte, as its line (`null` stays `null`, numbers
// keep their spelling). Every other entry, invalid JSON included, passes on unchanged; an empty
// array sends nothing (the entry counts as done). The elements share the entry's labels,
// timestamp, extracted values and acknowledgement: the source bytes are done once all are.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

// The text of each element of the JSON array `text` (which must be valid JSON: the caller has
// parsed it), without the whitespace around it.
void SplitJsonArray(std::string_view text, std::vector<std::string_view>* out);

Result<std::unique_ptr<Stage>> NewSplitJsonStage(const config::StageConfig& cfg,
                                                 const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
