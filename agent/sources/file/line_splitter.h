// LineSplitter: turns the bytes of one file, fed in chunks, into lines, and knows the file offset
// up to which every line has been handed out (what a checkpoint may cover).
//
// - Lines end at '\n'. One '\r' before it is dropped from the text (CRLF files), but still counts
//   in offsets: offsets are always byte-exact positions in the file.
// - A UTF-8 byte order mark at offset 0 is not part of the first line.
// - Empty lines are lines (Promtail sends them too).
// - The last, unterminated line is held until its newline arrives (the writer may be mid-write);
//   FlushPartial() hands it out when the file will not grow any more.
// - A line longer than max_line is cut to max_line bytes on a UTF-8 boundary (truncate) or
//   dropped; either way only max_line bytes are kept in memory while the rest is skipped, so a
//   file of megabytes without a newline costs bounded memory.
// Owned by one TailedFile; single-threaded.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace skidder::sources {

class LineSplitter {
 public:
  LineSplitter(size_t max_line, bool truncate, uint64_t start_offset)
      : max_line_(max_line),
        truncate_(truncate),
        offset_(start_offset),
        line_start_(start_offset) {}

  // Splits data (the file's bytes starting at read_offset()) and calls emit(std::string_view)
  // for each complete line; the view is valid only during the call.
  template <typename Emit>
  void Feed(std::string_view data, Emit&& emit) {
    const char* p = data.data();
    const char* end = p + data.size();
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', end - p));
      if (nl == nullptr) {
        Hold(p, end - p);
        return;
      }
      size_t n = nl - p;
      if (pending_ == 0 && n <= max_line_) {
        EmitLine(std::string_view(p, n), false, emit);  // the common case: no copy
        EndLine(n + 1);
      } else {
        Hold(p, n);
        EmitLine(std::string_view(partial_), Overlong(), emit);
        EndLine(1);
      }
      p = nl + 1;
    }
  }

  // End of a file that will not grow: the held bytes, if any, are a line.
  template <typename Emit>
  void FlushPartial(Emit&& emit) {
    if (pending_ == 0) return;
    EmitLine(std::string_view(partial_), Overlong(), emit);
    EndLine(0);
  }

  // Offset just past the last complete line handed out.
  uint64_t offset() const { return offset_; }
  // Offset of the next byte to feed.
  uint64_t read_offset() const { return line_start_ + pending_; }
  bool has_partial() const { return pending_ > 0; }
  // Start over at offset (truncated file).
  void Reset(uint64_t offset);

  // Lines cut or dropped since the last call.
  uint64_t TakeTruncated() { return std::exchange(truncated_, 0); }
  uint64_t TakeDropped() { return std::exchange(dropped_, 0); }

 private:
  void Hold(const char* p, size_t n);
  bool Overlong() const;
  // Strips '\r' and the BOM, or cuts/drops an overlong line; returns false when dropped.
  bool Prepare(std::string_view* line, bool overlong);
  template <typename Emit>
  void EmitLine(std::string_view line, bool overlong, Emit& emit) {
    if (Prepare(&line, overlong)) emit(line);
  }
  void EndLine(size_t tail_bytes);

  size_t max_line_;
  bool truncate_;
  uint64_t offset_;       // end of the last complete line
  uint64_t line_start_;   // where the held line starts (== offset_)
  uint64_t pending_ = 0;  // bytes of the held line seen so far (kept or skipped)
  std::string partial_;   // its first max_line + 1 bytes at most
  char last_byte_ = 0;    // its last byte, even when skipped (for '\r')
  uint64_t truncated_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace skidder::sources
