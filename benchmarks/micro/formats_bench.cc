// Parsers on realistic container log lines (~200 bytes): what every line read pays.
#include <benchmark/benchmark.h>

#include <string>

#include "formats/cri.h"
#include "formats/docker.h"
#include "formats/utf8.h"

namespace {

const std::string kMessage =
    "level=info ts=2026-11-24T10:40:12.542Z caller=handler.go:118 method=GET path=/api/v1/items "
    "status=200 duration=1.2ms user_agent=\"kube-probe/1.29\" request_id=8f14e45fceea167a";
const std::string kCri = "2026-11-24T10:40:12.542001710Z stdout F " + kMessage;
const std::string kDocker = R"({"log":")" + std::string("level=info caller=handler.go:118 ") +
                            R"(msg=\"GET /api/v1/items\" status=200 duration=1.2ms )" +
                            R"(user_agent=\"kube-probe/1.29\" request_id=8f14e45fceea167a\n",)" +
                            R"("stream":"stdout","time":"2026-11-24T10:40:12.542001710Z"})";

void BM_ParseCri(benchmark::State& state) {
  for (auto _ : state) {
    auto r = skidder::formats::ParseCri(kCri);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kCri.size()));
}
BENCHMARK(BM_ParseCri);

void BM_ParseDockerJson(benchmark::State& state) {
  skidder::formats::DockerRecord rec;
  for (auto _ : state) {
    auto s = skidder::formats::ParseDockerJson(kDocker, &rec);
    benchmark::DoNotOptimize(s);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kDocker.size()));
}
BENCHMARK(BM_ParseDockerJson);

void BM_SanitizeUtf8Valid(benchmark::State& state) {
  std::string line = kMessage + " caf\xC3\xA9 \xE2\x82\xAC";
  for (auto _ : state) {
    benchmark::DoNotOptimize(skidder::formats::SanitizeUtf8(line));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * line.size()));
}
BENCHMARK(BM_SanitizeUtf8Valid);

void BM_SanitizeUtf8Invalid(benchmark::State& state) {
  const std::string bad = kMessage + " \xff\xfe broken \xC3";
  for (auto _ : state) {
    std::string line = bad;
    benchmark::DoNotOptimize(skidder::formats::SanitizeUtf8(line));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bad.size()));
}
BENCHMARK(BM_SanitizeUtf8Invalid);

}  // namespace
