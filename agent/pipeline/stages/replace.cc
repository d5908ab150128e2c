#include "pipeline/stages/replace.h"

#include <re2/re2.h>

#include <optional>
#include <utility>
#include <vector>

#include "formats/utf8.h"
#include "lang/go/go_regexp.h"
#include "pipeline/stage_support.h"
#include "pipeline/stages/template.h"

namespace skidder::pipeline::stages {

using lang::go::ForEachGoMatch;
using lang::go::Template;

namespace {

class ReplaceStage final : public Stage {
 public:
  ReplaceStage(std::unique_ptr<RE2> re, std::optional<std::string> source, Template replace,
               size_t max_bytes, telemetry::Counter* truncated)
      : re_(std::move(re)),
        source_(std::move(source)),
        replace_(std::move(replace)),
        max_bytes_(max_bytes),
        truncated_(truncated) {
    group_names_.resize(static_cast<size_t>(re_->NumberOfCapturingGroups()) + 1);
    for (const auto& [name, index] : re_->NamedCapturingGroups()) {
      group_names_[static_cast<size_t>(index)] = name;
    }
    first_.resize(group_names_.size());
    first_set_.resize(group_names_.size());
  }

  void Process(PipelineEntry&& e, Emitter& out) override {
    const std::optional<std::string_view> input = SourceText(e, source_, &input_copy_);
    if (!input) {
      out.Emit(std::move(e));
      return;
    }
    Template::Limit limit{max_bytes_};
    // A replaced line that was not UTF-8 is built from its U+FFFD form (as Loki gets it anyway).
    const bool rewritten = Rewrite(e, lang::go::GoRegexpInput(*input, &valid_), &limit);
    if (limit.exceeded) Inc(truncated_);
    if (rewritten) {
      if (source_)
        e.extracted.Set(*source_, result_);
      else
        e.entry.line.swap(result_);
      for (size_t i = 1; i < group_names_.size(); ++i) {
        if (!group_names_[i].empty() && first_set_[i]) e.extracted.Set(group_names_[i], first_[i]);
      }
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "replace"; }

 private:
  // Builds result_ and the first match's replaced groups; false when nothing matched or the
  // template failed. A result longer than limit->max_bytes is cut there.
  bool Rewrite(const PipelineEntry& e, std::string_view input, Template::Limit* limit) {
    result_.clear();
    std::fill(first_set_.begin(), first_set_.end(), false);
    EntryTemplateData data(e);
    bool matched = false, ok = true;
    size_t prev = 0;
    ForEachGoMatch(*re_, input, groups_, [&](const std::vector<re2::StringPiece>& g) {
      const bool first_match = !matched;
      matched = true;
      for (size_t i = 1; i < g.size(); ++i) {
        if (g[i].data() == nullptr) continue;
        const std::string* rep = replace_.Constant();
        if (rep == nullptr) {
          value_.assign(g[i].data(), g[i].size());
          data.SetValue(&value_);
          rendered_.clear();
          if (!replace_.Execute(data, &rendered_, &error_, limit)) return ok = false;
          rep = &rendered_;
        }
        const size_t start = static_cast<size_t>(g[i].data() - input.data());
        // Promtail's condition, kept for identical output: a group starting right where the
        // previous replaced group ended (or inside it) is left as it is.
        if (prev == 0 || prev < start) {
          result_.append(input.substr(prev, start - prev));
          result_.append(*rep);
          prev = start + g[i].size();
        }
        if (first_match) first_[i] = *rep, first_set_[i] = true;
      }
      return result_.size() <= limit->max_bytes;
    });
    if (!matched || !ok) return false;
    result_.append(input.substr(prev));
    if (formats::TruncateUtf8(result_, limit->max_bytes)) limit->exceeded = true;
    return true;
  }

  std::unique_ptr<RE2> re_;
  std::optional<std::string> source_;
  Template replace_;
  size_t max_bytes_;
  telemetry::Counter* truncated_;
  std::vector<std::string> group_names_;  // by group index; "" for unnamed groups
  // Reused per entry:
  std::vector<re2::StringPiece> groups_;
  std::vector<std::string> first_;  // the first match's groups, replaced: extracted values
  std::vector<bool> first_set_;
  std::string input_copy_, result_, value_, rendered_, error_;
  std::string valid_;  // an input that is not UTF-8, as Go's regexp reads it (GoRegexpInput)
};

}  // namespace

Result<std::unique_ptr<Stage>> NewReplaceStage(const config::StageConfig& cfg,
                                               const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::string expression, replace;
  std::optional<std::string> source;
  r.Str("expression", &expression);
  r.Str("replace", &replace);
  if (r.Has("source")) {
    r.Str("source", &source.emplace());
    if (source->empty()) r.Fail("source", "must not be empty");
  }
  if (expression.empty()) r.Fail("expression", "expression is required");
  std::unique_ptr<RE2> re;
  if (!expression.empty()) {
    re = lang::go::CompileGoRegexp(expression);
    if (!re->ok()) r.Fail("expression", "could not compile regular expression: " + re->error());
  }
  auto tmpl = ParseTemplateAt(r, "replace", replace);
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<ReplaceStage>(std::move(re), std::move(source), std::move(*tmpl),
                                        StageOutputCap(ctx), TruncatedCounter(ctx));
}

}  // namespace skidder::pipeline::stages
