#include "formats/utf8.h"

#include <cstdint>
#include <cstring>

namespace skidder::formats {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

// Length of the well-formed sequence at s[i], or 0 when ill-formed; *bad_len receives the length
// of the maximal subpart to replace. Follows Table 3-7 of the Unicode standard.
inline size_t SequenceLength(const unsigned char* s, size_t n, size_t i, size_t* bad_len) {
  unsigned char c = s[i];
  *bad_len = 1;
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlongs
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // no overlongs
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 or F5..FF
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= n) return 0;
    unsigned char b = s[i + k];
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
    *bad_len = k + 1;
  }
  return len;
}

// Index of the first byte that is not part of a valid prefix; n when the whole is valid.
size_t FirstInvalid(std::string_view sv) {
  const auto* s = reinterpret_cast<const unsigned char*>(sv.data());
  const size_t n = sv.size();
  size_t i = 0;
  while (i < n) {
    // ASCII fast path, 32 and then 8 bytes at a time (the compiler vectorises the former).
    while (i + 32 <= n) {
      uint64_t w[4];
      std::memcpy(w, s + i, 32);
      if ((w[0] | w[1] | w[2] | w[3]) & 0x8080808080808080ULL) break;
      i += 32;
    }
    while (i + 8 <= n) {
      uint64_t w;
      std::memcpy(&w, s + i, 8);
      if (w & 0x8080808080808080ULL) break;
      i += 8;
    }
    if (i >= n) break;
    if (s[i] < 0x80) {
      ++i;
      continue;
    }
    size_t bad;
    size_t len = SequenceLength(s, n, i, &bad);
    if (len == 0) return i;
    i += len;
  }
  return n;
}

}  // namespace

bool IsValidUtf8(std::string_view s) { return FirstInvalid(s) == s.size(); }

size_t Utf8SequenceLength(std::string_view s) {
  if (s.empty()) return 0;
  size_t bad_len = 0;
  return SequenceLength(reinterpret_cast<const unsigned char*>(s.data()), s.size(), 0, &bad_len);
}

size_t SanitizeUtf8(std::string& s) {
  size_t i = FirstInvalid(s);
  if (i == s.size()) return 0;
  std::string out;
  out.reserve(s.size() + 16);
  out.append(s, 0, i);
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t replaced = 0;
  while (i < n) {
    size_t bad;
    size_t len = SequenceLength(p, n, i, &bad);
    if (len == 0) {
      out.append(kReplacement);
      ++replaced;
      // One replacement per maximal subpart: the lead and the continuations that fitted.
      i += bad;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  s.swap(out);
  return replaced;
}

bool TruncateUtf8(std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return false;
  size_t cut = max_bytes;
  // s[cut] is the first byte removed; if it continues a code point, drop that code point too.
  size_t back = 0;
  while (cut > 0 && back < 3 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) {
    --cut;
    ++back;
  }
  if ((static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) cut = max_bytes;  // not UTF-8 anyway
  s.resize(cut);
  return true;
}

}  // namespace skidder::formats
