// libFuzzer target: a positions file (skidder's JSON or Promtail's positions.yaml) as found on
// disk at start. Whatever it holds, loading never crashes, and what loads is saved and read back
// unchanged.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_check.h"
#include "sources/file/positions.h"
#include "telemetry/agent_metrics.h"
#include "telemetry/registry.h"

namespace {

using namespace skidder;

std::string Describe(const std::vector<sources::PositionRecord>& records) {
  std::string s;
  for (const auto& r : records) {
    s += r.path + '\0' + std::to_string(r.offset) + '\0' + r.origin + '\0' +
         std::to_string(r.size) + (r.compressed ? "gz" : "") + (r.done ? "done" : "") + '\n';
  }
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static telemetry::Registry registry;
  static telemetry::AgentMetrics metrics(registry);
  // Leaked, so the exit handler that removes it never sees it destroyed.
  static const std::filesystem::path& dir = *[] {
    char tmpl[] = "/tmp/skidder-positions-fuzz-XXXXXX";
    FUZZ_CHECK(mkdtemp(tmpl) != nullptr);
    auto* p = new std::filesystem::path(tmpl);
    static const std::filesystem::path* to_remove = p;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(*to_remove, ec);
    });
    return p;
  }();
  const std::string file = (dir / "positions.json").string();
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  std::string loaded;
  {
    sources::Positions p(file, /*ignore_invalid=*/false, &metrics);
    auto records = p.All();
    loaded = Describe(records);
    if (!records.empty()) {
      p.Put(records.front());  // marks it dirty, so Save() writes skidder's format
      FUZZ_CHECK(p.Save().ok());
    }
  }
  if (!loaded.empty()) {
    sources::Positions again(file, false, &metrics);
    FUZZ_CHECK(Describe(again.All()) == loaded);
  }
  std::error_code ec;
  for (const auto& f : std::filesystem::directory_iterator(dir, ec)) {
    std::filesystem::remove(f.path(), ec);
  }
  return 0;
}
