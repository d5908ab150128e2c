// libFuzzer target: "<Go template>\n<value>": parse, then run with every field set to value and
// a 64 KiB output limit, which no function or action may exceed.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_check.h"
#include "fuzz_input.h"
#include "lang/go/template_engine.h"

namespace {

class Data final : public skidder::lang::go::TemplateData {
 public:
  explicit Data(std::string value) : value_(std::move(value)) {}
  const std::string* Field(std::string_view name) const override {
    return name == "missing" ? nullptr : &value_;
  }

 private:
  std::string value_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using skidder::lang::go::Template;
  auto [text, value] = SplitFuzzInput(data, size);
  auto t = Template::Parse(text);
  if (!t) {
    FUZZ_CHECK(t.error().message().starts_with("template: "));
    return 0;
  }
  Data d{std::string(value)};
  std::string out, error;
  Template::Limit limit{64 * 1024};
  if (!t->Execute(d, &out, &error, &limit)) FUZZ_CHECK(!error.empty());
  FUZZ_CHECK(out.size() <= limit.max_bytes);
  return 0;
}
