// Decoding the body of GET /containers/{id}/logs?timestamps=true into log lines, as Promtail's
// Docker target does. Pure: no I/O, no clock; fed whatever the socket gave, in any split.
//
// A container without a TTY answers with Docker's multiplexed stream: frames of an 8-byte header
// (stream type 0 stdin, 1 stdout, 2 stderr, 3 daemon error; three zero bytes; big-endian uint32
// payload length) and the payload. A TTY container answers with the raw stream (all stdout).
// Each log message starts with its RFC 3339 timestamp and a space; a complete line ends in "\n".
// Docker splits lines longer than 16 KiB into messages that carry the same timestamp and no
// "\n" but the last: they are joined again, up to max_line bytes (the rest of such a line is
// dropped, as Promtail does with its line size limit). On a TTY's raw stream nothing marks where
// such a piece ends but its size: a message whose text reaches kTtyPieceBytes without a "\n"
// ends there, and the next begins with its own timestamp (Promtail's NoHeaderFramedStdCopy).
//
// Memory stays bounded whatever the peer sends: a frame's length is never allocated, payloads
// are handed on as views of the input, and a message is kept up to max_line bytes plus its
// timestamp. Owned by one reading thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace skidder::sources::docker {

enum class Stream : uint8_t { kStdin = 0, kStdout = 1, kStderr = 2, kSystemErr = 3 };

// Splits the multiplexed stream into pieces of frames. Returns an error for a header Docker
// would never send (stream type > 3, or non-zero padding): the stream cannot be trusted past it.
class FrameDecoder {
 public:
  // on_piece(Stream, std::string_view payload_part, bool frame_end) for each part of a frame's
  // payload in the input; a frame may be split over several calls to Feed.
  template <typename F>
  Status Feed(std::string_view in, F&& on_piece);

  static constexpr size_t kHeaderSize = 8;

 private:
  Status TakeHeader();

  uint8_t header_[kHeaderSize] = {};
  size_t header_have_ = 0;
  uint64_t remaining_ = 0;  // payload bytes of the current frame not yet seen
  Stream stream_ = Stream::kStdout;
};

// The text of one message of a line Docker split (its log copier's buffer).
inline constexpr size_t kTtyPieceBytes = 16 * 1024;

// A finished log line.
struct LogLine {
  Stream stream;
  int64_t timestamp_ns;
  std::string_view line;  // without the trailing "\n" / "\r\n"; valid until the next call
};

// Turns message bytes of one stream into lines (see the file comment).
class LineAssembler {
 public:
  // tty: the raw stream of a TTY container, whose split messages end at kTtyPieceBytes of text.
  LineAssembler(Stream stream, size_t max_line, bool tty = false)
      : stream_(stream), max_line_(max_line), tty_(tty) {}

  // Bytes of the stream; message_end: the frame ended here (multiplexed). A message also ends at
  // each "\n". on_line(const LogLine&) per line; on_bad(std::string_view why) per message
  // without a valid timestamp (skipped, as Promtail does).
  template <typename L, typename B>
  void Feed(std::string_view data, bool message_end, L&& on_line, B&& on_bad);

  // The stream ended for good (the container stopped): a line without its "\n" is a line.
  template <typename L, typename B>
  void Flush(L&& on_line, B&& on_bad);

  // Timestamp of a partial line held for its continuation; 0 when none.
  int64_t held_since_ns() const { return line_.empty() && !held_ ? 0 : line_ts_; }
  // Bytes of messages dropped for being longer than max_line.
  uint64_t truncated_bytes() const { return truncated_bytes_; }

 private:
  template <typename L, typename B>
  void EndMessage(bool eol, L&& on_line, B&& on_bad);

  Stream stream_;
  size_t max_line_;
  bool tty_;
  std::string msg_;  // the current message, as received (timestamp included)
  bool msg_overflow_ = false;
  std::string line_;  // a line being joined from partial messages
  int64_t line_ts_ = 0;
  bool held_ = false;        // line_ holds a partial line (may be empty)
  bool discarding_ = false;  // dropping the rest of an over-long line
  uint64_t truncated_bytes_ = 0;
};

// "2024-05-01T10:00:00.123456789Z rest" -> timestamp and "rest"; false if it does not start so.
bool SplitTimestamp(std::string_view msg, int64_t* ts_ns, std::string_view* rest);

// ---- implementation of the templates ----

