// Reading quoted text: hex digits, UTF-8 encoding of code points, and JSON string escapes, for
// the parsers that read double-quoted strings (logfmt, JMESPath, LogQL selectors). Pure; any
// thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace skidder {

// The value of a hex digit, or -1.
int HexValue(char c);

// Appends code point cp as UTF-8 (cp at most 0x10FFFF; the caller checks surrogates).
void AppendUtf8(std::string* out, uint32_t cp);

// The index of the '"' closing a double-quoted string whose body starts at s[from], skipping
// backslash-escaped characters; npos when unterminated. *escaped says whether the body holds a
// backslash, so callers can take the body as it is when it does not.
size_t FindClosingQuote(std::string_view s, size_t from, bool* escaped);

// Decodes the JSON escapes in a quoted string's body (\" \\ \/ \b \f \n \r \t, and with
// unicode_escapes \uXXXX, surrogate pairs joined, a lone surrogate as U+FFFD) into *out, which is
// cleared first. False on an unknown, cut-short or (without unicode_escapes) \u escape.
bool UnescapeJsonString(std::string_view body, std::string* out, bool unicode_escapes = true);

}  // namespace skidder
