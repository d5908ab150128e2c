// The luhn stage (Grafana Alloy's stage.luhn; Promtail has none): replaces every run of at
// least min_length digits that passes the Luhn checksum (card numbers, IMEIs) with a
// replacement, optionally letting delimiter characters (e.g. " -") join the digits of one
// number. As in Alloy, with `source` the redacted text of that extracted value becomes the line.
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

struct LuhnOptions {
  std::string replacement = "**REDACTED**";
  size_t min_length = 13;
  std::string delimiters;  // characters allowed between the digits of one number
};

// in with each Luhn-valid number replaced, as Alloy's stage does it.
std::string RedactLuhn(std::string_view in, const LuhnOptions& o);

Result<std::unique_ptr<Stage>> NewLuhnStage(const config::StageConfig& cfg, const StageContext& ctx,
                                            const std::string& path);

}  // namespace skidder::pipeline::stages
