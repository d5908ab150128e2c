#include "pipeline/stages/cri.h"

#include "formats/cri.h"
#include "pipeline/stage_support.h"
#include "pipeline/stages/reassembling.h"
#include "util/byte_size.h"

namespace skidder::pipeline::stages {
namespace {

class CriStage final : public ReassemblingStage {
 public:
  CriStage(const StageContext& ctx, formats::PartialOptions options)
      : ReassemblingStage(ctx, options, "cri") {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    auto rec = formats::ParseCri(e.entry.line);
    if (!rec) {
      CountMalformed();  // Promtail passes such lines on as they are
      out.Emit(std::move(e));
      return;
    }
    const std::string_view stream = formats::StreamName(rec->stream);
    // string_views: into reused slots, no allocation
    e.extracted.SetFields(
        {{"time", rec->time}, {"stream", stream}, {"flags", rec->tag}, {"content", rec->message}});
    SetStreamLabel(e.entry.labels, stream, memo_);
    e.entry.timestamp_ns = rec->timestamp_ns;
    // The message is the line's tail: drop the prefix in place, no new buffer.
    e.entry.line.erase(0, static_cast<size_t>(rec->message.data() - e.entry.line.data()));
    Feed(std::move(e), rec->partial, out);
  }

  std::string_view Name() const override { return "cri"; }

 private:
  LabelsMemo memo_;
};

}  // namespace

Result<CriStageConfig> ParseCriStageConfig(const config::StageConfig& cfg,
                                           const std::string& path) {
  CriStageConfig c;
  config::MapReader r = ReaderFor(cfg, path);
  r.Int("max_partial_lines", &c.max_partial_lines);
  std::string size;
  r.Str("max_partial_line_size", &size);
  r.Bool("max_partial_line_size_truncate", &c.max_partial_line_size_truncate);
  if (!size.empty() && !ParseByteSize(size, &c.max_partial_line_size)) {
    r.Fail("max_partial_line_size", "expected a size in bytes like 262144 or 256KB");
  }
  if (c.max_partial_lines < 0) r.Fail("max_partial_lines", "must not be negative");
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  if (c.max_partial_lines == 0) c.max_partial_lines = 100;  // Promtail's default for 0
  return c;
}

Result<std::unique_ptr<Stage>> NewCriStage(const config::StageConfig& cfg, const StageContext& ctx,
                                           const std::string& path) {
  auto c = ParseCriStageConfig(cfg, path);
  if (!c) return Err(std::move(c.error()));
  formats::PartialOptions options =
      PartialOptionsFor(c->max_partial_lines, c->max_partial_line_size,
                        c->max_partial_line_size_truncate, ctx.limits);
  return std::make_unique<CriStage>(ctx, options);
}

}  // namespace skidder::pipeline::stages
