// StreamFramer: splits a syslog byte stream (one TCP connection, or one UDP datagram) into
// messages, the way Promtail's syslog target frames them (RFC 6587):
//  - octet counting ("<len> <msg>", RFC 5425) when a message starts with a digit;
//  - non-transparent framing when it starts with '<': the message ends at a newline followed by
//    the next '<' (a newline followed by anything else continues the message, as go-syslog
//    reads multi-line messages). A newline that is the last byte received may still be
//    followed by a continuation line in the next read (a stack trace written in two writes, or
//    split by TCP): the message is held (HoldsLine) until more bytes tell, the stream ends, or
//    the caller ends it with FlushLine after a quiet moment. go-syslog holds it until the next
//    message comes.
// The framing is chosen per message, so a sender may mix them. Anything else where a message
// should start is a framing error: the stream is unusable and the connection is closed.
//
// Raw mode (Alloy's syslog_format "raw", for senders that follow neither RFC): a message ends
// at the delimiter ('\n', or '\0' with use_null_terminator_delimiter), whatever its first byte;
// octet counting still applies to a message starting with digits and a space ("12 <13>hello
// w"), but digits followed by anything else ("2025-01-02 ...", which Alloy takes for a broken
// octet count and closes the connection on), a count of 0 or over max_len, or one the stream
// ends before start a delimited message. (A line such as "404 Not Found" is still read as a
// count, as in Alloy: the two cannot be told apart.)
//
// Memory is bounded: at most max_len bytes of an incomplete message are kept. An octet-counted
// frame longer than max_len is an error that closes the stream (go-syslog's behaviour); a
// newline-framed message longer than max_len is delivered truncated to max_len and the rest
// is skipped (Promtail buffers such a message whole; we do not).
//
// One framer per stream; not thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace skidder::sources::syslog {

class StreamFramer {
 public:
  enum class Event {
    kMessage,    // a complete message (text without framing)
    kTruncated,  // a newline-framed message cut to max_len (text is the kept part)
    kPartial,    // the stream ended inside an octet-counted frame (text is what arrived)
  };
  enum class Error {
    kNone,
    kBadFraming,  // a byte that starts neither framing
    kTooLong,     // an octet count over max_len (or over 10 digits)
  };

  explicit StreamFramer(size_t max_len) : max_len_(max_len) {}
  // Raw mode: messages end at delimiter.
  StreamFramer(size_t max_len, char delimiter)
      : max_len_(max_len), raw_(true), delimiter_(delimiter) {}

  // Consumes data; calls on(Event, std::string_view) for each message. With end_of_stream,
  // whatever is left is delivered too. Returns kNone, or the error that ends the stream.
  template <typename F>
  Error Feed(std::string_view data, bool end_of_stream, F&& on);

  size_t buffered() const { return pending_.size(); }

  // A newline-framed message whose last newline was the last byte received (see above).
  bool HoldsLine() const {
    return !raw_ && !skipping_ && error_ == Error::kNone && !pending_.empty() &&
           (pending_.front() == '<' || late_) && pending_.back() == '\n';
  }
  // Delivers the held message (HoldsLine) as it is; nothing otherwise. A continuation line that
  // comes after all is then a message of its own (late_), not a framing error that would close
  // the stream.
  template <typename F>
  void FlushLine(F&& on) {
    if (!HoldsLine()) return;
    Feed({}, /*end_of_stream=*/true, on);
    late_ = true;
  }

 private:
  enum class Step { kEmitted, kNeedMore, kError };
  template <typename F>
  Step Next(std::string_view& in, bool eos, F& on);
  template <typename F>
  Step NextOctet(std::string_view& in, bool eos, F& on);
  template <typename F>
  Step NextLine(std::string_view& in, bool eos, F& on);
  template <typename F>
  Step NextDelimited(std::string_view& in, bool eos, F& on);
  // A message whose end has not arrived: cut at max_len (its rest skipped), or all of it when
  // the stream ends, or wait for more.
  template <typename F>
  Step Unended(std::string_view& in, bool eos, F& on);

