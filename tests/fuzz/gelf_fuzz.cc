// libFuzzer target: datagrams from a GELF sender. The input is a series of datagrams, each a
// 2-byte little-endian length and its bytes (a short last one takes what is left); each goes
// through the reassembler when it is a chunk, and every whole payload through DecodeMessage
// (decompression, JSON, the line).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "sources/gelf/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace skidder::sources::gelf;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  Reassembler chunks;
  GelfMessage msg;
  std::string payload, error;
  int64_t now = 0;
  while (!in.empty()) {
    size_t len = in.size() < 2 ? 0
                               : static_cast<unsigned char>(in[0]) |
                                     static_cast<size_t>(static_cast<unsigned char>(in[1])) << 8;
    in.remove_prefix(std::min<size_t>(2, in.size()));
    len = std::min(len, in.size());
    const std::string_view datagram = in.substr(0, len);
    in.remove_prefix(len);
    // The datagram's length picks the time since the last one (0 to 2.5 s): long chunked
    // messages complete, and expiry is reached too.
    now += static_cast<int64_t>(len % 11) * 250'000'000;
    auto decode = [&](std::string_view p) {
      if (DecodeMessage(p, &msg).ok()) {
        FUZZ_CHECK(msg.line.size() >= 2 && msg.line.front() == '{' && msg.line.back() == '}');
      }
    };
    if (Reassembler::IsChunk(datagram)) {
      if (chunks.Add(datagram, now, &payload, &error) == Reassembler::Outcome::kComplete) {
        FUZZ_CHECK(payload.size() <= size);
        decode(payload);
      }
    } else {
      decode(datagram);
    }
    chunks.Expire(now);
    FUZZ_CHECK(chunks.pending() <= kMaxPendingMessages);
  }
  return 0;
}
