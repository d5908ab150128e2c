// Stream: which of a container's output streams a record came from.
#pragma once

#include <string_view>

namespace skidder::formats {

enum class Stream { kStdout, kStderr };

inline std::string_view StreamName(Stream s) { return s == Stream::kStdout ? "stdout" : "stderr"; }

}  // namespace skidder::formats
