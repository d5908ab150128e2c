// TailedFile: one open log file being read: its fd, identity, line splitter and AckTracker.
//
// ReadChunk() reads one chunk at the read offset, opens one Checkpoint covering the chunk's
// complete lines, makes each line an entry (labels of its target + filename, read time) in a
// reused batch and hands the batch to the target's ReadHandler; every entry holds a ref to the
// checkpoint, so the file's committed offset
// advances only once all of them are acknowledged. Truncation (copytruncate) and content
// replacement under the same inode (truncate and regrow past the offset) restart it at 0.
// Owned and called by the FileSource reading thread only.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "model/ack.h"
#include "model/labels.h"
#include "sources/file/gz.h"
#include "sources/file/identity.h"
#include "sources/file/line_splitter.h"
#include "sources/file/poison.h"
#include "sources/file/positions.h"
#include "sources/file/read_handler.h"
#include "sources/file/readline_limiter.h"
#include "telemetry/agent_metrics.h"
#include "util/arrival_stamps.h"
#include "util/clock.h"

namespace skidder::sources {

struct TailSettings {
  size_t max_line = 1 << 20;
  bool truncate = false;
  telemetry::AgentMetrics* metrics = nullptr;
  const poison::CrashLog* crashes = nullptr;  // lines the agent died on (may be null)
  // The source's count of open descriptors (max_open_files), kept by the files themselves so
  // that checking it costs nothing per file. May be null.
  size_t* open_files = nullptr;
  // Raised by every file's tracker each time its committed offset advances (on the thread that
  // completed the delivery): the source looks at files waiting for acks only when it moved.
  // Shared, since a tracker outlives its file while entries are in flight. May be null.
  std::shared_ptr<std::atomic<uint64_t>> acks;
  // The reading thread's stamps: each line's timestamp is its read time, a nanosecond past the
  // line before (see ArrivalStamps). May be null (then every line of a pass has its time).
  ArrivalStamps* stamps = nullptr;
};

class TailedFile {
 public:
  // Takes ownership of fd (may be -1: parked until Reopen()). settings (with its metrics) must
  // outlive the file: every file of a source shares its settings.
  TailedFile(int fd, std::string_view path, const FileIdentity& id, uint64_t offset, Labels labels,
             ReadHandler* handler, const TailSettings& settings);
  ~TailedFile();
  TailedFile(const TailedFile&) = delete;
  TailedFile& operator=(const TailedFile&) = delete;

  enum class ReadResult { kFull, kEof, kError };
  // Reads one chunk of up to cap bytes into buf at the read offset, makes its lines entries in
  // batch (cleared first) and hands them to the handler. With a limiter, each line takes a
  // token; a line refused one (drop mode) is counted and never made into an entry, and its bytes
  // still count as done once the chunk's other entries are acked.
  ReadResult ReadChunk(char* buf, size_t cap, const BatchTime& now, ReadBatch& batch,
                       ReadlineLimiter* limiter = nullptr);
  // fstat: restarts at 0 when the file shrank below the read offset or, when there is new
  // data, its first bytes changed. Grows the fingerprint while the file is short. Returns
  // false when the fd cannot be checked. *has_new_data: the file is longer than read_offset().
  bool Check(bool* has_new_data);
  // The identity was just taken from the file st describes (same descriptor): the next Check
  // compares the first bytes again only if the file changed since, and takes st as its look
  // when st shows unread bytes.
  void NoteOpened(const struct stat& st);
  // The file will not grow any more: its last unterminated line is a line after all.
  void FlushPartial(const BatchTime& now, ReadBatch& batch);

  // Closes the fd to stay under max_open_files; state is kept.
  void Park();
  // Reopens the file at path if it is still this file (inode and fingerprint); false otherwise.
  bool Reopen(const std::string& path);
  bool parked() const { return fd_ < 0; }
  // Open, and no name is left for its inode: the descriptor holds the only copy of its bytes.
  bool Unlinked() const;
  // Where its file is now, in any directory, as the kernel knows it from the open descriptor
  // (/proc/self/fd); "" when parked, compressed, deleted, or when that name no longer leads to
  // this file.
  std::string WhereNow() const;
  // From now on the fd is a compressed file (a gzip rotation, or an archive of a decompression
  // job) and offsets count its decompressed bytes. Such a file does not shrink or park; it grows
  // only while its writer finishes it (see CompressedReader::waiting).
  void UseGzip(std::unique_ptr<CompressedReader> reader) { gz_ = std::move(reader); }
  bool compressed() const { return gz_ != nullptr; }
  // Compressed, and read to the end of its bytes inside the stream (see CompressedReader).
  bool compressed_waiting() const { return gz_ != nullptr && gz_->waiting(); }
  // Its writer is gone: it ends where its bytes do.
  void EndTruncated() { gz_->EndTruncated(); }
  // See CompressedReader::compressed_size.
  uint64_t compressed_size() const { return gz_->compressed_size(); }
  // See CompressedReader::TakeInputProgress and TailHash.
  bool TakeInputProgress() { return gz_->TakeInputProgress(); }
  uint32_t compressed_tail() const { return gz_->TailHash(); }
  // fstat of its descriptor; false when parked or when fstat fails.
  bool Stat(struct stat* st) const;
  // What the positions file keeps for this file now. FillRecord writes it into *r, reusing r's
  // strings (UpdatePositions does so for each file read or acknowledged: twice a line when every
  // file grows a line at a time).
  PositionRecord Record() const;
  void FillRecord(PositionRecord* r) const;
  // Before a record of a file with bytes but not yet read is saved: a file read from its start
  // takes its fingerprint from its first read (no pread at the open), and one still waiting to
  // be read (the sink saturated) or held at once after a rotation would otherwise be saved
  // without one. A record with none cannot be matched to the file's compressed copy after a
  // restart (read twice, or counted lost). Takes it now, by a pread, and returns true when so.
  bool FingerprintUnread() {
    return id_.fingerprint_len == 0 && size_ > 0 && gz_ == nullptr && fd_ >= 0 && TakeFingerprint();
  }
  // Record() would differ from what NotePut was last given (compares numbers; copies nothing).
  bool RecordChanged() const;
  // r (this file's Record()) went into Positions; ForgetPut: its record must be put again.
  void NotePut(const PositionRecord& r);
  void ForgetPut() { put_ = {}; }

