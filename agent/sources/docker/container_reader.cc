#include "sources/docker/container_reader.h"

#include <fmt/format.h>
#include <unistd.h>

#include <charconv>

#include "util/log.h"

namespace skidder::sources::docker {
namespace {

constexpr std::chrono::seconds kInspectTimeout{30};
constexpr size_t kMaxSystemError = 1024;
constexpr const char* kStreamLabel = "__meta_docker_container_log_stream";
// The daemon stamps stdout and stderr lines on two goroutines and writes them under one lock, so
// its log is in timestamp order only within microseconds (a stderr line stamped first may be
// written after a stdout line). A position at the last line's timestamp would make the daemon
// leave out, when read again, a line written after it with an earlier stamp: `since` starts this
// much earlier, and the lines read again are skipped by count (Position).
constexpr int64_t kDisorderNs = 100'000'000;
// Lines whose timestamps are kept for that count (64 KB): more within kDisorderNs (a container
// writing over 80,000 lines a second) are read again after a restart, never skipped.
constexpr size_t kRecentLines = 8192;

}  // namespace

std::string FormatSince(int64_t ts_ns) {
  int64_t sec = ts_ns / 1'000'000'000, nsec = ts_ns % 1'000'000'000;
  if (nsec < 0) {
    sec -= 1;
    nsec += 1'000'000'000;
  }
  return fmt::format("{}.{:09d}", sec, nsec);
}

std::string FormatPosition(const Position& p) {
  std::string out = FormatSince(p.ts_ns);
  if (p.lines_at_ts > 0) out += fmt::format("+{}", p.lines_at_ts);
  return out;
}

std::optional<Position> ParsePosition(std::string_view text) {
  Position p;
  if (size_t plus = text.find('+'); plus != std::string_view::npos) {
    std::string_view n = text.substr(plus + 1);
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), p.lines_at_ts);
    if (ec != std::errc() || end != n.data() + n.size() || n.empty()) return std::nullopt;
    text = text.substr(0, plus);
  }
  size_t dot = text.find('.');
  std::string_view sec_text = text.substr(0, dot);
  int64_t sec = 0, nsec = 0;
  auto [end, ec] = std::from_chars(sec_text.data(), sec_text.data() + sec_text.size(), sec);
  if (ec != std::errc() || end != sec_text.data() + sec_text.size() || sec_text.empty()) {
    return std::nullopt;
  }
  if (dot != std::string_view::npos) {
    std::string_view frac = text.substr(dot + 1);
    if (frac.empty() || frac.size() > 9) return std::nullopt;
    for (char c : frac) {
      if (c < '0' || c > '9') return std::nullopt;
      nsec = nsec * 10 + (c - '0');
    }
    for (size_t i = frac.size(); i < 9; ++i) nsec *= 10;
  }
  if (sec < 0 || sec > 9'000'000'000) return std::nullopt;
  p.ts_ns = sec * 1'000'000'000 + nsec;
  return p;
}

ContainerReader::ContainerReader(const ReaderContext* ctx, Endpoint ep, std::string id, Labels meta,
                                 Position from)
    : ctx_(ctx),
      ep_(std::move(ep)),
      id_(std::move(id)),
      meta_(std::move(meta)),
      since_ns_(from.ts_ns),
      skip_at_since_(from.lines_at_ts),
      emitter_(std::make_unique<pipeline::BatchEmitter>(ctx->sink)) {}

