// A typical Kubernetes pipeline (cri + regex + labels) per line, and the runner's own overhead.
// Every benchmark also reports `allocs`: heap allocations per line made inside the pipeline
// (this binary's operator new counts them; building the input entry is not counted).
#include <benchmark/benchmark.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>

// Per thread, so benchmarks that start threads (sink, tailer) neither race on it nor count into
// the pipeline benchmarks, which run on one thread.
namespace {
thread_local uint64_t t_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  ++t_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  ++t_allocations;
  return std::malloc(n == 0 ? 1 : n);
}
// GCC 12 takes these replacements' free() for a mismatch with operator new once it inlines
// both; every operator new here allocates with malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

#include "pipeline/pipeline.h"
#include "support/fake_clock.h"
#include "support/mmdb_writer.h"
#include "telemetry/agent_metrics.h"

namespace {

using skidder::Entry;
using skidder::Labels;
using skidder::pipeline::Emitter;
using skidder::pipeline::Pipeline;
using skidder::pipeline::PipelineEntry;

// Counts the allocations of what runs in its scope into *total.
class CountAllocations {
 public:
  explicit CountAllocations(uint64_t* total) : total_(total), start_(t_allocations) {}
  ~CountAllocations() { *total_ += t_allocations - start_; }

 private:
  uint64_t* total_;
  uint64_t start_;
};

void ReportAllocations(benchmark::State& state, uint64_t allocations) {
  state.counters["allocs"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
}

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
  uint64_t allocations = 0;
  for (auto _ : state) {
    Entry e;
    e.line = kLine;  // the reader's copy of the line, paid in any case
    e.labels = kLabels;
    CountAllocations count(&allocations);
    p->Process(std::move(e), sink);
  }
  benchmark::DoNotOptimize(sink.bytes);
  ReportAllocations(state, allocations);
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

// --- Stages of issue 4 (part B): metrics, match, limit, sampling, geoip, json projections. ---
// Each runs its stage alone on a realistic line, so the number is the stage's own cost plus the
// entry copy BM_PipelinePassThrough measures.

const std::string kAccessLine =
    "34.120.177.193 - - [24/Nov/2026:10:40:12 +0000] \"POST /loki/api/v1/push HTTP/1.1\" 204 0 "
    "\"-\" \"promtail/2.9.4\" rt=0.012";
const std::string kJsonLine =
    R"({"ts":"2026-11-24T10:40:12.542Z","level":"info","msg":"order placed",)"
    R"("user":{"id":42,"name":"alice"},"items":[{"sku":"A-1","qty":2},{"sku":"B-7","qty":1}],)"
    R"("tags":["web","eu"],"duration_ms":12.5})";

std::vector<skidder::config::StageConfig> Stages(const std::string& yaml) {
  std::vector<skidder::config::StageConfig> stages;
  YAML::Node list = YAML::Load(yaml);
  for (size_t i = 0; i < list.size(); ++i) {
    auto it = list[i].begin();
    stages.push_back({it->first.Scalar(), it->second, "bench.yaml"});
  }
  return stages;
}

// Like RunPipeline, with metrics registered and a line of one's choosing.
struct NoPrepare {
  void operator()(PipelineEntry&) const {}
};

template <typename Prepare = NoPrepare>
void RunWith(benchmark::State& state, const std::string& yaml, const std::string& line,
             Prepare prepare = {}) {
  skidder::telemetry::Registry registry;
  skidder::telemetry::AgentMetrics metrics(registry);
  skidder::pipeline::StageContext ctx;
  ctx.metrics = &metrics;
  auto p = Pipeline::Build(Stages(yaml), ctx);
  if (!p) throw std::runtime_error(p.error().message());
  Sink sink;
  uint64_t allocations = 0;
  for (auto _ : state) {
    PipelineEntry pe{Entry{}, {}, {}};
    pe.entry.line = line;
    pe.entry.labels = kLabels;
    prepare(pe);
    CountAllocations count(&allocations);
    (*p)->Process(std::move(pe), sink);
  }
  benchmark::DoNotOptimize(sink.bytes);
  ReportAllocations(state, allocations);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// What every BM_Stage* pays besides its stage: building the entry, a stage call, the sink.
void BM_StageBaseline(benchmark::State& state) {
  RunWith(state, "- static_labels: {namespace: shop}", kAccessLine);  // already set: no change
}
BENCHMARK(BM_StageBaseline);

// Two counters (lines, bytes) and a histogram over an extracted value, per stream.
void BM_StageMetrics(benchmark::State& state) {
  RunWith(state, R"(
- metrics:
    log_lines_total:
      type: Counter
      config: {match_all: true, action: inc}
    log_bytes_total:
      type: Counter
      config: {match_all: true, count_entry_bytes: true, action: add}
    request_seconds:
      type: Histogram
      source: rt
      config: {buckets: [0.005, 0.01, 0.025, 0.05, 0.1]}
)",
          kAccessLine, [](PipelineEntry& pe) { pe.extracted.Set("rt", "0.012"); });
}
BENCHMARK(BM_StageMetrics);

// A selector on labels plus two line filters; the entry matches and goes through one stage.
void BM_StageMatch(benchmark::State& state) {
  RunWith(state, R"(
- match:
    selector: '{namespace="shop", container=~"web|api"} |= "POST" != "/health"'
    stages:
    - static_labels: {matched: "yes"}
)",
          kAccessLine);
}
BENCHMARK(BM_StageMatch);

// Rate limiting by label value; the limit is high enough that nothing is dropped.
void BM_StageLimitByLabel(benchmark::State& state) {
  RunWith(state,
          "- limit: {rate: 1000000000, burst: 1000000000, drop: true, by_label_name: namespace}",
          kAccessLine);
}
BENCHMARK(BM_StageLimitByLabel);

void BM_StageSampling(benchmark::State& state) {
  RunWith(state, "- sampling: {rate: 0.5}", kAccessLine);
}
BENCHMARK(BM_StageSampling);

// A city lookup in a small database written at start (memory-mapped like a GeoLite2 file).
void BM_StageGeoipCity(benchmark::State& state) {
  using skidder::testing::MmdbValue;
  skidder::testing::MmdbWriter w("GeoLite2-City", 6);
  auto names = [](const char* en) { return MmdbValue::Map({{"en", MmdbValue::String(en)}}); };
  for (int i = 0; i < 200; ++i) {
    w.Insert(
        std::to_string(i + 1) + ".0.0.0/8",
        MmdbValue::Map({{"city", MmdbValue::Map({{"names", names("Kansas City")}})},
                        {"country", MmdbValue::Map({{"names", names("United States")}})},
                        {"location", MmdbValue::Map({{"latitude", MmdbValue::Double(39.1)},
                                                     {"longitude", MmdbValue::Double(-94.5)}})}}));
  }
  const std::string path = "/tmp/skidder_bench_city_" + std::to_string(getpid()) + ".mmdb";
  w.WriteFile(path);
  RunWith(state,
          "- regex: {expression: '^(?P<ip>\\S+) '}\n- geoip: {db: " + path +
              ", source: ip, db_type: city}",
          kAccessLine);
  std::remove(path.c_str());
}
BENCHMARK(BM_StageGeoipCity);

// The regex that feeds geoip its ip, alone, to subtract from BM_StageGeoipCity.
void BM_StageGeoipRegexOnly(benchmark::State& state) {
  RunWith(state, "- regex: {expression: '^(?P<ip>\\S+) '}", kAccessLine);
}
BENCHMARK(BM_StageGeoipRegexOnly);

// json with a projection and a multi-select list next to plain paths.
void BM_StageJsonProjection(benchmark::State& state) {
  RunWith(state, R"(
- json:
    expressions:
      level:
      user: user.name
      skus: 'items[*].sku'
      pair: '[level, msg]'
)",
          kJsonLine);
}
BENCHMARK(BM_StageJsonProjection);

}  // namespace

