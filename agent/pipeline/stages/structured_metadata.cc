#include "pipeline/stages/structured_metadata.h"

#include <re2/re2.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "lang/go/go_regexp.h"
#include "pipeline/stage_support.h"
#include "pipeline/stages/name_mapping.h"

namespace skidder::pipeline::stages {
namespace {

void SetMetadata(std::vector<Label>& md, const std::string& name, const std::string& value) {
  for (Label& l : md) {
    if (l.name == name) {
      l.value = value;
      return;
    }
  }
  md.push_back(Label{name, value});
}

class StructuredMetadataStage final : public Stage {
 public:
  explicit StructuredMetadataStage(std::vector<std::pair<std::string, std::string>> map)
      : map_(std::move(map)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    for (const auto& [name, source] : map_) {
      if (const std::string* v = e.extracted.GetOwn(source)) {
        if (!v->empty() && formats::IsValidUtf8(*v)) {
          SetMetadata(e.entry.structured_metadata, name, *v);
        }
      } else if (const std::string* l = e.entry.labels.Get(source)) {
        if (formats::IsValidUtf8(*l)) SetMetadata(e.entry.structured_metadata, name, *l);
        e.entry.labels.Remove(source);
      }
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "structured_metadata"; }

 private:
  std::vector<std::pair<std::string, std::string>> map_;  // metadata name -> extracted key
};

class StructuredMetadataDropStage final : public Stage {
 public:
  explicit StructuredMetadataDropStage(std::vector<std::string> names) : names_(std::move(names)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    std::erase_if(e.entry.structured_metadata, [&](const Label& m) {
      return std::find(names_.begin(), names_.end(), m.name) != names_.end();
    });
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "structured_metadata_drop"; }

 private:
  std::vector<std::string> names_;
};

class StructuredMetadataRegexStage final : public Stage {
 public:
  explicit StructuredMetadataRegexStage(std::unique_ptr<RE2> regex) : regex_(std::move(regex)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    Labels& labels = e.entry.labels;
    // The lines of one read share their label set: the labels that move are found once for it.
    if (!labels.SameAs(last_in_)) {
      last_in_ = labels;
      moved_.clear();
      for (const Label& l : labels) {
        if (!l.name.starts_with("__") && RE2::PartialMatch(l.name, *regex_)) moved_.push_back(l);
      }
      last_out_ = labels;
      if (!moved_.empty()) last_out_.RemoveIf([this](const Label& l) { return Moves(l.name); });
    }
    if (moved_.empty()) return out.Emit(std::move(e));
    for (const Label& l : moved_) {
      if (formats::IsValidUtf8(l.value)) SetMetadata(e.entry.structured_metadata, l.name, l.value);
    }
    labels = last_out_;
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "structured_metadata_regex"; }

 private:
  bool Moves(const std::string& name) const {
    return std::any_of(moved_.begin(), moved_.end(),
                       [&](const Label& m) { return m.name == name; });
  }

  std::unique_ptr<RE2> regex_;
  Labels last_in_, last_out_;  // the last label set seen and what is left of it
  std::vector<Label> moved_;   // the labels of last_in_ that move
};

}  // namespace

Result<std::unique_ptr<Stage>> NewStructuredMetadataStage(const config::StageConfig& cfg,
                                                          const StageContext& ctx,
                                                          const std::string& path) {
  auto map = ReadNameMapping(cfg.body, cfg.file, path);
  if (!map) return Err(std::move(map.error()));
  return std::make_unique<StructuredMetadataStage>(std::move(*map));
}

Result<std::unique_ptr<Stage>> NewStructuredMetadataDropStage(const config::StageConfig& cfg,
                                                              const StageContext& ctx,
                                                              const std::string& path) {
  auto names = ReadNameList(cfg.body, cfg.file, path,
                            {.label_names = false, .what = "structured metadata names"});
  if (!names) return Err(std::move(names.error()));
  return std::make_unique<StructuredMetadataDropStage>(std::move(*names));
}

Result<std::unique_ptr<Stage>> NewStructuredMetadataRegexStage(const config::StageConfig& cfg,
                                                               const StageContext& ctx,
                                                               const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::string expr;
  if (!r.Has("regex")) r.Fail("regex", "is required");
  r.Str("regex", &expr);
  std::unique_ptr<RE2> regex;
  if (r.Has("regex")) {
    regex = lang::go::CompileGoRegexp(expr);
    if (!regex->ok()) r.Fail("regex", "could not compile regular expression: " + regex->error());
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<StructuredMetadataRegexStage>(std::move(regex));
}

}  // namespace skidder::pipeline::stages
