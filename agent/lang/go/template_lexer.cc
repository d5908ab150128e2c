// The template lexer: the tokens inside {{ }} (template_lexer.h).
#include "lang/go/template_lexer.h"

#include <fmt/format.h>

#include <string>

namespace skidder::lang::go::tmpl {
namespace {

// "..." with Go's escapes, or `raw`.
Status LexString(Cursor& cur, Tok* tok) {
  const char quote = cur.t[cur.pos++];
  tok->kind = Tok::kString;
  std::string& s = tok->text;
  while (cur.pos < cur.t.size() && cur.t[cur.pos] != quote) {
    char c = cur.t[cur.pos++];
    if (quote == '`' || c != '\\') {
      if (quote == '"' && c == '\n') return ErrorAt(cur.t, cur.pos, "unterminated quoted string");
      s.push_back(c);
      continue;
    }
    if (cur.pos >= cur.t.size()) break;
    c = cur.t[cur.pos++];
    static constexpr std::string_view kFrom = "abfnrtv\\'\"", kTo = "\a\b\f\n\r\t\v\\'\"";
    if (size_t k = kFrom.find(c); k != std::string_view::npos) {
      s.push_back(kTo[k]);
      continue;
    }
    const int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (digits == 0) return ErrorAt(cur.t, cur.pos, fmt::format("unknown escape sequence \\{}", c));
    uint32_t cp = 0;
    for (int d = 0; d < digits; ++d, ++cur.pos) {
      const char h = cur.pos < cur.t.size() ? cur.t[cur.pos] : '\0';
      const int v = h >= '0' && h <= '9'                     ? h - '0'
                    : (h | 0x20) >= 'a' && (h | 0x20) <= 'f' ? (h | 0x20) - 'a' + 10
                                                             : -1;
      if (v < 0) return ErrorAt(cur.t, cur.pos, "invalid escape in string literal");
      cp = cp * 16 + static_cast<uint32_t>(v);
    }
    if (c == 'x') {
      s.push_back(static_cast<char>(cp));
      continue;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000))
      return ErrorAt(cur.t, cur.pos, "invalid Unicode escape");
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  if (cur.pos >= cur.t.size()) return ErrorAt(cur.t, cur.pos, "unterminated quoted string");
  ++cur.pos;  // closing quote
  return Status::Ok();
}

}  // namespace

Status ErrorAt(std::string_view t, size_t pos, std::string_view msg) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i < pos && i < t.size(); ++i) {
    if (t[i] == '\n')
      ++line, col = 1;
    else
      ++col;
  }
  return InvalidArgument(fmt::format("template: {}:{}: {}", line, col, msg));
}

Status LexToken(Cursor& cur, Tok* tok) {
  *tok = Tok{};
  const size_t before = cur.pos;
  while (cur.pos < cur.t.size() && IsSpace(cur.t[cur.pos])) ++cur.pos;
  tok->start = cur.pos;
  if (cur.pos > before && cur.t.substr(cur.pos, 3) == "-}}") {
    cur.pos += 3;
    cur.trim_next = true;
    return Status::Ok();
  }
  if (cur.t.substr(cur.pos, 2) == "}}") {
    cur.pos += 2;
    cur.trim_next = false;
    return Status::Ok();
  }
  if (cur.pos >= cur.t.size()) return ErrorAt(cur.t, cur.pos, "unclosed action");
  const char c = cur.t[cur.pos];
  auto ident_end = [&](size_t from) {
    while (from < cur.t.size() && IsIdentChar(cur.t[from])) ++from;
    return from;
  };
  if (c == '.') {
    if (cur.pos + 1 < cur.t.size() && IsIdentStart(cur.t[cur.pos + 1])) {
      const size_t end = ident_end(cur.pos + 1);
      tok->kind = Tok::kField;
      tok->text = std::string(cur.t.substr(cur.pos + 1, end - cur.pos - 1));
      cur.pos = end;
      if (cur.pos + 1 < cur.t.size() && cur.t[cur.pos] == '.' && IsIdentStart(cur.t[cur.pos + 1])) {
        return ErrorAt(cur.t, cur.pos,
                       "chained fields (.a.b) are not supported: values are strings");
      }
      return Status::Ok();
    }
    tok->kind = Tok::kDot;
    tok->text.assign(1, '.');
    ++cur.pos;
    return Status::Ok();
  }
  if (c == '"' || c == '`') return LexString(cur, tok);
  if (c == '|' || c == '(' || c == ')') {
    tok->kind = c == '|' ? Tok::kPipe : c == '(' ? Tok::kLParen : Tok::kRParen;
    tok->text = std::string(1, c);
    ++cur.pos;
    return Status::Ok();
  }
  const bool sign = (c == '-' || c == '+') && cur.pos + 1 < cur.t.size() &&
                    cur.t[cur.pos + 1] >= '0' && cur.t[cur.pos + 1] <= '9';
  if (sign || (c >= '0' && c <= '9')) {
    size_t end = cur.pos + (sign ? 1 : 0);
    int64_t v = 0;
    for (; end < cur.t.size() && cur.t[end] >= '0' && cur.t[end] <= '9'; ++end) {
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, cur.t[end] - '0', &v)) {
        return ErrorAt(cur.t, cur.pos, "integer literal out of range");
      }
    }
    if (end < cur.t.size() && (cur.t[end] == '.' || IsIdentChar(cur.t[end]))) {
      return ErrorAt(cur.t, cur.pos, "only decimal integer literals are supported");
    }
    tok->kind = Tok::kInt;
    tok->i = c == '-' ? -v : v;
    tok->text = std::string(cur.t.substr(cur.pos, end - cur.pos));
    cur.pos = end;
    return Status::Ok();
  }
  if (IsIdentStart(c)) {
    const size_t end = ident_end(cur.pos);
    tok->kind = Tok::kIdent;
    tok->text = std::string(cur.t.substr(cur.pos, end - cur.pos));
    cur.pos = end;
    return Status::Ok();
  }
  if (c == '$') {
    const size_t end = ident_end(cur.pos + 1);
    tok->kind = Tok::kVar;
    tok->text = std::string(cur.t.substr(cur.pos, end - cur.pos));
    cur.pos = end;
    if (cur.pos + 1 < cur.t.size() && cur.t[cur.pos] == '.' && IsIdentStart(cur.t[cur.pos + 1])) {
      const size_t fend = ident_end(cur.pos + 1);
      tok->field = std::string(cur.t.substr(cur.pos + 1, fend - cur.pos - 1));
      cur.pos = fend;
      if (cur.pos + 1 < cur.t.size() && cur.t[cur.pos] == '.' && IsIdentStart(cur.t[cur.pos + 1])) {
        return ErrorAt(cur.t, cur.pos,
                       "chained fields (.a.b) are not supported: values are strings");
      }
    }
    return Status::Ok();
  }
  if (c == ':' && cur.pos + 1 < cur.t.size() && cur.t[cur.pos + 1] == '=') {
    tok->kind = Tok::kDecl;
    tok->text = ":=";
    cur.pos += 2;
    return Status::Ok();
  }
  if (c == '=' || c == ',') {
    tok->kind = c == '=' ? Tok::kAssign : Tok::kComma;
    tok->text = std::string(1, c);
    ++cur.pos;
    return Status::Ok();
  }
  return ErrorAt(cur.t, cur.pos, fmt::format("unexpected character '{}' in action", c));
}

}  // namespace skidder::lang::go::tmpl
