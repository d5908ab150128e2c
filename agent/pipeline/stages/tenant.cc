#include "pipeline/stages/tenant.h"

#include <utility>

#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

class TenantStage final : public Stage {
 public:
  enum class From { kSource, kLabel, kValue };
  TenantStage(From from, std::string key) : from_(from), key_(std::move(key)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    const std::string* tenant = &key_;
    if (from_ == From::kSource) tenant = e.extracted.Get(key_, e.entry.labels);
    if (from_ == From::kLabel) tenant = e.entry.labels.Get(key_);
    if (tenant != nullptr && !tenant->empty()) {
      const std::string* have = e.entry.labels.Get(kTenantLabel);
      if (have == nullptr || *have != *tenant) {
        scratch_.assign(*tenant);  // tenant may point into the labels Set() rearranges
        e.entry.labels.Set(kTenantLabel, scratch_);
      }
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "tenant"; }

 private:
  From from_;
  std::string key_;  // extracted key, label name, or the tenant itself
  std::string scratch_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewTenantStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::string source, label, value;
  r.Str("source", &source);
  r.Str("label", &label);
  r.Str("value", &value);
  const int set = !source.empty() + !label.empty() + !value.empty();
  if (set == 0) r.Fail("source", "one of label, source or value is required");
  if (set > 1) {
    r.Fail(!value.empty() ? "value" : "label",
           "label, source and value are mutually exclusive: set only one");
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  if (!source.empty()) return std::make_unique<TenantStage>(TenantStage::From::kSource, source);
  if (!label.empty()) return std::make_unique<TenantStage>(TenantStage::From::kLabel, label);
  return std::make_unique<TenantStage>(TenantStage::From::kValue, value);
}

}  // namespace skidder::pipeline::stages
