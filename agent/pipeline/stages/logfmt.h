// The logfmt stage: key=value pairs into the extracted map, like Promtail's logfmt stage.
//
// `mapping` names the extracted keys to set and the logfmt key each comes from (empty = same
// name); keys not in the mapping are ignored. Parses the line, or the extracted value named by
// `source` (missing source: the entry passes unchanged). Decoding follows go-logfmt: quoted
// values are unescaped, a bare key has an empty value, and a syntax error stops the scan (pairs
// before it stay extracted). Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

// One go-logfmt pair. `value` points into the input unless the value was quoted with escapes,
// in which case it points into `scratch`.
struct LogfmtPair {
  std::string_view key;
  std::string_view value;
};

// Scans `input` from *pos; false at the end or on a syntax error (then *error is set).
bool NextLogfmtPair(std::string_view input, size_t* pos, LogfmtPair* pair, std::string* scratch,
                    bool* error);

Result<std::unique_ptr<Stage>> NewLogfmtStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
