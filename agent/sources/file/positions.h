// Positions: where each file was acknowledged up to, persisted so a restart resumes there.
//
// A file is known by its identity (device, inode and a fingerprint of its first bytes), not only
// by its path, so a file renamed by rotation is found again, and inode reuse or truncate-and-
// regrow are told apart from the old file. Written atomically (temp file, fsync, rename, fsync of
// the directory). Reads Promtail's positions.yaml on import. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "telemetry/agent_metrics.h"
#include "util/status.h"

namespace skidder::sources {

struct FileIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  uint32_t fingerprint_len = 0;  // bytes hashed (the file may have been shorter)
  uint64_t fingerprint = 0;      // hash of the first fingerprint_len bytes
  // When the file was made (statx's birth time, ns since the epoch; 0: unknown, as on file systems
  // that keep none and in records written before it was kept). A freed inode goes to the next
  // file made (ext4 hands it out at once), and that file may start with the same bytes (a header
  // line) or, like the first, have none yet: only its birth time tells it from the old one.
  int64_t born_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

// Birth times (FileIdentity::born_ns, BirthNs) that may be the same file's: equal, or one unknown.
inline bool SameBirth(int64_t a, int64_t b) { return a == 0 || b == 0 || a == b; }

struct PositionRecord {
  std::string path;
  FileIdentity identity;
  uint64_t offset = 0;    // acknowledged up to here
  bool imported = false;  // from a Promtail file: identity unknown, trust the path
  // path is a gzip file holding the recorded file's bytes (a compressed rotation): offset counts
  // decompressed bytes, and identity.fingerprint is that of the decompressed start.
  bool compressed = false;
  // Everything in the file was read and acknowledged; the record only keeps the file known (so
  // a restart neither reopens it nor takes it for a rotation it never saw) until it is deleted.
  // (The flags sit together: 128 bytes a record, not 136, one per file.)
  bool done = false;
  // Compressed, done, and given up inside its stream (its writer gone: see
  // CompressedReader::waiting): if it grows after all, the stream goes on where it was cut,
  // when its compressed bytes before `size` still hash to `tail` (CompressedReader::TailHash).
  bool cut = false;
  uint32_t tail = 0;
  // The file's size when last seen (0: unknown): if it is deleted unread while the agent is
  // stopped, size - offset is what was lost. Of a compressed file: its compressed size when it
  // was read to its end (an archive rewritten in place has another).
  uint64_t size = 0;
  // The name the file was tailed under (its `filename` label), when path is now another name
  // (a rotation, a compressed copy, a held link). Empty: the same as path.
  std::string origin = {};
  const std::string& origin_or_path() const { return origin.empty() ? path : origin; }
};

// Records ordered by their path, which is also their key: each path is kept once (a map from
// path to record held it twice, ~100 bytes per file).
struct RecordsByPath {
  using is_transparent = void;
  static std::string_view Key(const PositionRecord& r) { return r.path; }
  static std::string_view Key(std::string_view path) { return path; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return Key(a) < Key(b);
  }
};
using PositionSet = std::set<PositionRecord, RecordsByPath>;
// Directory names, looked up by a view of a path's directory without copying it.
using DirSet = std::set<std::string, std::less<>>;

class Positions {
 public:
  // Loads the file if present. Empty, truncated or garbage files are renamed to
  // <file>.corrupt-<unix time> with an error log; the agent starts without positions (or, with
  // ignore_invalid, silently). A Promtail positions.yaml is imported.
  // Until the file is in skidder's own format (absent, or Promtail's YAML, as on the first start
  // after a migration), the records of `imports` (further Promtail or skidder positions files,
  // e.g. Alloy's several legacy_positions_file) are added for paths the file does not name, the
  // first file naming a path winning; those files are only read. An import that cannot be read
  // is logged and turns lost() on: the files it named are read from their start.
  Positions(std::string filename, bool ignore_invalid, telemetry::AgentMetrics* metrics,
            const std::vector<std::string>& imports = {});

  // In memory only (-dry-run): nothing is loaded, so every file is read from its start, and
  // nothing is ever written or renamed.
  explicit Positions(telemetry::AgentMetrics* metrics)
      : ignore_invalid_(true), read_only_(true), metrics_(metrics) {}

  // Read-only mode: never writes.
  void SetReadOnly(bool ro) { read_only_ = ro; }

  std::optional<PositionRecord> FindByPath(const std::string& path) const;
  // Records rotated away under another path are found by identity: device and inode, and the
  // birth time when both id and the record name one (not a record of a file deleted before id's
  // was made on its inode).
  std::optional<PositionRecord> FindByIdentity(const FileIdentity& id) const;
  void Put(const PositionRecord& record);
  void Remove(const std::string& path);
  std::vector<PositionRecord> All() const;
  // Copies of the records keep() accepts (called under the lock: it must not call back). A
  // discovery pass needs the few records of files not open, not a copy of every record.
  std::vector<PositionRecord> Select(const std::function<bool(const PositionRecord&)>& keep) const;
  // The same, of the records directly in these directories (not below them): a pass over a few
  // directories looks at their records, not at every record.
  std::vector<PositionRecord> SelectIn(
      const DirSet& dirs, const std::function<bool(const PositionRecord&)>& keep) const;
  size_t Size() const;

