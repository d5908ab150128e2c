#include "pipeline/stages/pattern.h"

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "lang/go/logql_pattern.h"
#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

constexpr size_t kMaxMemoKey = 1024;

class PatternStage final : public Stage {
 public:
  PatternStage(lang::go::LinePattern pattern, std::optional<std::string> source, bool labels)
      : pattern_(std::move(pattern)), source_(std::move(source)), labels_(labels) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    const std::optional<std::string_view> input = SourceText(e, source_, &scratch_);
    if (!input) {
      out.Emit(std::move(e));
      return;
    }
    // Views into the line or scratch_, neither of which the Set()s below touch.
    const size_t n = pattern_.Match(*input, &values_);
    const std::vector<std::string>& names = pattern_.names();
    for (size_t i = 0; i < n; ++i) e.extracted.Set(names[i], values_[i]);
    if (labels_ && n > 0) {
      // Consecutive lines often capture the same values (level=info again): the memo hands the
      // entry the label set made for them before instead of a copy per line.
      // A capture holding the rest of a long line would make each remembered result cost that
      // line twice (key and labels) for values that seldom come again: not remembered.
      auto change = [&](Labels& labels) {
        for (size_t i = 0; i < n; ++i) {
          if (formats::IsValidUtf8(values_[i])) labels.Set(names[i], values_[i]);
        }
      };
      if (LabelsMemo::Use(e.entry.labels) && BuildKey(n) <= kMaxMemoKey) {
        memo_.Apply(e.entry.labels, key_, change);
      } else {
        change(e.entry.labels);
      }
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "pattern"; }

 private:
  // The captured values, length-prefixed so that no two different lists make the same key;
  // returns its size.
  size_t BuildKey(size_t n) {
    key_.clear();
    for (size_t i = 0; i < n; ++i) {
      const auto size = static_cast<uint32_t>(values_[i].size());
      key_.append(reinterpret_cast<const char*>(&size), sizeof(size));
      key_.append(values_[i]);
    }
    return key_.size();
  }

  lang::go::LinePattern pattern_;
  std::optional<std::string> source_;
  bool labels_;
  std::vector<std::string_view> values_;  // reused per entry
  std::string scratch_;                   // the source value's copy
  std::string key_;
  LabelsMemo memo_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewPatternStage(const config::StageConfig& cfg,
                                               const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::string text;
  std::optional<std::string> source;
  bool labels = false;
  r.Str("pattern", &text);
  if (r.Has("source")) {
    r.Str("source", &source.emplace());
    if (source->empty()) r.Fail("source", "must not be empty");
  }
  r.Bool("labels_from_groups", &labels);
  auto pattern = lang::go::LinePattern::Parse(text);
  if (!pattern) r.Fail("pattern", pattern.error().message());
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<PatternStage>(std::move(*pattern), std::move(source), labels);
}

}  // namespace skidder::pipeline::stages
