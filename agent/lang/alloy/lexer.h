// Tokens of the Alloy syntax. Pure: no I/O; errors carry the position and a short excerpt.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lang/alloy/ast.h"
#include "util/status.h"

namespace skidder::lang::alloy {

struct Token {
  enum class Kind { kIdent, kNumber, kString, kPunct, kEof };
  Kind kind = Kind::kEof;
  std::string text;  // identifier, punctuation, number text, or a string's decoded value
  Pos pos;
  bool newline_before = false;  // a line break (or the start) separates it from the previous one
};

// Splits text into tokens, skipping whitespace and comments (//, /* */ and #). Strings are
// decoded: "..." with Go's escapes, `...` raw. file names the input in errors.
Result<std::vector<Token>> Lex(std::string_view text, const std::string& file);

// Whether s is an identifier (letters, digits and _, not starting with a digit), as block
// labels of custom components and their arguments must be.
bool IsIdentifier(std::string_view s);

// s cut to a few dozen bytes ("..." appended) for messages: input is never echoed at length.
std::string Short(std::string_view s);

// "file:line:col: message" with a short excerpt of the line when there is one.
Status SyntaxError(const std::string& file, std::string_view text, Pos pos, std::string_view msg);

}  // namespace skidder::lang::alloy
