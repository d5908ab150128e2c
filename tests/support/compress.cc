#include "support/compress.h"

#include <bzlib.h>
#include <gtest/gtest.h>
#include <zlib.h>

namespace skidder::testing {

std::string Deflate(const std::string& text, int window_bits) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, text.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  zs.avail_in = static_cast<uInt>(text.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

std::string Bzip2(const std::string& text) {
  unsigned int len = static_cast<unsigned int>(text.size() + text.size() / 100 + 1024);
  std::string out(len, '\0');
  EXPECT_EQ(BZ2_bzBuffToBuffCompress(out.data(), &len, const_cast<char*>(text.data()),
                                     static_cast<unsigned int>(text.size()), 9, 0, 0),
            BZ_OK);
  out.resize(len);
  return out;
}

}  // namespace skidder::testing
