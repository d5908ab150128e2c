// Compressed test data made in memory: gzip, zlib and bzip2 streams of a text.
#pragma once

#include <string>

namespace skidder::testing {

// deflate with zlib's window_bits (15 + 16: gzip wrapper, 15: zlib wrapper, -15: raw).
std::string Deflate(const std::string& text, int window_bits);
inline std::string Gzip(const std::string& text) { return Deflate(text, 15 + 16); }
inline std::string Zlib(const std::string& text) { return Deflate(text, 15); }
std::string Bzip2(const std::string& text);

}  // namespace skidder::testing
