#include "util/inflate.h"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>

namespace skidder {

Result<std::string> Inflate(std::string_view in, int window_bits, size_t max,
                            std::string_view what) {
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
                        fmt::format("{} larger than {} bytes decompressed", what, max)));
    }
    const size_t have = out.size();
    out.resize(std::min(max + 1, std::max<size_t>(have * 2, 64 * 1024)));
    z.next_out = reinterpret_cast<Bytef*>(out.data() + have);
    z.avail_out = static_cast<uInt>(out.size() - have);
    rc = inflate(&z, Z_NO_FLUSH);
    out.resize(out.size() - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in > 0) rc = Z_OK;  // only the output was full
    // gzip members back to back (concatenated files, some streaming writers): each is read, as
    // Go's gzip reader (Loki's) does; what ended the first was not the end of the body.
    if (rc == Z_STREAM_END && z.avail_in > 0 && window_bits > 15) {
      if (inflateReset(&z) != Z_OK) break;
      rc = Z_OK;
    }
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) {
    return Err(InvalidArgument(fmt::format("{} is corrupt or truncated", what)));
  }
  if (out.size() > max) {
    return Err(Status(StatusCode::kResourceExhausted,
                      fmt::format("{} larger than {} bytes decompressed", what, max)));
  }
  return out;
}

}  // namespace skidder
