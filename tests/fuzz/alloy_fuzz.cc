// libFuzzer target: the Alloy parser and evaluator on arbitrary bytes. Any input either parses
// or fails with a short "file:line:col:" error; every attribute of what parses evaluates (or
// fails the same way) without touching the outside world. Hostile nesting must neither
// overflow the stack nor echo the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "lang/alloy/eval.h"
#include "lang/alloy/parser.h"

namespace {

using namespace skidder::lang::alloy;

// Error messages carry a position and at most short excerpts of the input.
void CheckError(const skidder::Status& s) {
  FUZZ_CHECK(!s.ok());
  FUZZ_CHECK(s.message().starts_with("f.alloy:"));
  FUZZ_CHECK(s.message().size() < 400);
}

void EvalBlock(Evaluator& ev, const std::vector<Attribute>& attrs,
               const std::vector<Block>& blocks) {
  for (const Attribute& a : attrs) {
    // Functions that read the environment are fine; only `local.file` reads files, and the
    // resolver below knows no components.
    skidder::Result<Value> v = ev.Eval(*a.value);
    if (!v) CheckError(v.error());
  }
  for (const Block& b : blocks) EvalBlock(ev, b.attributes, b.blocks);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  skidder::Result<File> f = Parse(text, "f.alloy");
  if (!f) {
    CheckError(f.error());
    return 0;
  }
  Evaluator ev("f.alloy",
               [](const std::vector<std::string>&, size_t*, Pos) -> skidder::Result<Value> {
                 return std::unexpected(skidder::NotFound(""));
               });
  EvalBlock(ev, f->attributes, f->blocks);
  return 0;
}
