#include "pipeline/stages/echo.h"

#include <cstdio>

#include "model/entry_text.h"
#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {
namespace {

class EchoStage final : public Stage {
 public:
  void Process(PipelineEntry&& e, Emitter&) override {
    line_.clear();
    AppendEntryText(e.entry, &line_);
    // One write per entry, flushed: this is for watching a config work, and a line must not
    // wait in a buffer for the next one. The entry is destroyed here, releasing its ack.
    std::fwrite(line_.data(), 1, line_.size(), stdout);
    std::fflush(stdout);
  }

  uint64_t Routes() const override { return 0; }  // prints; nothing goes on to a client
  std::string_view Name() const override { return "echo"; }

 private:
  std::string line_;
};

}  // namespace

Result<std::unique_ptr<Stage>> NewEchoStage(const config::StageConfig& cfg, const StageContext&,
                                            const std::string& path) {
  // No options, as Alloy's loki.echo.
  if (Status s = CheckNoOptions(cfg, path); !s.ok()) return Err(std::move(s));
  return std::make_unique<EchoStage>();
}

}  // namespace skidder::pipeline::stages