void ContainerReader::Start() {
  if (running_.load()) return;
  if (thread_.joinable()) thread_.join();
  stop_ = false;
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

void ContainerReader::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ContainerReader::LogError(std::string_view what, const Status& st) {
  int64_t times = 0;
  if (ctx_->errors != nullptr && ctx_->errors->Allow(&times)) {
    LOG_WARN(what, {{"job", ctx_->job_name},
                    {"container", id_},
                    {"error", st.message()},
                    {"times", std::to_string(times)}});
  }
}

void ContainerReader::Run() {
  DockerApi api(ep_);
  Status st = ReadOnce(api);
  if (!st.ok() && !stop_) {
    if (ctx_->metrics != nullptr) ctx_->metrics->docker_errors.With({"stream"})->Add(1);
    LogError("reading a container's logs stopped; resuming at the next refresh", st);
  }
  // Where the next run starts: just before the last line read (skipping the lines already handed
  // on), or a partial line still held, which is dropped here and read again.
  if (last_ts_ != 0) {
    const Position p = Resume();
    since_ns_ = p.ts_ns;
    skip_at_since_ = p.lines_at_ts;
  }
  running_ = false;
}

Status ContainerReader::ReadOnce(DockerApi& api) {
  asm_[0].reset();  // a run that fails before reading holds no partial line
  asm_[1].reset();
  // A run counts only the lines it read from its own `since` (the previous run's would count
  // the lines read again twice, and skip that many lines too many when read again); a run that
  // reads none keeps the previous run's position (Run), a held partial line's too.
  recent_.clear();
  last_ts_ = 0;
  auto inspect =
      api.Get("/containers/" + UrlEncode(id_) + "/json", kMaxInspectBody,
              std::chrono::duration_cast<std::chrono::milliseconds>(kInspectTimeout), &stop_);
  if (!inspect) return inspect.error();
  auto tty = ParseTty(*inspect);
  if (!tty) return tty.error();
  tty_ = *tty;
  for (int i = 0; i < 2; ++i) {
    Labels l = meta_;
    l.Set(kStreamLabel, i == 0 ? "stdout" : "stderr");
    labels_[i].reset();
    if (kubernetes::Relabel(*ctx_->relabel, l)) {
      l.RemoveInternal();
      labels_[i] = std::move(l);
    }
  }
  decoder_ = FrameDecoder();
  asm_[0] = std::make_unique<LineAssembler>(Stream::kStdout, ctx_->max_line, tty_);
  asm_[1] = std::make_unique<LineAssembler>(Stream::kStderr, ctx_->max_line);
  system_error_.clear();
  stream_error_ = Status::Ok();
  const std::string path = fmt::format(
      "/containers/{}/logs?follow=true&stdout=true&stderr=true&timestamps=true&since={}",
      UrlEncode(id_), FormatSince(since_ns_));
  Status st = api.Stream(
      path, [this](std::string_view d) { return OnData(d); }, &stop_);
  if (!stream_error_.ok()) {
    if (ctx_->metrics != nullptr) ctx_->metrics->docker_errors.With({"malformed_frame"})->Add(1);
    return stream_error_;
  }
  if (!system_error_.empty()) {
    return Status(StatusCode::kUnavailable, "the daemon ended the stream: " + system_error_);
  }
  if (st.ok() && !stop_) {  // the container stopped: its last line may lack its "\n"
    HandOn([&](auto& on_line, auto& on_bad) {
      for (auto& a : asm_) a->Flush(on_line, on_bad);
    });
  }
  return st;
}

Position ContainerReader::Resume() const {
  Position pos{std::max<int64_t>(last_ts_ - kDisorderNs, 0), 0};
  for (int64_t ts : recent_) pos.lines_at_ts += ts >= pos.ts_ns && ts <= last_ts_;
  // A partial line held from before: read again from its start, skipping nothing (a line of
  // the other stream handed on after it would be counted before it).
  for (const auto& a : asm_) {
    const int64_t held = a ? a->held_since_ns() : 0;
    if (held != 0 && held <= last_ts_) pos = Position{std::min(held, pos.ts_ns), 0};
  }
  return pos;
}

void ContainerReader::OnLine(const LogLine& l, pipeline::Emitter& out) {
  last_ts_ = l.timestamp_ns;
  recent_.push_back(l.timestamp_ns);
  while (recent_.size() > kRecentLines || recent_.front() < last_ts_ - kDisorderNs) {
    recent_.pop_front();
  }
  // Handed on by the previous run already: the first lines of the position's window. A line
  // stamped outside it was not (written later, or out of order), and is not counted.
  if (skip_at_since_ > 0 && l.timestamp_ns >= since_ns_ &&
      l.timestamp_ns <= since_ns_ + kDisorderNs) {
    --skip_at_since_;
    return;
  }
  if (hold_.empty()) hold_ = tracker_->Open(++seq_);
  const std::optional<Labels>& labels = labels_[l.stream == Stream::kStderr ? 1 : 0];
  if (!labels) return;  // dropped by relabel_configs: done with it
  Entry e;
  e.timestamp_ns = l.timestamp_ns;
  e.line.assign(l.line);
  e.labels = *labels;
  e.ack = hold_;
  ctx_->pipeline->Process(std::move(e), now_, out);
}

int64_t ContainerReader::LimitWaitNs() const {
  std::lock_guard lock(*ctx_->pipeline_mu);
  const Clock& clock = ctx_->clock != nullptr ? *ctx_->clock : SystemClock::Get();
  return ctx_->pipeline->ReadyInNs(BatchTime::Of(clock).steady_ns);
}

template <typename F>
void ContainerReader::HandOn(F&& feed) {
  pipeline::BatchEmitter& out = *emitter_;
  uint64_t lines = 0, bad = 0;
  const uint64_t truncated_before = asm_[0]->truncated_bytes() + asm_[1]->truncated_bytes();
  {
    std::lock_guard lock(*ctx_->pipeline_mu);
    now_ = BatchTime::Of(ctx_->clock != nullptr ? *ctx_->clock : SystemClock::Get());
    auto on_line = [&](const LogLine& l) {
      ++lines;
      OnLine(l, out);
    };
    auto on_bad = [&](std::string_view) { ++bad; };
    feed(on_line, on_bad);
  }
  out.Flush();  // one batch per read, handed on outside the pipeline lock
  if (!hold_.empty()) {
    const Position pos = Resume();  // as at the end of a run
    {
      std::lock_guard lock(mu_);
      checkpoints_.emplace_back(seq_, pos);
    }
    hold_.Reset();
  }
  if (ctx_->metrics != nullptr) {
    auto& m = *ctx_->metrics;
    if (lines > 0) m.docker_entries.With({ctx_->job_name})->Add(static_cast<double>(lines));
    if (bad > 0) m.docker_errors.With({"timestamp"})->Add(static_cast<double>(bad));
    const uint64_t truncated = asm_[0]->truncated_bytes() + asm_[1]->truncated_bytes();
    if (truncated > truncated_before) m.docker_errors.With({"line_too_long"})->Add(1);
  }
  if (bad > 0) {
    LogError("skipping container log lines without a timestamp",
             Status(StatusCode::kInvalidArgument, fmt::format("{} lines", bad)));
  }
}

// One chunk from the socket: one checkpoint for every line it completes.
bool ContainerReader::OnData(std::string_view data) {
  // Backpressure, the daemon's log file holding the backlog: a full sink, or a limit stage
  // (drop: false) over its rate.
  while (ctx_->sink->Saturated() || LimitWaitNs() > 0) {
    if (stop_) return false;
    usleep(10'000);
  }
  if (stop_) return false;
  HandOn([&](auto& on_line, auto& on_bad) {
    if (tty_) {
      asm_[0]->Feed(data, false, on_line, on_bad);
      return;
    }
    Status s = decoder_.Feed(data, [&](Stream st, std::string_view piece, bool end) {
      if (st == Stream::kStdout || st == Stream::kStderr) {
        asm_[st == Stream::kStderr ? 1 : 0]->Feed(piece, end, on_line, on_bad);
      } else if (st == Stream::kSystemErr) {
        size_t room = kMaxSystemError - std::min(kMaxSystemError, system_error_.size());
        system_error_.append(piece.substr(0, std::min(room, piece.size())));
      }
    });
    if (!s.ok()) stream_error_ = s;
  });
  if (ctx_->metrics != nullptr) {
    ctx_->metrics->docker_read_bytes.With({ctx_->job_name})->Add(static_cast<double>(data.size()));
  }
  return stream_error_.ok() && system_error_.empty();
}

std::optional<std::string> ContainerReader::TakeCommitted() {
  const uint64_t committed = tracker_->Committed();
  std::optional<Position> pos;
  {
    std::lock_guard lock(mu_);
    while (!checkpoints_.empty() && checkpoints_.front().first <= committed) {
      pos = checkpoints_.front().second;
      checkpoints_.pop_front();
    }
  }
  if (!pos || pos == committed_) return std::nullopt;
  committed_ = pos;
  return FormatPosition(*pos);
}

}  // namespace skidder::sources::docker
