// The JMESPath lexer behind CompileJsonPath (json_path.cc): tokens with their offsets, and the
// binding powers the Pratt parser uses. Internal to json_path*.cc.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "lang/go/json_path.h"

namespace skidder::lang::go::jmes {

enum class Tok {
  kEof,
  kName,
  kQuoted,
  kNumber,
  kLiteral,
  kDot,
  kStar,
  kLBracket,
  kRBracket,
  kFlatten,
  kFilter,
  kComma,
  kColon,
  kLBrace,
  kRBrace,
  kLParen,
  kRParen,
  kPipe,
  kOr,
  kAnd,
  kNot,
  kAt,
  kExpref,
  kCompare,
  kOther,
  kError,  // a lexical error: text is the message
};

struct Token {
  Tok type = Tok::kEof;
  size_t pos = 0;
  std::string text;  // a name's value, a number's digits, a literal's JSON, or what was found
  JsonPath::Node::Op op = JsonPath::Node::Op::kEq;
  bool raw = false;  // a 'raw string' literal: text is the string itself
};

// The binding power of a token (jmespath.py's): projections stop at tokens below 10.
int Bp(Tok t);

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  // The next token; a lexical error is a kError token whose text says what is wrong.
  Token Next();
  size_t pos() const { return pos_; }
  void Seek(size_t pos) { pos_ = pos; }  // back to a pos() seen before (one token of lookahead)

 private:
  static Token Error(Token t, std::string_view what) {
    t.type = Tok::kError;
    t.text = std::string(what);
    return t;
  }
  bool LexDelimited(char close, std::string* out);
  void LexOperator(char c, Token* t);

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace skidder::lang::go::jmes
