// The decolorize stage: strips ANSI escape sequences (colours, cursor moves, OSC titles) from
// the line, like Promtail's decolorize stage (Loki's stripansi pattern).
//
// A byte state machine instead of the regex: a line without ESC is checked with one memchr and
// left untouched; otherwise it is compacted in place, never reallocated.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

// Removes every escape sequence the stripansi pattern matches; returns true when it changed s.
bool StripAnsi(std::string& s);

Result<std::unique_ptr<Stage>> NewDecolorizeStage(const config::StageConfig& cfg,
                                                  const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
