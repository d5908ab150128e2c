// The stage registry: stage type name (as written under pipeline_stages) -> factory.
//
// Adding a stage is one .h/.cc pair in stages/ and one line in registry.cc. Read-only after
// static initialisation; safe from any thread. Pipeline::Build is the only caller outside tests.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/status.h"

namespace skidder::pipeline {

// Builds one stage from its config. `path` names the stage in error messages, e.g.
// "pipeline_stages[2].regex"; errors carry file:line:column from cfg.body's marks.
using StageFactory = Result<std::unique_ptr<Stage>> (*)(const config::StageConfig& cfg,
                                                        const StageContext& ctx,
                                                        const std::string& path);

// nullptr when the type is unknown.
StageFactory FindStageFactory(std::string_view type);
// Names of every registered stage, sorted, for "unknown stage" messages.
std::vector<std::string_view> StageTypes();
// True for stages Promtail has that skidder does not implement yet (refused, never ignored).
bool IsPromtailOnlyStage(std::string_view type);

// Builds one stage the way Pipeline::Build does (unknown types refused with position).
Result<std::unique_ptr<Stage>> BuildStage(const config::StageConfig& cfg, const StageContext& ctx,
                                          const std::string& path);

}  // namespace skidder::pipeline
