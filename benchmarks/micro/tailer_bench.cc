// The file reader's hot path: splitting chunks into lines, and a whole chunk read from a file
// through an empty pipeline into a sink that drops entries (what each byte read costs before
// the stages); and a discovery pass's walk over 10,000 new pod logs, opening each.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "pipeline/pipeline.h"
#include "sources/file/glob.h"
#include "sources/file/identity.h"
#include "sources/file/line_splitter.h"
#include "sources/file/tailed_file.h"
#include "telemetry/agent_metrics.h"

namespace {

using skidder::sources::LineSplitter;

std::string Lines(size_t bytes) {
  const std::string line =
      "2026-11-24T10:40:12.542001710Z stdout F level=info caller=handler.go:118 method=GET "
      "path=/api/v1/items status=200 duration=1.2ms request_id=8f14e45fceea167a\n";
  std::string s;
  while (s.size() < bytes) s += line;
  return s;
}

void BM_SplitLines(benchmark::State& state) {
  const std::string chunk = Lines(64 * 1024);
  for (auto _ : state) {
    LineSplitter s(1 << 20, false, 0);
    size_t n = 0;
    s.Feed(chunk, [&](std::string_view l) { n += l.size(); });
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
}
BENCHMARK(BM_SplitLines);

class Discard final : public skidder::pipeline::Emitter {
 public:
  void Emit(skidder::pipeline::PipelineEntry&& e) override { benchmark::DoNotOptimize(e); }
};

// The empty pipeline wrapping a sink that drops everything (app::PipelineHandler, without the
// batch for a sink).
class Handler final : public skidder::sources::ReadHandler {
 public:
  explicit Handler(skidder::pipeline::Pipeline* p) : p_(p) {}
  void Handle(skidder::sources::ReadBatch& batch) override {
    batch.ForEach([&](skidder::Entry& e) { p_->Process(std::move(e), batch.now, out_); });
  }
  void Flush(int64_t, bool) override {}
  int64_t NextFlushNs() const override { return p_->NextFlushNs(); }
  int64_t ReadyInNs(int64_t) const override { return 0; }
  bool Saturated() const override { return false; }  // discards: never full

 private:
  skidder::pipeline::Pipeline* p_;
  Discard out_;
};

void BM_ReadChunkIntoEntries(benchmark::State& state) {
  std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                     "/skidder-tailer-bench.log";
  const std::string data = Lines(4 << 20);
  int wfd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (wfd < 0 || ::write(wfd, data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    state.SkipWithError("cannot write temp file");
    return;
  }
  ::close(wfd);
  skidder::telemetry::Registry registry;
  skidder::telemetry::AgentMetrics metrics(registry);
  skidder::pipeline::Pipeline pipe(std::vector<std::unique_ptr<skidder::pipeline::Stage>>{});
  Handler handler(&pipe);
  skidder::sources::ReadBatch batch;
  std::vector<char> buf(64 * 1024);
  skidder::sources::TailSettings settings;
  settings.metrics = &metrics;
  skidder::Labels labels{{"job", "bench"}, {"namespace", "default"}, {"pod", "api-7d9f"}};
  for (auto _ : state) {
    state.PauseTiming();
    int fd = ::open(path.c_str(), O_RDONLY);
    skidder::sources::TailedFile f(fd, path, {}, 0, skidder::sources::FileLabels(labels, path),
                                   &handler, settings);
    state.ResumeTiming();
    while (f.ReadChunk(buf.data(), buf.size(), skidder::BatchTime{}, batch) ==
           skidder::sources::TailedFile::ReadResult::kFull) {
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
  ::unlink(path.c_str());
}
BENCHMARK(BM_ReadChunkIntoEntries)->Unit(benchmark::kMillisecond);

// /var/log/pods with `n` pods of one container and one log each, made once per process.
const std::string& PodLogs(size_t n) {
  static std::string root;
  if (!root.empty()) return root;
  const char* tmp = std::getenv("TMPDIR");
  std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/skidder-walk-bench-XXXXXX";
  if (::mkdtemp(dir.data()) == nullptr) return root;
  for (size_t i = 0; i < n; ++i) {
    const std::string pod = dir + "/ns_pod-" + std::to_string(i) + "_uid-" + std::to_string(i);
    ::mkdir(pod.c_str(), 0755);
    ::mkdir((pod + "/app").c_str(), 0755);
    ::close(::open((pod + "/app/0.log").c_str(), O_WRONLY | O_CREAT, 0644));
  }
  std::atexit([] { (void)std::system(("rm -rf " + root).c_str()); });
  root = dir;
  return root;
}

// A first discovery pass: walk /var/log/pods/*/*/*.log and open every file. Opened by path once
// the walk is done (state.range(0) == 0: the kernel walks every directory of the path again) or
// on the listed directory's descriptor as the walk lists it (1: what discovery does).
void BM_WalkAndOpenNewFiles(benchmark::State& state) {
  const bool at_listing = state.range(0) == 1;
  const std::string& root = PodLogs(10000);
  if (root.empty()) {
    state.SkipWithError("cannot make the pod directories");
    return;
  }
  const skidder::sources::Glob glob(root + "/*/*/*.log");
  std::vector<int> fds;
  std::vector<std::string> paths;
  for (auto _ : state) {
    fds.clear();
    paths.clear();
    glob.Walk([](const std::string&) {},
              [&](const std::string& p, const skidder::sources::WalkedFile&) {
                if (!at_listing) paths.push_back(p);
              },
              [&](const std::string&, const skidder::sources::Glob::Listed& at,
                  skidder::sources::WalkedFile*) {
                if (at_listing) {
                  fds.push_back(skidder::sources::OpenAtNoAtime(at.dir_fd, at.name, O_RDONLY));
                }
                return true;
              });
    for (const std::string& p : paths) {
      fds.push_back(skidder::sources::OpenNoAtime(p.c_str(), O_RDONLY));
    }
    for (int fd : fds) ::close(fd);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * fds.size()));
}
BENCHMARK(BM_WalkAndOpenNewFiles)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
