#include "pipeline/registry.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>

#include "config/yaml_reader.h"
#include "pipeline/stages/cri.h"
#include "pipeline/stages/decolorize.h"
#include "pipeline/stages/docker.h"
#include "pipeline/stages/drop.h"
#include "pipeline/stages/echo.h"
#include "pipeline/stages/fanout.h"
#include "pipeline/stages/geoip.h"
#include "pipeline/stages/json.h"
#include "pipeline/stages/label_filter.h"
#include "pipeline/stages/labels.h"
#include "pipeline/stages/limit.h"
#include "pipeline/stages/logfmt.h"
#include "pipeline/stages/luhn.h"
#include "pipeline/stages/match.h"
#include "pipeline/stages/metrics.h"
#include "pipeline/stages/multiline.h"
#include "pipeline/stages/output.h"
#include "pipeline/stages/pack.h"
#include "pipeline/stages/regex.h"
#include "pipeline/stages/relabel.h"
#include "pipeline/stages/replace.h"
#include "pipeline/stages/sampling.h"
#include "pipeline/stages/static_labels.h"
#include "pipeline/stages/structured_metadata.h"
#include "pipeline/stages/template.h"
#include "pipeline/stages/tenant.h"
#include "pipeline/stages/timestamp.h"
#include "pipeline/stages/truncate.h"

namespace skidder::pipeline {
namespace {

// Sorted by name.
constexpr std::pair<std::string_view, StageFactory> kStages[] = {
    {"cri", stages::NewCriStage},
    {"decolorize", stages::NewDecolorizeStage},
    {"docker", stages::NewDockerStage},
    {"drop", stages::NewDropStage},
    {"echo", stages::NewEchoStage},      // skidder's: Alloy's loki.echo
    {"fanout", stages::NewFanoutStage},  // skidder's: Alloy's forward_to to several receivers
    {"geoip", stages::NewGeoipStage},
    {"json", stages::NewJsonStage},
    {"labelallow", stages::NewLabelAllowStage},
    {"labeldrop", stages::NewLabelDropStage},
    {"labels", stages::NewLabelsStage},
    {"limit", stages::NewLimitStage},
    {"logfmt", stages::NewLogfmtStage},
    {"luhn", stages::NewLuhnStage},  // Alloy's stage.luhn; Promtail has none
    {"match", stages::NewMatchStage},
    {"metrics", stages::NewMetricsStage},
    {"multiline", stages::NewMultilineStage},
    {"output", stages::NewOutputStage},
    {"pack", stages::NewPackStage},
    {"regex", stages::NewRegexStage},
    {"relabel", stages::NewRelabelStage},  // skidder's: Alloy's loki.relabel after loki.process
    {"replace", stages::NewReplaceStage},
    {"sampling", stages::NewSamplingStage},
    {"static_labels", stages::NewStaticLabelsStage},
    {"structured_metadata", stages::NewStructuredMetadataStage},
    {"template", stages::NewTemplateStage},
    {"tenant", stages::NewTenantStage},
    {"timestamp", stages::NewTimestampStage},
    {"truncate", stages::NewTruncateStage},  // Alloy's stage.truncate; Promtail has none
};

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
  return FindStageFactory(type) == nullptr &&
         std::find(std::begin(kPromtailOnly), std::end(kPromtailOnly), type) !=
             std::end(kPromtailOnly);
}

Result<std::unique_ptr<Stage>> BuildStage(const config::StageConfig& cfg, const StageContext& ctx,
                                          const std::string& path) {
  StageFactory factory = FindStageFactory(cfg.type);
  // A stage written in Promtail YAML (no origins: not translated from Alloy) may hold keys
  // Promtail ignores (its stages decode with mapstructure): warned about, not refused.
  if (factory != nullptr && ctx.warnings != nullptr && cfg.origins == nullptr) {
    std::vector<std::string> unknown;
    config::StageConfig lenient = cfg;
    lenient.unknown_keys = &unknown;
    auto stage = factory(lenient, ctx, path);
    if (stage) {
      for (const std::string& u : unknown) {
        ctx.warnings->push_back(u + ": ignored, as Promtail ignores it");
      }
    }
    return stage;
  }
  if (factory != nullptr) return factory(cfg, ctx, path);
  std::string msg = IsPromtailOnlyStage(cfg.type)
                        ? fmt::format("stage \"{}\" is not supported by skidder yet", cfg.type)
                        : fmt::format("unknown stage type \"{}\" (known: {})", cfg.type,
                                      fmt::join(StageTypes(), ", "));
  return Err(config::ErrorAt(cfg.file, cfg.body, path, msg));
}

}  // namespace skidder::pipeline
