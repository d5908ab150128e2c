#include "pipeline/stages/labels.h"

#include <cstdint>
#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "pipeline/stage_support.h"
#include "pipeline/stages/name_mapping.h"

namespace skidder::pipeline::stages {
namespace {

class LabelsStage final : public Stage {
 public:
  explicit LabelsStage(std::vector<std::pair<std::string, std::string>> map)
      : map_(std::move(map)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    // The result depends on the label set and the extracted values the mapping reads: the same
    // pair as for a previous entry (the next line of a file, level=info again) reuses its result.
    if (LabelsMemo::Use(e.entry.labels)) BuildKey(e.extracted);  // only a lookup needs the key
    memo_.Apply(e.entry.labels, key_, [&](Labels&) { Apply(e); });
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "labels"; }

 private:
  void Apply(PipelineEntry& e) {
    for (const auto& [name, source] : map_) {
      const std::string* v = e.extracted.Get(source, e.entry.labels);
      if (v == nullptr || !formats::IsValidUtf8(*v)) continue;
      if (e.extracted.GetOwn(source) == nullptr) {
        // A label's own value: copy it out before Set() can move the label storage.
        if (v == e.entry.labels.Get(name)) continue;
        scratch_.assign(*v);
        v = &scratch_;
      }
      e.entry.labels.Set(name, *v);
    }
  }

  // Each source's own extracted value (or its absence), length-prefixed so that no two
  // different lists of values make the same key. Labels the mapping reads are part of the
  // label set, which the memo compares by identity.
  void BuildKey(const Extracted& extracted) {
    key_.clear();
    for (const auto& [name, source] : map_) {
      const std::string* v = extracted.GetOwn(source);
      if (v == nullptr) {
        key_.push_back('\0');
        continue;
      }
      key_.push_back('\1');
      const auto n = static_cast<uint32_t>(v->size());
      key_.append(reinterpret_cast<const char*>(&n), sizeof(n));
      key_.append(*v);
    }
  }

  std::vector<std::pair<std::string, std::string>> map_;  // label name -> extracted key
  std::string scratch_;
  std::string key_;  // reused per entry
  LabelsMemo memo_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewLabelsStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path) {
  auto map = ReadNameMapping(cfg.body, cfg.file, path);
  if (!map) return Err(std::move(map.error()));
  return std::make_unique<LabelsStage>(std::move(*map));
}

}  // namespace skidder::pipeline::stages
