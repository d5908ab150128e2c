// Decoding a Loki push request as Loki's distributor accepts it: the body may carry a
// Content-Encoding (gzip, deflate; "snappy" and none mean as is), then it is JSON when the
// Content-Type says application/json, and otherwise (application/x-protobuf, or no type at all)
// a snappy-compressed logproto.PushRequest. Pure functions: no I/O, any thread; fuzzed
// (tests/fuzz/push_json_fuzz.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/labels.h"
#include "util/status.h"

namespace skidder::sources::push {

struct PushedEntry {
  int64_t timestamp_ns = 0;
  std::string line;
  std::vector<Label> structured_metadata;
};

struct PushedStream {
  Labels labels;  // parsed from the stream's label text (protobuf) or map (JSON)
  std::vector<PushedEntry> entries;
};

struct DecodeLimits {
  size_t max_decoded_bytes = 100 << 20;  // after Content-Encoding and snappy
};

// What a decoded object takes in memory besides its bytes, from the parse to the sink: counted
// before anything is built, so that a small request of many empty objects cannot take
// gigabytes. An entry (protobuf's object, PushedEntry, Entry) or a stream (its label set); a
// structured-metadata pair or a JSON member.
inline constexpr size_t kEntryMemory = 256;
inline constexpr size_t kPairMemory = 128;

// The objects' memory has a budget of its own, kObjectBudgetFactor times max_decoded_bytes,
// rather than sharing the bytes' limit: a sender's ordinary batch of short lines takes several
// times its size as objects (1 MB of 5000 entries with 3 metadata pairs each: ~3 MB), and a 413
// is final to Promtail and Alloy, so a lowered limit (Alloy's max_send_message_size = "4MiB")
// must not refuse it. A request takes at most (1 + factor) times the limit.
inline constexpr size_t kObjectBudgetFactor = 4;
size_t ObjectBudget(size_t max_decoded);

// A raw push body (one line per entry): ResourceExhausted when its lines would take more than
// ObjectBudget(max_decoded) bytes (kEntryMemory each besides their text).
Status CheckRawBody(std::string_view body, size_t max_decoded);

// Why a body was refused, as HttpStatusFor() maps it: kInvalidArgument (400: malformed),
// kFailedPrecondition (415: an encoding Loki does not take), kResourceExhausted (413: larger than
// the limit once decompressed, or objects past ObjectBudget).
Result<std::vector<PushedStream>> DecodePush(std::string_view body, std::string_view content_type,
                                             std::string_view content_encoding,
                                             const DecodeLimits& limits);

int HttpStatusFor(const Status& decode_error);

// Loki's JSON push body: {"streams":[{"stream":{"k":"v"},"values":[["<ns>","line",{"m":"v"}]]}]}.
Result<std::vector<PushedStream>> DecodeJsonPush(std::string_view json);

// The snappy-compressed protobuf body.
Result<std::vector<PushedStream>> DecodeProtobufPush(std::string_view body, size_t max_decoded);

// A stream's labels in Prometheus text form, as pushed: {a="1", b="x\"y"} (values in Go's
// double-quoted syntax). Names must be valid label names; a name given twice is an error.
Result<Labels> ParseLabelText(std::string_view text);

}  // namespace skidder::sources::push