// --- Stages of issue 4 (part A): logfmt, replace, multiline, pack, decolorize, template,
// timestamp, labelallow/labeldrop, structured_metadata, tenant, and the Airflow example. ---
// Each runs alone on a realistic line (entry copy included, as BM_PipelinePassThrough).
namespace {

using skidder::FakeClock;

const std::string kLogfmtLine =
    "level=info ts=2026-11-24T10:40:12.542Z caller=handler.go:118 method=GET "
    "path=/api/v1/items status=200 duration=1.2ms request_id=8f14e45fceea167a msg=\"request "
    "served\"";
const std::string kAirflowLine =
    "[2026-11-24T10:40:12.542+0000] {taskinstance.py:1361} INFO - Starting attempt 1 of 3";
const std::string kColourLine =
    "\x1b[2m2026-11-24 10:40:12\x1b[0m \x1b[32mINFO\x1b[0m \x1b[36m[web]\x1b[0m request served";

const Labels kAirflowLabels{
    {"filename",
     "/opt/airflow/logs/dag_id=etl_daily/run_id=scheduled__2026-11-24T00:00:00+00:00/"
     "task_id=extract_orders/attempt=1.log"},
    {"job", "airflow"}};

// A stage list run on `line` with a fixed clock.
void RunA(benchmark::State& state, const std::string& yaml, const std::string& line,
          const Labels& labels = kLabels) {
  FakeClock clock(1'795'516'812'542'000'000);
  skidder::pipeline::StageContext ctx;
  ctx.clock = &clock;
  std::vector<skidder::config::StageConfig> stages;
  YAML::Node list = YAML::Load(yaml);
  for (size_t i = 0; i < list.size(); ++i) {
    auto it = list[i].begin();
    stages.push_back({it->first.Scalar(), it->second, "bench.yaml"});
  }
  auto p = Pipeline::Build(stages, ctx);
  if (!p) throw std::runtime_error(p.error().message());
  Sink sink;
  uint64_t allocations = 0;
  for (auto _ : state) {
    Entry e;
    e.line = line;
    e.labels = labels;
    CountAllocations count(&allocations);
    (*p)->Process(std::move(e), sink);
  }
  (*p)->Flush(clock.NowNs(), true, sink);
  benchmark::DoNotOptimize(sink.bytes);
  ReportAllocations(state, allocations);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_StageLogfmt(benchmark::State& state) {
  RunA(state, "- logfmt:\n    mapping: {level:, status:, duration:, request_id:}", kLogfmtLine);
}
BENCHMARK(BM_StageLogfmt);

void BM_StageReplaceConstant(benchmark::State& state) {
  RunA(state, "- replace:\n    expression: 'request_id=(\\w+)'\n    replace: '<redacted>'",
       kLogfmtLine);
}
BENCHMARK(BM_StageReplaceConstant);

void BM_StageReplaceTemplate(benchmark::State& state) {
  RunA(state, "- replace:\n    expression: 'level=(\\w+)'\n    replace: '{{ .Value | ToUpper }}'",
       kLogfmtLine);
}
BENCHMARK(BM_StageReplaceTemplate);

void BM_StageReplaceNoMatch(benchmark::State& state) {
  RunA(state, "- replace:\n    expression: 'password=(\\S+)'\n    replace: '****'", kLogfmtLine);
}
BENCHMARK(BM_StageReplaceNoMatch);

// Every line starts a record (the common case): each is held until the next one arrives.
void BM_StageMultilineSingleLines(benchmark::State& state) {
  RunA(state, "- multiline:\n    firstline: '^\\[\\d{4}-\\d{2}-\\d{2}T'", kAirflowLine);
}
BENCHMARK(BM_StageMultilineSingleLines);

// A pipeline of one multiline stage configured by yaml, on clock.
std::unique_ptr<Pipeline> MultilinePipeline(FakeClock& clock, const char* yaml) {
  skidder::pipeline::StageContext ctx;
  ctx.clock = &clock;
  std::vector<skidder::config::StageConfig> stages{{"multiline", YAML::Load(yaml), "bench.yaml"}};
  auto p = Pipeline::Build(stages, ctx);
  if (!p) throw std::runtime_error(p.error().message());
  return std::move(*p);
}

// A 4-line traceback over and over: one first line, three continuations.
void BM_StageMultilineTraceback(benchmark::State& state) {
  FakeClock clock;
  auto p = MultilinePipeline(clock, "firstline: '^\\[\\d{4}-\\d{2}-\\d{2}T'");
  const std::string lines[] = {kAirflowLine, "Traceback (most recent call last):",
                               "  File \"/opt/airflow/dags/etl/orders.py\", line 63, in extract",
                               "KeyError: 'customer_id'"};
  Sink sink;
  size_t i = 0;
  for (auto _ : state) {
    Entry e;
    e.line = lines[i++ % 4];
    e.labels = kLabels;
    p->Process(std::move(e), sink);
  }
  p->Flush(clock.NowNs(), true, sink);
  benchmark::DoNotOptimize(sink.bytes);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_StageMultilineTraceback);

// What a file-source turn costs the stage when nothing is due: Flush and NextFlushNs with
// state.range(0) streams each holding an open block (a node of many containers). Constant in
// the number of streams (the blocks are kept in the order of their last line);
// before, both walked every stream's block.
void BM_StageMultilineIdleTurn(benchmark::State& state) {
  FakeClock clock;
  auto p = MultilinePipeline(clock, "firstline: '^START'\nmax_wait_time: 1h");
  Sink sink;
  const int64_t now = clock.NowNs();
  for (int64_t i = 0; i < state.range(0); ++i) {
    Entry e;
    e.line = "START";
    e.labels = Labels{{"pod", "p" + std::to_string(i)}};
    e.timestamp_ns = now;
    p->Process(std::move(e), sink);
  }
  for (auto _ : state) {
    p->Flush(now, false, sink);
    benchmark::DoNotOptimize(p->NextFlushNs());
  }
  p->Flush(now, true, sink);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_StageMultilineIdleTurn)->Arg(100)->Arg(10000);

void BM_StagePack(benchmark::State& state) {
  RunA(state, "- pack:\n    labels: [pod, container]", kLogfmtLine);
}
BENCHMARK(BM_StagePack);

void BM_StageDecolorize(benchmark::State& state) { RunA(state, "- decolorize: {}", kColourLine); }
BENCHMARK(BM_StageDecolorize);

void BM_StageDecolorizePlain(benchmark::State& state) {
  RunA(state, "- decolorize: {}", kLogfmtLine);
}
BENCHMARK(BM_StageDecolorizePlain);

// Templates over stream labels (the extracted map falls back to them): no parsing stage to
// subtract.
void BM_StageTemplateToUpper(benchmark::State& state) {
  RunA(state, "- template: {source: container, template: '{{ ToUpper .Value }}'}", kLogfmtLine);
}
BENCHMARK(BM_StageTemplateToUpper);

void BM_StageTemplateIfElse(benchmark::State& state) {
  RunA(state,
       "- template:\n    source: team\n    template: '{{ if eq .namespace \"shop\" }}{{ .container "
       "| ToUpper }}{{ else if hasPrefix \"kube\" .namespace }}system{{ else }}other{{ end }}'",
       kLogfmtLine);
}
BENCHMARK(BM_StageTemplateIfElse);

// Timestamps read from a label (kLabels plus `ts`), so the number is the parse alone.
Labels WithTs(const std::string& ts) {
  Labels l = kLabels;
  l.Set("ts", ts);
  return l;
}

void BM_StageTimestampRFC3339Nano(benchmark::State& state) {
  RunA(state, "- timestamp: {source: ts, format: RFC3339Nano}", kLogfmtLine,
       WithTs("2026-11-24T10:40:12.542001710Z"));
}
BENCHMARK(BM_StageTimestampRFC3339Nano);

void BM_StageTimestampGoLayoutInZone(benchmark::State& state) {
  RunA(state,
       "- timestamp: {source: ts, format: '2006-01-02 15:04:05,000', location: Europe/Berlin}",
       kLogfmtLine, WithTs("2026-11-24 11:40:12,542"));
}
BENCHMARK(BM_StageTimestampGoLayoutInZone);

void BM_StageTimestampUnixMs(benchmark::State& state) {
  RunA(state, "- timestamp: {source: ts, format: UnixMs}", kLogfmtLine, WithTs("1795516812542"));
}
BENCHMARK(BM_StageTimestampUnixMs);

void BM_StageLabelAllow(benchmark::State& state) {
  RunA(state, "- labelallow: [namespace, container]", kLogfmtLine);  // removes 2 labels
}
BENCHMARK(BM_StageLabelAllow);

void BM_StageLabelDropNothing(benchmark::State& state) {
  RunA(state, "- labeldrop: [instance, node_name]", kLogfmtLine);  // no such labels
}
BENCHMARK(BM_StageLabelDropNothing);

// The part-A baseline: RunA with a stage that changes nothing, on kLabels + `ts` (as the
// timestamp benchmarks).
void BM_StagePartABaseline(benchmark::State& state) {
  RunA(state, "- labeldrop: [instance]", kLogfmtLine, WithTs("1795516812542"));
}
BENCHMARK(BM_StagePartABaseline);

void BM_StageStructuredMetadata(benchmark::State& state) {
  RunA(state, "- structured_metadata: {pod:}", kLogfmtLine);  // moves a label
}
BENCHMARK(BM_StageStructuredMetadata);

void BM_StageTenant(benchmark::State& state) {
  RunA(state, "- tenant: {label: namespace}", kLogfmtLine);
}
BENCHMARK(BM_StageTenant);

// config/examples/airflow.yaml's pipeline on single-line records.
void BM_PipelineAirflowExample(benchmark::State& state) {
  RunA(state, R"y(
- multiline:
    firstline: '^\[\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}'
- regex:
    source: filename
    expression: '/dag_id=(?P<dag_id>[^/]+)/run_id=(?P<run_id>[^/]+)/task_id=(?P<task_id>[^/]+)/(?:map_index=(?P<map_index>-?\d+)/)?attempt=(?P<attempt>\d+)\.log$'
- labels: {dag_id:, task_id:}
- structured_metadata: {run_id:, attempt:, map_index:, filename:}
- regex:
    expression: '^\[(?P<time>[^\]]+)\] \{(?P<caller>[^}]+)\} (?P<level>[A-Z]+) - '
- regex:
    expression: '(?s)^.*\n(?P<exception>[A-Za-z_][\w.]*)(?::\s|$)'
- structured_metadata: {exception:}
- timestamp:
    source: time
    format: '2006-01-02T15:04:05.000-0700'
    location: UTC
- template: {source: level, template: '{{ ToLower .Value }}'}
- labels: {level:}
)y",
       kAirflowLine, kAirflowLabels);
}
BENCHMARK(BM_PipelineAirflowExample);

}  // namespace

