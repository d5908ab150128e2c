// A typical Kubernetes pipeline (cri + regex + labels) per line, and the runner's own overhead.
#include <benchmark/benchmark.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "pipeline/pipeline.h"

namespace {

using skidder::Entry;
using skidder::Labels;
using skidder::pipeline::Emitter;
using skidder::pipeline::Pipeline;
using skidder::pipeline::PipelineEntry;

class Sink final : public Emitter {
 public:
  void Emit(PipelineEntry&& e) override { bytes += e.entry.line.size(); }
  size_t bytes = 0;
};

std::unique_ptr<Pipeline> Build(const std::string& yaml) {
  std::vector<skidder::config::StageConfig> stages;
  YAML::Node list = YAML::Load(yaml);
  for (size_t i = 0; i < list.size(); ++i) {
    YAML::Node item = list[i];
    auto it = item.begin();
    stages.push_back({it->first.Scalar(), it->second, "bench.yaml"});
  }
  auto p = Pipeline::Build(stages, {});
  if (!p) throw std::runtime_error(p.error().message());
  return std::move(*p);
}

const std::string kLine =
    "2026-11-24T10:40:12.542001710Z stdout F level=info ts=2026-11-24T10:40:12.542Z "
    "caller=handler.go:118 method=GET path=/api/v1/items status=200 duration=1.2ms "
    "request_id=8f14e45fceea167a";
const Labels kLabels{{"filename", "/var/log/pods/shop_web-7d9f_0b48a727/web/0.log"},
                     {"namespace", "shop"},
                     {"pod", "web-7d9f"},
                     {"container", "web"}};

void RunPipeline(benchmark::State& state, const std::string& yaml) {
  auto p = Build(yaml);
  Sink sink;
  for (auto _ : state) {
    Entry e;
    e.line = kLine;  // the reader's copy of the line, paid in any case
    e.labels = kLabels;
    p->Process(std::move(e), sink);
  }
  benchmark::DoNotOptimize(sink.bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_PipelineCriRegexLabels(benchmark::State& state) {
  RunPipeline(state, R"y(
- cri: {}
- regex:
    expression: "level=(?P<level>\\w+) .*caller=(?P<caller>\\S+)"
- labels:
    level:
)y");
}
BENCHMARK(BM_PipelineCriRegexLabels);

// Baseline: building the entry and passing through stages that change nothing.
void BM_PipelinePassThrough(benchmark::State& state) {
  RunPipeline(state, "- static_labels: {namespace: shop}\n- output: {source: absent}");
}
BENCHMARK(BM_PipelinePassThrough);

}  // namespace
