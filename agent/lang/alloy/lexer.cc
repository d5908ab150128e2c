// The Alloy lexer: one pass over the text, tracking line and column.
#include "lang/alloy/lexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "util/redact.h"
#include "util/unescape.h"

namespace skidder::lang::alloy {
namespace {

constexpr size_t kExcerptMax = 40;  // never echo more of the input than this

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || std::isdigit(static_cast<unsigned char>(c)); }

class Lexer {
 public:
  Lexer(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    bool newline = true;
    while (true) {
      if (Status s = SkipSpace(&newline); !s.ok()) return Err(std::move(s));
      Token t;
      t.pos = pos_;
      t.newline_before = newline;
      newline = false;
      if (i_ >= text_.size()) {
        out.push_back(std::move(t));
        return out;
      }
      if (Status s = Next(&t); !s.ok()) return Err(std::move(s));
      out.push_back(std::move(t));
    }
  }

 private:
  char Peek(size_t ahead = 0) const { return i_ + ahead < text_.size() ? text_[i_ + ahead] : '\0'; }
  void Advance() {
    if (text_[i_] == '\n') {
      ++pos_.line;
      pos_.column = 1;
    } else {
      ++pos_.column;
    }
    ++i_;
  }
  Status Error(Pos at, std::string_view msg) const { return SyntaxError(file_, text_, at, msg); }

  Status SkipSpace(bool* newline) {
    while (i_ < text_.size()) {
      char c = Peek();
      if (c == '\n') {
        *newline = true;
        Advance();
      } else if (c == ' ' || c == '\t' || c == '\r') {
        Advance();
      } else if (c == '#' || (c == '/' && Peek(1) == '/')) {
        while (i_ < text_.size() && Peek() != '\n') Advance();
      } else if (c == '/' && Peek(1) == '*') {
        Pos start = pos_;
        Advance();
        Advance();
        while (i_ < text_.size() && !(Peek() == '*' && Peek(1) == '/')) {
          if (Peek() == '\n') *newline = true;
          Advance();
        }
        if (i_ >= text_.size()) return Error(start, "unterminated /* comment");
        Advance();
        Advance();
      } else {
        break;
      }
    }
    return Status::Ok();
  }

