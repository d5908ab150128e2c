#include "util/log.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

#include "util/escape.h"

namespace skidder::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<Format> g_format{Format::kLogfmt};
std::mutex g_mu;
std::string* g_capture = nullptr;

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

void AppendJsonString(std::string& out, std::string_view v) {
  AppendQuotedEscaped(out, v, ControlEscape::kJson);
}

void AppendLogfmtValue(std::string& out, std::string_view v) {
  bool quote = v.empty();
  for (char c : v) {
    // Bytes >= 0x80 go through the JSON escaper too, which keeps the line valid UTF-8.
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || static_cast<unsigned char>(c) < 0x20 ||
        static_cast<unsigned char>(c) >= 0x80) {
      quote = true;
      break;
    }
  }
  if (quote) {
    AppendJsonString(out, v);
  } else {
    out.append(v);
  }
}

std::string Now() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

}  // namespace

bool ParseLevel(std::string_view text, Level* out) {
  if (text == "debug")
    *out = Level::kDebug;
  else if (text == "info")
    *out = Level::kInfo;
  else if (text == "warn" || text == "warning")
    *out = Level::kWarn;
  else if (text == "error")
    *out = Level::kError;
  else
    return false;
  return true;
}

bool ParseFormat(std::string_view text, Format* out) {
  if (text == "logfmt")
    *out = Format::kLogfmt;
  else if (text == "json")
    *out = Format::kJson;
  else
    return false;
  return true;
}

void Configure(Level level, Format format) {
  g_level = level;
  g_format = format;
}

bool Enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed); }

void Write(Level level, std::string_view msg, std::span<const Field> fields) {
  if (!Enabled(level)) return;
  std::string line;
  line.reserve(128);
  if (g_format.load() == Format::kJson) {
    line.append("{\"ts\":\"").append(Now()).append("\",\"level\":\"").append(LevelName(level));
    line.append("\",\"msg\":");
    AppendJsonString(line, msg);
    for (const auto& [k, v] : fields) {
      line.push_back(',');
      AppendJsonString(line, k);
      line.push_back(':');
      AppendJsonString(line, v);
    }
    line.append("}\n");
  } else {
    line.append("ts=").append(Now()).append(" level=").append(LevelName(level)).append(" msg=");
    AppendLogfmtValue(line, msg);
    for (const auto& [k, v] : fields) {
      line.push_back(' ');
      line.append(k);
      line.push_back('=');
      AppendLogfmtValue(line, v);
    }
    line.push_back('\n');
  }
  std::lock_guard lock(g_mu);
  if (g_capture != nullptr) {
    g_capture->append(line);
  } else {
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
}

void CaptureForTest(std::string* sink) {
  std::lock_guard lock(g_mu);
  g_capture = sink;
}

std::string CapturedForTest() {
  std::lock_guard lock(g_mu);
  return g_capture != nullptr ? *g_capture : std::string();
}

}  // namespace skidder::log
