#include "sources/push/decode.h"

#include <fmt/format.h>
#include <snappy.h>

#include <algorithm>
#include <limits>

#include "push.pb.h"
#include "util/inflate.h"
#include "util/varint.h"

namespace skidder::sources::push {
namespace {

constexpr size_t kJsonNodeMemory = 64;  // see DecodePush

// Calls on(tag, payload) for each top-level field of a message's wire form (payload: a
// length-delimited field's bytes, empty for the other wire types); false when malformed.
template <typename F>
bool EachField(std::string_view message, F on) {
  const char* p = message.data();
  const char* const end = message.data() + message.size();
  while (p < end) {
    uint64_t tag = 0, n = 0;
    std::string_view payload;
    if (!ReadVarint(&p, end, &tag)) return false;
    switch (tag & 7) {
      case 0:
        if (!ReadVarint(&p, end, &n)) return false;
        break;
      case 1:
      case 5: {
        const size_t len = (tag & 7) == 1 ? 8 : 4;
        if (static_cast<size_t>(end - p) < len) return false;
        p += len;
        break;
      }
      case 2:
        if (!ReadVarint(&p, end, &n) || n > static_cast<uint64_t>(end - p)) return false;
        payload = std::string_view(p, n);
        p += n;
        break;
      default:
        return false;
    }
    if (!on(tag, payload)) return false;
  }
  return true;
}

// What a PushRequest's wire form will take in memory besides its bytes: kEntryMemory per stream
// (field 1) and per EntryAdapter (a stream's field 2), kPairMemory per structured-metadata pair
// (an entry's field 3). Empty ones count too: 2 bytes on the wire each, and ~250 in memory.
Result<size_t> ObjectMemory(std::string_view raw) {
  constexpr uint64_t kStreams = (1 << 3) | 2, kEntries = (2 << 3) | 2, kMetadata = (3 << 3) | 2;
  size_t memory = 0;
  const bool ok = EachField(raw, [&](uint64_t tag, std::string_view stream) {
    if (tag != kStreams) return true;
    memory += kEntryMemory;
    return EachField(stream, [&](uint64_t inner, std::string_view entry) {
      if (inner != kEntries) return true;
      memory += kEntryMemory;
      return EachField(entry, [&](uint64_t field, std::string_view) {
        memory += field == kMetadata ? kPairMemory : 0;
        return true;
      });
    });
  });
  if (!ok) return Err(InvalidArgument("body is not a logproto.PushRequest (bad protobuf)"));
  return memory;
}

// '[', '{' and ':' (arrays, objects and their members) outside JSON strings.
size_t CountJsonNodes(std::string_view json) {
  size_t n = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{' || c == ':') {
      ++n;
    }
  }
  return n;
}

// seconds and nanos as nanoseconds since the epoch; a time past what int64 nanoseconds hold
// (year 2262) is clamped there rather than wrapping around to another date. nanos outside
// [0, 1e9) (a sender's bug, or a hostile one) carry into seconds first, as Go's time.Unix does,
// so that the sum cannot overflow either.
int64_t TimestampNs(int64_t seconds, int32_t nanos) {
  constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1'000'000'000 - 1;
  constexpr int32_t kSecond = 1'000'000'000;
  int64_t carry = nanos / kSecond;
  nanos %= kSecond;
  if (nanos < 0) nanos += kSecond, --carry;
  // |carry| <= 3: a seconds this close to the int64 limits is clamped anyway.
  seconds = std::clamp(seconds, -kMaxSeconds - 3, kMaxSeconds + 3) + carry;
  seconds = std::clamp(seconds, -kMaxSeconds, kMaxSeconds);
  return seconds * 1'000'000'000 + nanos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

int HttpStatusFor(const Status& e) {
  switch (e.code()) {
    case StatusCode::kResourceExhausted:
      return 413;
    case StatusCode::kFailedPrecondition:
      return 415;
    default:
      return 400;
  }
}

Result<std::vector<PushedStream>> DecodePush(std::string_view body, std::string_view content_type,
                                             std::string_view content_encoding,
                                             const DecodeLimits& limits) {
  std::string inflated;
  const std::string_view enc = Trim(content_encoding);
  if (enc == "gzip" || enc == "deflate") {
    auto out = Inflate(body, enc == "gzip" ? 15 + 16 : -15, limits.max_decoded_bytes,
                       enc == "gzip" ? "gzip body" : "deflate body");
    if (!out) return Err(out.error());
    inflated = std::move(*out);
    body = inflated;
  } else if (!enc.empty() && enc != "snappy") {
    return Err(FailedPrecondition(fmt::format(
        "Content-Encoding \"{}\" is not supported: use gzip, deflate or none", std::string(enc))));
  }
  std::string_view type = Trim(content_type.substr(0, content_type.find(';')));
  if (type == "application/json") {
    if (body.size() > limits.max_decoded_bytes) {
      return Err(
          Status(StatusCode::kResourceExhausted,
                 fmt::format("request body larger than {} bytes", limits.max_decoded_bytes)));
    }
    // The parsed document holds every array and object (an entry is one, `["1",""]`: 8 bytes of
    // text, ~300 in the document and what follows) and every member (`"a":"",`: 7 bytes, ~100
    // as a member and a label): counted before the parse, as protobuf objects are, each at
    // kJsonNodeMemory (about a quarter of an entry's), against the objects' budget.
    const size_t nodes = CountJsonNodes(body);
    if (nodes > ObjectBudget(limits.max_decoded_bytes) / kJsonNodeMemory) {
      return Err(
          Status(StatusCode::kResourceExhausted,
                 fmt::format(
                     "request of {} JSON arrays, objects and members in {} bytes takes more "
                     "than {} bytes as objects ({} times the {} bytes limit; each counts {} bytes)",
                     nodes, body.size(), ObjectBudget(limits.max_decoded_bytes),
                     kObjectBudgetFactor, limits.max_decoded_bytes, kJsonNodeMemory)));
    }
    return DecodeJsonPush(body);
  }
  // Loki reads anything else as snappy protobuf, as Promtail and Alloy send it.
  return DecodeProtobufPush(body, limits.max_decoded_bytes);
}

Result<std::vector<PushedStream>> DecodeProtobufPush(std::string_view body, size_t max_decoded) {
  size_t raw_size = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &raw_size)) {
    return Err(InvalidArgument(
        "body is not snappy-compressed (block format): send Content-Type application/json for "
        "JSON"));
  }
  if (raw_size > max_decoded) {
    return Err(Status(StatusCode::kResourceExhausted,
                      fmt::format("request body larger than {} bytes decompressed", max_decoded)));
  }
  std::string raw;
  if (!snappy::Uncompress(body.data(), body.size(), &raw)) {
    return Err(InvalidArgument("snappy: corrupt body"));
  }
  // Counted on the wire before the parse makes an object of each: an empty entry, stream or
  // metadata pair is 2 bytes there and ~250 in memory (parsed, then decoded), so 100 MB of them
  // would be ~12 GB.
  const Result<size_t> objects = ObjectMemory(raw);
  if (!objects) return Err(objects.error());
  if (*objects > ObjectBudget(max_decoded)) {
    return Err(Status(
        StatusCode::kResourceExhausted,
        fmt::format("request of {} bytes takes {} bytes as objects, more than {} ({} times the {} "
                    "bytes limit; each stream and entry counts {} bytes, each structured-metadata "
                    "pair {})",
                    raw.size(), *objects, ObjectBudget(max_decoded), kObjectBudgetFactor,
                    max_decoded, kEntryMemory, kPairMemory)));
  }
  // Lines and labels as bytes (see push.proto: ReceivedPushRequest): what is not UTF-8 is
  // repaired on the way to Loki, as Loki itself takes it.
  logproto::ReceivedPushRequest req;
  if (!req.ParseFromString(raw)) {
    return Err(InvalidArgument("body is not a logproto.PushRequest (bad protobuf)"));
  }
  std::vector<PushedStream> out;
  out.reserve(static_cast<size_t>(req.streams_size()));
  for (logproto::ReceivedStream& s : *req.mutable_streams()) {
    auto labels = ParseLabelText(s.labels());
    if (!labels) {
      return Err(InvalidArgument(fmt::format("stream labels \"{}\": {}", s.labels().substr(0, 200),
                                             labels.error().message())));
    }
    PushedStream& ps = out.emplace_back();
    ps.labels = std::move(*labels);
    ps.entries.reserve(static_cast<size_t>(s.entries_size()));
    for (logproto::ReceivedEntry& e : *s.mutable_entries()) {
      PushedEntry& pe = ps.entries.emplace_back();
      pe.timestamp_ns = TimestampNs(e.timestamp().seconds(), e.timestamp().nanos());
      pe.line = std::move(*e.mutable_line());
      for (logproto::ReceivedLabelPair& m : *e.mutable_structuredmetadata()) {
        pe.structured_metadata.push_back(
            {std::move(*m.mutable_name()), std::move(*m.mutable_value())});
      }
    }
  }
  return out;
}

size_t ObjectBudget(size_t max_decoded) {
  return max_decoded > std::numeric_limits<size_t>::max() / kObjectBudgetFactor
             ? std::numeric_limits<size_t>::max()
             : max_decoded * kObjectBudgetFactor;
}

Status CheckRawBody(std::string_view body, size_t max_decoded) {
  const size_t lines = static_cast<size_t>(std::count(body.begin(), body.end(), '\n')) + 1;
  if (body.size() <= max_decoded && lines <= ObjectBudget(max_decoded) / kEntryMemory) {
    return Status::Ok();
  }
  return Status(
      StatusCode::kResourceExhausted,
      fmt::format("raw request of {} lines in {} bytes is larger than the {} bytes limit "
                  "or takes more than {} bytes as entries ({} each)",
                  lines, body.size(), max_decoded, ObjectBudget(max_decoded), kEntryMemory));
}

}  // namespace skidder::sources::push
