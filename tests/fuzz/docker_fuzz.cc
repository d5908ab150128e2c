// libFuzzer target: ParseDockerJson on arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "formats/docker.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace skidder::formats;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  DockerRecord rec;
  skidder::Status s = ParseDockerJson(line, &rec);
  if (!s.ok()) {
    FUZZ_CHECK(!s.message().empty());
    return 0;
  }
  // Unescaping never grows the text beyond the line that held it.
  FUZZ_CHECK(rec.message.size() < size);
  // Parsing the same line into a used record gives the same result.
  DockerRecord again = rec;
  FUZZ_CHECK(ParseDockerJson(line, &again).ok() && again.message == rec.message &&
             again.timestamp_ns == rec.timestamp_ns && again.partial == rec.partial);
  return 0;
}
