// libFuzzer target: the YAML config loader on arbitrary text. Errors are values (yaml-cpp's
// exceptions never escape), and a config that loads can be printed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/loader.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace skidder::config;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto cfg = ParseConfig(text, "fuzz.yaml", /*expand_env=*/false);
  if (!cfg) {
    FUZZ_CHECK(cfg.error().message().starts_with("fuzz.yaml"));
    return 0;
  }
  FUZZ_CHECK(!DumpConfig(*cfg).empty());
  return 0;
}
