// Helpers shared by the stage implementations in this folder: config parsing bits Promtail's
// stages have in common, metric lookups, and the reassembly base of the cri and docker stages.
// Not used outside agent/pipeline/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"
#include "formats/partial.h"
#include "pipeline/pipeline.h"
#include "pipeline/stage.h"
#include "telemetry/registry.h"

namespace skidder::pipeline::stages {

// A size as Promtail's flagext.ByteSize reads it: "8192", "8kb", "1MB", "2KiB" (binary units,
// case-insensitive, whole numbers). False when malformed or negative.
bool ParseByteSize(std::string_view text, int64_t* out);

// The value of a hex digit, or -1.
int HexValue(char c);

// Appends code point cp as UTF-8 (cp at most 0x10FFFF; the caller checks surrogates).
void AppendUtf8(std::string* out, uint32_t cp);

// The index of the '"' closing a double-quoted string whose body starts at s[from], skipping
// backslash-escaped characters; npos when unterminated. *escaped says whether the body holds a
// backslash, so callers can take the body as it is when it does not.
size_t FindClosingQuote(std::string_view s, size_t from, bool* escaped);

// Decodes the JSON escapes in a quoted string's body (\" \\ \/ \b \f \n \r \t, and with
// unicode_escapes \uXXXX, surrogate pairs joined, a lone surrogate as U+FFFD) into *out, which is
// cleared first. False on an unknown, cut-short or (without unicode_escapes) \u escape.
bool UnescapeJsonString(std::string_view body, std::string* out, bool unicode_escapes = true);

// The text a stage with an optional `source` key works on: the extracted value named by source
// (copied into *copy, since Set() on the extracted map may move its storage), or the line when
// there is no source. nullopt when source names nothing: the stage passes the entry on as it is.
std::optional<std::string_view> SourceText(const PipelineEntry& e,
                                           const std::optional<std::string>& source,
                                           std::string* copy);

// MapReader over a stage's body, for strict key reading with file:line:column errors.
inline config::MapReader ReaderFor(const config::StageConfig& cfg, const std::string& path) {
  return config::MapReader(cfg.body, cfg.file, path);
}

// A nested list of stages (match's `stages`, fanout's branches), read as pipeline_stages is.
Status ReadNestedStages(const YAML::Node& list, const std::string& file, const std::string& path,
                        std::vector<config::StageConfig>* out);

// logentry_dropped_lines_total{reason}; nullptr when the context has no metrics.
telemetry::Counter* DropCounter(const StageContext& ctx, std::string_view reason);

// The longest text a template or replace stage builds for one entry: limits_config.max_line_size,
// else 4 MiB. A template can repeat its input and a replace can match between every character,
// so without a bound one 200 KB line could become gigabytes. Longer results are cut (or, for a
// template function, refused) and counted in TruncatedCounter.
inline constexpr size_t kMaxStageOutputBytes = 4 << 20;
size_t StageOutputCap(const StageContext& ctx);
telemetry::Counter* TruncatedCounter(const StageContext& ctx);  // nullptr without metrics

inline void Inc(telemetry::Counter* c, double n = 1) {
  if (c != nullptr) c->Add(n);
}

// The bound on a reassembled line (faults #11/#12): max_partial_line_size when Promtail would
// truncate to it; else limits_config.max_line_size with its own truncate flag (the client would
// apply it later anyway; applying it here bounds memory); else a 1 MiB safety cap, truncating.
inline constexpr int64_t kMaxAssembledLineBytes = 1 << 20;
formats::PartialOptions PartialOptionsFor(int max_partial_lines, int64_t max_partial_line_size,
                                          bool truncate, const config::LimitsConfig* limits);

// Base of the cri and docker stages: keyed reassembly of fragments, with metrics.
class ReassemblingStage : public Stage {
 public:
  ReassemblingStage(const StageContext& ctx, formats::PartialOptions options,
                    std::string_view format);
  void Flush(int64_t now_ns, bool force, Emitter& out) override;

 protected:
  // Passes e on, joined with its stream's earlier fragments when there are any.
  void Feed(PipelineEntry&& e, bool partial, Emitter& out);
  void CountMalformed() { Inc(malformed_); }

 private:
  void Report();

  formats::PartialAssembler<PipelineEntry> assembler_;
  formats::PartialStats reported_;
  telemetry::Counter* malformed_ = nullptr;
  telemetry::Counter* truncated_ = nullptr;
  telemetry::Counter* too_long_ = nullptr;
  std::string format_;
};

}  // namespace skidder::pipeline::stages
