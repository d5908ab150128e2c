// CompileJsonPath: the subset of JMESPath the json stage supports today.
#include <fmt/format.h>

#include <charconv>
#include <string>

#include "pipeline/stages/json.h"

namespace skidder::pipeline::stages {
namespace {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdent(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

Status Unsupported(std::string_view expr, size_t pos, std::string_view what) {
  return InvalidArgument(fmt::format(
      "unsupported JMESPath expression \"{}\" at offset {}: {} (skidder supports names, "
      "\"quoted names\", dots and [n] indexes)",
      expr, pos, what));
}

// Reads a "quoted identifier" starting at expr[*i] == '"'.
bool ReadQuoted(std::string_view expr, size_t* i, std::string* out) {
  ++*i;
  while (*i < expr.size()) {
    char c = expr[(*i)++];
    if (c == '"') return true;
    if (c == '\\') {
      if (*i >= expr.size()) return false;
      char esc = expr[(*i)++];
      switch (esc) {
        case '"':
        case '\\':
        case '/':
          out->push_back(esc);
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        default:
          return false;  // \uXXXX is rare in keys; refuse rather than guess
      }
    } else {
      out->push_back(c);
    }
  }
  return false;
}

}  // namespace

Result<std::vector<JsonPathStep>> CompileJsonPath(std::string_view expr) {
  std::vector<JsonPathStep> steps;
  size_t i = 0;
  bool need_name = true;  // at the start and after a dot
  while (i < expr.size()) {
    char c = expr[i];
    if (need_name) {
      std::string name;
      if (c == '"') {
        if (!ReadQuoted(expr, &i, &name)) return Err(Unsupported(expr, i, "bad quoted name"));
      } else if (IsIdentStart(c)) {
        while (i < expr.size() && IsIdent(expr[i])) name.push_back(expr[i++]);
      } else {
        return Err(Unsupported(expr, i, fmt::format("unexpected '{}'", c)));
      }
      steps.emplace_back(std::move(name));
      need_name = false;
    } else if (c == '.') {
      ++i;
      need_name = true;
    } else if (c == '[') {
      size_t start = ++i;
      if (i < expr.size() && expr[i] == '-') ++i;
      while (i < expr.size() && expr[i] >= '0' && expr[i] <= '9') ++i;
      if (i == start || (i == start + 1 && expr[start] == '-') || i >= expr.size() ||
          expr[i] != ']') {
        return Err(Unsupported(expr, start, "only [n] indexes are supported"));
      }
      int64_t index = 0;
      auto [ptr, ec] = std::from_chars(expr.data() + start, expr.data() + i, index);
      if (ec != std::errc()) return Err(Unsupported(expr, start, "index out of range"));
      steps.emplace_back(index);
      ++i;
    } else {
      return Err(Unsupported(expr, i, fmt::format("unexpected '{}'", c)));
    }
  }
  if (need_name) return Err(Unsupported(expr, i, "expected a name"));
  return steps;
}

}  // namespace skidder::pipeline::stages
