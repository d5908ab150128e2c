// Compressed rotations (kubelet gzips N.log.<stamp> at the next rotation): when a file of the
// positions file is gone, its bytes may live on in a .gz beside it. skidder does not read
// inside compressed files yet; this finds the copy (same fingerprint after decompression) so
// the unread rest is counted and reported instead of silently lost. Reading thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "sources/file/positions.h"

namespace skidder::sources {

struct GzCopy {
  std::string path;
  uint64_t size = 0;  // decompressed
};

// Looks in dir for <basename(record.path)>*.gz whose decompressed start matches the record's
// fingerprint.
std::optional<GzCopy> FindCompressedCopy(const std::string& dir, const PositionRecord& record);

}  // namespace skidder::sources