// --- Issue 10: one benchmark per parsing and labelling stage, and the default Kubernetes
// pipeline, each alone on a typical line with the label set the Promtail chart's relabelling
// gives a pod's container (config/kubernetes.yaml). `allocs` should read 0 for all of them. ---
namespace {

const Labels kChartLabels{{"app", "checkout"},
                          {"component", "api"},
                          {"container", "checkout"},
                          {"filename",
                           "/var/log/pods/shop_checkout-7d9f8c6b5-x2x7q_0b48a727/"
                           "checkout/0.log"},
                          {"instance", "checkout-eu"},
                          {"job", "shop/checkout"},
                          {"namespace", "shop"},
                          {"node_name", "node-eu-1a-7"},
                          {"pod", "checkout-7d9f8c6b5-x2x7q"}};
const std::string kCriLine =
    "2026-11-24T10:40:12.542001710Z stdout F 10.2.7.14 - - \"GET /api/v1/orders/8f2c HTTP/1.1\" "
    "200 512 12ms user=alice@example.com trace=4bf92f3577b34da6a3ce929d0e0e4736";
const std::string kDockerLine =
    R"({"log":"10.2.7.14 - - \"GET /api/v1/orders/8f2c HTTP/1.1\" 200 512 12ms user=alice\n",)"
    R"("stream":"stdout","time":"2026-11-24T10:40:12.542001710Z"})";
