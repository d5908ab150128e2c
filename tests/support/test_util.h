// Small helpers every test may use: temp dirs, waiting on conditions, writing files.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "util/log.h"

namespace skidder::testing {

// A fresh directory under $TMPDIR, removed (recursively) when the object goes away.
class TempDir {
 public:
  TempDir();
  explicit TempDir(const std::string& base);  // under base instead of $TMPDIR or /tmp
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// Polls cond until it is true or the deadline passes; never a fixed sleep in a test.
bool WaitFor(const std::function<bool()>& cond,
             std::chrono::milliseconds deadline = std::chrono::seconds(20),
             std::chrono::milliseconds step = std::chrono::milliseconds(10));

void WriteFile(const std::string& path, std::string_view content);
void AppendFile(const std::string& path, std::string_view content);
std::string ReadFile(const std::string& path);
void MakeDirs(const std::string& path);
// Replaces every from in s with to; returns how many.
int ReplaceAll(std::string& s, std::string_view from, std::string_view to);
// How many times what occurs in text (overlapping ones too).
int Occurrences(std::string_view text, std::string_view what);
// s written n times.
std::string Repeat(std::string_view s, size_t n);

// Waits until the file system's clock has passed the birth of the file at path: a file written
// just before a start may otherwise share the start's clock tick (file times are coarse, a few
// milliseconds), which counts as born at the start (tail_from_end). False if it never does, or
// the file system keeps no birth times.
bool WaitPastBirthOf(const std::string& path);

// A TCP port on 127.0.0.1 held by a listening socket of the test's, so that the agent cannot
// bind it (another process on the port, as a user meets it).
class HeldPort {
 public:
  HeldPort();
  ~HeldPort();
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// The agent's log lines while it lives (log::CaptureForTest), in `text`.
struct CapturedLog {
  CapturedLog() { log::CaptureForTest(&text); }
  ~CapturedLog() { log::CaptureForTest(nullptr); }
  CapturedLog(const CapturedLog&) = delete;
  CapturedLog& operator=(const CapturedLog&) = delete;
  std::string text;
};

}  // namespace skidder::testing
