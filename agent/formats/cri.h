// ParseCri: one line of a CRI (containerd, CRI-O) container log file, split into its fields.
//
//   2026-11-24T10:40:12.542001710Z stdout F GET /healthz 200
//   <RFC3339Nano timestamp>        <stream> <tag> <message>
//
// Pure, allocation-free on success (the message is a view into the input), callable from any
// thread. The tag's first letter says whether the record ends a line (F) or is a 16 KiB
// fragment of a longer one (P); further ":"-separated tag fields are accepted and ignored.
// Used by the cri pipeline stage; fuzzed by tests/fuzz/cri_fuzz.cc.
#pragma once

#include <cstdint>
#include <string_view>

#include "formats/stream.h"
#include "util/status.h"

namespace skidder::formats {

struct CriRecord {
  int64_t timestamp_ns = 0;  // Unix nanoseconds
  Stream stream = Stream::kStdout;
  bool partial = false;      // tag P: more fragments of this line follow
  std::string_view tag;      // the whole tag field, e.g. "F" or "F:x"
  std::string_view time;     // the timestamp field as written
  std::string_view message;  // everything after the tag's separating space (may be empty)
};

// The line must not contain its trailing newline. A malformed prefix returns InvalidArgument
// naming the field that was wrong.
Result<CriRecord> ParseCri(std::string_view line);

}  // namespace skidder::formats
