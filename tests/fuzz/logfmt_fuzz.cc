// libFuzzer target: the go-logfmt scanner of the logfmt stage on arbitrary lines. Every pair it
// yields lies in the input (or the unescape scratch), the scan always advances, and the stage
// itself passes the entry on with its line unchanged.
#include <yaml-cpp/yaml.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "pipeline/registry.h"
#include "pipeline/stages/logfmt.h"

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

bool Inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t pos = 0, last = 0;
  pipeline::stages::LogfmtPair pair;
  std::string scratch;
  bool error = false;
  int pairs = 0;
  while (pipeline::stages::NextLogfmtPair(in, &pos, &pair, &scratch, &error)) {
    FUZZ_CHECK(pos > last && pos <= in.size());
    FUZZ_CHECK(Inside(pair.key, in));
    FUZZ_CHECK(Inside(pair.value, in) || Inside(pair.value, scratch));
    last = pos;
    FUZZ_CHECK(++pairs <= static_cast<int>(size));
  }
  static std::unique_ptr<pipeline::Stage> stage = [] {
    auto s = pipeline::BuildStage(
        config::StageConfig{"logfmt", YAML::Load("mapping: {a: a, b: '', msg: message}"),
                            "fuzz.yaml"},
        {}, "p");
    FUZZ_CHECK(s.has_value());
    return std::move(*s);
  }();
  Collect out;
  pipeline::PipelineEntry e;
  e.entry.line = std::string(in);
  stage->Process(std::move(e), out);
  FUZZ_CHECK(out.count == 1 && out.line == in);
  return 0;
}
