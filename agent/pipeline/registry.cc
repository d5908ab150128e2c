#include "pipeline/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

#include "config/yaml_reader.h"
#include "pipeline/stages/cri.h"
#include "pipeline/stages/docker.h"
#include "pipeline/stages/drop.h"
#include "pipeline/stages/json.h"
#include "pipeline/stages/labels.h"
#include "pipeline/stages/output.h"
#include "pipeline/stages/regex.h"
#include "pipeline/stages/static_labels.h"

namespace skidder::pipeline {
namespace {

// Sorted by name.
constexpr std::array<std::pair<std::string_view, StageFactory>, 8> kStages = {{
    {"cri", stages::NewCriStage},
    {"docker", stages::NewDockerStage},
    {"drop", stages::NewDropStage},
    {"json", stages::NewJsonStage},
    {"labels", stages::NewLabelsStage},
    {"output", stages::NewOutputStage},
    {"regex", stages::NewRegexStage},
    {"static_labels", stages::NewStaticLabelsStage},
}};

constexpr std::string_view kPromtailOnly[] = {
    "decolorize", "eventlogmessage",
    "geoip",      "labelallow",
    "labeldrop",  "limit",
    "logfmt",     "match",
    "metrics",    "multiline",
    "pack",       "replace",
    "sampling",   "structured_metadata",
    "template",   "tenant",
    "timestamp",
};

}  // namespace

StageFactory FindStageFactory(std::string_view type) {
  for (const auto& [name, factory] : kStages) {
    if (name == type) return factory;
  }
  return nullptr;
}

std::vector<std::string_view> StageTypes() {
  std::vector<std::string_view> out;
  for (const auto& s : kStages) out.push_back(s.first);
  return out;
}

bool IsPromtailOnlyStage(std::string_view type) {
  return std::find(std::begin(kPromtailOnly), std::end(kPromtailOnly), type) !=
         std::end(kPromtailOnly);
}

Result<std::unique_ptr<Stage>> BuildStage(const config::StageConfig& cfg, const StageContext& ctx,
                                          const std::string& path) {
  StageFactory factory = FindStageFactory(cfg.type);
  if (factory != nullptr) return factory(cfg, ctx, path);
  std::string msg = IsPromtailOnlyStage(cfg.type)
                        ? fmt::format("stage \"{}\" is not supported by skidder yet", cfg.type)
                        : fmt::format("unknown stage type \"{}\" (known: {})", cfg.type,
                                      fmt::join(StageTypes(), ", "));
  return Err(config::ErrorAt(cfg.file, cfg.body, path, msg));
}

}  // namespace skidder::pipeline
