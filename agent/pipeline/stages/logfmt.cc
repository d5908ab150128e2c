#include "pipeline/stages/logfmt.h"

#include <optional>
#include <utility>
#include <vector>

#include "pipeline/stage_support.h"
#include "pipeline/stages/name_mapping.h"
#include "util/unescape.h"

namespace skidder::pipeline::stages {
namespace {

class LogfmtStage final : public Stage {
 public:
  LogfmtStage(std::vector<std::pair<std::string, std::string>> mapping,
              std::optional<std::string> source)
      : mapping_(std::move(mapping)), source_(std::move(source)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    const std::optional<std::string_view> input = SourceText(e, source_, &input_copy_);
    if (!input) {
      out.Emit(std::move(e));
      return;
    }
    size_t pos = 0;
    LogfmtPair pair;
    bool error = false;
    while (NextLogfmtPair(*input, &pos, &pair, &scratch_, &error)) {
      for (const auto& [target, key] : mapping_) {
        if (key == pair.key) e.extracted.Set(target, pair.value);  // into a reused slot
      }
    }
    out.Emit(std::move(e));
  }

  std::string_view Name() const override { return "logfmt"; }

 private:
  std::vector<std::pair<std::string, std::string>> mapping_;  // (extracted key, logfmt key)
  std::optional<std::string> source_;
  std::string input_copy_, scratch_;  // reused per entry
};

}  // namespace

bool NextLogfmtPair(std::string_view in, size_t* pos, LogfmtPair* pair, std::string* scratch,
                    bool* error) {
  size_t i = *pos;
  // Records are newline-separated; go-logfmt treats every byte <= ' ' as a separator.
  while (i < in.size() && static_cast<unsigned char>(in[i]) <= ' ') ++i;
  if (i == in.size()) {
    *pos = i;
    return false;
  }
  const size_t key_start = i;
  while (i < in.size() && static_cast<unsigned char>(in[i]) > ' ' && in[i] != '=' && in[i] != '"') {
    ++i;
  }
  if (i < in.size() && in[i] == '"') return *error = true, false;  // quoted keys are invalid
  if (i == key_start) return *error = true, false;                 // "=value"
  pair->key = in.substr(key_start, i - key_start);
  pair->value = {};
  if (i == in.size() || in[i] != '=') {  // a bare key
    *pos = i;
    return true;
  }
  ++i;  // '='
  if (i < in.size() && in[i] == '"') {
    bool escaped = false;
    const size_t j = FindClosingQuote(in, i + 1, &escaped);
    if (j == std::string_view::npos) return *error = true, false;  // unterminated
    std::string_view body = in.substr(i + 1, j - i - 1);
    if (escaped) {
      // go-logfmt's unquote: JSON escapes, \uXXXX included.
      if (!UnescapeJsonString(body, scratch)) return *error = true, false;
      pair->value = *scratch;
    } else {
      pair->value = body;
    }
    *pos = j + 1;
    return true;
  }
  const size_t value_start = i;
  while (i < in.size() && static_cast<unsigned char>(in[i]) > ' ') {
    if (in[i] == '=' || in[i] == '"') return *error = true, false;
    ++i;
  }
  pair->value = in.substr(value_start, i - value_start);
  *pos = i;
  return true;
}

Result<std::unique_ptr<Stage>> NewLogfmtStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  YAML::Node mapping_node = r.Node("mapping");
  std::optional<std::string> source;
  if (r.Has("source")) {
    r.Str("source", &source.emplace());
    if (source->empty()) r.Fail("source", "empty source");
  }
  if (!mapping_node.IsDefined() || mapping_node.IsNull())
    r.Fail("mapping", "logfmt mapping is required");
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  auto mapping = ReadNameMapping(mapping_node, cfg.file, r.Sub("mapping"),
                                 {.label_names = false, .what = "extracted keys to logfmt keys"});
  if (!mapping) return Err(std::move(mapping.error()));
  return std::make_unique<LogfmtStage>(std::move(*mapping), std::move(source));
}

}  // namespace skidder::pipeline::stages
