#include "pipeline/stages/logfmt.h"

#include <optional>
#include <utility>
#include <vector>

#include "pipeline/stages/common.h"
#include "pipeline/stages/name_mapping.h"

namespace skidder::pipeline::stages {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// go-logfmt's unquote: JSON escapes (\" \\ \/ \b \f \n \r \t \uXXXX, surrogate pairs joined).
bool Unescape(std::string_view body, std::string* out) {
  out->clear();
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++i == body.size()) return false;
    switch (body[i]) {
      case '"':
      case '\\':
      case '/':
        out->push_back(body[i]);
        break;
      case 'b':
        out->push_back('\b');
        break;
      case 'f':
        out->push_back('\f');
        break;
      case 'n':
        out->push_back('\n');
        break;
      case 'r':
        out->push_back('\r');
        break;
      case 't':
        out->push_back('\t');
        break;
      case 'u': {
        auto hex4 = [&](size_t at, uint32_t* v) {
          if (at + 4 > body.size()) return false;
          *v = 0;
          for (size_t k = at; k < at + 4; ++k) {
            int h = HexValue(body[k]);
            if (h < 0) return false;
            *v = *v * 16 + static_cast<uint32_t>(h);
          }
          return true;
        };
        uint32_t cp = 0;
        if (!hex4(i + 1, &cp)) return false;
        i += 4;
        uint32_t lo = 0;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 2 < body.size() && body[i + 1] == '\\' &&
            body[i + 2] == 'u' && hex4(i + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        } else if (cp >= 0xD800 && cp < 0xE000) {
          cp = 0xFFFD;
        }
        AppendUtf8(out, cp);
        break;
      }
      default:
        return false;
    }
  }
  return true;
}

class LogfmtStage final : public Stage {
 public:
  LogfmtStage(std::vector<std::pair<std::string, std::string>> mapping,
              std::optional<std::string> source)
      : mapping_(std::move(mapping)), source_(std::move(source)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    std::string_view input = e.entry.line;
    if (source_) {
      const std::string* v = e.extracted.Get(*source_, e.entry.labels);
      if (v == nullptr) {
        out.Emit(std::move(e));
        return;
      }
      input_copy_.assign(*v);  // Set() below may move the source's storage
      input = input_copy_;
    }
    size_t pos = 0;
    LogfmtPair pair;
    bool error = false;
    while (NextLogfmtPair(input, &pos, &pair, &scratch_, &error)) {
      for (const auto& [target, key] : mapping_) {
        if (key == pair.key) e.extracted.Set(target, std::string(pair.value));
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
    size_t j = i + 1;
    bool escaped = false;
    while (j < in.size() && in[j] != '"') {
      if (in[j] == '\\') {
        escaped = true;
        ++j;
      }
      ++j;
    }
    if (j >= in.size()) return *error = true, false;  // unterminated
    std::string_view body = in.substr(i + 1, j - i - 1);
    if (escaped) {
      if (!Unescape(body, scratch)) return *error = true, false;
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
