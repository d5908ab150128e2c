// GELF datagrams as Promtail and Alloy read them (their gelf target, on grafana/go-gelf): chunk
// reassembly, decompression and the message's JSON. Internal to sources/gelf; owned by one
// thread.
//
// A datagram is either a whole payload or one chunk of one (magic 0x1e 0x0f, an 8-byte message
// id, the chunk's sequence number and the chunk count, at most 128). A payload is gzip (0x1f
// 0x8b), zlib (0x78 and a valid header checksum) or plain JSON, as Graylog accepts.
//
// Bounds against hostile senders: a message's chunks must all arrive within 5 seconds of its
// first (the GELF specification's limit); the chunks waiting at any time take at most
// kMaxPendingBytes, in at most kMaxPendingMessages messages (the oldest message is dropped to
// make room); a payload is, and inflates to, at most
// kMaxMessageBytes; the JSON nests at most kMaxJsonDepth levels.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/status.h"

namespace skidder::sources::gelf {

inline constexpr size_t kMaxChunks = 128;
inline constexpr int64_t kChunkTimeoutNs = 5'000'000'000;
inline constexpr size_t kMaxPendingBytes = 32 << 20;
inline constexpr size_t kMaxPendingMessages = 1024;
// A message, compressed or not, and once inflated: far more than Promtail can receive (128
// chunks of 1420 bytes), and small enough that Go's escaping (up to 6 bytes per byte) keeps
// the line within what Loki takes with a raised limit.
inline constexpr size_t kMaxMessageBytes = 1 << 20;

// One decoded message: go-gelf's fields, and the entry's line.
struct GelfMessage {
  std::string version, host, facility;
  double timestamp = 0;  // seconds since the epoch with a fraction; 0 when absent
  int32_t level = 0;     // a syslog severity; 0 when absent (as in go-gelf)
  // The line Promtail sends: the message written back as go-gelf's MarshalJSONBuf does:
  // version, host, short_message, full_message (when not empty), timestamp, level (when not 0),
  // facility (when not empty), then the additional `_` fields by name, in Go's JSON forms.
  // Fields that are neither GELF's nor additional are left out, as go-gelf does.
  std::string line;
};

// The severity names of Promtail's __gelf_message_level; "" outside 0-7 (no label).
std::string_view LevelName(int32_t level);

// Decompresses and decodes one whole payload into *out. Errors say what is wrong: "gzip payload
// is corrupt or truncated", "invalid type for field level", "not a JSON object". What follows
// the JSON object is ignored, as go-gelf's decoder does.
Status DecodeMessage(std::string_view payload, GelfMessage* out);

// Collects the chunks of chunked messages until one is whole.
class Reassembler {
 public:
  enum class Outcome {
    kIncomplete,  // kept: more chunks to come
    kComplete,    // *payload holds the whole message
    kInvalid,     // a malformed chunk; *error says why
  };
  static bool IsChunk(std::string_view datagram) {
    return datagram.size() >= 2 && datagram[0] == '\x1e' && datagram[1] == '\x0f';
  }
  // Adds one chunk (IsChunk is true). now_ns is a steady clock's: expiry must not follow the
  // wall clock's steps. A chunk that does not fit its message (another chunk count) is refused
  // alone; the message keeps waiting for its own chunks, as go-gelf does.
  Outcome Add(std::string_view datagram, int64_t now_ns, std::string* payload, std::string* error);
  // Forgets messages not completed within kChunkTimeoutNs of their first chunk, and those dropped
  // to stay within the bounds since the last call; returns how many.
  size_t Expire(int64_t now_ns);
  size_t pending() const { return pending_.size(); }

 private:
  struct Pending {
    int64_t first_ns = 0;
    size_t count = 0, received = 0, bytes = 0;
    std::vector<std::string> chunks;  // by sequence number; "" until it arrives
    std::vector<bool> have;
  };
  void MakeRoom(size_t bytes, bool new_message);

  std::unordered_map<uint64_t, Pending> pending_;  // by message id
  size_t bytes_ = 0;
  size_t evicted_ = 0;  // dropped to make room, not yet reported by Expire
};

}  // namespace skidder::sources::gelf
