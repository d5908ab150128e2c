// Makes real journal files without journald: entries in the journal export format are piped to
// systemd-journal-remote (Debian's systemd-journal-remote package), which writes FILE.journal.
// Values with a newline or bytes outside printable ASCII use the export format's binary form.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace skidder::testing {

struct JournalEntry {
  uint64_t realtime_us = 0;
  std::vector<std::pair<std::string, std::string>> fields;  // e.g. {"MESSAGE", "hello"}
};

// Wall-clock microseconds now, for entries "written just now".
uint64_t NowUs();

// The export format of entries (what `journalctl -o export` prints).
std::string ExportFormat(const std::vector<JournalEntry>& entries);

// Writes (or appends to) file, which must end in ".journal"; fails the test on error.
void WriteJournal(const std::string& file, const std::vector<JournalEntry>& entries);

}  // namespace skidder::testing