  size_t max_len_;
  bool raw_ = false;
  char delimiter_ = '\n';
  std::string pending_;           // the incomplete message carried over from the last Feed
  bool skipping_ = false;         // inside a truncated newline-framed message: drop until its end
  bool late_ = false;             // FlushLine delivered a message; no message has started since
  bool skip_line_start_ = false;  // skipping_, and the last read ended with a newline
  Error error_ = Error::kNone;
};

// --- implementation (a template, so the per-message callback inlines) -----------------------

template <typename F>
StreamFramer::Error StreamFramer::Feed(std::string_view data, bool eos, F&& on) {
  if (error_ != Error::kNone) return error_;
  std::string_view in = data;
  if (HoldsLine() && !data.empty() && data.front() == '<') {
    // The held message ends here (the usual case, every read of a steady sender): delivered
    // from pending_ (all of it but the newline is one message, NextLine checked), and the new
    // bytes read in place rather than copied after it.
    on(Event::kMessage, std::string_view(pending_).substr(0, pending_.size() - 1));
    pending_.clear();
  }
  if (!pending_.empty()) {
    pending_.append(data);
    in = pending_;
  }
  while (true) {
    std::string_view before = in;
    Step s = Next(in, eos, on);
    if (s == Step::kError) {
      pending_.clear();
      return error_;
    }
    if (s == Step::kNeedMore || in.empty() || in.size() == before.size()) break;
  }
  if (in.empty() || eos) {
    pending_.clear();
  } else if (in.data() != pending_.data() || in.size() != pending_.size()) {
    pending_ = std::string(in);  // in may point into pending_: copy first
  }
  return Error::kNone;
}

template <typename F>
StreamFramer::Step StreamFramer::Next(std::string_view& in, bool eos, F& on) {
  if (raw_) {
    if (skipping_) {  // the tail of a truncated message: up to its delimiter
      const size_t end = in.find(delimiter_);
      if (end == std::string_view::npos) {
        in = {};
        return Step::kNeedMore;
      }
      skipping_ = false;
      in.remove_prefix(end + 1);
      return Step::kEmitted;
    }
    while (!in.empty() && (in.front() == delimiter_ || in.front() == '\n' || in.front() == '\r')) {
      in.remove_prefix(1);
    }
    if (in.empty()) return Step::kNeedMore;
    size_t digits = 0;
    while (digits < in.size() && in[digits] >= '0' && in[digits] <= '9') ++digits;
    if (digits > 0 && digits <= 10) {  // an octet count has 10 digits at most
      if (digits == in.size() && !eos) return Step::kNeedMore;  // which framing: with more data
      size_t len = 0;
      for (size_t i = 0; i < digits; ++i) len = len * 10 + static_cast<size_t>(in[i] - '0');
      // A count that cannot be one ("0 errors", "99999 x") or that the stream ends before
      // ("12 foo" in a datagram) is the start of a line instead.
      if (digits < in.size() && in[digits] == ' ' && len > 0 && len <= max_len_ &&
          (!eos || in.size() - digits - 1 >= len)) {
        return NextOctet(in, eos, on);
      }
    }
    return NextDelimited(in, eos, on);
  }
  if (skipping_) {  // the tail of a truncated message: up to "\n<"
    // The last read ended with a newline: a '<' now starts the next message; anything else (a
    // stack trace's next line, in a later read) is still the truncated message's.
    const bool next_message = skip_line_start_ && !in.empty() && in.front() == '<';
    skip_line_start_ = false;
    if (next_message) {
      skipping_ = false;
    } else {
      for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] == '\n' && i + 1 < in.size() && in[i + 1] == '<') {
          skipping_ = false;
          in.remove_prefix(i + 1);
          return Step::kEmitted;
        }
      }
      skip_line_start_ = !in.empty() && in.back() == '\n';
      in = {};
      return Step::kNeedMore;
    }
  }
  while (!in.empty() && (in.front() == '\n' || in.front() == '\r')) in.remove_prefix(1);
  if (in.empty()) return Step::kNeedMore;
  const char c = in.front();
  if (c >= '0' && c <= '9') {
    if (late_) {
      // After a flushed message a line such as "404 Not Found" or "12 retries left" is its
      // late continuation, not an octet count: reading it as one would swallow the count's
      // worth of what follows or close the stream. A count frames a syslog message, so it is
      // one only when "<digits> <" follows.
      size_t d = 0;
      while (d < in.size() && d <= 10 && in[d] >= '0' && in[d] <= '9') ++d;
      const bool undecided = d == in.size() || (in[d] == ' ' && d + 1 == in.size());
      if (undecided && !eos) return Step::kNeedMore;
      if (d > 10 || d + 1 >= in.size() || in[d] != ' ' || in[d + 1] != '<') {
        return NextLine(in, eos, on);
      }
    }
    late_ = false;
    return NextOctet(in, eos, on);
  }
  if (c == '<') {
    late_ = false;
    return NextLine(in, eos, on);
  }
  if (late_) return NextLine(in, eos, on);  // a continuation of a message already delivered
  error_ = Error::kBadFraming;
  return Step::kError;
}

