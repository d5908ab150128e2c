// Reading protobuf's base-128 varints from raw wire bytes, for the few places that walk a
// message without parsing it (the encoder restoring a batch from its request, the push receiver
// counting entries before the parse). Header-only, any thread.
#pragma once

#include <cstdint>

namespace skidder {

// Reads a varint at *p (before end), advancing *p; false when it is cut short or longer than
// 10 bytes.
inline bool ReadVarint(const char** p, const char* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && *p < end; shift += 7) {
    const auto byte = static_cast<unsigned char>(*(*p)++);
    *v |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if (byte < 0x80) return true;
  }
  return false;
}

}  // namespace skidder