template <typename F>
Status FrameDecoder::Feed(std::string_view in, F&& on_piece) {
  while (!in.empty()) {
    if (remaining_ == 0) {
      size_t take = std::min(kHeaderSize - header_have_, in.size());
      for (size_t i = 0; i < take; ++i) header_[header_have_ + i] = static_cast<uint8_t>(in[i]);
      header_have_ += take;
      in.remove_prefix(take);
      if (header_have_ < kHeaderSize) break;
      header_have_ = 0;
      if (Status s = TakeHeader(); !s.ok()) return s;
      if (remaining_ == 0) on_piece(stream_, std::string_view(), true);  // an empty frame
      continue;
    }
    size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size()));
    remaining_ -= take;
    on_piece(stream_, in.substr(0, take), remaining_ == 0);
    in.remove_prefix(take);
  }
  return Status::Ok();
}

template <typename L, typename B>
void LineAssembler::Feed(std::string_view data, bool message_end, L&& on_line, B&& on_bad) {
  while (!data.empty()) {
    size_t nl = data.find('\n');
    size_t take = nl == std::string_view::npos ? data.size() : nl + 1;
    bool piece_end = false;
    if (tty_) {
      if (const size_t sp = msg_.find(' '); sp == std::string::npos) {
        // The timestamp is still arriving: take up to its end first, then count the text.
        if (const size_t dsp = data.find(' '); dsp != std::string_view::npos && dsp + 1 < take) {
          take = dsp + 1;
          nl = std::string_view::npos;
        }
      } else {
        const size_t have = msg_.size() - sp - 1 + (msg_overflow_ ? 1 : 0);
        const size_t left = kTtyPieceBytes - std::min(kTtyPieceBytes, have);
        const size_t text = take - (nl == std::string_view::npos ? 0 : 1);
        if (text > left) {  // the piece ends before any "\n": a split line's message
          take = left;
          nl = std::string_view::npos;
          piece_end = true;
        }
      }
    }
    std::string_view part = data.substr(0, take);
    data.remove_prefix(take);
    // The timestamp (at most 35 bytes) and a space come before the line proper.
    const size_t cap = max_line_ + 40;
    size_t room = cap - std::min(cap, msg_.size());
    if (part.size() > room) {
      truncated_bytes_ += part.size() - room;
      msg_overflow_ = true;
    }
    msg_.append(part.substr(0, std::min(room, part.size())));
    if (nl != std::string_view::npos) {
      EndMessage(true, on_line, on_bad);
    } else if (piece_end) {
      EndMessage(false, on_line, on_bad);
    }
  }
  if (message_end && (!msg_.empty() || msg_overflow_)) EndMessage(false, on_line, on_bad);
}

template <typename L, typename B>
void LineAssembler::Flush(L&& on_line, B&& on_bad) {
  if (!msg_.empty() || msg_overflow_) EndMessage(false, on_line, on_bad);
  if (held_) on_line(LogLine{stream_, line_ts_, line_});
  line_.clear();
  held_ = false;
  discarding_ = false;
}

template <typename L, typename B>
void LineAssembler::EndMessage(bool eol, L&& on_line, B&& on_bad) {
  int64_t ts = 0;
  std::string_view payload;
  const bool overflow = msg_overflow_;
  msg_overflow_ = false;
  if (!SplitTimestamp(msg_, &ts, &payload)) {
    if (!held_) {  // a continuation without its own timestamp joins the held line (Promtail)
      on_bad(std::string_view(msg_).substr(0, 64));
      msg_.clear();
      return;
    }
    ts = line_ts_;
    payload = msg_;
  }
  if (held_ && ts != line_ts_) {  // a new message although the last one had no "\n"
    on_line(LogLine{stream_, line_ts_, line_});
    line_.clear();
    held_ = false;
    discarding_ = false;
  }
  if (discarding_ && ts != line_ts_) discarding_ = false;  // a new line: keep it
  if (discarding_) {
    discarding_ = !eol;
    msg_.clear();
    return;
  }
  while (!payload.empty() && (payload.back() == '\n' || payload.back() == '\r')) {
    payload.remove_suffix(1);
  }
  if (!held_ && eol && !overflow) {  // the usual case: one message, one line, no copy
    on_line(LogLine{stream_, ts, payload});
    msg_.clear();
    return;
  }
  size_t room = max_line_ - std::min(max_line_, line_.size());
  if (payload.size() > room) truncated_bytes_ += payload.size() - room;
  line_.append(payload.substr(0, std::min(room, payload.size())));
  line_ts_ = ts;
  held_ = true;
  msg_.clear();
  if (eol || overflow || line_.size() >= max_line_) {
    discarding_ = !eol;
    on_line(LogLine{stream_, line_ts_, line_});
    line_.clear();
    held_ = false;
  }
}

}  // namespace skidder::sources::docker
