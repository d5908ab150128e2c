// UTF-8 repair and safe truncation for log lines on their way to Loki.
//
// Loki refuses a push whose lines are not valid UTF-8, and a line cut in the middle of a code
// point becomes invalid; these helpers make lines safe without touching valid ones. Pure
// functions, callable from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace skidder::formats {

// True when s is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Length of the well-formed sequence (1 to 4 bytes) s starts with; 0 when it starts with an
// ill-formed one or is empty.
size_t Utf8SequenceLength(std::string_view s);

// Replaces every ill-formed sequence with U+FFFD ("maximal subpart" rule of the Unicode standard,
// as ICU and Python do). Valid strings are validated and returned untouched, without allocating.
// Returns the number of replacements made.
size_t SanitizeUtf8(std::string& s);

// Shortens s to at most max_bytes without splitting a code point. Returns true when it cut.
bool TruncateUtf8(std::string& s, size_t max_bytes);

}  // namespace skidder::formats
