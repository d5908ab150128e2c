// JournalReader: a thin, owning wrapper around libsystemd's sd_journal for one reading thread.
//
// Opens the local journal (the machine-id directories under /var/log/journal and
// /run/log/journal, persistent and volatile storage alike) or every *.journal file of a
// directory, applies Promtail's `matches`, positions by cursor or time, and reads entries. A
// JournalRecord owns copies of its fields: libsystemd's pointers die with the next call.
//
// Not thread-safe: sd_journal objects must stay on the thread that uses them.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

struct sd_journal;

namespace skidder::sources::journal {

struct JournalField {
  std::string_view name;   // e.g. "_SYSTEMD_UNIT"
  std::string_view value;  // raw bytes: may be binary, may hold NULs
};

struct JournalRecord {
  uint64_t realtime_us = 0;  // __REALTIME_TIMESTAMP
  std::string cursor;
  std::vector<JournalField> fields;  // in journal order; a field may repeat; views into data
  std::string data;                  // the bytes the views point into (reused between reads)
  size_t bytes = 0;                  // size of all fields as read ("NAME=value")
  size_t cut_fields = 0;             // fields cut to the reader's max_field_bytes
};

// What a cursor string says about where its entry sits: "s=<seqnum id>;i=<seqnum hex>;...".
struct CursorPosition {
  std::string seqnum_id;
  uint64_t seqnum = 0;
  uint64_t realtime_us = 0;  // t=
  bool valid = false;
};
CursorPosition ParseCursor(std::string_view cursor);

// Entries between a saved cursor and the first entry found after it, when both are of one
// sequence (same seqnum id); -1 when that cannot be told (another journal, or a clock jump).
int64_t EntriesBetween(const CursorPosition& saved, const CursorPosition& next);

class JournalReader {
 public:
  // path "" = the local journal; otherwise every journal file of that directory. A field
  // ("NAME=value") longer than max_field_bytes is cut to it: systemd-coredump stores core dumps
  // of hundreds of megabytes as a field, which read whole would exhaust the agent, again at
  // every restart since the cursor never passed it. every_machine_root: instead of the local
  // journal, every machine's under that OS tree (local_journal.h).
  static Result<std::unique_ptr<JournalReader>> Open(const std::string& path,
                                                     size_t max_field_bytes,
                                                     const std::string& every_machine_root = "");
  ~JournalReader();

  // Promtail's matches: space-separated FIELD=value terms; "+" starts an alternative.
  Status AddMatches(std::string_view matches);

  Status SeekHead();
  Status SeekRealtime(uint64_t usec);
  Status SeekCursor(const std::string& cursor);
  // True when the current entry is the one the cursor names.
  bool AtCursor(const std::string& cursor);

  // Moves to the next entry: true if there is one, false at the end; errors are returned.
  Result<bool> Next();
  // Reads the current entry (after a successful Next()). Its time, then its cursor, are read
  // first: an error in its fields (DataLoss) leaves both set in *out.
  Status Read(JournalRecord* out);
  // Waits up to timeout_us for the journal to change (new entries, new or removed files).
  void Wait(uint64_t timeout_us);

  JournalReader(const JournalReader&) = delete;
  JournalReader& operator=(const JournalReader&) = delete;

 private:
  JournalReader(sd_journal* j, size_t max_field_bytes) : j_(j), max_field_bytes_(max_field_bytes) {}
  sd_journal* j_;
  size_t max_field_bytes_ = 0;
};

}  // namespace skidder::sources::journal
