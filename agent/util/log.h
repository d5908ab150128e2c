// The agent's own structured log: logfmt (default) or JSON lines on stderr.
//
// Thread-safe; one global sink configured once at start (and on reload). Call sites pass
// key/value pairs so every line is machine-readable:
//   LOG_INFO("tailing file", {{"path", p}, {"offset", std::to_string(off)}});
// Never pass credentials: values are written as given.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>

namespace skidder::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kLogfmt, kJson };

using Field = std::pair<std::string_view, std::string_view>;

// Parses "debug"/"info"/"warn"/"error"; false when unknown.
bool ParseLevel(std::string_view text, Level* out);
bool ParseFormat(std::string_view text, Format* out);

void Configure(Level level, Format format);
bool Enabled(Level level);
void Write(Level level, std::string_view msg, std::span<const Field> fields);
inline void Write(Level level, std::string_view msg, std::initializer_list<Field> fields = {}) {
  Write(level, msg, std::span<const Field>(fields.begin(), fields.size()));
}

// Redirects output into a string (tests only); pass nullptr to restore stderr.
void CaptureForTest(std::string* sink);
// A copy of what was captured so far, taken under the lock the writers hold: for tests that
// wait on a line other threads log.
std::string CapturedForTest();

}  // namespace skidder::log

#define LOG_DEBUG(...)                                                   \
  do {                                                                   \
    if (::skidder::log::Enabled(::skidder::log::Level::kDebug))          \
      ::skidder::log::Write(::skidder::log::Level::kDebug, __VA_ARGS__); \
  } while (0)
#define LOG_INFO(...) ::skidder::log::Write(::skidder::log::Level::kInfo, __VA_ARGS__)
#define LOG_WARN(...) ::skidder::log::Write(::skidder::log::Level::kWarn, __VA_ARGS__)
#define LOG_ERROR(...) ::skidder::log::Write(::skidder::log::Level::kError, __VA_ARGS__)
