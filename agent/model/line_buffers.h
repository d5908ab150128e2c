// Line buffers reused on one thread.
//
// The file source makes an Entry per line on its reading thread, and on the same thread the
// batch of a read goes through the pipeline to the sinks, which keep copies in wire form
// (sink/loki/batch.h); the entries are then destroyed. Handing their line buffers back for the
// next read saves a malloc and a free per line (thousands per read overflow glibc's per-thread
// cache of a few chunks per size), and the buffers come back warm in this core's cache.
// Thread-local, so no lock; bounded, and only buffers of ordinary lines are kept.
#pragma once

#include <span>
#include <string>

#include "model/entry.h"

namespace skidder::line_buffers {

inline constexpr size_t kMaxKept = 8192;          // buffers per thread
inline constexpr size_t kMaxKeptCapacity = 1024;  // longer lines get a fresh buffer

// An empty string, with a used buffer when this thread has one.
std::string Take();
// Keeps the line buffers of entries this thread is done with (the entries' lines are left empty).
void GiveBack(std::span<Entry> entries);
// Buffers this thread keeps (tests).
size_t Kept();

}  // namespace skidder::line_buffers
