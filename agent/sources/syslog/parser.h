// Syslog message parsers: RFC 5424 and RFC 3164 (BSD), as Promtail's syslog target reads them
// (through go-syslog, in best-effort mode: a message with any error is dropped and counted).
//
// Pure functions: no I/O, no clock (RFC 3164 carries no year; the caller passes "now"). Fields
// are views into the input, which must outlive the message. Single pass, no recursion, no
// allocation (the SD params vector keeps its capacity between messages).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace skidder::sources::syslog {

struct SdParam {
  std::string_view id;     // SD-ID, e.g. "origin" or "custom@32473"
  std::string_view name;   // PARAM-NAME
  std::string_view value;  // PARAM-VALUE as written (escapes kept: see SdUnescape)
};

// PARAM-VALUE with \" \\ \] unescaped (a backslash before anything else stays, as RFC 5424 says).
std::string SdUnescape(std::string_view value);

// One parsed message. Absent fields (NILVALUE "-" in RFC 5424) are empty optionals/views.
struct SyslogMessage {
  int priority = -1;                    // 0..191; facility = priority / 8, severity = priority % 8
  std::optional<int64_t> timestamp_ns;  // Unix nanoseconds
  std::optional<std::string_view> hostname, app_name, proc_id, msg_id;
  std::vector<SdParam> structured_data;
  std::optional<std::string_view> message;  // MSG; absent when empty (Promtail drops those)

  void Clear();
};

// RFC 5424. Errors name what was expected and the byte offset.
Status ParseRfc5424(std::string_view in, SyslogMessage* out);
// RFC 3164: "<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG" (or an RFC 3339 timestamp); HOST may be
// missing when the token after the timestamp is a tag ("app[12]:", as go-syslog). The timestamp
// takes the year of now_ns (UTC), or the year before when that would put it over a day ahead.
Status ParseRfc3164(std::string_view in, int64_t now_ns, SyslogMessage* out);

// Alloy's "raw" format: the message as sent, surrounding whitespace trimmed, a leading "<PRI>"
// taken off as the priority. Never an error; an empty message has no MSG.
Status ParseRaw(std::string_view in, SyslogMessage* out);

// go-syslog v4's names (Promtail 3, Alloy): "emergency".."debug", and RFC 5427's keywords
// "kern".."local7" (9 "cron", 12 "ntp", 13 "security", 14 "console", 15 "cron2").
std::string_view SeverityName(int severity);
std::string_view FacilityName(int facility);

}  // namespace skidder::sources::syslog