const std::string kFlatJsonLine =
    R"({"ts":"2026-11-24T10:40:12.542Z","level":"info","logger":"checkout.http",)"
    R"("msg":"order placed for customer","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736",)"
    R"("user":{"id":42,"name":"alice@example.com"},"status":200,"duration_ms":12.5})";

// Like Pipeline::Process(Entry&&) in the agent: one PipelineEntry whose buffers go round (the
// sink hands the entry back), so what is counted is the stages' own work. `extracted` are
// values a previous stage would have set.
void RunStageLines(benchmark::State& state, const std::string& yaml, const std::string& line,
                   const Labels& labels = kChartLabels,
                   std::vector<std::pair<std::string, std::string>> extracted = {}) {
  class Recycle final : public Emitter {
   public:
    void Emit(PipelineEntry&& e) override { back = std::move(e); }
    PipelineEntry back;
  };
  auto p = Pipeline::Build(Stages(yaml), {});
  if (!p) throw std::runtime_error(p.error().message());
  Recycle sink;
  uint64_t allocations = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    PipelineEntry pe = std::move(sink.back);
    pe.entry.line.assign(line);  // the reader's copy of the line, into a reused buffer
    pe.entry.labels = labels;    // shared with the target, as every entry of a file is
    pe.extracted.clear();
    for (const auto& [k, v] : extracted) pe.extracted.Set(k, std::string_view(v));
    CountAllocations count(&allocations);
    (*p)->Process(std::move(pe), sink);
    bytes += sink.back.entry.line.size();
  }
  benchmark::DoNotOptimize(bytes);
  ReportAllocations(state, allocations);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// config/kubernetes.yaml's pipeline_stages on the chart's labels.
