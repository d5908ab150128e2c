#include "util/regexp_syntax.h"

namespace skidder {

std::string GoRegexpForRe2(std::string_view re) {
  if (re.find("(?<") == std::string_view::npos) return std::string(re);
  std::string out;
  out.reserve(re.size() + 8);
  bool in_class = false;
  for (size_t i = 0; i < re.size(); ++i) {
    const char c = re[i];
    if (c == '\\' && i + 1 < re.size()) {
      if (re[i + 1] == 'Q') {  // quoted up to \E (or the end)
        const size_t end = re.find("\\E", i + 2);
        const size_t stop = end == std::string_view::npos ? re.size() : end + 2;
        out.append(re.substr(i, stop - i));
        i = stop - 1;
        continue;
      }
      out += c;
      out += re[++i];
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < re.size() && re[i + 1] == '^') out += re[++i];
      if (i + 1 < re.size() && re[i + 1] == ']') out += re[++i];  // a literal ']' first
      continue;
    }
    // "(?<" and a name; not "(?<=" or "(?<!" (look-behind, which neither Go nor RE2 has).
    if (re.substr(i, 3) == "(?<" && i + 3 < re.size() && re[i + 3] != '=' && re[i + 3] != '!') {
      out += "(?P<";
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace skidder
