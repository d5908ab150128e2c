#include "pipeline/stages/template.h"

#include <utility>

#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {

using lang::go::Template;

const std::string* EntryTemplateData::Field(std::string_view name) const {
  if (name == "Entry") return &e_.entry.line;
  if (name == "Value") {
    if (value_ != nullptr) return value_;
    if (value_key_ != nullptr) {
      if (const std::string* v = e_.extracted.Get(*value_key_, e_.entry.labels)) return v;
    }
  }
  return e_.extracted.Get(name, e_.entry.labels);
}

Result<Template> ParseTemplateAt(config::MapReader& r, std::string_view key,
                                 const std::string& text) {
  auto t = Template::Parse(text);
  if (!t) r.Fail(key, t.error().message());
  return t;
}

namespace {

class TemplateStage final : public Stage {
 public:
  TemplateStage(std::string source, Template tmpl, size_t max_bytes, telemetry::Counter* truncated)
      : source_(std::move(source)),
        tmpl_(std::move(tmpl)),
        max_bytes_(max_bytes),
        truncated_(truncated) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    result_.clear();
    EntryTemplateData data(e);
    data.SetValueKey(&source_);
    Template::Limit limit{max_bytes_};
    const bool ok = tmpl_.Execute(data, &result_, &error_, &limit);
    if (limit.exceeded) Inc(truncated_);
    if (ok) {
      if (result_.empty())
        e.extracted.Remove(source_);
      else
        e.extracted.Set(source_, result_);
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "template"; }

 private:
  std::string source_;
  Template tmpl_;
  size_t max_bytes_;
  telemetry::Counter* truncated_;
  std::string result_, error_;  // reused per entry
};

}  // namespace

Result<std::unique_ptr<Stage>> NewTemplateStage(const config::StageConfig& cfg,
                                                const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::string source, text;
  r.Str("source", &source);
  r.Str("template", &text);
  if (source.empty()) r.Fail("source", "template source value is required");
  auto tmpl = ParseTemplateAt(r, "template", text);
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<TemplateStage>(std::move(source), std::move(*tmpl), StageOutputCap(ctx),
                                         TruncatedCounter(ctx));
}

}  // namespace skidder::pipeline::stages
