// libFuzzer target: "<JMESPath expression>\n<JSON document>": compile, parse, evaluate.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "fuzz_input.h"
#include "lang/go/json_path.h"
#include "util/json_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace skidder;
  auto [expr, json] = SplitFuzzInput(data, size);
  auto path = lang::go::CompileJsonPath(expr);
  if (!path) {
    FUZZ_CHECK(!path.error().message().empty());
    return 0;
  }
  using Doc = rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>>;
  Doc doc;
  if (!ParseJsonBounded(doc, json).ok()) return 0;
  // Evaluating twice gives the same text: Eval has no state.
  const std::string once = path->Eval(doc);
  FUZZ_CHECK(path->Eval(doc) == once);
  // The json stage's direct lookup of plain paths (names and indexes) agrees with the evaluator.
  std::string into = "left by the previous entry";
  path->EvalInto(doc, &into);
  FUZZ_CHECK(into == once);
  // The typed result is JSON text ("null" at least); the only run-time errors are type errors.
  std::string json_out, error;
  if (path->EvalJson(doc, &json_out, &error, 64 * 1024)) {
    FUZZ_CHECK(!json_out.empty());
  } else {
    FUZZ_CHECK(error.starts_with("invalid-type"));
  }
  return 0;
}
