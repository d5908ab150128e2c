#include "util/byte_size.h"

#include <cctype>
#include <charconv>
#include <limits>
#include <string>

namespace skidder {

bool ParseByteSize(std::string_view text, int64_t* out) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || ptr == text.data()) return false;
  std::string_view rest(ptr, text.data() + text.size() - ptr);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::string unit(rest);
  for (char& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (unit.size() > 1 && unit.back() == 'b') unit.pop_back();  // "kb" -> "k", "kib" -> "ki"
  if (unit.size() == 2 && unit[1] == 'i') unit.pop_back();     // "ki" -> "k"
  uint64_t mult = 1;
  if (unit.empty() || unit == "b") {
    mult = 1;
  } else if (unit == "k") {
    mult = 1ull << 10;
  } else if (unit == "m") {
    mult = 1ull << 20;
  } else if (unit == "g") {
    mult = 1ull << 30;
  } else if (unit == "t") {
    mult = 1ull << 40;
  } else if (unit == "p") {
    mult = 1ull << 50;
  } else {
    return false;
  }
  if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / mult) return false;
  *out = static_cast<int64_t>(n * mult);
  return true;
}

}  // namespace skidder
