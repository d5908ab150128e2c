// UTF-8 helpers for what the sink sends: Loki decodes lines and labels as protobuf `string`s, so a
// single invalid byte would make it refuse the whole request.
//
// A local copy until formats/utf8.h (SanitizeUtf8) exists; then the sink should call that one.
// Pure functions, any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace skidder::sink {

// Length of the valid UTF-8 prefix of s (s.size() when all of it is valid).
size_t ValidUtf8Prefix(std::string_view s);

// Replaces every invalid byte sequence with U+FFFD. Returns true when s changed. Allocates only
// when s is invalid.
bool SanitizeUtf8(std::string* s);

// Cuts s to at most max bytes without splitting a multi-byte character. Returns true when cut.
bool TruncateUtf8(std::string* s, size_t max);

}  // namespace skidder::sink
