#include "pipeline/stages/split_json.h"

#include <rapidjson/document.h>

#include <optional>
#include <utility>

#include "pipeline/stage_support.h"
#include "util/json_parse.h"
#include "util/log.h"
#include "util/log_limiter.h"

namespace skidder::pipeline::stages {
namespace {

// The bytes Go's JSON whitespace is made of (Alloy trims only these before looking for '[').
bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

class SplitJsonStage final : public Stage {
 public:
  explicit SplitJsonStage(std::optional<std::string> source) : source_(std::move(source)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    Split(e, out);
    if (copy_.capacity() > kKeptCopyBytes) std::string().swap(copy_);  // one huge line's buffer
  }

  std::string_view Name() const override { return "split_json"; }

 private:
  void Split(PipelineEntry& e, Emitter& out) {
    std::optional<std::string_view> text = SourceText(e, source_, &copy_);
    // A NUL is not JSON outside a string nor, unescaped, inside one (Go refuses it); rapidjson's
    // memory stream would take it for the end of the text.
    if (!text || !IsArray(*text) || text->find('\0') != std::string_view::npos) {
      return out.Emit(std::move(e));
    }
    // rapidjson checks the document (bounded depth, as for every line) and the split below
    // only has to find the top-level commas of valid JSON.
    if (!ParseJsonBounded(doc_, *text).ok() || !doc_.IsArray()) return out.Emit(std::move(e));
    doc_.SetNull();
    doc_.GetAllocator().Clear();  // a huge line's DOM is not kept until the next
    // The elements' text must outlive the line, which each of them replaces.
    if (!source_) copy_.swap(e.entry.line);
    parts_.clear();
    // Each element's entry keeps its own metadata, and is made from a copy of the extracted
    // values (a cri stage's `content` is the whole line): bounded in bytes as well as in number.
    if (!SplitJsonArray(copy_, kMaxSplitElements, &parts_) ||
        parts_.size() * KeptBytes(e) > kMaxSplitKeptBytes ||
        parts_.size() * ExtractedBytes(e) > kMaxSplitCopiedBytes) {
      int64_t times = 0;
      if (too_many_log_.Allow(&times)) {
        LOG_WARN("split_json: an array too large to split passes as one line",
                 {{"max_elements", std::to_string(kMaxSplitElements)},
                  {"max_bytes_kept", std::to_string(kMaxSplitKeptBytes)},
                  {"max_bytes_copied", std::to_string(kMaxSplitCopiedBytes)},
                  {"times", std::to_string(times)}});
      }
      if (!source_) copy_.swap(e.entry.line);  // the line back as it was
      return out.Emit(std::move(e));
    }
    std::string().swap(e.entry.line);  // not copied into each element's entry
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (i + 1 < parts_.size()) {
        PipelineEntry child = e;  // labels and the ack ref are shared, not copied
        child.entry.line = std::string(parts_[i]);
        out.Emit(std::move(child));
      } else {
        e.entry.line = std::string(parts_[i]);
        out.Emit(std::move(e));
      }
    }
  }

  // What one more element's entry keeps, beyond its text (the sink keeps the Entry).
  static size_t KeptBytes(const PipelineEntry& e) {
    size_t n = sizeof(PipelineEntry);
    for (const Label& m : e.entry.structured_metadata) {
      n += sizeof(Label) + m.name.size() + m.value.size();
    }
    return n;
  }
  // What making it copies of the extracted values (freed once the entry leaves the pipeline).
  static size_t ExtractedBytes(const PipelineEntry& e) {
    size_t n = 0;
    for (const auto& [key, value] : e.extracted) n += sizeof(key) * 2 + key.size() + value.size();
    return n;
  }
  static constexpr size_t kKeptCopyBytes = 1 << 20;

  static bool IsArray(std::string_view text) {
    size_t i = 0;
    while (i < text.size() && IsJsonSpace(text[i])) ++i;
    return i < text.size() && text[i] == '[';
  }

  std::optional<std::string> source_;
  std::string copy_;  // the text being split (the line moved here, or the source's value)
  std::vector<std::string_view> parts_;
  rapidjson::Document doc_;
  log::LogLimiter too_many_log_;
};

}  // namespace

bool SplitJsonArray(std::string_view text, size_t max_elements,
                    std::vector<std::string_view>* out) {
  size_t i = text.find('[');
  if (i == std::string_view::npos) return true;
  int depth = 0;                          // inside the element, below the top-level array
  size_t start = std::string_view::npos;  // the current element's first byte
  size_t end = 0;                         // one past its last byte that is not whitespace
  for (++i; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      if (start == std::string_view::npos) start = i;
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;  // the escaped byte, a quote included, is not the end
      }
      end = i + 1;
      continue;
    }
    if (IsJsonSpace(c)) continue;
    if (depth == 0 && (c == ',' || c == ']')) {
      if (start != std::string_view::npos) {
        if (out->size() == max_elements) return false;
        out->push_back(text.substr(start, end - start));
      }
      start = std::string_view::npos;
      if (c == ']') return true;
      continue;
    }
    if (start == std::string_view::npos) start = i;
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    }
    end = i + 1;
  }
  return true;
}

Result<std::unique_ptr<Stage>> NewSplitJsonStage(const config::StageConfig& cfg,
                                                 const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  std::optional<std::string> source;
  if (r.Has("source")) {
    r.Str("source", &source.emplace());
    if (source->empty()) r.Fail("source", "must not be empty");
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<SplitJsonStage>(std::move(source));
}

}  // namespace skidder::pipeline::stages
