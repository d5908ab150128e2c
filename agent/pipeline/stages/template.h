// The template stage: sets an extracted value from a Go template, like Promtail's template
// stage (see template_engine.h for the syntax and functions supported).
//
// `source` names the extracted key to set; the template sees every extracted value as .name
// (falling back to the stream labels), the source's current value as .Value and the line as
// .Entry. An empty result removes the key; an execution error (e.g. ToUpper of a missing
// value) leaves the entry unchanged, as Promtail does. The template is parsed once, here.
// Owned by one Pipeline; called from its thread only.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config/yaml_reader.h"
#include "lang/go/template_engine.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "util/clock.h"
#include "util/status.h"

namespace skidder::pipeline::stages {

// What templates read from an entry (also used by the replace stage): .Value, .Entry, and the
// extracted map with the labels behind it.
class EntryTemplateData final : public lang::go::TemplateData {
 public:
  explicit EntryTemplateData(const PipelineEntry& e) : e_(e) {}
  // .Value: the extracted value named `source` (template), or a fixed string (replace).
  void SetValueKey(const std::string* source) { value_key_ = source; }
  void SetValue(const std::string* value) { value_ = value; }

  const std::string* Field(std::string_view name) const override;
  // Go's now: the time of the entry's batch.
  int64_t NowNs() const override { return e_.now.wall_ns; }

 private:
  const PipelineEntry& e_;
  const std::string* value_key_ = nullptr;
  const std::string* value_ = nullptr;
};

// Parses a template for a stage's config key, with the error at that key's position.
Result<lang::go::Template> ParseTemplateAt(config::MapReader& r, std::string_view key,
                                           const std::string& text);

Result<std::unique_ptr<Stage>> NewTemplateStage(const config::StageConfig& cfg,
                                                const StageContext& ctx, const std::string& path);

}  // namespace skidder::pipeline::stages
