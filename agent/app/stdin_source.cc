#include "app/stdin_source.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "util/log.h"

namespace skidder::app {
namespace {

constexpr size_t kReadBytes = 64 * 1024;
// A line without a newline is cut here, as the file tailer does, so memory stays bounded.
constexpr size_t kMaxLine = 1 << 20;

}  // namespace

Labels StdinLabels(const std::vector<Labels>& static_targets) {
  Labels labels;
  labels.Set("job", "stdin");
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) == 0) labels.Set("hostname", host);
  if (!static_targets.empty()) {
    for (const Label& l : static_targets.front()) {
      if (!l.name.starts_with("__")) labels.Set(l.name, l.value);
    }
  }
  return labels;
}

StdinSource::StdinSource(pipeline::Pipeline* pipeline, Labels labels, EntrySink* sink, Clock* clock,
                         int fd)
    : pipeline_(pipeline), labels_(std::move(labels)), sink_(sink), clock_(clock), fd_(fd) {}

void StdinSource::Start() {
  thread_ = std::thread([this] { Run(); });
}

void StdinSource::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void StdinSource::Emit(std::string_view line, pipeline::Emitter& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const BatchTime now = BatchTime::Of(*clock_);
  Entry e;
  e.timestamp_ns = stamps_.Next(now.wall_ns);  // a line apart even when the clock has not moved
  e.line.assign(line);
  e.labels = labels_;
  pipeline_->Process(std::move(e), now, out);
}

void StdinSource::Run() {
  pipeline::SinkEmitter out(sink_);
  std::string buf;
  char chunk[kReadBytes];
  bool eof = false;
  while (!stop_ && !eof) {
    const BatchTime now = BatchTime::Of(*clock_);
    // What stages hold by time (a multiline block, max_wait_time) goes out when due even while
    // no input comes: `tail -f app.log | skidder -stdin` must not hold a block until the next line.
    const int64_t flush_at = pipeline_->NextFlushNs();
    if (flush_at <= now.wall_ns) pipeline_->Flush(now.wall_ns, /*force=*/false, out);
    // Backpressure: a full sink, or a limit stage (drop: false) over its rate; input waits in the
    // pipe.
    if (const int64_t wait = pipeline_->ReadyInNs(now.steady_ns); sink_->Saturated() || wait > 0) {
      usleep(static_cast<useconds_t>(std::clamp<int64_t>(wait / 1000, 1'000, 100'000)));
      continue;
    }
    int timeout_ms = 100;
    if (flush_at != pipeline::kNoFlush) {
      timeout_ms = static_cast<int>(
          std::clamp<int64_t>((flush_at - now.wall_ns) / 1'000'000 + 1, 1, timeout_ms));
    }
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) continue;
    ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      if (n < 0) LOG_ERROR("cannot read stdin", {{"error", std::strerror(errno)}});
      break;
    }
    buf.append(chunk, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      Emit(std::string_view(buf).substr(start, nl - start), out);
    }
    buf.erase(0, start);
    while (buf.size() > kMaxLine) {  // cut into kMaxLine pieces; no byte is dropped
      Emit(std::string_view(buf).substr(0, kMaxLine), out);
      buf.erase(0, kMaxLine);
    }
  }
  if (!buf.empty()) Emit(buf, out);  // a last line without a newline still counts
  pipeline_->Flush(clock_->NowNs(), /*force=*/true, out);
  if (eof) {
    LOG_INFO("end of standard input, shutting down");
    kill(getpid(), SIGTERM);
  }
}

}  // namespace skidder::app
