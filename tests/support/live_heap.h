// Bytes the process has allocated and not freed, for tests that check memory is given back (not
// how much is allocated: tests/support/counting_new.h counts that). Under ASan or TSan their
// allocator's count; otherwise glibc's (heap and mmapped chunks).
#pragma once

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
// From the sanitizer runtime (libasan, libtsan); GCC ships no header declaring it.
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#else
#include <malloc.h>
#endif

namespace skidder::testing {

inline size_t LiveHeapBytes() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

}  // namespace skidder::testing
