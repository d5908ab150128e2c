#include "model/entry_text.h"

#include <fmt/format.h>

#include <ctime>

namespace skidder {

std::string FormatTimestamp(int64_t unix_ns) {
  int64_t secs = unix_ns / 1'000'000'000;
  int64_t nanos = unix_ns % 1'000'000'000;
  if (nanos < 0) {
    nanos += 1'000'000'000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:09}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
}

void AppendEntryText(const Entry& e, std::string* out) {
  Labels visible = e.labels;
  visible.RemoveInternal();
  out->append(FormatTimestamp(e.timestamp_ns)).push_back('\t');
  out->append(visible.ToString()).push_back('\t');
  out->append(e.line);
  if (!e.structured_metadata.empty()) {
    out->append("\t");
    for (const auto& m : e.structured_metadata) {
      out->append(m.name).push_back('=');
      AppendQuoted(*out, m.value);
      out->push_back(' ');
    }
    out->pop_back();
  }
  out->push_back('\n');
}

}  // namespace skidder
