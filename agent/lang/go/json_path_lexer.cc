#include "lang/go/json_path_lexer.h"

#include <utility>

#include "util/unescape.h"

namespace skidder::lang::go::jmes {
namespace {

using Op = JsonPath::Node::Op;

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdent(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

}  // namespace

int Bp(Tok t) {
  switch (t) {
    case Tok::kPipe:
      return 1;
    case Tok::kOr:
      return 2;
    case Tok::kAnd:
      return 3;
    case Tok::kCompare:
      return 5;
    case Tok::kFlatten:
      return 9;
    case Tok::kStar:
      return 20;
    case Tok::kFilter:
      return 21;
    case Tok::kDot:
      return 40;
    case Tok::kNot:
      return 45;
    case Tok::kLBrace:
      return 50;
    case Tok::kLBracket:
      return 55;
    case Tok::kLParen:
      return 60;
    default:
      return 0;
  }
}

Token Lexer::Next() {
  Token tok_;
  while (pos_ < s_.size() &&
         (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
    ++pos_;
  }
  tok_.pos = pos_;
  if (pos_ >= s_.size()) return tok_;
  const char c = s_[pos_];
  if (IsIdentStart(c)) {
    tok_.type = Tok::kName;
    while (pos_ < s_.size() && IsIdent(s_[pos_])) tok_.text.push_back(s_[pos_++]);
  } else if (c == '"') {
    tok_.type = Tok::kQuoted;
    bool escaped = false;
    const size_t end = FindClosingQuote(s_, pos_ + 1, &escaped);
    if (end == std::string_view::npos) {
      pos_ = s_.size();
      return Error(tok_, "unterminated quoted identifier");
    }
    const std::string_view body = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    if (!UnescapeJsonString(body, &tok_.text)) return Error(tok_, "bad quoted identifier");
  } else if (c == '\'' || c == '`') {
    tok_.type = Tok::kLiteral;
    tok_.raw = c == '\'';  // a raw string: only \' is an escape
    ++pos_;
    if (!LexDelimited(c, &tok_.text)) {
      return Error(tok_, c == '`' ? "unterminated literal" : "unterminated raw string");
    }
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    tok_.type = Tok::kNumber;
    tok_.text.push_back(s_[pos_++]);
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') tok_.text.push_back(s_[pos_++]);
    if (tok_.text == "-") return Error(tok_, "expected digits after -");
  } else {
    LexOperator(c, &tok_);
  }
  return tok_;
}

// The body of '...' or `...` up to the unescaped close; \close stands for close.
bool Lexer::LexDelimited(char close, std::string* out) {
  while (pos_ < s_.size() && s_[pos_] != close) {
    if (s_[pos_] == '\\' && pos_ + 1 < s_.size() && s_[pos_ + 1] == close) ++pos_;
    out->push_back(s_[pos_++]);
  }
  if (pos_ >= s_.size()) return false;
  ++pos_;
  return true;
}

void Lexer::LexOperator(char c, Token* t) {
  static constexpr struct {
    std::string_view text;
    Tok type;
    Op op;
  } kOps[] = {
      {"[]", Tok::kFlatten, Op::kEq}, {"[?", Tok::kFilter, Op::kEq},
      {"||", Tok::kOr, Op::kEq},      {"&&", Tok::kAnd, Op::kEq},
      {"==", Tok::kCompare, Op::kEq}, {"!=", Tok::kCompare, Op::kNe},
      {"<=", Tok::kCompare, Op::kLe}, {">=", Tok::kCompare, Op::kGe},
      {"<", Tok::kCompare, Op::kLt},  {">", Tok::kCompare, Op::kGt},
      {"!", Tok::kNot, Op::kEq},      {"|", Tok::kPipe, Op::kEq},
      {"&", Tok::kExpref, Op::kEq},   {".", Tok::kDot, Op::kEq},
      {"*", Tok::kStar, Op::kEq},     {"[", Tok::kLBracket, Op::kEq},
      {"]", Tok::kRBracket, Op::kEq}, {",", Tok::kComma, Op::kEq},
      {":", Tok::kColon, Op::kEq},    {"{", Tok::kLBrace, Op::kEq},
      {"}", Tok::kRBrace, Op::kEq},   {"(", Tok::kLParen, Op::kEq},
      {")", Tok::kRParen, Op::kEq},   {"@", Tok::kAt, Op::kEq},
  };
  for (const auto& o : kOps) {
    if (s_.substr(pos_, o.text.size()) == o.text) {
      t->type = o.type;
      t->op = o.op;
      t->text = std::string(o.text);
      pos_ += o.text.size();
      return;
    }
  }
  t->type = Tok::kOther;
  t->text = std::string(1, c);
  ++pos_;
}

}  // namespace skidder::lang::go::jmes
