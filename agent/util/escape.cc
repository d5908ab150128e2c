#include "util/escape.h"

#include <fmt/format.h>

namespace skidder {

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i] (2-4), or 0 when it is ill-formed
// (overlong, surrogate, above U+10FFFF, truncated).
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    n = 2;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    n = 3;
    if (b0 == 0xe0) lo = 0xa0;
    if (b0 == 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    n = 4;
    if (b0 == 0xf0) lo = 0x90;
    if (b0 == 0xf4) hi = 0x8f;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf)) return 0;
  }
  return n;
}

}  // namespace

void AppendQuotedEscaped(std::string& out, std::string_view value, ControlEscape style) {
  out.push_back('"');
  for (size_t i = 0; i < value.size(); ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x80 && style == ControlEscape::kJson) {
      // A JSON log line must stay valid UTF-8 whatever bytes a field carries (a corrupt
      // positions file, a server's body): ill-formed bytes become U+FFFD, one per byte.
      size_t n = Utf8Length(value, i);
      if (n == 0) {
        out.append("\\ufffd");
      } else {
        out.append(value.substr(i, n));
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (style == ControlEscape::kJson && c < 0x20) {
          out.append(fmt::format("\\u{:04x}", c));
        } else if (style == ControlEscape::kGo && (c < 0x20 || c == 0x7f)) {
          out.append(fmt::format("\\x{:02x}", c));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace skidder
