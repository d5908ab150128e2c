#include "sources/gelf/message.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "formats/utf8.h"
#include "lang/go/go_json.h"
#include "lang/go/json_path.h"
#include "util/inflate.h"
#include "util/json_parse.h"

namespace skidder::sources::gelf {
namespace {

constexpr size_t kChunkHeader = 12;  // magic (2), message id (8), sequence (1), count (1)

// go-gelf's type checks: each GELF field has one JSON type; anything else (null included) makes
// the whole message invalid.
Status WrongType(std::string_view field) {
  return InvalidArgument(fmt::format("invalid type for field {}", field));
}

Status TakeString(const rapidjson::Value& v, std::string_view field, std::string* out) {
  if (!v.IsString()) return WrongType(field);
  out->assign(v.GetString(), v.GetStringLength());
  return Status::Ok();
}

// Go converts the float64 level to int32; skidder gives an out-of-range level the value amd64
// gives it (the minimum), which has no severity name either.
int32_t ToLevel(double d) {
  if (!(d > -2147483649.0 && d < 2147483648.0)) return INT32_MIN;
  return static_cast<int32_t>(d);
}

void AppendField(std::string_view name, std::string_view value, std::string* out) {
  out->push_back(',');
  lang::go::AppendGoJsonString(name, out);
  out->push_back(':');
  lang::go::AppendGoJsonString(value, out);
}

// An additional field's value as Go's json.Marshal writes the interface{} go-gelf decoded it
// into: HTML-safe strings, object keys sorted, compact. Integers stay exact beyond 2^53, where
// Go's float64 would round them, as everywhere skidder writes JSON back (the json stage).
void AppendValue(const rapidjson::Value& v, std::string* out) {
  if (v.IsString()) {
    lang::go::AppendGoJsonString(std::string_view(v.GetString(), v.GetStringLength()), out);
  } else if (v.IsNull()) {
    out->append("null");
  } else if (v.IsDouble()) {
    lang::go::AppendGoJsonFloat(v.GetDouble(), out);
  } else {
    std::string text;
    lang::go::AssignJsonValueText(v, &text);  // integers, booleans, objects, arrays
    out->append(text);
  }
}

}  // namespace

std::string_view LevelName(int32_t level) {
  static constexpr std::string_view kNames[] = {"emergency", "alert",  "critical",      "error",
                                                "warning",   "notice", "informational", "debug"};
  return level >= 0 && level < 8 ? kNames[level] : std::string_view();
}

Status DecodeMessage(std::string_view payload, GelfMessage* out) {
  if (payload.size() > kMaxMessageBytes) {  // reassembled chunks can be up to 128 datagrams
    return InvalidArgument(fmt::format("message of {} bytes is larger than {} bytes",
                                       payload.size(), kMaxMessageBytes));
  }
  std::string inflated;
  const auto b = [&](size_t i) { return static_cast<unsigned char>(payload[i]); };
  if (payload.size() >= 2 && b(0) == 0x1f && b(1) == 0x8b) {
    auto r = Inflate(payload, 15 + 16, kMaxMessageBytes, "gzip payload");
    if (!r) return r.error();
    inflated = std::move(*r);
    payload = inflated;
  } else if (payload.size() >= 2 && b(0) == 0x78 && (b(0) * 256 + b(1)) % 31 == 0) {
    auto r = Inflate(payload, 15, kMaxMessageBytes, "zlib payload");
    if (!r) return r.error();
    inflated = std::move(*r);
    payload = inflated;
  }
  // Go's decoder reads the first JSON value: a NUL or newline a sender frames with is ignored.
  rapidjson::Document doc;
  JsonParseResult parsed =
      ParseJsonBounded(doc, payload, static_cast<rapidjson::CrtAllocator*>(nullptr), kMaxJsonDepth,
                       /*first_value_only=*/true);
  if (!parsed.ok()) return InvalidArgument("invalid JSON: " + parsed.Describe());
  if (!doc.IsObject()) return InvalidArgument("not a JSON object");

  std::string short_message, full_message;
  *out = GelfMessage{};
  // The additional fields by name; a name given twice keeps its last value, as Go's map does.
  std::map<std::string_view, const rapidjson::Value*> extra;
  for (const auto& m : doc.GetObject()) {
    const std::string_view key(m.name.GetString(), m.name.GetStringLength());
    const rapidjson::Value& v = m.value;
    Status st;
    if (key.empty()) continue;
    if (key.front() == '_') {
      extra[key] = &v;
    } else if (key == "version") {
      st = TakeString(v, key, &out->version);
    } else if (key == "host") {
      st = TakeString(v, key, &out->host);
    } else if (key == "short_message") {
      st = TakeString(v, key, &short_message);
    } else if (key == "full_message") {
      st = TakeString(v, key, &full_message);
    } else if (key == "facility") {
      st = TakeString(v, key, &out->facility);
    } else if (key == "timestamp") {
      if (!v.IsNumber()) return WrongType(key);
      out->timestamp = v.GetDouble();
    } else if (key == "level") {
      if (!v.IsNumber()) return WrongType(key);
      out->level = ToLevel(v.GetDouble());
    }
    if (!st.ok()) return st;
  }

  std::string& line = out->line;
  line.reserve(payload.size() + 16);
  line = "{\"version\":";
  lang::go::AppendGoJsonString(out->version, &line);
  AppendField("host", out->host, &line);
  AppendField("short_message", short_message, &line);
  if (!full_message.empty()) AppendField("full_message", full_message, &line);
  line.append(",\"timestamp\":");
  lang::go::AppendGoJsonFloat(out->timestamp, &line);
  if (out->level != 0) fmt::format_to(std::back_inserter(line), ",\"level\":{}", out->level);
  if (!out->facility.empty()) AppendField("facility", out->facility, &line);
  for (const auto& [name, value] : extra) {
    line.push_back(',');
    lang::go::AppendGoJsonString(name, &line);
    line.push_back(':');
    AppendValue(*value, &line);
  }
  line.push_back('}');
  // Labels carry these: Go's decoder has already replaced invalid UTF-8 with U+FFFD.
  for (std::string* s : {&out->version, &out->host, &out->facility}) formats::SanitizeUtf8(*s);
  return Status::Ok();
}

Reassembler::Outcome Reassembler::Add(std::string_view datagram, int64_t now_ns,
                                      std::string* payload, std::string* error) {
  if (datagram.size() <= kChunkHeader) {
    *error = fmt::format("chunk of {} bytes is not longer than its {}-byte header", datagram.size(),
                         kChunkHeader);
    return Outcome::kInvalid;
  }
  uint64_t id = 0;
  std::memcpy(&id, datagram.data() + 2, sizeof id);
  const size_t seq = static_cast<unsigned char>(datagram[10]);
  const size_t count = static_cast<unsigned char>(datagram[11]);
  if (count == 0 || count > kMaxChunks || seq >= count) {
    *error = fmt::format("chunk {} of {}: a message has 1 to {} chunks", seq, count, kMaxChunks);
    return Outcome::kInvalid;
  }
  const std::string_view data = datagram.substr(kChunkHeader);
  if (count == 1) {
    payload->assign(data);
    return Outcome::kComplete;
  }
  auto it = pending_.find(id);
  if (it == pending_.end()) {
    // Charged for its bookkeeping too, so a flood of one-byte chunks cannot grow it unseen.
    const size_t overhead = 128 + count * (sizeof(std::string) + 1);
    MakeRoom(overhead + data.size(), /*new_message=*/true);
    Pending p;
    p.first_ns = now_ns;
    p.count = count;
    p.chunks.resize(count);
    p.have.resize(count);
    p.bytes = overhead;
    bytes_ += overhead;
    it = pending_.emplace(id, std::move(p)).first;
  }
  Pending& p = it->second;
  if (p.count != count) {
    *error = fmt::format("chunk {} says the message has {} chunks, an earlier one said {}", seq,
                         count, p.count);
    return Outcome::kInvalid;
  }
  if (p.have[seq]) return Outcome::kIncomplete;  // a repeat: the first copy stands
  if (bytes_ + data.size() > kMaxPendingBytes) {
    MakeRoom(data.size(), /*new_message=*/false);
    it = pending_.find(id);
    if (it == pending_.end()) {  // this message itself was the oldest: reported here only
      --evicted_;
      *error = fmt::format("chunks waiting for the rest of their messages exceed {} MiB",
                           kMaxPendingBytes >> 20);
      return Outcome::kInvalid;
    }
  }
  Pending& q = it->second;
  q.chunks[seq].assign(data);
  q.have[seq] = true;
  q.bytes += data.size();
  bytes_ += data.size();
  if (++q.received < q.count) return Outcome::kIncomplete;
  payload->clear();
  payload->reserve(q.bytes);
  for (const std::string& c : q.chunks) payload->append(c);
  bytes_ -= q.bytes;
  pending_.erase(it);
  return Outcome::kComplete;
}

// Drops the oldest messages until `bytes` more (and one more message) fit the bounds.
void Reassembler::MakeRoom(size_t bytes, bool new_message) {
  while (!pending_.empty() && (bytes_ + bytes > kMaxPendingBytes ||
                               (new_message && pending_.size() >= kMaxPendingMessages))) {
    auto oldest = std::min_element(
        pending_.begin(), pending_.end(),
        [](const auto& a, const auto& b) { return a.second.first_ns < b.second.first_ns; });
    bytes_ -= oldest->second.bytes;
    pending_.erase(oldest);
    ++evicted_;
  }
}

size_t Reassembler::Expire(int64_t now_ns) {
  size_t n = std::exchange(evicted_, 0);
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (now_ns - it->second.first_ns > kChunkTimeoutNs) {
      bytes_ -= it->second.bytes;
      it = pending_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

}  // namespace skidder::sources::gelf
