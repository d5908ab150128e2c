#include "pipeline/stages/common.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <iterator>
#include <utility>

#include "telemetry/agent_metrics.h"
#include "util/log.h"

namespace skidder::pipeline::stages {

Status ReadNestedStages(const YAML::Node& list, const std::string& file, const std::string& path,
                        std::vector<config::StageConfig>* out) {
  if (!list.IsSequence()) return config::ErrorAt(file, list, path, "expected a list of stages");
  for (size_t i = 0; i < list.size(); ++i) {
    YAML::Node item = list[i];
    if (!item.IsMap() || item.size() != 1 || !item.begin()->first.IsScalar()) {
      return config::ErrorAt(file, item, fmt::format("{}[{}]", path, i),
                             "a stage must be a mapping with one key, the stage type");
    }
    out->push_back(config::StageConfig{item.begin()->first.Scalar(), item.begin()->second, file});
  }
  return Status::Ok();
}

bool ParseByteSize(std::string_view s, int64_t* out) {
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || ptr == s.data()) return false;
  std::string unit;
  for (const char* p = ptr; p != s.data() + s.size(); ++p) {
    if (*p != ' ') unit += static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
  }
  static constexpr struct {
    std::string_view names[3];
    int shift;
  } kUnits[] = {
      {{"B", "", ""}, 0},       {{"K", "KB", "KIB"}, 10}, {{"M", "MB", "MIB"}, 20},
      {{"G", "GB", "GIB"}, 30}, {{"T", "TB", "TIB"}, 40}, {{"P", "PB", "PIB"}, 50},
  };
  int shift = -1;
  if (unit.empty()) shift = 0;
  for (const auto& u : kUnits) {
    for (std::string_view name : u.names) {
      if (!name.empty() && unit == name) shift = u.shift;
    }
  }
  if (shift < 0) return false;
  if (n > (static_cast<uint64_t>(INT64_MAX) >> shift)) return false;
  *out = static_cast<int64_t>(n << shift);
  return true;
}

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

size_t FindClosingQuote(std::string_view s, size_t from, bool* escaped) {
  *escaped = false;
  size_t j = from;
  while (j < s.size() && s[j] != '"') {
    if (s[j] == '\\') {
      *escaped = true;
      ++j;
    }
    ++j;
  }
  return j < s.size() ? j : std::string_view::npos;
}

namespace {

// \uXXXX at body[*i] == 'u' (a second \uXXXX joined when it completes a surrogate pair); *i ends
// on the last digit read.
bool UnescapeUnicode(std::string_view body, size_t* i, std::string* out) {
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
  if (!hex4(*i + 1, &cp)) return false;
  *i += 4;
  uint32_t lo = 0;
  if (cp >= 0xD800 && cp < 0xDC00 && *i + 2 < body.size() && body[*i + 1] == '\\' &&
      body[*i + 2] == 'u' && hex4(*i + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    *i += 6;
  } else if (cp >= 0xD800 && cp < 0xE000) {
    cp = 0xFFFD;
  }
  AppendUtf8(out, cp);
  return true;
}

}  // namespace

bool UnescapeJsonString(std::string_view body, std::string* out, bool unicode_escapes) {
  static constexpr std::pair<char, char> kSimple[] = {{'"', '"'},  {'\\', '\\'}, {'/', '/'},
                                                      {'b', '\b'}, {'f', '\f'},  {'n', '\n'},
                                                      {'r', '\r'}, {'t', '\t'}};
  out->clear();
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out->push_back(body[i]);
      continue;
    }
    if (++i == body.size()) return false;
    const char esc = body[i];
    if (esc == 'u') {
      if (!unicode_escapes || !UnescapeUnicode(body, &i, out)) return false;
      continue;
    }
    const auto* simple = std::find_if(std::begin(kSimple), std::end(kSimple),
                                      [esc](const auto& p) { return p.first == esc; });
    if (simple == std::end(kSimple)) return false;
    out->push_back(simple->second);
  }
  return true;
}

