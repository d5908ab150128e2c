// The timestamp stage: sets the entry's timestamp from an extracted value, like Promtail's
// timestamp stage.
//
// `format` (and each of `fallback_formats`, tried in order) is a Go reference layout, one of
// Go's named layouts (ANSIC, UnixDate, RubyDate, RFC822, RFC822Z, RFC850, RFC1123, RFC1123Z,
// RFC3339, RFC3339Nano; skidder also knows Kitchen and Stamp, StampMilli, StampMicro, StampNano),
// or Unix, UnixMs, UnixUs, UnixNs. As in Promtail, the named layouts ignore `location` (an IANA
// zone read from the system's tzdata) and custom layouts use it for values without an offset;
// a layout without a year takes the current year (December values read in January belong to
// the previous year, January values read in December to the next).
// `action_on_failure`: fudge (default) sets a value that is missing or does not parse to 1ns
// after the last timestamp of that stream (label set), so order is kept; skip leaves it.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewTimestampStage(const config::StageConfig& cfg,
                                                 const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
