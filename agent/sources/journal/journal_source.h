// JournalSource: one `journal` scrape config. Reads the systemd journal on its own thread,
// through the job's pipeline into the EntrySink, with at-least-once positions.
//
// Position: the cursor of the last entry Loki acknowledged, kept in the positions file under
// "journal-<job_name>". Entries are read in batches; each batch is one AckTracker checkpoint
// whose offset is a sequence number, mapped here to the cursor of the batch's last entry. The
// committed cursor is that of the longest acknowledged prefix, so acknowledgements out of order
// never skip an entry still in flight. A start with a saved cursor resumes after it (Promtail:
// unless that entry is older than max_age); without one, max_age ago. A cursor whose entry was
// vacuumed resumes at the oldest entry after it, and the entries in between are counted as lost
// when the journal's sequence numbers tell how many.
//
// Backpressure: while the sink is Saturated() nothing is read; the journal is the buffer.
//
// Threads: Start/Stop/SyncPositions on the owner's (main) thread; reading on the source's own.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.h"
#include "kubernetes/relabel.h"
#include "model/ack.h"
#include "model/sink.h"
#include "pipeline/pipeline.h"
#include "sources/file/positions.h"
#include "sources/journal/entry_builder.h"
#include "sources/journal/local_journal.h"
#include "sources/journal/reader.h"
#include "telemetry/agent_metrics.h"
#include "util/clock.h"
#include "util/log_limiter.h"

namespace skidder::sources::journal {

struct JournalSourceOptions {
  std::string job_name;
  config::JournalConfig config;
  kubernetes::RelabelRules relabel;
  pipeline::Pipeline* pipeline = nullptr;  // the job's; used on the reading thread only
  size_t batch_entries = 512;              // records per batch (one checkpoint each)
  // A longer field is cut (counted in skidder_truncated_lines_total unless cuts_counted_later):
  // just past limits_config's max_line_size when set, so that the client drops or truncates an
  // over-long line and counts it, as for files (counted here too, it was counted twice).
  size_t max_field_bytes = 4 << 20;
  bool cuts_counted_later = false;
  LocalJournal local;  // where the local journal is, for a job without `path` (tests move it)
};

class JournalSource {
 public:
  JournalSource(JournalSourceOptions opts, Positions* positions, EntrySink* sink,
                telemetry::AgentMetrics* metrics, const Clock* clock);
  ~JournalSource() { Stop(); }

  // Opens the journal, finds where to start and starts reading. Errors: the journal cannot be
  // opened, or matches are refused.
  Status Start();
  // Stops reading (within ~100 ms) and flushes the pipeline; entries in flight stay tracked.
  void Stop();
  // Puts the cursor of the acknowledged prefix into the positions (not saved here).
  void SyncPositions();

  static std::string PositionKey(const std::string& job_name) { return "journal-" + job_name; }

 private:
  Status Seek();
  bool SavedEntryPresent();
  void Run();
  // Reads up to one batch; the number of records read (0: nothing new).
  // Counts and logs (at most every 10 s) an entry libsystemd could not read.
  void Unreadable(const Status& st);
  size_t ReadBatch(pipeline::Emitter& out);

  JournalSourceOptions opts_;
  Positions* positions_;
  EntrySink* sink_;
  telemetry::AgentMetrics* metrics_;
  const Clock* clock_;
  std::unique_ptr<JournalReader> reader_;
  std::unique_ptr<EntryBuilder> builder_;
  std::shared_ptr<AckTracker> tracker_ = AckTracker::Create(0);
  uint64_t seq_ = 0;                  // reading thread: the last checkpoint opened
  bool saved_entry_present_ = false;  // with matches: the saved cursor's entry is there (Start)
  bool have_current_ = false;         // reading thread: the reader stands on an unread record
  JournalRecord record_;              // reading thread: reused between records
  std::mutex mu_;
  std::deque<std::pair<uint64_t, std::string>> cursors_;  // checkpoint -> its last cursor
  log::LogLimiter read_errors_;  // a broken journal file must not flood the log
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace skidder::sources::journal
