// Entries as text for people: what -dry-run and the echo stage (Alloy's loki.echo) print.
// Pure functions, any thread.
#pragma once

#include <cstdint>
#include <string>

#include "model/entry.h"

namespace skidder {

// Unix nanoseconds as RFC3339 with nanoseconds in UTC: 2026-11-24T10:40:12.542001710Z.
std::string FormatTimestamp(int64_t unix_ns);

// "<time>\t<labels without __ ones>\t<line>[\t<metadata name="value" ...>]\n".
void AppendEntryText(const Entry& e, std::string* out);

}  // namespace skidder
