// Splitting one fuzz input into the two texts a target needs (an expression and a document, a
// layout and a value): everything before the first newline, and the rest.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

inline std::pair<std::string_view, std::string_view> SplitFuzzInput(const uint8_t* data,
                                                                    size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return {in, {}};
  return {in.substr(0, nl), in.substr(nl + 1)};
}
