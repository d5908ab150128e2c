#include "lang/go/go_quote.h"

#include <fmt/format.h>

#include <cstdint>

namespace skidder::lang::go {
namespace {

// The UTF-8 sequence at s[i]: its code point and length, or length 0 when it is not valid
// (overlong, a surrogate, past U+10FFFF, cut short), as Go's utf8.DecodeRuneInString refuses.
uint32_t Decode(std::string_view s, size_t i, size_t* len) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  size_t n = 0;
  uint32_t r = 0, min = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, r = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, r = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, r = c & 0x07, min = 0x10000;
  }
  *len = 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    r = (r << 6) | (b(k) & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return 0;
  *len = n;
  return r;
}

// Not printable for Go (strconv.IsPrint) among assigned code points: controls, spaces other
// than ' ', separators, format characters, private use and noncharacters.
bool Unprintable(uint32_t r) {
  struct Range {
    uint32_t lo, hi;
  };
  static constexpr Range kRanges[] = {
      {0x80, 0xA0},       {0xAD, 0xAD},       {0x600, 0x605},     {0x61C, 0x61C},
      {0x6DD, 0x6DD},     {0x70F, 0x70F},     {0x890, 0x891},     {0x8E2, 0x8E2},
      {0x1680, 0x1680},   {0x180E, 0x180E},   {0x2000, 0x200F},   {0x2028, 0x202F},
      {0x205F, 0x2064},   {0x2066, 0x206F},   {0x3000, 0x3000},   {0xD800, 0xF8FF},
      {0xFDD0, 0xFDEF},   {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0xFFFE, 0xFFFF},
      {0x110BD, 0x110BD}, {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},
      {0x1D173, 0x1D17A}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF},
  };
  for (const Range& x : kRanges) {
    if (r >= x.lo && r <= x.hi) return true;
  }
  return (r & 0xFFFE) == 0xFFFE;  // the noncharacters at the end of each plane
}

}  // namespace

void AppendGoQuoted(std::string_view s, char quote, std::string* out) {
  out->push_back(quote);
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      if (c == static_cast<unsigned char>(quote) || c == '\\') {
        out->push_back('\\');
        out->push_back(static_cast<char>(c));
        continue;
      }
      switch (c) {
        case '\a':
          out->append("\\a");
          continue;
        case '\b':
          out->append("\\b");
          continue;
        case '\f':
          out->append("\\f");
          continue;
        case '\n':
          out->append("\\n");
          continue;
        case '\r':
          out->append("\\r");
          continue;
        case '\t':
          out->append("\\t");
          continue;
        case '\v':
          out->append("\\v");
          continue;
        default:
          break;
      }
      if (c < 0x20 || c == 0x7F) {
        fmt::format_to(std::back_inserter(*out), "\\x{:02x}", c);
      } else {
        out->push_back(static_cast<char>(c));
      }
      continue;
    }
    size_t len = 0;
    const uint32_t r = Decode(s, i, &len);
    if (len == 0) {
      fmt::format_to(std::back_inserter(*out), "\\x{:02x}", c);
      ++i;
    } else if (Unprintable(r)) {
      if (r < 0x10000) {
        fmt::format_to(std::back_inserter(*out), "\\u{:04x}", r);
      } else {
        fmt::format_to(std::back_inserter(*out), "\\U{:08x}", r);
      }
      i += len;
    } else {
      out->append(s.substr(i, len));
      i += len;
    }
  }
  out->push_back(quote);
}

}  // namespace skidder::lang::go
