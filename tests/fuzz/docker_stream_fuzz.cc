// libFuzzer target: the Docker log stream decoder (sources/docker/log_stream.h) on arbitrary
// bytes, as a daemon (or whatever answers on its socket) could send them. The first byte picks
// the read size and the mode (multiplexed or TTY); the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "sources/docker/log_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace skidder::sources::docker;
  if (size == 0) return 0;
  const size_t step = 1 + (data[0] & 0x3f);
  const bool tty = (data[0] & 0x40) != 0;
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  constexpr size_t kMaxLine = 64;
  FrameDecoder dec;
  LineAssembler out[2] = {LineAssembler(Stream::kStdout, kMaxLine),
                          LineAssembler(Stream::kStderr, kMaxLine)};
  size_t piece_bytes = 0;
  auto on_line = [&](const LogLine& l) {
    FUZZ_CHECK(l.line.size() <= kMaxLine);
    FUZZ_CHECK(l.stream == Stream::kStdout || l.stream == Stream::kStderr);
  };
  auto on_bad = [](std::string_view why) { FUZZ_CHECK(why.size() <= 64); };
  for (size_t i = 0; i < body.size(); i += step) {
    std::string_view chunk = body.substr(i, step);
    if (tty) {
      out[0].Feed(chunk, false, on_line, on_bad);
      continue;
    }
    skidder::Status s = dec.Feed(chunk, [&](Stream st, std::string_view p, bool end) {
      piece_bytes += p.size();
      FUZZ_CHECK(static_cast<int>(st) <= 3);
      if (st == Stream::kStdout || st == Stream::kStderr) {
        out[st == Stream::kStderr].Feed(p, end, on_line, on_bad);
      }
    });
    if (!s.ok()) break;  // the reader drops the connection here
  }
  // Payload bytes handed on never exceed what came in.
  FUZZ_CHECK(piece_bytes <= body.size());
  return 0;
}
