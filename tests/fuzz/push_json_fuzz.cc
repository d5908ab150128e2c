// libFuzzer target: Loki's JSON push body as a sender may post it (DecodeJsonPush), the
// Prometheus label text of protobuf streams (ParseLabelText), and a Heroku drain's logplex body
// (DecodeDrain) on the same bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.h"
#include "sources/push/decode.h"
#include "sources/push/heroku.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace skidder::sources::push;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto streams = DecodeJsonPush(text);
  if (!streams) {
    FUZZ_CHECK(!streams.error().message().empty());
    FUZZ_CHECK(HttpStatusFor(streams.error()) == 400);
  } else {
    for (const PushedStream& s : *streams) {
      // Labels that decoded print as text that parses back to the same set.
      auto again = ParseLabelText(s.labels.ToString());
      FUZZ_CHECK(again.has_value() && *again == s.labels);
    }
  }
  const DrainBody drain = DecodeDrain(text, {{"q", "v"}});
  size_t entries = 0;
  for (const PushedStream& s : drain.streams) {
    FUZZ_CHECK(!s.entries.empty());
    entries += s.entries.size();
  }
  FUZZ_CHECK(entries == drain.messages);
  FUZZ_CHECK(drain.error.ok() || drain.error.message().starts_with("logplex frame "));
  if (auto labels = ParseLabelText(text)) {
    auto again = ParseLabelText(labels->ToString());
    FUZZ_CHECK(again.has_value() && *again == *labels);
  }
  return 0;
}
