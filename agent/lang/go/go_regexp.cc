#include "lang/go/go_regexp.h"

#include <map>

#include "formats/utf8.h"
#include "util/regexp_syntax.h"

namespace skidder::lang::go {
namespace {

bool IsNameChar(char c) {
  return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

void AppendGroup(const RE2& re, std::string_view name, const std::vector<re2::StringPiece>& groups,
                 std::string* out) {
  size_t index = 0;
  bool numeric = !name.empty();
  for (char c : name) {
    if (c < '0' || c > '9')
      numeric = false;
    else if (index < 1'000'000)
      index = index * 10 + static_cast<size_t>(c - '0');
  }
  if (!numeric) {
    const auto& named = re.NamedCapturingGroups();
    auto it = named.find(std::string(name));
    if (it == named.end()) return;
    index = static_cast<size_t>(it->second);
  }
  if (index < groups.size() && groups[index].data() != nullptr) {
    out->append(groups[index].data(), groups[index].size());
  }
}

}  // namespace

void AppendGoExpansion(const RE2& re, std::string_view t,
                       const std::vector<re2::StringPiece>& groups, std::string* out) {
  while (!t.empty()) {
    const size_t dollar = t.find('$');
    out->append(t.substr(0, dollar));
    if (dollar == std::string_view::npos) return;
    t.remove_prefix(dollar + 1);
    if (!t.empty() && t[0] == '$') {
      out->push_back('$');
      t.remove_prefix(1);
      continue;
    }
    std::string_view name;
    if (!t.empty() && t[0] == '{') {
      const size_t close = t.find('}');
      size_t n = 1;
      while (n < t.size() && IsNameChar(t[n])) ++n;
      if (close == std::string_view::npos || close != n || n == 1) {
        out->push_back('$');  // malformed: Go keeps the "$" literally
        continue;
      }
      name = t.substr(1, n - 1);
      t.remove_prefix(n + 1);
    } else {
      size_t n = 0;
      while (n < t.size() && IsNameChar(t[n])) ++n;
      if (n == 0) {
        out->push_back('$');
        continue;
      }
      name = t.substr(0, n);  // Go takes the longest name: "$1x" is group "1x"
      t.remove_prefix(n);
    }
    AppendGroup(re, name, groups, out);
  }
}

std::unique_ptr<RE2> CompileGoRegexp(std::string_view re) {
  RE2::Options opts;
  opts.set_log_errors(false);
  return std::make_unique<RE2>(GoRegexpForRe2(re), opts);
}

std::string_view GoRegexpInput(std::string_view s, std::string* scratch) {
  if (formats::IsValidUtf8(s)) return s;
  scratch->assign(s);
  formats::SanitizeUtf8(*scratch);
  return *scratch;
}

void GoReplaceAll(const RE2& re, std::string_view src, std::string_view repl, bool expand,
                  std::string* out, size_t max_bytes) {
  std::string valid;
  src = GoRegexpInput(src, &valid);
  std::vector<re2::StringPiece> groups;
  size_t last = 0;
  ForEachGoMatch(re, src, groups, [&](const std::vector<re2::StringPiece>& g) {
    const size_t start = static_cast<size_t>(g[0].data() - src.data());
    out->append(src.substr(last, start - last));
    if (expand)
      AppendGoExpansion(re, repl, g, out);
    else
      out->append(repl);
    last = start + g[0].size();
    return out->size() <= max_bytes;
  });
  if (out->size() <= max_bytes) out->append(src.substr(last));
}

}  // namespace skidder::lang::go