  Status Next(Token* t) {
    char c = Peek();
    if (IsIdentStart(c)) {
      t->kind = Token::Kind::kIdent;
      while (i_ < text_.size() && IsIdentChar(Peek())) {
        t->text += Peek();
        Advance();
      }
      return Status::Ok();
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return Number(t);
    if (c == '"') return Quoted(t);
    if (c == '`') return Raw(t);
    static constexpr std::string_view kTwo[] = {"==", "!=", "<=", ">=", "&&", "||"};
    for (std::string_view op : kTwo) {
      if (c == op[0] && Peek(1) == op[1]) {
        t->kind = Token::Kind::kPunct;
        t->text.append(op);  // empty before; `= op` draws GCC 12's -Wmaybe-uninitialized (SSO)
        Advance();
        Advance();
        return Status::Ok();
      }
    }
    if (std::string_view("{}[]().,=+-*/%^<>!:;").find(c) != std::string_view::npos) {
      t->kind = Token::Kind::kPunct;
      t->text = c;
      Advance();
      return Status::Ok();
    }
    return Error(pos_, fmt::format("unexpected character {:?}", std::string(1, c)));
  }

  Status Number(Token* t) {
    t->kind = Token::Kind::kNumber;
    auto digits = [&] {
      while (std::isdigit(static_cast<unsigned char>(Peek()))) {
        t->text += Peek();
        Advance();
      }
    };
    digits();
    if (Peek() == '.' && std::isdigit(static_cast<unsigned char>(Peek(1)))) {
      t->text += '.';
      Advance();
      digits();
    }
    if (Peek() == 'e' || Peek() == 'E') {
      t->text += 'e';
      Advance();
      if (Peek() == '+' || Peek() == '-') {
        t->text += Peek();
        Advance();
      }
      if (!std::isdigit(static_cast<unsigned char>(Peek()))) {
        return Error(pos_, "malformed number: expected digits in the exponent");
      }
      digits();
    }
    if (IsIdentStart(Peek())) return Error(pos_, "malformed number");
    return Status::Ok();
  }

  Status Raw(Token* t) {
    Pos start = pos_;
    t->kind = Token::Kind::kString;
    Advance();
    while (i_ < text_.size() && Peek() != '`') {
      t->text += Peek();
      Advance();
    }
    if (i_ >= text_.size()) return Error(start, "unterminated raw string");
    Advance();
    return Status::Ok();
  }

  // Reads n hex digits (or octal when base is 8) into *out.
  bool Digits(int n, int base, uint32_t* out) {
    *out = 0;
    for (int k = 0; k < n; ++k) {
      char c = Peek();
      int d = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
              : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                          : 99;
      if (d >= base) return false;
      *out = *out * base + d;
      Advance();
    }
    return true;
  }

  Status Escape(std::string* out) {
    Pos at = pos_;
    Advance();  // the backslash
    char c = Peek();
    static constexpr std::string_view kFrom = "abfnrtv\\\"'", kTo = "\a\b\f\n\r\t\v\\\"'";
    if (size_t k = kFrom.find(c); c != '\0' && k != std::string_view::npos) {
      *out += kTo[k];
      Advance();
      return Status::Ok();
    }
    uint32_t cp = 0;
    bool ok = false;
    if (c == 'x') {
      Advance();
      ok = Digits(2, 16, &cp);
      if (ok) *out += static_cast<char>(cp);
      return ok ? Status::Ok() : Error(at, "malformed \\x escape: expected 2 hex digits");
    }
    if (c == 'u' || c == 'U') {
      Advance();
      ok = Digits(c == 'u' ? 4 : 8, 16, &cp) && cp <= 0x10FFFF && !(cp >= 0xD800 && cp < 0xE000);
    } else if (c >= '0' && c <= '7') {
      ok = Digits(3, 8, &cp) && cp <= 0xFF;
      if (ok) *out += static_cast<char>(cp);
      return ok ? Status::Ok() : Error(at, "malformed octal escape: expected 3 digits");
    } else {
      return Error(at, "unknown escape sequence in string");
    }
    if (!ok) return Error(at, "malformed unicode escape");
    AppendUtf8(out, cp);
    return Status::Ok();
  }

  Status Quoted(Token* t) {
    Pos start = pos_;
    t->kind = Token::Kind::kString;
    Advance();
    while (i_ < text_.size() && Peek() != '"') {
      if (Peek() == '\n') return Error(start, "unterminated string: a newline in \"...\"");
      if (Peek() == '\\') {
        if (Status s = Escape(&t->text); !s.ok()) return s;
        continue;
      }
      t->text += Peek();
      Advance();
    }
    if (i_ >= text_.size()) return Error(start, "unterminated string");
    Advance();
    return Status::Ok();
  }

  std::string_view text_;
  const std::string& file_;
  size_t i_ = 0;
  Pos pos_;
};

}  // namespace

bool IsIdentifier(std::string_view s) {
  return !s.empty() && IsIdentStart(s[0]) && std::ranges::all_of(s, IsIdentChar);
}

Status SyntaxError(const std::string& file, std::string_view text, Pos pos, std::string_view msg) {
  // The excerpt: the offending line from the column on, cut short; never the whole input.
  std::string excerpt;
  size_t start = 0;
  for (int line = 1; line < pos.line && start < text.size(); ++line) {
    size_t nl = text.find('\n', start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
  }
  if (start < text.size()) {
    size_t col = std::min(text.size(), start + static_cast<size_t>(pos.column - 1));
    size_t end = text.find('\n', col);
    std::string_view rest = text.substr(col, end == std::string_view::npos ? end : end - col);
    while (!rest.empty() && (rest.back() == '\r' || rest.back() == ' ')) rest.remove_suffix(1);
    if (!rest.empty()) {
      bool cut = rest.size() > kExcerptMax;
      std::string shown(rest.substr(0, kExcerptMax));
      // A line naming a credential (password = "...") is shown without its strings.
      if (IsSensitiveName(shown)) shown = MaskQuoted(shown, "<secret>");
      excerpt = fmt::format(" (at {:?}{})", shown, cut ? "..." : "");
    }
  }
  return InvalidArgument(fmt::format("{}:{}:{}: {}{}", file, pos.line, pos.column, msg, excerpt));
}

std::string Short(std::string_view s) {
  if (s.size() <= kExcerptMax) return std::string(s);
  return std::string(s.substr(0, kExcerptMax)) + "...";
}

Result<std::vector<Token>> Lex(std::string_view text, const std::string& file) {
  return Lexer(text, file).Run();
}

}  // namespace skidder::lang::alloy
