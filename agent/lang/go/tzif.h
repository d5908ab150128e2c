// Time zones from the system's tzdata (TZif files under /usr/share/zoneinfo), for the timestamp
// stage's `location` and Go-layout parsing. GCC 12's <chrono> has no tzdb, and localtime_r would
// depend on the process's TZ; this reads one zone file into a small immutable table.
//
// Covers every transition the file lists (Debian ships "fat" files: explicit transitions up to
// 2037); later instants use the last listed offset (the POSIX TZ footer rule is not evaluated).
// Immutable after LoadZone(); safe to share between threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace skidder::lang::go {

class Zone {
 public:
  struct Type {
    int32_t offset_sec;  // east of UTC
    bool is_dst;
    std::string abbr;  // e.g. "CET"
  };
  struct Lookup {
    const Type* type;
    int64_t start, end;  // the range of Unix seconds during which `type` applies
  };

  // A fixed zone (UTC and the like).
  static std::shared_ptr<const Zone> Fixed(std::string name, int32_t offset_sec);
  // Parses TZif data (versions 1-3).
  static Result<std::shared_ptr<const Zone>> FromTzif(std::string name, std::string_view data);

  const std::string& name() const { return name_; }
  Lookup At(int64_t unix_sec) const;
  // Unix seconds of a wall-clock time in this zone (local_sec: seconds since 1970-01-01 00:00 of
  // the wall clock), resolving gaps and overlaps like Go's time.Date.
  int64_t LocalToUnix(int64_t local_sec) const;
  // Go's Location.lookupName: the offset of the zone abbreviation `abbr` near unix_sec.
  bool OffsetOfAbbr(std::string_view abbr, int64_t unix_sec, int32_t* offset_sec) const;

 private:
  std::string name_;
  std::vector<Type> types_;
  std::vector<int64_t> transitions_;      // Unix seconds, ascending
  std::vector<uint8_t> transition_type_;  // index into types_, per transition
  size_t first_type_ = 0;                 // the type before the first transition
};

// "UTC" (or "") -> UTC; "Local" -> Go's time.Local ($TZ, else /etc/localtime; UTC when
// neither reads); else an IANA name under zoneinfo_dir.
Result<std::shared_ptr<const Zone>> LoadZone(
    std::string_view name, const std::string& zoneinfo_dir = "/usr/share/zoneinfo");

}  // namespace skidder::lang::go
