#include "pipeline/stages/docker.h"

#include "formats/docker.h"
#include "pipeline/stage_support.h"
#include "pipeline/stages/reassembling.h"

namespace skidder::pipeline::stages {
namespace {

class DockerStage final : public ReassemblingStage {
 public:
  DockerStage(const StageContext& ctx, formats::PartialOptions options)
      : ReassemblingStage(ctx, options, "docker") {}

  void Process(PipelineEntry&& e, Emitter& out) override {
    // rec_ is reused so its strings keep their capacity across lines.
    if (!formats::ParseDockerJson(e.entry.line, &rec_).ok()) {
      CountMalformed();
      out.Emit(std::move(e));
      return;
    }
    const std::string_view stream = formats::StreamName(rec_.stream);
    // Promtail's docker stage sets the line (and `output`) to the `log` value as it is: a whole
    // line keeps its trailing "\n" ("hello from docker\n"). The parser strips it to tell whole
    // lines from fragments, so it is put back; joined fragments end in the last one's "\n".
    if (!rec_.partial) rec_.message.push_back('\n');
    // string_views: copied into the extracted map's reused slots, no allocation.
    e.extracted.SetFields({{"output", rec_.message}, {"stream", stream}, {"timestamp", rec_.time}});
    SetStreamLabel(e.entry.labels, stream, memo_);
    e.entry.timestamp_ns = rec_.timestamp_ns;
    e.entry.line.assign(rec_.message);  // shorter than the JSON: fits the existing buffer
    Feed(std::move(e), rec_.partial, out);
  }

  std::string_view Name() const override { return "docker"; }

 private:
  formats::DockerRecord rec_;
  LabelsMemo memo_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewDockerStage(const config::StageConfig& cfg,
                                              const StageContext& ctx, const std::string& path) {
  config::MapReader r = ReaderFor(cfg, path);
  if (Status s = r.Finish(); !s.ok()) return Err(std::move(s));
  return std::make_unique<DockerStage>(ctx, PartialOptionsFor(100, 0, false, ctx.limits));
}

}  // namespace skidder::pipeline::stages
