// Go's encoding/json text forms (go_json.h).
#include "lang/go/go_json.h"

#include <charconv>
#include <cmath>

#include "formats/utf8.h"

namespace skidder::lang::go {

void AppendGoFloatF(double f, std::string* out) {
  if (!std::isfinite(f)) {  // not from a JSON document
    out->append(std::isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf");
    return;
  }
  // The shortest digits, d.ddd e±x, laid out as Go's %f does with them.
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  if (!sci.empty() && sci.front() == '-') {
    out->push_back('-');
    sci.remove_prefix(1);
  }
  const size_t e = sci.find('e');
  int exp = 0;
  std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(), exp);
  char digits[24];
  size_t n = 0;
  for (char c : sci.substr(0, e)) {
    if (c != '.') digits[n++] = c;
  }
  if (exp < 0) {  // 0.000ddd
    out->append("0.");
    out->append(static_cast<size_t>(-exp - 1), '0');
    out->append(digits, n);
    return;
  }
  const size_t whole = static_cast<size_t>(exp) + 1;
  if (n <= whole) {  // ddd000
    out->append(digits, n);
    out->append(whole - n, '0');
    return;
  }
  out->append(digits, whole);  // ddd.ddd
  out->push_back('.');
  out->append(digits + whole, n - whole);
}

void AppendGoJsonFloat(double f, std::string* out) {
  if (!std::isfinite(f)) {  // not in JSON documents; a function result, printed as Go cannot
    out->append("null");
    return;
  }
  const double abs = std::fabs(f);
  if (abs == 0 || (abs >= 1e-6 && abs < 1e21)) {
    AppendGoFloatF(f, out);
    return;
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), f, std::chars_format::scientific);
  size_t n = static_cast<size_t>(r.ptr - buf);
  if (n >= 4 && buf[n - 4] == 'e' && buf[n - 3] == '-' && buf[n - 2] == '0') {
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
