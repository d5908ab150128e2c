// The split_json stage (Grafana Alloy's stage.split_json; Promtail has none): an entry whose line
// (or the extracted value named by `source`) is a top-level JSON array becomes one entry per
// element, each element's JSON text, byte for byte, as its line (`null` stays `null`, numbers
// keep their spelling). Every other entry, invalid JSON included, passes on unchanged; an empty
// array sends nothing (the entry counts as done); an array past the bounds below passes as it
// is, with a warning. The elements share the entry's labels,
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

// Bound on the elements of one array: a hostile line of 4 MiB of `[1,1,1,...` would otherwise
// become two million entries at once (hundreds of megabytes). Beyond it the line passes as it is
// (Alloy splits whatever the size).
inline constexpr size_t kMaxSplitElements = 65536;
// And on bytes: what the elements' entries keep besides their text (the entry, its structured
// metadata), 64 MiB, and what making them copies of the extracted values, 1 GiB (Alloy's copies
// share their strings; a cri stage's `content` is the whole line).
inline constexpr size_t kMaxSplitKeptBytes = size_t{64} << 20;
inline constexpr size_t kMaxSplitCopiedBytes = size_t{1} << 30;

// The text of each element of the JSON array `text` (which must be valid JSON: the caller has
// parsed it), without the whitespace around it. False, with *out partly filled, when there are
// more than max_elements.
bool SplitJsonArray(std::string_view text, size_t max_elements, std::vector<std::string_view>* out);

Result<std::unique_ptr<Stage>> NewSplitJsonStage(const config::StageConfig& cfg,
                                                 const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
