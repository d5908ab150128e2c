// Counts what the global operator new allocates, for tests that pin allocations (zero per line
// on hot paths, bounded memory per push or per pass).
//
// Replaces operator new/delete for the whole test binary: include it from exactly one .cc file
// of a binary. Counting is off until a test turns it on; the counters are plain integers, so count
// on one thread at a time.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace skidder::testing::alloc_count {
inline bool counting = false;
inline size_t allocations = 0;
inline size_t bytes = 0;

inline void Start() {
  allocations = 0;
  bytes = 0;
  counting = true;
}
inline void Stop() { counting = false; }

inline void* Count(std::size_t n) {
  if (counting) {
    ++allocations;
    bytes += n;
  }
  return std::malloc(n == 0 ? 1 : n);
}
}  // namespace skidder::testing::alloc_count

void* operator new(std::size_t n) {
  if (void* p = skidder::testing::alloc_count::Count(n)) return p;
  throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort's buffer uses it), so that every operator new pairs
// with the free() below: otherwise ASan reports a mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return skidder::testing::alloc_count::Count(n);
}
// GCC 12 takes these replacements' free() for a mismatch with operator new once it inlines
// both; every operator new here allocates with malloc.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop
