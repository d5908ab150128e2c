// libFuzzer target: TZif data (a zone file a user names in `location`) into a Zone, then every
// lookup the timestamp stage makes. A zone that loads answers every instant with a type.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "lang/go/tzif.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using skidder::lang::go::Zone;
  auto zone = Zone::FromTzif("Fuzz/Zone", {reinterpret_cast<const char*>(data), size});
  if (!zone) {
    FUZZ_CHECK(!zone.error().message().empty());
    return 0;
  }
  for (int64_t t : {INT64_MIN / 4, int64_t{-2208988800}, int64_t{0}, int64_t{1700000000},
                    int64_t{2200000000}, INT64_MAX / 4}) {
    auto l = (*zone)->At(t);
    FUZZ_CHECK(l.type != nullptr);
    FUZZ_CHECK(l.start <= t && t <= l.end);
    (void)(*zone)->LocalToUnix(t);
    int32_t offset = 0;
    (void)(*zone)->OffsetOfAbbr(l.type->abbr, t, &offset);
  }
  return 0;
}
