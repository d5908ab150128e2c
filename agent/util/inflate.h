// Bounded zlib decompression of a whole buffer, for bodies and datagrams from peers the agent
// does not control: a few kilobytes can inflate to gigabytes, so the output is capped. Pure
// function, any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "util/status.h"

namespace skidder {

// Inflates `in` with zlib's window_bits: 15 + 16 for gzip (members back to back are all read, as
// Go's gzip reader does), 15 for a zlib stream, -15 for raw deflate (Go's compress/flate).
// Errors name `what` ("gzip body"): kResourceExhausted when the output would pass max bytes,
// kInvalidArgument when the data is corrupt or ends early.
Result<std::string> Inflate(std::string_view in, int window_bits, size_t max,
                            std::string_view what);

}  // namespace skidder
