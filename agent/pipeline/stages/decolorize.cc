#include "pipeline/stages/decolorize.h"

#include <cstring>

#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

constexpr char kEsc = '\x1b';
constexpr char kBel = '\x07';

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlnum(char c) { return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
// [[\]()#;?]: the characters the pattern skips after the introducer.
bool IsSkipped(char c) {
  return c == '[' || c == ']' || c == '(' || c == ')' || c == '#' || c == ';' || c == '?';
}
// [\dA-PRZcf-ntqry=><~]: what ends a control sequence.
bool IsFinal(char c) {
  return IsDigit(c) || (c >= 'A' && c <= 'P') || c == 'R' || c == 'Z' || c == 'c' ||
         (c >= 'f' && c <= 'n') || c == 't' || c == 'q' || c == 'r' || c == 'y' || c == '=' ||
         c == '>' || c == '<' || c == '~';
}

// Length of the escape sequence whose body starts at s[i] (after ESC or the 2-byte U+009B), or
// 0 when the pattern does not match there. Mirrors the regex's alternatives in its order:
// an OSC-like run of [A-Za-z0-9;] ended by BEL, else digit groups (\d{1,4}(;\d{0,4})*) and a
// final character; when the greedy groups are not followed by a final character, the regex
// backtracks and takes the last digit it consumed as the final one.
size_t SequenceBody(std::string_view s, size_t i) {
  const size_t start = i;
  while (i < s.size() && IsSkipped(s[i])) ++i;
  size_t j = i;
  while (j < s.size() && (IsAlnum(s[j]) || s[j] == ';')) ++j;
  if (j < s.size() && s[j] == kBel) return j + 1 - start;
  size_t k = i;
  size_t last_digit_end = 0;  // position after the last digit consumed, 0 = none
  auto digits = [&](size_t max) {
    size_t n = 0;
    while (n < max && k < s.size() && IsDigit(s[k])) ++k, ++n, last_digit_end = k;
    return n;
  };
  if (digits(4) > 0) {
    while (k < s.size() && s[k] == ';') {
      ++k;
      digits(4);
    }
  }
  if (k < s.size() && IsFinal(s[k])) return k + 1 - start;
  if (last_digit_end != 0) return last_digit_end - start;
  return 0;
}

class DecolorizeStage final : public Stage {
 public:
  void Process(PipelineEntry&& e, Emitter& out) override {
    StripAnsi(e.entry.line);
    out.Emit(std::move(e));
  }
  std::string_view Name() const override { return "decolorize"; }
};

}  // namespace

bool StripAnsi(std::string& s) {
  const bool has_esc = std::memchr(s.data(), kEsc, s.size()) != nullptr;
  if (!has_esc && s.find("\xc2\x9b") == std::string::npos) return false;
  size_t r = 0, w = 0;
  bool changed = false;
  const std::string_view view(s);
  while (r < s.size()) {
    size_t intro = 0;
    if (s[r] == kEsc)
      intro = 1;
    else if (s[r] == '\xc2' && r + 1 < s.size() && s[r + 1] == '\x9b')
      intro = 2;
    if (intro != 0) {
      const size_t body = SequenceBody(view, r + intro);
      if (body != 0) {
        r += intro + body;
        changed = true;
        continue;
      }
    }
    s[w++] = s[r++];
  }
  s.resize(w);
  return changed;
}

Result<std::unique_ptr<Stage>> NewDecolorizeStage(const config::StageConfig& cfg,
                                                  const StageContext& ctx,
                                                  const std::string& path) {
  // Promtail's decolorize takes no options.
  if (Status s = CheckNoOptions(cfg, path); !s.ok()) return Err(std::move(s));
  return std::make_unique<DecolorizeStage>();
}

}  // namespace skidder::pipeline::stages
