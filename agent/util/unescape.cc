#include "util/unescape.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace skidder {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::string* out, uint32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t FindClosingQuote(std::string_view s, size_t from, bool* escaped) {
  *escaped = false;
  size_t j = from;
  while (j < s.size() && s[j] != '"') {
    if (s[j] == '\\') {
      *escaped = true;
      ++j;
    }
    ++j;
  }
  return j < s.size() ? j : std::string_view::npos;
}

namespace {

// \uXXXX at body[*i] == 'u' (a second \uXXXX joined when it completes a surrogate pair); *i ends
// on the last digit read.
bool UnescapeUnicode(std::string_view body, size_t* i, std::string* out) {
  auto hex4 = [&](size_t at, uint32_t* v) {
    if (at + 4 > body.size()) return false;
    *v = 0;
    for (size_t k = at; k < at + 4; ++k) {
      int h = HexValue(body[k]);
      if (h < 0) return false;
      *v = *v * 16 + static_cast<uint32_t>(h);
    }
    return true;
  };
  uint32_t cp = 0;
  if (!hex4(*i + 1, &cp)) return false;
  *i += 4;
  uint32_t lo = 0;
  if (cp >= 0xD800 && cp < 0xDC00 && *i + 2 < body.size() && body[*i + 1] == '\\' &&
      body[*i + 2] == 'u' && hex4(*i + 3, &lo) && lo >= 0xDC00 && lo < 0xE000) {
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    *i += 6;
  } else if (cp >= 0xD800 && cp < 0xE000) {
    cp = 0xFFFD;
  }
  AppendUtf8(out, cp);
  return true;
}

}  // namespace

bool UnescapeJsonString(std::string_view body, std::string* out, bool unicode_escapes) {
  static constexpr std::pair<char, char> kSimple[] = {{'"', '"'},  {'\\', '\\'}, {'/', '/'},
                                                      {'b', '\b'}, {'f', '\f'},  {'n', '\n'},
                                                      {'r', '\r'}, {'t', '\t'}};
  out->clear();
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\') {
      out->push_back(body[i]);
      continue;
    }
    if (++i == body.size()) return false;
    const char esc = body[i];
    if (esc == 'u') {
      if (!unicode_escapes || !UnescapeUnicode(body, &i, out)) return false;
      continue;
    }
    const auto* simple = std::find_if(std::begin(kSimple), std::end(kSimple),
                                      [esc](const auto& p) { return p.first == esc; });
    if (simple == std::end(kSimple)) return false;
    out->push_back(simple->second);
  }
  return true;
}

}  // namespace skidder
