#include "formats/cri.h"

#include <cstring>
#include <string>

#include "formats/timestamp.h"

namespace skidder::formats {
namespace {

// Splits off the field up to the next space; false when there is no space.
inline bool NextField(std::string_view& rest, std::string_view* field) {
  if (rest.empty()) return false;  // memchr must not see a null pointer
  const void* sp = std::memchr(rest.data(), ' ', rest.size());
  if (sp == nullptr) return false;
  size_t n = static_cast<const char*>(sp) - rest.data();
  *field = rest.substr(0, n);
  rest.remove_prefix(n + 1);
  return true;
}

Status Malformed(const char* what) { return InvalidArgument(std::string("cri: ") + what); }

}  // namespace

Result<CriRecord> ParseCri(std::string_view line) {
  CriRecord r;
  std::string_view rest = line;
  if (!NextField(rest, &r.time)) return Err(Malformed("no space after the timestamp"));
  const char* why = nullptr;
  if (!ParseRfc3339Nano(r.time, &r.timestamp_ns, &why)) {
    return Err(InvalidArgument(std::string("cri: bad timestamp: ") + why));
  }
  std::string_view stream;
  if (!NextField(rest, &stream)) return Err(Malformed("no space after the stream"));
  if (stream == "stdout") {
    r.stream = Stream::kStdout;
  } else if (stream == "stderr") {
    r.stream = Stream::kStderr;
  } else {
    return Err(Malformed("stream is neither stdout nor stderr"));
  }
  // The tag may end the line: an empty message written without its separating space.
  if (!NextField(rest, &r.tag)) {
    r.tag = rest;
    rest = rest.substr(rest.size());  // empty, but still pointing at the line's end
  }
  if (r.tag.empty() || (r.tag[0] != 'F' && r.tag[0] != 'P') ||
      (r.tag.size() > 1 && r.tag[1] != ':')) {
    return Err(Malformed("tag is not F or P (optionally followed by :fields)"));
  }
  r.partial = r.tag[0] == 'P';
  r.message = rest;
  return r;
}

}  // namespace skidder::formats
