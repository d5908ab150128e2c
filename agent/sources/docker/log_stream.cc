#include "sources/docker/log_stream.h"

#include <fmt/format.h>

#include "formats/timestamp.h"

namespace skidder::sources::docker {

Status FrameDecoder::TakeHeader() {
  if (header_[0] > 3 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
    return Status(StatusCode::kInvalidArgument,
                  fmt::format("malformed log stream frame header {:02x} {:02x} {:02x} {:02x}",
                              header_[0], header_[1], header_[2], header_[3]));
  }
  stream_ = static_cast<Stream>(header_[0]);
  remaining_ = (uint64_t{header_[4]} << 24) | (uint64_t{header_[5]} << 16) |
               (uint64_t{header_[6]} << 8) | uint64_t{header_[7]};
  return Status::Ok();
}

bool SplitTimestamp(std::string_view msg, int64_t* ts_ns, std::string_view* rest) {
  size_t sp = msg.find(' ');
  if (sp == std::string_view::npos || sp > 40) return false;
  const char* why = nullptr;
  if (!formats::ParseRfc3339Nano(msg.substr(0, sp), ts_ns, &why)) return false;
  *rest = msg.substr(sp + 1);
  return true;
}

}  // namespace skidder::sources::docker
