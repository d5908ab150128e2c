#include "pipeline/stages/luhn.h"

#include <limits>
#include <optional>

#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Alloy parses the digits with Go's strconv.Atoi first: more than fits an int64 is never a
// match. Leading zeros do not change a Luhn sum.
bool LuhnValid(std::string_view digits) {
  uint64_t value = 0;
  for (char c : digits) {
    const uint64_t d = static_cast<uint64_t>(c - '0');
    if (value > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - d) / 10) {
      return false;
    }
    value = value * 10 + d;
  }
  int sum = 0;
  bool twice = false;  // every second digit from the right is doubled
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (twice) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
    twice = !twice;
  }
  return sum % 10 == 0;
}

class LuhnStage final : public Stage {
 public:
  LuhnStage(LuhnOptions options, std::optional<std::string> source)
      : options_(std::move(options)), source_(std::move(source)) {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    std::optional<std::string_view> text = SourceText(e, source_, &copy_);
    if (text && text->find_first_of("0123456789") != std::string_view::npos) {
      e.entry.line = RedactLuhn(*text, options_);
    } else if (text && source_) {
      e.entry.line.assign(*text);  // Alloy writes the source's text to the line either way
    }
    out.Emit(std::move(e));
  }
  std::string_view Name() const override { return "luhn"; }

 private:
  LuhnOptions options_;
  std::optional<std::string> source_;
  std::string copy_;
};

}  // namespace

std::string RedactLuhn(std::string_view in, const LuhnOptions& o) {
  std::string out, digits, run;  // run: the digits with their delimiters, as written
  char trailing = 0;             // a delimiter that ended the run
  out.reserve(in.size());
  auto flush = [&] {
    if (digits.size() >= o.min_length && LuhnValid(digits)) {
      out += o.replacement;
      if (trailing != 0) out += trailing;
    } else {
      out += run;
    }
    digits.clear();
    run.clear();
    trailing = 0;
  };
  for (char c : in) {
    if (IsDigit(c)) {
      digits += c;
      run += c;
      trailing = 0;
    } else if (!digits.empty() && o.delimiters.find(c) != std::string::npos) {
      run += c;
      trailing = c;
    } else {
      flush();
      out += c;
    }
  }
  flush();
  return out;
}

Result<std::unique_ptr<Stage>> NewLuhnStage(const config::StageConfig& cfg, const StageContext& ctx,
                                            const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  LuhnOptions o;
  std::optional<std::string> source;
  int64_t min_length = 13;
  r.Str("replacement", &o.replacement);
  r.Int("min_length", &min_length);
  r.Str("delimiters", &o.delimiters);
  if (r.Has("source")) {
    r.Str("source", &source.emplace());
    if (source->empty()) r.Fail("source", "must not be empty");
  }
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  if (o.replacement.empty()) o.replacement = "**REDACTED**";  // Alloy's defaults for unset
  o.min_length = min_length < 1 ? 13 : static_cast<size_t>(min_length);
  return std::make_unique<LuhnStage>(std::move(o), std::move(source));
}

}  // namespace skidder::pipeline::stages
