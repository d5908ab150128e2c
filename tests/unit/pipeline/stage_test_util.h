// Helpers for the pipeline tests: stages from YAML text, entries, and an Emitter that collects.
#pragma once

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"
#include "pipeline/registry.h"
#include "telemetry/agent_metrics.h"

namespace skidder::pipeline::testing {

inline constexpr const char* kFile = "promtail.yaml";
inline constexpr int64_t kSec = 1'000'000'000;  // a second in nanoseconds

// A StageContext without designated initializers (GCC warns about the unnamed job_name).
inline StageContext Ctx(telemetry::AgentMetrics* metrics,
                        const config::LimitsConfig* limits = nullptr,
                        const Clock* clock = nullptr) {
  StageContext ctx;
  ctx.metrics = metrics;
  ctx.limits = limits;
  ctx.clock = clock;
  return ctx;
}

// "regex:\n  expression: ..." -> the StageConfig the loader would produce.
inline config::StageConfig StageYaml(const std::string& yaml) {
  YAML::Node n = YAML::Load(yaml);
  EXPECT_TRUE(n.IsMap() && n.size() == 1) << yaml;
  auto it = n.begin();
  return config::StageConfig{it->first.Scalar(), it->second, kFile};
}

// A list of stages, as under pipeline_stages.
inline std::vector<config::StageConfig> StagesYaml(const std::string& yaml) {
  std::vector<config::StageConfig> out;
  YAML::Node list = YAML::Load(yaml);
  for (size_t i = 0; i < list.size(); ++i) {
    YAML::Node item = list[i];
    auto it = item.begin();
    out.push_back(config::StageConfig{it->first.Scalar(), it->second, kFile});
  }
  return out;
}

inline Entry MakeEntry(std::string line, Labels labels = {}, int64_t ts = 0) {
  Entry e;
  e.line = std::move(line);
  e.labels = std::move(labels);
  e.timestamp_ns = ts;
  return e;
}

class Collect final : public Emitter {
 public:
  void Emit(PipelineEntry&& e) override { entries.push_back(std::move(e)); }
  std::vector<PipelineEntry> entries;
};

// One stage built from YAML, failing the test on a config error.
inline std::unique_ptr<Stage> MustBuild(const std::string& yaml, const StageContext& ctx = {}) {
  auto s = BuildStage(StageYaml(yaml), ctx, "pipeline_stages[0]");
  EXPECT_TRUE(s.has_value()) << s.error().message();
  return s ? std::move(*s) : nullptr;
}

// Runs one entry through a stage and returns what came out.
inline std::vector<PipelineEntry> RunStage(Stage& stage, Entry e, const BatchTime& now = {}) {
  Collect c;
  stage.Process(PipelineEntry{std::move(e), {}, now}, c);
  return std::move(c.entries);
}

inline std::string ExtractedOr(const PipelineEntry& e, const std::string& key,
                               const std::string& absent = "<absent>") {
  const std::string* v = e.extracted.GetOwn(key);
  return v ? *v : absent;
}

inline std::string LabelOr(const PipelineEntry& e, const std::string& key,
                           const std::string& absent = "<absent>") {
  const std::string* v = e.entry.labels.Get(key);
  return v ? *v : absent;
}

// The config error for a stage body, or "" when it built.
inline std::string ConfigError(const std::string& yaml, const StageContext& ctx = {}) {
  auto s = BuildStage(StageYaml(yaml), ctx, "pipeline_stages[0]");
  return s ? std::string() : s.error().message();
}

// Metrics on a private registry.
struct TestMetrics {
  telemetry::Registry registry;
  telemetry::AgentMetrics metrics{registry};
  double Dropped(const std::string& reason) {
    return metrics.dropped_lines.With({reason})->Value();
  }
};

}  // namespace skidder::pipeline::testing
