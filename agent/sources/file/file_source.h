// FileSource: tails every file matched by its targets and hands each read's lines, as entries,
// to the target's ReadHandler (in the agent: the scrape config's pipeline wrapping the sink).
//
// One reading thread owns all open files, the watcher (inotify, or polling when inotify is
// unavailable) and the per-file state; targets can be replaced at any time from another thread
// (static configs at start and reload, Kubernetes discovery as pods come and go). Positions
// advance only through the AckTrackers, i.e. only when the sink has acknowledged the entries.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/labels.h"
#include "model/sink.h"
#include "sources/file/poison.h"
#include "sources/file/read_handler.h"
#include "sources/file/watcher.h"
#include "telemetry/agent_metrics.h"
#include "util/clock.h"
#include "util/status.h"

namespace skidder::sources {

class Positions;

// One thing to tail: a glob and the labels its files' entries carry.
struct FileTarget {
  std::string id;  // stable key (job + labels); a target with the same id is kept
  Labels labels;   // incl. __path__ (glob, may use **) and __path_exclude__
  // Not owned; must outlive the source (one per scrape config): a handler holding entries (an
  // open multiline block) is flushed after its last target went away.
  ReadHandler* handler;
  // The job's decompression block: matching .gz/.z/.bz2 files are read whole, decompressed.
  config::DecompressionConfig decompression = {};
  // Alloy's tail_from_end: a file with no stored position that was there before the source
  // started starts at its last line's end (only new lines are read). A file created since (by
  // its birth time), or found where a file of ours was (a rotation), is read from its start, so
  // nothing written after the start is skipped.
  bool tail_from_end = false;
};

struct FileSourceOptions {
  config::LimitsConfig limits;
  config::FileWatchConfig watch;
  config::Duration rescan_period = std::chrono::seconds(10);  // target_config.sync_period
  // Idle files beyond this are closed, reopened by identity (the agent derives it from
  // RLIMIT_NOFILE: app/fd_limit.h).
  size_t max_open_files = 1024;
  size_t read_chunk_bytes = 64 * 1024;
  // While the sink is saturated, how often the reader looks again by itself. The agent's Loki
  // clients wake it (Wake) when they have room, so this is only a safety net: a short one woke
  // the reader 50 times a second through a whole Loki outage.
  std::chrono::milliseconds saturated_recheck{1000};
  bool force_polling = false;  // tests and -no-inotify: behave as if inotify failed
  // How long Stop may spend reading files that were deleted while open and not read to the end
  // (not held: holding off, or deleted before the agent saw the rename). Their descriptors are
  // the only copy left: what Stop does not read is lost. The agent gives this half of
  // server.graceful_shutdown_timeout; the clients push it within the rest.
  std::chrono::milliseconds stop_drain{5000};
  // How long a file whose target went away keeps being read while it stays at its path
  // (target_config.removed_target_linger; the agent's default is 30s). A force-deleted pod
  // leaves the API at once while its containers may write until the kubelet stops them; the
  // kubelet's removal of the pod's directory ends the wait. 0: read to the end, then close.
  config::Duration removed_target_linger{0};
  // Rotated files not yet read to the end are hard-linked here (see held.h); "" = off.
  std::string held_dir;
  // When not empty, a file is opened only if its real path lies under one of these directories
  // (target_config.symlink_roots): a link in a log directory cannot expose /etc/shadow.
  std::vector<std::string> symlink_roots;
  uint64_t held_max_bytes = uint64_t{1} << 30;
  // How long a compressed file read to the end of its bytes inside the stream waits for the
  // rest, counted from its last change (its mtime, or bytes the reader got): an archive gzip is
  // still writing when a decompression job without initial_delay finds it. Closed at once, it
  // was marked done and its rest never read. A file unchanged this long is truncated for good
  // (its writer died).
  std::chrono::milliseconds compressed_writer_grace{60'000};
  // Lines the agent died on (see poison.h); not owned, may be null.
  const poison::CrashLog* crashes = nullptr;
  // Called on the reading thread when it reads again after SyncPositions last said nothing was
  // in flight: the owner, which saves positions only every sync_period while settled, should
  // look again soon (so a change is saved within 250 ms whether or not the agent was idle).
  std::function<void()> on_busy;
};

class FileSource {
 public:
  // watcher: where directory and file events come from; null = inotify, or polling when
  // options.force_polling or inotify is unavailable (tests pass a fake).
  // sink: asked only whether it is saturated (backpressure); entries reach it via the handlers.
  FileSource(FileSourceOptions options, Positions* positions, EntrySink* sink,
             telemetry::AgentMetrics* metrics, Clock* clock,
             std::unique_ptr<Watcher> watcher = nullptr);
  ~FileSource();

  // Starts the reading thread.
  Status Start();
  // Replaces the target set; files of removed targets are drained to EOF, then released.
  void SetTargets(std::vector<FileTarget> targets);
  // Stops reading new data, except the rest of files deleted while open (options.stop_drain);
  // flushes the handlers (force) so held entries reach the sink; joins the thread. Positions are
  // not written here (the app saves them after the sink drains).
  void Stop();
  // Ends the wait of the reading thread now: the sink has room again after a pause (without it
  // the reader looks again after options.saturated_recheck). Thread-safe; harmless after Stop.
  void Wake();

  // Copies every file's acknowledged offset (AckTracker::Committed) into Positions. Called by the
  // app before each Positions::Save(), and once more after Stop() when the sink has drained.
  // Thread-safe. True when nothing is in flight (every record put, nothing waiting for an
  // acknowledgement): until the source reads again, a later call would change nothing.
  bool SyncPositions();

  // For /ready and tests.
  size_t ActiveFiles() const;
  size_t ActiveTargets() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace skidder::sources
