// Sizes as Promtail's config reads them (dskit's flagext.ByteSize): shared by the config
// loader and the stages that take sizes (cri, drop, truncate). Pure; any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace skidder {

// "1048576", "256KB", "8kb", "1MiB", "2 GB": whole numbers, binary units B/K/M/G/T/P with an
// optional B or iB, case-insensitive, spaces around allowed. False when malformed, negative or
// past int64.
bool ParseByteSize(std::string_view text, int64_t* out);

}  // namespace skidder
