// libFuzzer target: the json stage on arbitrary lines, with projections and multi-selects.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz_check.h"
#include "pipeline/registry.h"

namespace {

using namespace skidder;

class Collect final : public pipeline::Emitter {
 public:
  void Emit(pipeline::PipelineEntry&& e) override {
    ++count;
    line = std::move(e.entry.line);
  }
  int count = 0;
  std::string line;
};

std::unique_ptr<pipeline::Stage> JsonStage() {
  YAML::Node body = YAML::Load(
      "expressions: {a: a, b: 'b[0].c', c: 'c[*].d', d: 'd.*', e: '[a, b]', f: 'f[]', "
      "g: '\"g-h\"'}");
  auto stage = pipeline::BuildStage(config::StageConfig{"json", body, "fuzz.yaml"}, {}, "p");
  FUZZ_CHECK(stage.has_value());
  return std::move(*stage);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<pipeline::Stage> stage = JsonStage();
  std::string line(reinterpret_cast<const char*>(data), size);
  Collect out;
  pipeline::PipelineEntry e;
  e.entry.line = line;
  stage->Process(std::move(e), out);
  // Valid or not, the entry goes on with its line unchanged (no drop_malformed).
  FUZZ_CHECK(out.count == 1 && out.line == line);
  return 0;
}
