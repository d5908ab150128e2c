// ParseDockerJson: one line of a docker json-file container log, decoded.
//
//   {"log":"GET /healthz 200\n","stream":"stdout","time":"2026-11-24T10:40:12.542001710Z"}
//
// Pure, callable from any thread. The message is JSON-unescaped into an owned string; pass the
// same DockerRecord again to reuse its capacity (no allocation per line once warm). A `log`
// value without its trailing "\n" is a fragment of a longer line (docker splits at 16 KiB).
// Used by the docker pipeline stage; fuzzed by tests/fuzz/docker_fuzz.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "formats/stream.h"
#include "util/status.h"

namespace skidder::formats {

struct DockerRecord {
  int64_t timestamp_ns = 0;
  Stream stream = Stream::kStdout;
  bool partial = false;  // `log` did not end in "\n"
  std::string message;   // `log` without its trailing "\n"
  std::string time;      // the `time` field as written
};

// Fills *out; InvalidArgument naming what was wrong (bad JSON, missing/ill-typed field).
Status ParseDockerJson(std::string_view line, DockerRecord* out);
Result<DockerRecord> ParseDockerJson(std::string_view line);

}  // namespace skidder::formats