template <typename F>
StreamFramer::Step StreamFramer::NextOctet(std::string_view& in, bool eos, F& on) {
  size_t i = 0, len = 0;
  while (i < in.size() && in[i] >= '0' && in[i] <= '9') {
    len = len * 10 + static_cast<size_t>(in[i] - '0');
    if (++i > 10 || len > max_len_) {
      error_ = Error::kTooLong;
      return Step::kError;
    }
  }
  if (i == in.size()) {
    if (eos) on(Event::kPartial, in);
    if (eos) in = {};
    return Step::kNeedMore;
  }
  if (in[i] != ' ' || len == 0) {
    error_ = Error::kBadFraming;
    return Step::kError;
  }
  if (in.size() - i - 1 < len) {
    if (eos) {
      on(Event::kPartial, in.substr(i + 1));
      in = {};
    }
    return Step::kNeedMore;
  }
  on(Event::kMessage, in.substr(i + 1, len));
  in.remove_prefix(i + 1 + len);
  return Step::kEmitted;
}

template <typename F>
StreamFramer::Step StreamFramer::NextLine(std::string_view& in, bool eos, F& on) {
  size_t from = 0;
  while (true) {
    size_t nl = in.find('\n', from);
    if (nl == std::string_view::npos || nl > max_len_) break;
    // Held when the newline was the last byte received: the next read may continue it.
    if (nl + 1 == in.size() && !eos) return Step::kNeedMore;
    if (nl + 1 == in.size() || in[nl + 1] == '<') {  // the end, or the next message
      on(Event::kMessage, in.substr(0, nl));
      in.remove_prefix(nl + 1);
      return Step::kEmitted;
    }
    from = nl + 1;  // a continuation line
  }
  return Unended(in, eos, on);
}

template <typename F>
StreamFramer::Step StreamFramer::NextDelimited(std::string_view& in, bool eos, F& on) {
  const size_t end = in.find(delimiter_);
  if (end != std::string_view::npos && end <= max_len_) {
    on(Event::kMessage, in.substr(0, end));
    in.remove_prefix(end + 1);
    return Step::kEmitted;
  }
  return Unended(in, eos, on);
}

template <typename F>
StreamFramer::Step StreamFramer::Unended(std::string_view& in, bool eos, F& on) {
  if (in.size() > max_len_) {
    on(Event::kTruncated, in.substr(0, max_len_));
    in.remove_prefix(max_len_);
    skipping_ = true;
    return Step::kEmitted;
  }
  if (eos) {
    on(Event::kMessage, in);
    in = {};
  }
  return Step::kNeedMore;
}

}  // namespace skidder::sources::syslog