void BM_PipelineKubernetes(benchmark::State& state) { RunStageLines(state, "- cri: {}", kCriLine); }
BENCHMARK(BM_PipelineKubernetes);

// The same with what many charts add: a static label and a label from a parsed field.
void BM_PipelineKubernetesStaticAndLabels(benchmark::State& state) {
  RunStageLines(state, R"y(
- cri: {}
- static_labels: {cluster: eu-prod-1}
- labels: {stream:}
)y",
                kCriLine);
}
BENCHMARK(BM_PipelineKubernetesStaticAndLabels);

void BM_AllocStageCri(benchmark::State& state) { RunStageLines(state, "- cri: {}", kCriLine); }
BENCHMARK(BM_AllocStageCri);

void BM_AllocStageDocker(benchmark::State& state) {
  RunStageLines(state, "- docker: {}", kDockerLine);
}
BENCHMARK(BM_AllocStageDocker);

// Plain field names and a dotted path: the common json configuration.
void BM_AllocStageJson(benchmark::State& state) {
  RunStageLines(state, R"y(
- json:
    expressions:
      level:
      msg:
      trace_id:
      user: user.name
      status:
      duration: duration_ms
)y",
                kFlatJsonLine);
}
BENCHMARK(BM_AllocStageJson);

void BM_AllocStageRegex(benchmark::State& state) {
  RunStageLines(state,
                "- regex:\n    expression: '\"(?P<method>\\w+) (?P<path>\\S+) [^\"]*\" "
                "(?P<status>\\d+) (?P<bytes>\\d+) (?P<duration>\\S+) user=(?P<user>\\S+)'",
                kCriLine);
}
BENCHMARK(BM_AllocStageRegex);

void BM_AllocStageLogfmt(benchmark::State& state) {
  RunStageLines(state, "- logfmt:\n    mapping: {level:, caller:, path:, request_id:, msg:}",
                kLogfmtLine);
}
BENCHMARK(BM_AllocStageLogfmt);

// Two labels from extracted values (as after a regex or json stage), one of them new.
void BM_AllocStageLabels(benchmark::State& state) {
  RunStageLines(state, "- labels: {level:, stream:}", kCriLine, kChartLabels,
                {{"level", "info"}, {"stream", "stdout"}});
}
BENCHMARK(BM_AllocStageLabels);

void BM_AllocStageStaticLabels(benchmark::State& state) {
  RunStageLines(state, "- static_labels: {cluster: eu-prod-1, env: prod}", kCriLine);
}
BENCHMARK(BM_AllocStageStaticLabels);

}  // namespace
