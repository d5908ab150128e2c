#include "pipeline/stages/truncate.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <vector>

#include "pipeline/stage_support.h"
#include "util/byte_size.h"

namespace skidder::pipeline::stages {
namespace {

struct Rule {
  std::string type = "line";  // line | label | structured_metadata | extracted
  size_t keep = 0;            // bytes kept before the suffix: limit - suffix size
  std::string suffix;
  std::vector<std::string> sources;  // names; empty = every field of the type
};

class TruncateStage final : public Stage {
 public:
  explicit TruncateStage(std::vector<Rule> rules) : rules_(std::move(rules)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    std::set<std::string> fields;
    for (const Rule& r : rules_) {
      if (r.type == "line") {
        if (Cut(r, e.entry.line)) fields.insert("line");
      } else if (r.type == "label") {
        CutLabels(r, e, fields);
      } else if (r.type == "structured_metadata") {
        for (Label& m : e.entry.structured_metadata) {
          if (Wanted(r, m.name) && Cut(r, m.value)) fields.insert(r.type);
        }
      } else {
        CutExtracted(r, e, fields);
      }
      if (!fields.empty()) Record(e, fields);
    }
    out.Emit(std::move(e));
  }
  std::string_view Name() const override { return "truncate"; }

 private:
  static bool Wanted(const Rule& r, std::string_view name) {
    return r.sources.empty() || std::ranges::find(r.sources, name) != r.sources.end();
  }
  static bool Cut(const Rule& r, std::string& s) {
    if (s.size() <= r.keep) return false;
    s.resize(r.keep);
    s += r.suffix;
    return true;
  }
  // Stream labels; the internal "__" ones are not the entry's labels in Alloy.
  static void CutLabels(const Rule& r, PipelineEntry& e, std::set<std::string>& fields) {
    std::vector<Label> cut;
    for (const Label& l : e.entry.labels) {
      if (l.name.starts_with("__") || !Wanted(r, l.name) || l.value.size() <= r.keep) continue;
      cut.push_back(l);
    }
    for (Label& l : cut) {
      Cut(r, l.value);
      e.entry.labels.Set(l.name, l.value);
      fields.insert("label");
    }
  }
  // Alloy's extracted map starts as a copy of the labels: those count as extracted values too.
  static void CutExtracted(const Rule& r, PipelineEntry& e, std::set<std::string>& fields) {
    std::vector<std::pair<std::string, std::string>> cut;
    for (const auto& [k, v] : e.extracted) {
      if (Wanted(r, k) && v.size() > r.keep) cut.emplace_back(k, v);
    }
    for (const Label& l : e.entry.labels) {
      if (l.name.starts_with("__") || e.extracted.GetOwn(l.name) != nullptr) continue;
      if (Wanted(r, l.name) && l.value.size() > r.keep) cut.emplace_back(l.name, l.value);
    }
    for (auto& [k, v] : cut) {
      Cut(r, v);
      e.extracted.Set(k, std::move(v));
      fields.insert("extracted");
    }
  }
  // `truncated`: the union with what an earlier truncate stage recorded, sorted.
  static void Record(PipelineEntry& e, std::set<std::string>& fields) {
    if (const std::string* old = e.extracted.Get("truncated", e.entry.labels)) {
      std::string_view rest = *old;
      while (true) {
        size_t comma = rest.find(',');
        fields.insert(std::string(rest.substr(0, comma)));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
      }
    }
    e.extracted.Set("truncated", fmt::format("{}", fmt::join(fields, ",")));
  }

  std::vector<Rule> rules_;
};

Status ReadRule(const YAML::Node& node, const config::StageConfig& cfg, const std::string& path,
                Rule* out) {
  config::MapReader r(node, cfg.file, path);
  std::string limit;
  r.Str("limit", &limit);
  r.Str("suffix", &out->suffix);
  r.StrList("sources", &out->sources);
  r.Str("source_type", &out->type);
  int64_t bytes = 0;
  if (!r.Has("limit")) {
    r.Fail("limit", "limit is required");
  } else if (!ParseByteSize(limit, &bytes) || bytes <= 0) {
    r.Fail("limit", "limit must be a size greater than zero, like 1KiB or 256");
  } else if (out->suffix.size() >= static_cast<size_t>(bytes)) {
    r.Fail("suffix", "suffix length cannot be greater than or equal to limit");
  }
  static constexpr std::string_view kTypes[] = {"line", "label", "structured_metadata",
                                                "extracted"};
  if (std::ranges::find(kTypes, out->type) == std::end(kTypes)) {
    r.Fail("source_type", fmt::format("unknown source_type \"{}\" (line, label, "
                                      "structured_metadata or extracted)",
                                      out->type));
  } else if (out->type == "line" && !out->sources.empty()) {
    r.Fail("sources", "sources cannot be set when source_type is 'line'");
  }
  if (Status s = r.Finish(); !s.ok()) return s;
  out->keep = static_cast<size_t>(bytes) - out->suffix.size();
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Stage>> NewTruncateStage(const config::StageConfig& cfg,
                                                const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  YAML::Node rules = r.Node("rules");
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  if (!rules.IsDefined() || !rules.IsSequence() || rules.size() == 0) {
    return Err(config::ErrorAt(cfg.file, rules.IsDefined() ? rules : cfg.body, path + ".rules",
                               "at least one truncate rule must be defined"));
  }
  std::vector<Rule> out(rules.size());
  for (size_t i = 0; i < rules.size(); ++i) {
    Status s = ReadRule(rules[i], cfg, fmt::format("{}.rules[{}]", path, i), &out[i]);
    if (!s.ok()) return Err(std::move(s));
  }
  return std::make_unique<TruncateStage>(std::move(out));
}

}  // namespace skidder::pipeline::stages
