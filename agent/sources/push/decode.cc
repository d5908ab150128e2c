#include "sources/push/decode.h"

#include <fmt/format.h>
#include <snappy.h>
#include <zlib.h>

#include "push.pb.h"

namespace skidder::sources::push {
namespace {

// Inflates gzip (window_bits 31) or raw deflate (-15, Go's compress/flate) up to max bytes.
Result<std::string> Inflate(std::string_view in, int window_bits, size_t max, const char* name) {
  z_stream z{};
  if (inflateInit2(&z, window_bits) != Z_OK) return Err(Internal("zlib: cannot initialise"));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::string out;
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (out.size() >= max) {
      inflateEnd(&z);
      return Err(Status(StatusCode::kResourceExhausted,
                        fmt::format("request body larger than {} bytes decompressed", max)));
    }
    const size_t have = out.size();
    out.resize(std::min(max + 1, std::max<size_t>(have * 2, 64 * 1024)));
    z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    z.avail_out = static_cast<uInt>(out.size() - have);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(out.size() - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in > 0) rc = Z_OK;  // only the output was full
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) {
    return Err(InvalidArgument(fmt::format("{} body is corrupt or truncated", name)));
  }
  if (out.size() > max) {
    return Err(Status(StatusCode::kResourceExhausted,
                      fmt::format("request body larger than {} bytes decompressed", max)));
  }
  return out;
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
                       enc == "gzip" ? "gzip" : "deflate");
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
  logproto::PushRequest req;
  if (!req.ParseFromString(raw)) {
    return Err(InvalidArgument(
        "body is not a logproto.PushRequest (bad protobuf, or a line that is not UTF-8)"));
  }
  std::vector<PushedStream> out;
  out.reserve(static_cast<size_t>(req.streams_size()));
  for (logproto::StreamAdapter& s : *req.mutable_streams()) {
    auto labels = ParseLabelText(s.labels());
    if (!labels) {
      return Err(InvalidArgument(fmt::format("stream labels \"{}\": {}", s.labels().substr(0, 200),
                                             labels.error().message())));
    }
    PushedStream& ps = out.emplace_back();
    ps.labels = std::move(*labels);
    ps.entries.reserve(static_cast<size_t>(s.entries_size()));
    for (logproto::EntryAdapter& e : *s.mutable_entries()) {
      PushedEntry& pe = ps.entries.emplace_back();
      pe.timestamp_ns = e.timestamp().seconds() * 1'000'000'000 + e.timestamp().nanos();
      pe.line = std::move(*e.mutable_line());
      for (logproto::LabelPairAdapter& m : *e.mutable_structuredmetadata()) {
        pe.structured_metadata.push_back(
            {std::move(*m.mutable_name()), std::move(*m.mutable_value())});
      }
    }
  }
  return out;
}

}  // namespace skidder::sources::push
