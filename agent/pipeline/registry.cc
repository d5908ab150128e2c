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
#include "pipeline/stages/pattern.h"
#include "pipeline/stages/regex.h"
#include "pipeline/stages/relabel.h"
#include "pipeline/stages/replace.h"
#include "pipeline/stages/reset_extracted.h"
#include "pipeline/stages/sampling.h"
#include "pipeline/stages/split_json.h"
#include "pipeline/stages/static_labels.h"
#include "pipeline/stages/structured_metadata.h"
#include "pipeline/stages/template.h"
#include "pipeline/stages/tenant.h"
#include "pipeline/stages/timestamp.h"
#include "pipeline/stages/truncate.h"

namespace skidder::pipeline {
namespace {

struct StageType {
  std::string_view name;
  StageFactory factory;
  bool promtail;  // one of Promtail's stages, which decode their bodies leniently (BuildStage)
};

// Sorted by name.
constexpr StageType kStages[] = {
    {"cri", stages::NewCriStage, true},
    {"decolorize", stages::NewDecolorizeStage, true},
    {"docker", stages::NewDockerStage, true},
    {"drop", stages::NewDropStage, true},
    {"echo", stages::NewEchoStage, false},      // skidder's: Alloy's loki.echo
    {"fanout", stages::NewFanoutStage, false},  // skidder's: Alloy's forward_to to several
    {"geoip", stages::NewGeoipStage, true},
    {"json", stages::NewJsonStage, true},
    {"labelallow", stages::NewLabelAllowStage, true},
    {"labeldrop", stages::NewLabelDropStage, true},
    {"labels", stages::NewLabelsStage, true},
    {"limit", stages::NewLimitStage, true},
    {"logfmt", stages::NewLogfmtStage, true},
    {"luhn", stages::NewLuhnStage, false},  // Alloy's stage.luhn; Promtail has none
    {"match", stages::NewMatchStage, true},
    {"metrics", stages::NewMetricsStage, true},
    {"multiline", stages::NewMultilineStage, true},
    // structured_metadata's old name, which Promtail 3 still takes.
    {"non_indexed_labels", stages::NewStructuredMetadataStage, true},
    {"output", stages::NewOutputStage, true},
    {"pack", stages::NewPackStage, true},
    {"pattern", stages::NewPatternStage, false},  // Alloy's stage.pattern; Promtail has none
    {"regex", stages::NewRegexStage, true},
    {"relabel", stages::NewRelabelStage, false},  // skidder's: Alloy's loki.relabel
    {"replace", stages::NewReplaceStage, true},
    // skidder's: the boundary between two of Alloy's loki.process components on one path.
    {"reset_extracted", stages::NewResetExtractedStage, false},
    {"sampling", stages::NewSamplingStage, true},
    {"split_json", stages::NewSplitJsonStage, false},  // Alloy's stage.split_json
    {"static_labels", stages::NewStaticLabelsStage, true},
    {"structured_metadata", stages::NewStructuredMetadataStage, true},
    // Alloy's stage.structured_metadata_drop; Promtail has none.
    {"structured_metadata_drop", stages::NewStructuredMetadataDropStage, false},
    // Alloy's stage.structured_metadata_regex; Promtail has none.
    {"structured_metadata_regex", stages::NewStructuredMetadataRegexStage, false},
    {"template", stages::NewTemplateStage, true},
    {"tenant", stages::NewTenantStage, true},
    {"timestamp", stages::NewTimestampStage, true},
    {"truncate", stages::NewTruncateStage, false},  // Alloy's stage.truncate; Promtail has none
};

// Promtail's stages skidder does not implement yet (the others are kStages' `promtail` ones).
constexpr std::string_view kPromtailNotYet[] = {"eventlogmessage"};

const StageType* FindStageType(std::string_view type) {
  for (const StageType& s : kStages) {
    if (s.name == type) return &s;
  }
  return nullptr;
}

}  // namespace

StageFactory FindStageFactory(std::string_view type) {
  const StageType* s = FindStageType(type);
  return s != nullptr ? s->factory : nullptr;
}

std::vector<std::string_view> StageTypes() {
  std::vector<std::string_view> out;
  for (const StageType& s : kStages) out.push_back(s.name);
  return out;
}

bool IsPromtailOnlyStage(std::string_view type) {
  return std::find(std::begin(kPromtailNotYet), std::end(kPromtailNotYet), type) !=
         std::end(kPromtailNotYet);
}

Result<std::unique_ptr<Stage>> BuildStage(const config::StageConfig& cfg, const StageContext& ctx,
                                          const std::string& path) {
  const StageType* type = FindStageType(cfg.type);
  // One of Promtail's stages written in Promtail YAML (no origins: not translated from Alloy)
  // may hold keys Promtail ignores (it decodes stage bodies with mapstructure): a warning, not
  // an error, so that a config Promtail ran starts. When the stage fails anyway, its error names
  // them too: a misspelt key is often why ("expresion" for a required "expression").
  if (type != nullptr && type->promtail && ctx.warnings != nullptr && cfg.origins == nullptr) {
    std::vector<std::string> unknown;
    config::StageConfig lenient = cfg;
    lenient.unknown_keys = &unknown;
    auto stage = type->factory(lenient, ctx, path);
    if (!stage && !unknown.empty()) {
      return Err(Status(stage.error().code(), fmt::format("{} (also {})", stage.error().message(),
                                                          fmt::join(unknown, "; "))));
    }
    for (const std::string& u : unknown) {
      std::string warning = u + ": ignored, as Promtail ignores it";
      // Once however often the stage is built: a pipeline shared by YAML anchors, a reload
      // that rebuilds the running config.
      if (std::find(ctx.warnings->begin(), ctx.warnings->end(), warning) == ctx.warnings->end()) {
        ctx.warnings->push_back(std::move(warning));
      }
    }
    return stage;
  }
  if (type != nullptr) return type->factory(cfg, ctx, path);
  std::string msg = IsPromtailOnlyStage(cfg.type)
                        ? fmt::format("stage \"{}\" is not supported by skidder yet", cfg.type)
                        : fmt::format("unknown stage type \"{}\" (known: {})", cfg.type,
                                      fmt::join(StageTypes(), ", "));
  return Err(config::ErrorAt(cfg.file, cfg.body, path, msg));
}

}  // namespace skidder::pipeline
