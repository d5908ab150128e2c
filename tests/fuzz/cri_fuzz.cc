// libFuzzer target: ParseCri on arbitrary bytes, plus the UTF-8 helpers on its message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "formats/cri.h"
#include "formats/utf8.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace skidder::formats;
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto r = ParseCri(line);
  if (!r) {
    FUZZ_CHECK(!r.error().message().empty());
    return 0;
  }
  // The message is a suffix of the line and the tag starts with F or P.
  FUZZ_CHECK(r->message.data() + r->message.size() == line.data() + line.size());
  FUZZ_CHECK(!r->tag.empty() && (r->tag[0] == 'F' || r->tag[0] == 'P'));
  FUZZ_CHECK(r->partial == (r->tag[0] == 'P'));
  std::string msg(r->message);
  SanitizeUtf8(msg);
  FUZZ_CHECK(IsValidUtf8(msg));
  const size_t max = size % 64;
  TruncateUtf8(msg, max);
  FUZZ_CHECK(msg.size() <= max && IsValidUtf8(msg));
  return 0;
}
