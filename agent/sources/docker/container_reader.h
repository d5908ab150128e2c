// ContainerReader: reads one container's logs through the Docker API on its own thread, as
// Promtail's Docker target does: GET /containers/{id}/json (is it a TTY?), then
// GET /containers/{id}/logs?follow=true&stdout=true&stderr=true&timestamps=true&since=<position>,
// decoded by log_stream.h, each line labelled with the container's meta labels and
// __meta_docker_container_log_stream (stdout|stderr), relabeled, internal labels dropped, and
// handed through the job's pipeline to the sink.
//
// Position: 100 ms before the timestamp of the last line Loki acknowledged ("<unix
// seconds>.<nanoseconds>", Docker's `since`) and how many lines stamped from then to that line
// were read ("+<n>"), under "docker-<container id>" (see Position for why not the last line's
// timestamp itself). Each chunk read from the socket is one AckTracker checkpoint whose position
// is that of its last line (or, if older, the timestamp of a partial line still held, with no
// line counted). Docker's `since` is inclusive: reading again from a position skips the counted
// lines of its window, so neither a reconnection (container restarted, daemon back, bad frame)
// nor a restart of the agent sends a line twice; after a SIGKILL what was acknowledged but not
// yet saved comes again (at least once).
//
// Backpressure: while the sink is Saturated() the reading thread stops taking bytes from the
// socket, so the daemon's log file holds the backlog.
//
// Threads: Start/Stop/Running/TakeCommitted on the owner's (the source's discovery thread or
// the main thread for positions); reading on the reader's own thread.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "kubernetes/relabel.h"
#include "model/ack.h"
#include "model/sink.h"
#include "pipeline/pipeline.h"
#include "sources/docker/containers.h"
#include "sources/docker/docker_api.h"
#include "sources/docker/log_stream.h"
#include "telemetry/agent_metrics.h"
#include "util/clock.h"
#include "util/log_limiter.h"

namespace skidder::sources::docker {

// What every reader of one scrape config shares; owned by the DockerSource.
struct ReaderContext {
  std::string job_name;
  const kubernetes::RelabelRules* relabel = nullptr;
  pipeline::Pipeline* pipeline = nullptr;
  std::mutex* pipeline_mu = nullptr;  // the job's pipeline is not thread-safe
  EntrySink* sink = nullptr;
  telemetry::AgentMetrics* metrics = nullptr;
  const Clock* clock = nullptr;
  size_t max_line = 256 * 1024;
  log::LogLimiter* errors = nullptr;  // one budget of error lines for the whole job
};

// "<seconds>.<nanoseconds>": Docker's since.
std::string FormatSince(int64_t ts_ns);

// A saved position: where to read again from (Docker's `since`, inclusive) and how many lines
// stamped from then to kDisorderNs later (container_reader.cc) were acknowledged already: the
// first that many such lines the daemon returns are skipped. It returns them in its log's
// order, the acknowledged ones first. (A position written before a line stamped exactly at
// ts_ns and how many of them: the same thing.)
struct Position {
  int64_t ts_ns = 0;
  size_t lines_at_ts = 0;
  bool operator==(const Position&) const = default;
};
// "<seconds>.<nanoseconds>[+<lines to skip>]"; Promtail's whole seconds parse too
// (with 0 lines known). nullopt for anything else.
std::string FormatPosition(const Position& p);
std::optional<Position> ParsePosition(std::string_view text);

class ContainerReader {
 public:
  // from: where to start ({0, 0}: the container's first line).
  ContainerReader(const ReaderContext* ctx, Endpoint ep, std::string id, Labels meta,
                  Position from);
  ~ContainerReader() { Stop(); }

  // Starts reading, or reads again after the previous run ended (container restarted, daemon
  // back): from where it stopped. No-op while running.
  void Start();
  bool Running() const { return running_.load(); }
  // Asks the reading thread to end (within about a second); Stop() waits for it.
  void RequestStop() { stop_ = true; }
  void Stop();
  // The acknowledged position to save, if it moved since the last call.
  std::optional<std::string> TakeCommitted();
  // Nothing read is still waiting for Loki.
  bool Idle() const { return tracker_->Pending() == 0; }
  const std::string& id() const { return id_; }
  const Labels& meta() const { return meta_; }

  static std::string PositionKey(std::string_view id) { return "docker-" + std::string(id); }
  // Promtail's "cursor-<id>", as the positions import it (read when ours is missing).
  static std::string PromtailPositionKey(std::string_view id) {
    return "journal-" + std::string(id);
  }

 private:
  void Run();
  Status ReadOnce(DockerApi& api);
  bool OnData(std::string_view data);
  // How long a limit stage (drop: false) of the job's pipeline asks readers to wait; 0 = none.
  int64_t LimitWaitNs() const;
  // Runs feed(on_line, on_bad) under the job's pipeline lock, every line it completes covered by
  // one checkpoint; counts what it saw.
  template <typename F>
  void HandOn(F&& feed);
  void OnLine(const LogLine& l, pipeline::Emitter& out);
  // Where reading again would start for everything handed on so far (see Position).
  Position Resume() const;
  void LogError(std::string_view what, const Status& st);

  const ReaderContext* ctx_;
  Endpoint ep_;
  std::string id_;
  Labels meta_;
  // Reading thread only, between Start and the end of Run:
  std::optional<Labels> labels_[2];  // stdout, stderr after relabeling; nullopt: dropped
  bool tty_ = false;
  FrameDecoder decoder_;
  std::unique_ptr<LineAssembler> asm_[2];
  std::string system_error_;  // a daemon error frame's text
  Status stream_error_;
  int64_t since_ns_;          // where the next run starts
  int64_t last_ts_ = 0;       // timestamp of the last line read (handed on or skipped)
  size_t skip_at_since_ = 0;  // lines of since_ns_'s window the previous run handed on
  // Timestamps of the lines read lately, in the log's order, back to kDisorderNs before the last
  // one: those a position just before the last line counts (Resume).
  std::deque<int64_t> recent_;
  AckRef hold_;                                      // the checkpoint of the chunk being handed on
  BatchTime now_;                                    // of the read being handed on (HandOn)
  std::unique_ptr<pipeline::BatchEmitter> emitter_;  // what one read produced, for the sink
  uint64_t seq_ = 0;

  std::shared_ptr<AckTracker> tracker_ = AckTracker::Create(0);
  std::mutex mu_;
  std::deque<std::pair<uint64_t, Position>> checkpoints_;  // seq -> position
  std::optional<Position> committed_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace skidder::sources::docker
