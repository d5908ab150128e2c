// The fanout stage (skidder's; Promtail has none): each entry goes down every branch, a copy
// each, and each branch's entries go only to the clients it names. It is how Alloy's forward_to
// to several receivers runs: a source's lines are read once, and every loki.process /
// loki.relabel path gets its own copy of each entry, on to its own loki.write components.
//
//   - fanout:
//       - stages: [{json: {expressions: {level: ""}}}]  # this branch's stages (optional)
//         clients: [0]     # indices into `clients`; the branch's entries go only there
//       - clients: [1]     # no stages: the entry as it is, to clients[1]
//
// A branch without `clients` sends to every client (a nested fanout may narrow it). Must be the
// last stage of its list. Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewFanoutStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