  // Named positions that are not files: the journal source keeps its cursor under
  // "journal-<job_name>". Saved in the same file (JSON "cursors"); Promtail's "cursor-<job>" and
  // "journal-<job>" entries are imported under "journal-<job>".
  std::optional<std::string> GetCursor(const std::string& key) const;
  void PutCursor(const std::string& key, const std::string& cursor);
  void RemoveCursor(const std::string& key);
  // The keys of the named positions starting with prefix, in order.
  std::vector<std::string> CursorKeys(std::string_view prefix) const;

  // What a Save() writes for.
  enum class SaveWhen {
    kAnyChange,     // anything changed since the last save
    kResumeChange,  // something a restart resumes from changed (offsets, identities, records):
                    // a change of a file's last seen size alone waits for a kAnyChange save
  };
  // Writes the file atomically if anything (or anything a restart resumes from) changed since
  // the last save; it holds every record as it is now. Errors (disk full) are returned and
  // counted; the in-memory state stays, and the next Save() tries again.
  Status Save(SaveWhen when = SaveWhen::kAnyChange);
  // Size of the file the last successful Save() wrote (0 before one): its cost, which the
  // caller's save interval scales with.
  uint64_t saved_bytes() const { return saved_bytes_.load(std::memory_order_relaxed); }
  const std::string& filename() const { return filename_; }
  // Modification time (ns since the epoch) of the positions file as loaded; 0 when there was
  // none. Files last written before it and unknown to it were never ours to read (they predate
  // the agent); newer ones may have been rotated away unread while it was stopped.
  int64_t loaded_mtime_ns() const { return loaded_mtime_ns_; }
  // The file held positions that could not be read (unreadable or corrupt): every file is read
  // from its start, tail_from_end included (duplicates, never a loss).
  bool lost() const { return lost_; }
  // Only skidder's own positions file (not an import) could not be read.
  bool own_file_lost() const { return own_file_lost_; }

 private:
  // Reads the positions file; *own_format says whether it was skidder's JSON.
  Status Load(bool* own_format);
  void Import(const std::string& file);
  std::string filename_;
  bool ignore_invalid_;
  bool read_only_ = false;
  // Set when the file exists but could not be read: it is never overwritten (a transient EIO or
  // EACCES must not replace real positions with empty ones).
  bool keep_unreadable_ = false;
  int64_t loaded_mtime_ns_ = 0;
  bool lost_ = false;
  bool own_file_lost_ = false;
  telemetry::AgentMetrics* metrics_;
  mutable std::mutex mu_;
  // One Save() at a time: the reading thread saves at a held rotation while the main loop saves
  // every 250 ms, and both write through the same temporary name, so one's rename could install
  // the other's half-written file (and fail its own).
  std::mutex save_mu_;
  PositionSet by_path_;
  // by_path_'s records that are not imported, by device and inode: a newly found file looks up
  // whether it was recorded under another name (a rotation while stopped), and scanning every
  // record for that made each new file cost O(records), ~10,000 node visits on a node that
  // keeps 10,000 files. Pointers into by_path_'s nodes (stable until erased), hashed by the
  // inode they hold; kept in step by Put, Remove and Load. 40 bytes a record (a node of two
  // pointers, the hash not cached, and a bucket), where a std::multimap took 64.
  struct ByInode {
    size_t operator()(const PositionRecord* r) const noexcept {
      return static_cast<size_t>(r->identity.ino * 0x9e3779b97f4a7c15ULL ^ r->identity.dev);
    }
    bool operator()(const PositionRecord* a, const PositionRecord* b) const noexcept {
      return a->identity.ino == b->identity.ino && a->identity.dev == b->identity.dev;
    }
  };
  std::unordered_multiset<const PositionRecord*, ByInode, ByInode> by_inode_;
  void Index(const PositionRecord& r);
  void Unindex(const PositionRecord& r);
  void Reindex();
  std::map<std::string, std::string> cursors_;
  bool dirty_ = false;
  // Only sizes changed since the last save. A record's size (what a deletion while stopped
  // loses) changes with every read of a growing file, and saving for it alone rewrote the file
  // four times a second on a node whose files all grow, though only acks move what a restart
  // needs; the agent saves sizes alone every sync_period.
  bool sizes_dirty_ = false;
  std::atomic<uint64_t> saved_bytes_{0};
};

}  // namespace skidder::sources
