// Go's encoding/json text forms (go_json.h).
#include "lang/go/go_json.h"

#include <charconv>
#include <cmath>

#include "formats/utf8.h"

namespace skidder::lang::go {

void AppendGoJsonFloat(double f, std::string* out) {
  if (!std::isfinite(f)) {  // not in JSON documents; a function result, printed as Go cannot
    out->append("null");
    return;
  }
  char buf[64];
  const double abs = std::fabs(f);
  const bool exp = abs != 0 && (abs < 1e-6 || abs >= 1e21);
  auto r = std::to_chars(buf, buf + sizeof(buf), f,
                         exp ? std::chars_format::scientific : std::chars_format::fixed);
  size_t n = static_cast<size_t>(r.ptr - buf);
  if (exp && n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
    buf[n - 2] = buf[n - 1];  // e-07 -> e-7
    --n;
  }
  out->append(buf, n);
}

void AppendGoJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  const auto plain = [](unsigned char c) {
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
  };
  size_t i = 0;
  while (i < s.size()) {
    size_t run = i;  // bytes written as they are, appended at once
    while (run < s.size() && plain(static_cast<unsigned char>(s[run]))) ++run;
    if (run != i) {
      out->append(s.data() + i, run - i);
      i = run;
      continue;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {  // not plain: a two-character escape where Go has one, else \u00XX
      static constexpr std::string_view kShort = "\"\\\b\f\n\r\t", kLetter = "\"\\bfnrt";
      if (const size_t k = kShort.find(static_cast<char>(c)); k != std::string_view::npos) {
        const char esc[] = {'\\', kLetter[k]};
        out->append(esc, sizeof(esc));
      } else {
        const char esc[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out->append(esc, sizeof(esc));
      }
      ++i;
      continue;
    }
    const size_t n = formats::Utf8SequenceLength(s.substr(i));
    if (n == 0) {
      out->append("\\ufffd");
      ++i;
      continue;
    }
    const std::string_view ch = s.substr(i, n);
    if (ch == "\xE2\x80\xA8" || ch == "\xE2\x80\xA9") {  // U+2028, U+2029
      out->append(ch == "\xE2\x80\xA8" ? "\\u2028" : "\\u2029");
    } else {
      out->append(ch);
    }
    i += n;
  }
  out->push_back('"');
}

}  // namespace skidder::lang::go