std::optional<std::string_view> SourceText(const PipelineEntry& e,
                                           const std::optional<std::string>& source,
                                           std::string* copy) {
  if (!source) return std::string_view(e.entry.line);
  const std::string* v = e.extracted.Get(*source, e.entry.labels);
  if (v == nullptr) return std::nullopt;
  copy->assign(*v);
  return std::string_view(*copy);
}

telemetry::Counter* DropCounter(const StageContext& ctx, std::string_view reason) {
  if (ctx.metrics == nullptr) return nullptr;
  return ctx.metrics->dropped_lines.With({std::string(reason)});
}

size_t StageOutputCap(const StageContext& ctx) {
  if (ctx.limits != nullptr && ctx.limits->max_line_size > 0) {
    return static_cast<size_t>(ctx.limits->max_line_size);
  }
  return kMaxStageOutputBytes;
}

telemetry::Counter* TruncatedCounter(const StageContext& ctx) {
  return ctx.metrics == nullptr ? nullptr : ctx.metrics->truncated_lines.With({});
}

formats::PartialOptions PartialOptionsFor(int max_partial_lines, int64_t max_partial_line_size,
                                          bool truncate, const config::LimitsConfig* limits) {
  formats::PartialOptions o;
  o.max_pending = max_partial_lines > 0 ? static_cast<size_t>(max_partial_lines) : 100;
  if (truncate && max_partial_line_size > 0) {
    o.max_line_bytes = static_cast<size_t>(max_partial_line_size);
    o.truncate = true;
  } else if (limits != nullptr && limits->max_line_size > 0) {
    o.max_line_bytes = static_cast<size_t>(limits->max_line_size);
    o.truncate = limits->max_line_size_truncate;
  } else {
    o.max_line_bytes = kMaxAssembledLineBytes;
    o.truncate = true;
  }
  return o;
}

ReassemblingStage::ReassemblingStage(const StageContext& ctx, formats::PartialOptions options,
                                     std::string_view format)
    : assembler_(options), format_(format) {
  if (ctx.metrics != nullptr) {
    malformed_ = ctx.metrics->malformed_lines.With({std::string(format)});
    truncated_ = ctx.metrics->truncated_lines.With({});
    too_long_ = ctx.metrics->dropped_lines.With({telemetry::kReasonLineTooLong});
  }
}

void ReassemblingStage::Feed(PipelineEntry&& e, bool partial, Emitter& out) {
  if (!partial && assembler_.pending() == 0) {  // the common case: no hashing, no lookup
    out.Emit(std::move(e));
    return;
  }
  // Labels already carry the stream (and filename), so their hash keys one stream of one file,
  // as Promtail keys partials by label fingerprint.
  const uint64_t key = e.entry.labels.Hash();
  assembler_.Add(key, std::move(e), partial,
                 [&out](PipelineEntry&& done) { out.Emit(std::move(done)); });
  if (assembler_.stats().truncated != reported_.truncated ||
      assembler_.stats().dropped != reported_.dropped ||
      assembler_.stats().evicted != reported_.evicted) {
    Report();
  }
}

void ReassemblingStage::Flush(int64_t now_ns, bool force, Emitter& out) {
  if (assembler_.pending() == 0) return;
  assembler_.Flush(now_ns, force, [&out](PipelineEntry&& e) { out.Emit(std::move(e)); });
  Report();
}

void ReassemblingStage::Report() {
  const formats::PartialStats& now = assembler_.stats();
  Inc(truncated_, static_cast<double>(now.truncated - reported_.truncated));
  Inc(too_long_, static_cast<double>(now.dropped - reported_.dropped));
  if (now.evicted != reported_.evicted) {
    LOG_WARN("partial lines upper bound exceeded: incomplete lines sent as they are",
             {{"format", format_}, {"lines", std::to_string(now.evicted - reported_.evicted)}});
  }
  reported_ = now;
}

}  // namespace skidder::pipeline::stages
