// The template lexer behind the parser (template_parser.cc): the tokens of an action, read from
// a cursor over the template text, and error positions as Go reports them. Internal to
// template_*.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "util/status.h"

namespace skidder::lang::go::tmpl {

inline bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
inline bool IsIdentStart(char c) {
  return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
inline bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

struct Tok {
  enum Kind {
    kEnd,
    kField,
    kDot,
    kIdent,
    kString,
    kInt,
    kPipe,
    kLParen,
    kRParen,
    kVar,
    kDecl,
    kAssign,
    kComma
  };
  Kind kind = kEnd;
  std::string text;
  std::string field;  // kVar: the field after it ($x.name), if any
  int64_t i = 0;
  size_t start = 0;  // offset in the template, for error positions
};

// Where lexing is in the template text.
struct Cursor {
  std::string_view t;
  size_t pos = 0;
  bool trim_next = false;  // the last action ended with " -}}"
};

// "template: <line>:<col>: <msg>" for the offset pos of t.
Status ErrorAt(std::string_view t, size_t pos, std::string_view msg);

// The next token of an action at cur.pos (kEnd at "}}" or " -}}", setting cur.trim_next).
Status LexToken(Cursor& cur, Tok* tok);

}  // namespace skidder::lang::go::tmpl
