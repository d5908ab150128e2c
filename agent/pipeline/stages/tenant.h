// The tenant stage: sets the entry's tenant (the __tenant_id__ label, sent as X-Scope-OrgID),
// like Promtail's tenant stage.
//
// Exactly one of `source` (an extracted value), `label` (a stream label) or `value` (fixed).
// A missing or empty value leaves the entry alone, so the client's tenant_id applies.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

Result<std::unique_ptr<Stage>> NewTenantStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
