// The json stage: values from a JSON line (or extracted value) into the extracted map, like
// Promtail's json stage.
//
// `expressions` maps an extracted name to a JMESPath expression (empty = the name itself):
// names, "quoted names", dotted paths, [n] indexes (negative from the end), projections
// (`a[*].b`, `a.*`, `a[].b`) and multi-select lists (`[a, b]`); see json_path.h. Any other
// JMESPath syntax is refused at config time.
// Strings are stored as is, numbers as Go's %v would print them, true/false, null and missing
// as "", objects and arrays as compact JSON text as Promtail's json.Marshal writes it (keys
// sorted, HTML-safe escaping). A line that is not a JSON object passes on
// unchanged, or is dropped when drop_malformed is set (counted as reason "malformed").
// Owned by one Pipeline; called from its thread only (the parse arena is reused per entry).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "lang/go/json_path.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewJsonStage(const config::StageConfig& cfg, const StageContext& ctx,
                                            const std::string& path);

}  // namespace skidder::pipeline::stages
