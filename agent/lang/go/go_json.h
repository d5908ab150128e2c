// Text as Go's encoding/json writes it, for output that must match Promtail's byte for byte
// (what its json stage marshals back, its pack stage's lines). Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace skidder::lang::go {

// A JSON string: HTML-safe (<, >, & as \u003c, \u003e, \u0026), U+2028 and U+2029 escaped,
// control characters as \b \f \n \r \t or \u00XX, each byte of invalid UTF-8 as \ufffd.
void AppendGoJsonString(std::string_view s, std::string* out);

// A float64 as Go's strconv.FormatFloat(f, 'f', -1, 64): the shortest digits that read back,
// in fixed notation, padded with zeros (1.2345678901234568e+29 is 123456789012345680000000000000,
// where the shortest fixed form of C++'s to_chars spells out the double's exact integer).
// Go's "+Inf", "-Inf", "NaN" for the others.
void AppendGoFloatF(double f, std::string* out);

// A float64: the shortest form that reads back, fixed notation unless the magnitude is under
// 1e-6 or at least 1e21, then an exponent without a leading zero (1e-7, 1e+21). "null" for
// NaN and infinities (which Go refuses to marshal).
void AppendGoJsonFloat(double f, std::string* out);

}  // namespace skidder::lang::go
