// libFuzzer target: "<Go time layout>\n<value>": split the layout, format an instant with it
// (sprig's date) and parse the value in UTC.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "fuzz_input.h"
#include "lang/go/go_time.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace skidder::lang::go;
  auto [layout, value] = SplitFuzzInput(data, size);
  // A named layout ("RFC3339") stands for its Go constant, as in the timestamp stage.
  std::string_view named = GoNamedLayout(layout);
  GoLayout l(named.empty() ? layout : named);
  std::string formatted;
  l.Format(-62135596800 + static_cast<int64_t>(size) * 86'400'013, 123'456'789, nullptr,
           &formatted);
  FUZZ_CHECK(formatted.size() <= layout.size() * 16 + 64);
  int64_t ns = 0;
  std::string error;
  if (!l.Parse(value, nullptr, &ns, &error)) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  GoCivilTime civil;
  FUZZ_CHECK(l.ParseCivil(value, &civil));
  FUZZ_CHECK(civil.month >= 1 && civil.month <= 12 && civil.day >= 1 && civil.day <= 31);
  return 0;
}
