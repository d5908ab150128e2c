#include "sink/loki/utf8.h"

#include <cstdint>
#include <cstring>

namespace skidder::sink {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed sequence starting at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when it is not one.
size_t SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<uint8_t>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  uint8_t c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

}  // namespace

size_t ValidUtf8Prefix(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    // Fast path: eight ASCII bytes at a time.
    if (i + 8 <= s.size()) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    size_t n = SequenceLength(s, i);
    if (n == 0) return i;
    i += n;
  }
  return s.size();
}

bool SanitizeUtf8(std::string* s) {
  size_t valid = ValidUtf8Prefix(*s);
  if (valid == s->size()) return false;
  std::string out;
  out.reserve(s->size() + 16);
  out.append(*s, 0, valid);
  size_t i = valid;
  while (i < s->size()) {
    size_t n = SequenceLength(*s, i);
    if (n == 0) {
      out.append(kReplacement);
      ++i;
    } else {
      out.append(*s, i, n);
      i += n;
    }
  }
  s->swap(out);
  return true;
}

bool TruncateUtf8(std::string* s, size_t max) {
  if (s->size() <= max) return false;
  size_t cut = max;
  // Step back over continuation bytes so the cut lands on a character boundary.
  while (cut > 0 && (static_cast<uint8_t>((*s)[cut]) & 0xC0) == 0x80) --cut;
  s->resize(cut);
  return true;
}

}  // namespace skidder::sink