  // Where it was discovered (its filename). Kept once, as the key of its filename's row of the
  // per-file series, which every file of that name shares.
  const std::string& path() const { return series_.key(); }
  // Its positions key: usually path() itself, which is then not stored twice.
  const std::string& record_path() const {
    return record_is_path_ ? path() : elsewhere_->record_path;
  }
  void set_record_path(std::string p);
  // Where the file was when it was hard-linked into the held directory (empty: not held).
  const std::string& held_from() const;
  void set_held_from(std::string p);
  const FileIdentity& identity() const { return id_; }
  uint64_t read_offset() const { return splitter_.read_offset(); }
  // Just past the last complete line read (read_offset() less a line still being read).
  uint64_t lines_end() const { return splitter_.offset(); }
  uint64_t size() const { return size_; }  // at the last Check()
  uint64_t committed() const { return tracker_->Committed(); }
  const std::shared_ptr<AckTracker>& tracker() const { return tracker_; }
  void Retarget(Labels labels, ReadHandler* handler);
  ReadHandler* handler() const { return handler_; }
  const SinkTarget& sink_target() const { return sink_target_; }

  // Scheduling state kept by the FileSource.
  bool dirty = true;          // may have new data
  bool queued = false;        // in the source's queue of files to read (see MarkDirty)
  bool touched = false;       // in the source's list of records to look at (see Touch)
  bool waiting = false;       // in the source's list of files waiting for acks
  bool draining = false;      // the path no longer leads here: read to EOF, then close
  bool via_symlink = false;   // opened through a link: its writes raise no event where we watch
  bool adopted = false;       // in the source's open files (and its path index)
  bool awaiting = false;      // compressed_waiting, and WriterGone said so in the log
  int64_t idle_since_ns = 0;  // last time data was read (or the file opened)
  int64_t drain_since_ns = 0;
  // Its target went away while the file stayed at its path (a force-deleted pod whose container
  // still runs): read as before until then (steady clock), or until it leaves its path (0: not
  // lingering).
  int64_t linger_until_ns = 0;
  uint64_t open_seq = 0;  // order of opening: of two files of one stream, the older is read first
  uint64_t unacked_counted = 0;  // read but not acked, as last added to the source's sum
  int64_t opened_wall_ns = 0;    // when the agent opened it (wall clock)
  std::string target_id;

 private:
  bool TakeFingerprint();
  void Restart(const char* why);
  // One line into the batch as an entry of this file (ReadBatch::ShareAll gives it labels and ack).
  void Emit(std::string_view line, ReadBatch& batch);
  // Hands the batch to the handler and clears it.
  void HandOff(ReadBatch& batch);
  bool IsPoison(std::string_view line);

  int fd_;
  bool record_is_path_ = true;
  // The file now at its path (not rotated away, not a compressed copy): its position and size
  // are what promtail_read_bytes_total and promtail_file_bytes_total{path} show.
  bool live() const { return gz_ == nullptr && !draining && record_is_path_; }
  // What only a file known under other names than path() has (a rotated or held file): one
  // allocation for the few, 8 bytes for the rest (with 10,000 files, two empty strings each
  // were 0.6 MB).
  struct Elsewhere {
    std::string record_path;  // when !record_is_path_
    std::string held_from;
  };
  std::unique_ptr<Elsewhere> elsewhere_;
  FileIdentity id_;
  Labels labels_;
  ReadHandler* handler_;
  SinkTarget sink_target_;             // where the handler sent this file's entries last (Held)
  telemetry::FileSeries::Ref series_;  // its filename's row of the per-file series
  const TailSettings& settings_;
  LineSplitter splitter_;
  std::shared_ptr<AckTracker> tracker_;
  // What Positions last got for this file: its numbers, and which record path (path_gen_ at
  // the time) instead of a copy of the record and its path (~250 bytes per file).
  struct Put {
    FileIdentity identity;
    uint64_t offset = 0;
    uint64_t size = 0;
    uint64_t path_gen = ~uint64_t{0};  // never equal to path_gen_ before the first NotePut
    bool compressed = false;
  };
  Put put_;
  uint64_t path_gen_ = 0;               // counts set_record_path calls
  int64_t mtime_ns_ = 0;                // at the last Check()
  uint64_t size_ = 0;                   // at the last Check()
  bool opened_stat_unused_ = false;     // NoteOpened's stat not yet taken by a Check
  FingerprintCheck fingerprint_check_;  // Check()'s look at the first bytes, memoised
  std::unique_ptr<CompressedReader> gz_;
};

Labels FileLabels(const Labels& target_labels, const std::string& path);

}  // namespace skidder::sources
