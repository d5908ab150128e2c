// libFuzzer target: "<LogQL selector>\n<line>": parse, then match an entry with a few labels.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "fuzz_input.h"
#include "lang/go/match_selector.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace skidder;
  auto [text, line] = SplitFuzzInput(data, size);
  auto sel = lang::go::Selector::Parse(text);
  if (!sel) {
    FUZZ_CHECK(sel.error().message().starts_with("invalid selector at offset "));
    return 0;
  }
  Entry e;
  e.line = std::string(line);
  e.labels.Set("app", "loki");
  e.labels.Set("namespace", std::string(line.substr(0, 16)));
  // Matches is the conjunction of its two halves.
  FUZZ_CHECK(sel->Matches(e) == (sel->MatchesLabels(e.labels) && sel->MatchesLine(e.line)));
  return 0;
}
