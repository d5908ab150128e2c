#include "pipeline/stages/regex.h"

#include <re2/re2.h>

#include <utility>
#include <vector>

#include "lang/go/go_regexp.h"
#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

class RegexStage final : public Stage {
 public:
  RegexStage(RegexStageConfig cfg, std::unique_ptr<RE2> re)
      : cfg_(std::move(cfg)), re_(std::move(re)) {
    for (const auto& [name, index] : re_->NamedCapturingGroups()) groups_.emplace_back(index, name);
    groups_size_ = static_cast<size_t>(re_->NumberOfCapturingGroups()) + 1;
    match_.resize(groups_size_);
  }

  void Process(PipelineEntry&& e, Emitter& out) override {
    std::string_view input = e.entry.line;
    if (cfg_.source) {
      const std::string* v = e.extracted.Get(*cfg_.source, e.entry.labels);
      if (v == nullptr) {
        out.Emit(std::move(e));
        return;
      }
      // Setting extracted values below may move v's storage: match a private copy.
      scratch_.assign(*v);
      input = scratch_;
    }
    input = lang::go::GoRegexpInput(input, &valid_);
    if (re_->Match(input, 0, input.size(), RE2::UNANCHORED, match_.data(),
                   static_cast<int>(groups_size_))) {
      for (const auto& [index, name] : groups_) {
        const auto& m = match_[static_cast<size_t>(index)];
        // Into the slot's reused buffer; an unmatched group is "".
        e.extracted.Set(name, std::string_view(m.data(), m.size()));
      }
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "regex"; }

 private:
  RegexStageConfig cfg_;
  std::unique_ptr<RE2> re_;
  std::vector<std::pair<int, std::string>> groups_;  // (group index, name)
  size_t groups_size_ = 1;
  std::vector<re2::StringPiece> match_;  // reused for every entry
  std::string scratch_;
  std::string valid_;  // an input that is not UTF-8, as Go's regexp reads it (GoRegexpInput)
};

}  // namespace

Result<std::unique_ptr<Stage>> NewRegexStage(const config::StageConfig& cfg,
                                             const StageContext& ctx, const std::string& path) {
  RegexStageConfig c;
  config::MapReader r = ReaderFor(cfg, path);
  r.Str("expression", &c.expression);
  if (r.Has("source")) {
    std::string src;
    r.Str("source", &src);
    if (src.empty()) r.Fail("source", "must not be empty");
    c.source = std::move(src);
  }
  if (c.expression.empty()) r.Fail("expression", "expression is required");
  std::unique_ptr<RE2> re;
  if (!c.expression.empty()) {
    re = lang::go::CompileGoRegexp(c.expression);
    if (!re->ok()) r.Fail("expression", "could not compile regular expression: " + re->error());
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<RegexStage>(std::move(c), std::move(re));
}

}  // namespace skidder::pipeline::stages
