#include <fmt/format.h>

#include <utility>
#include <vector>

#include "lang/go/template_internal.h"

// The template parser: Go text/template's lexer and grammar for the subset template_engine.h
// describes. Runs once per template, at config time.
namespace skidder::lang::go::tmpl {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsIdentStart(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

struct Tok {
  enum Kind { kEnd, kField, kDot, kIdent, kString, kInt, kPipe, kLParen, kRParen };
  Kind kind = kEnd;
  std::string text;
  int64_t i = 0;
  size_t start = 0;  // offset in the template, for error positions
};

// Parsing parentheses, running the tree and freeing it all recurse per level: nesting is
// bounded so that no template can exhaust the stack.
constexpr size_t kMaxNesting = 100;

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  Status Run(NodeList* root) {
    std::vector<Node*> open;  // enclosing {{if}}s; their bodies are where nodes go
    auto target = [&]() -> NodeList& {
      if (open.empty()) return *root;
      Node* n = open.back();
      return n->in_else ? n->else_body : n->branches.back().second;
    };
    bool trim_left = false;
    while (pos_ < t_.size()) {
      const size_t start = t_.find("{{", pos_);
      std::string_view text =
          t_.substr(pos_, start == std::string_view::npos ? t_.npos : start - pos_);
      if (trim_left) text = TrimLeft(text);
      trim_left = false;
      if (start == std::string_view::npos) {
        AddText(target(), text);
        break;
      }
      pos_ = start + 2;
      if (pos_ + 1 < t_.size() && t_[pos_] == '-' && IsSpace(t_[pos_ + 1])) {
        text = TrimRight(text);
        pos_ += 2;
        while (pos_ < t_.size() && IsSpace(t_[pos_])) ++pos_;
      }
      AddText(target(), text);
      if (t_.substr(pos_, 2) == "/*") {
        if (Status s = SkipComment(&trim_left); !s.ok()) return s;
        continue;
      }
      if (Status s = Action(target(), open); !s.ok()) return s;
      trim_left = trim_next_;
    }
    if (!open.empty()) return Error("unexpected EOF: missing {{end}}");
    return Status::Ok();
  }

 private:
  static std::string_view TrimLeft(std::string_view s) {
    while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
    return s;
  }
  static std::string_view TrimRight(std::string_view s) {
    while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
    return s;
  }
  static void AddText(NodeList& list, std::string_view text) {
    if (text.empty()) return;
    Node n;
    n.text = std::string(text);
    list.push_back(std::move(n));
  }

  Status Error(std::string_view msg) const { return ErrorAt(pos_, msg); }
  Status ErrorAt(size_t pos, std::string_view msg) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos && i < t_.size(); ++i) {
      if (t_[i] == '\n')
        ++line, col = 1;
      else
        ++col;
    }
    return InvalidArgument(fmt::format("template: {}:{}: {}", line, col, msg));
  }

  Status SkipComment(bool* trim_left) {
    const size_t end = t_.find("*/", pos_ + 2);
    if (end == std::string_view::npos) return Error("unclosed comment");
    pos_ = end + 2;
    if (pos_ + 3 < t_.size() + 0 && IsSpace(t_[pos_]) && t_.substr(pos_ + 1, 3) == "-}}") {
      pos_ += 4;
      *trim_left = true;
    } else if (t_.substr(pos_, 2) == "}}") {
      pos_ += 2;
    } else {
      return Error("comment ends before closing delimiter");
    }
    return Status::Ok();
  }

  // One {{ ... }}: a keyword or a pipeline to print.
  Status Action(NodeList& target, std::vector<Node*>& open) {
    Tok tok;
    if (Status s = Peek(&tok); !s.ok()) return s;
    if (tok.kind == Tok::kIdent) {
      const std::string& w = tok.text;
      if (w == "if") {
        static_cast<void>(Next(&tok));  // the token Peek() already checked
        Node n;
        n.kind = Node::kIf;
        n.branches.emplace_back();
        if (Status s = ParsePipe(&n.branches.back().first); !s.ok()) return s;
        if (Status s = ExpectEnd(); !s.ok()) return s;
        if (open.size() >= kMaxNesting) {
          return Error(fmt::format("{{{{if}}}} nested more than {} deep", kMaxNesting));
        }
        target.push_back(std::move(n));
        open.push_back(&target.back());
        return Status::Ok();
      }
      if (w == "else") {
        static_cast<void>(Next(&tok));  // the token Peek() already checked
        if (open.empty() || open.back()->in_else) return Error("unexpected {{else}}");
        Node* n = open.back();
        if (Status s = Peek(&tok); !s.ok()) return s;
        if (tok.kind == Tok::kIdent && tok.text == "if") {
          static_cast<void>(Next(&tok));  // the token Peek() already checked
          n->branches.emplace_back();
          if (Status s = ParsePipe(&n->branches.back().first); !s.ok()) return s;
        } else {
          n->in_else = true;
        }
        return ExpectEnd();
      }
      if (w == "end") {
        static_cast<void>(Next(&tok));  // the token Peek() already checked
        if (open.empty()) return Error("unexpected {{end}}");
        open.pop_back();
        return ExpectEnd();
      }
      for (std::string_view kw :
           {"range", "with", "define", "template", "block", "break", "continue"}) {
        if (w == kw) return Error(fmt::format("{{{{{}}}}} is not supported", kw));
      }
    }
    Node n;
    n.kind = Node::kAction;
    if (Status s = ParsePipe(&n.pipe); !s.ok()) return s;
    if (Status s = ExpectEnd(); !s.ok()) return s;
    target.push_back(std::move(n));
    return Status::Ok();
  }

  Status ExpectEnd() {
    Tok tok;
    if (Status s = Next(&tok); !s.ok()) return s;
    if (tok.kind != Tok::kEnd) return Error(fmt::format("unexpected \"{}\" in action", tok.text));
    return Status::Ok();
  }

  Status ParsePipe(Pipe* p) {
    for (;;) {
      Command cmd;
      if (Status s = ParseCommand(&cmd); !s.ok()) return s;
      p->cmds.push_back(std::move(cmd));
      Tok tok;
      if (Status s = Peek(&tok); !s.ok()) return s;
      if (tok.kind != Tok::kPipe) return Status::Ok();
      static_cast<void>(Next(&tok));  // the token Peek() already checked
    }
  }

  Status ParseCommand(Command* cmd) {
    for (;;) {
      Tok tok;
      if (Status s = Peek(&tok); !s.ok()) return s;
      if (tok.kind == Tok::kPipe || tok.kind == Tok::kRParen || tok.kind == Tok::kEnd) break;
      Arg a;
      if (Status s = ParseOperand(&a); !s.ok()) return s;
      cmd->args.push_back(std::move(a));
    }
    if (cmd->args.empty()) return Error("missing value for command");
    const Arg& first = cmd->args[0];
    if (first.kind != Arg::kFunc) {
      if (cmd->args.size() > 1) return Error("can't give argument to non-function");
      return Status::Ok();
    }
    const int given = static_cast<int>(cmd->args.size()) - 1;
    if ((first.fn->max_args >= 0 && given > first.fn->max_args) ||
        cmd->args.size() > kMaxArgs - 1) {
      return Error(fmt::format("wrong number of args for {}: want at most {} got {}",
                               first.fn->name, first.fn->max_args, given));
    }
    if (first.fn->regex_first && given >= 1 && cmd->args[1].kind == Arg::kString) {
      RE2::Options opts;
      opts.set_log_errors(false);
      cmd->re = std::make_unique<RE2>(cmd->args[1].text, opts);
      if (!cmd->re->ok()) {
        return Error(
            fmt::format("{}: invalid regular expression: {}", first.fn->name, cmd->re->error()));
      }
    }
    return Status::Ok();
  }

  Status ParseOperand(Arg* a) {
    Tok tok;
    if (Status s = Next(&tok); !s.ok()) return s;
    switch (tok.kind) {
      case Tok::kField:
        a->kind = Arg::kField, a->text = std::move(tok.text);
        return Status::Ok();
      case Tok::kDot:
        a->kind = Arg::kDot;
        return Status::Ok();
      case Tok::kString:
        a->kind = Arg::kString, a->text = std::move(tok.text);
        return Status::Ok();
      case Tok::kInt:
        a->kind = Arg::kInt, a->i = tok.i;
        return Status::Ok();
      case Tok::kLParen: {
        if (parens_ >= kMaxNesting) {
          return ErrorAt(tok.start,
                         fmt::format("parentheses nested more than {} deep", kMaxNesting));
        }
        a->kind = Arg::kPipe;
        a->pipe = std::make_unique<Pipe>();
        ++parens_;
        Status nested = ParsePipe(a->pipe.get());
        --parens_;
        if (!nested.ok()) return nested;
        if (Status s = Next(&tok); !s.ok()) return s;
        if (tok.kind != Tok::kRParen) return Error("unclosed left paren");
        return Status::Ok();
      }
      case Tok::kIdent:
        if (tok.text == "true" || tok.text == "false") {
          a->kind = Arg::kBool, a->b = tok.text == "true";
        } else if (tok.text == "nil") {
          a->kind = Arg::kNil;
        } else if ((a->fn = tmpl::FindFunc(tok.text)) != nullptr) {
          a->kind = Arg::kFunc;
        } else {
          return ErrorAt(tok.start, fmt::format("function \"{}\" not defined", tok.text));
        }
        return Status::Ok();
      default:
        return ErrorAt(tok.start, fmt::format("unexpected \"{}\" in operand", tok.text));
    }
  }

  Status Peek(Tok* tok) {
    const size_t saved = pos_;
    const bool trim = trim_next_;
    Status s = Next(tok);
    pos_ = saved;
    trim_next_ = trim;
    return s;
  }

  Status Next(Tok* tok);
  Status LexString(Tok* tok);

  std::string_view t_;
  size_t pos_ = 0;
  bool trim_next_ = false;  // the last action ended with " -}}"
  size_t parens_ = 0;       // ( ... ) operands being parsed
};

Status Parser::Next(Tok* tok) {
  *tok = Tok{};
  const size_t before = pos_;
  while (pos_ < t_.size() && IsSpace(t_[pos_])) ++pos_;
  tok->start = pos_;
  if (pos_ > before && t_.substr(pos_, 3) == "-}}") {
    pos_ += 3;
    trim_next_ = true;
    return Status::Ok();
  }
  if (t_.substr(pos_, 2) == "}}") {
    pos_ += 2;
    trim_next_ = false;
    return Status::Ok();
  }
  if (pos_ >= t_.size()) return Error("unclosed action");
  const char c = t_[pos_];
  auto ident_end = [&](size_t from) {
    while (from < t_.size() && IsIdentChar(t_[from])) ++from;
    return from;
  };
  if (c == '.') {
    if (pos_ + 1 < t_.size() && IsIdentStart(t_[pos_ + 1])) {
      const size_t end = ident_end(pos_ + 1);
      tok->kind = Tok::kField;
      tok->text = std::string(t_.substr(pos_ + 1, end - pos_ - 1));
      pos_ = end;
      if (pos_ + 1 < t_.size() && t_[pos_] == '.' && IsIdentStart(t_[pos_ + 1])) {
        return Error("chained fields (.a.b) are not supported: values are strings");
      }
      return Status::Ok();
    }
    tok->kind = Tok::kDot;
    tok->text.assign(1, '.');
    ++pos_;
    return Status::Ok();
  }
  if (c == '"' || c == '`') return LexString(tok);
  if (c == '|' || c == '(' || c == ')') {
    tok->kind = c == '|' ? Tok::kPipe : c == '(' ? Tok::kLParen : Tok::kRParen;
    tok->text = std::string(1, c);
    ++pos_;
    return Status::Ok();
  }
  const bool sign =
      (c == '-' || c == '+') && pos_ + 1 < t_.size() && t_[pos_ + 1] >= '0' && t_[pos_ + 1] <= '9';
  if (sign || (c >= '0' && c <= '9')) {
    size_t end = pos_ + (sign ? 1 : 0);
    int64_t v = 0;
    for (; end < t_.size() && t_[end] >= '0' && t_[end] <= '9'; ++end) {
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, t_[end] - '0', &v)) {
        return Error("integer literal out of range");
      }
    }
    if (end < t_.size() && (t_[end] == '.' || IsIdentChar(t_[end]))) {
      return Error("only decimal integer literals are supported");
    }
    tok->kind = Tok::kInt;
    tok->i = c == '-' ? -v : v;
    tok->text = std::string(t_.substr(pos_, end - pos_));
    pos_ = end;
    return Status::Ok();
  }
  if (IsIdentStart(c)) {
    const size_t end = ident_end(pos_);
    tok->kind = Tok::kIdent;
    tok->text = std::string(t_.substr(pos_, end - pos_));
    pos_ = end;
    return Status::Ok();
  }
  if (c == '$') return Error("variables are not supported");
  return Error(fmt::format("unexpected character '{}' in action", c));
}

// "..." with Go's escapes, or `raw`.
Status Parser::LexString(Tok* tok) {
  const char quote = t_[pos_++];
  tok->kind = Tok::kString;
  std::string& s = tok->text;
  while (pos_ < t_.size() && t_[pos_] != quote) {
    char c = t_[pos_++];
    if (quote == '`' || c != '\\') {
      if (quote == '"' && c == '\n') return Error("unterminated quoted string");
      s.push_back(c);
      continue;
    }
    if (pos_ >= t_.size()) break;
    c = t_[pos_++];
    static constexpr std::string_view kFrom = "abfnrtv\\'\"", kTo = "\a\b\f\n\r\t\v\\'\"";
    if (size_t k = kFrom.find(c); k != std::string_view::npos) {
      s.push_back(kTo[k]);
      continue;
    }
    const int digits = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
    if (digits == 0) return Error(fmt::format("unknown escape sequence \\{}", c));
    uint32_t cp = 0;
    for (int d = 0; d < digits; ++d, ++pos_) {
      const char h = pos_ < t_.size() ? t_[pos_] : '\0';
      const int v = h >= '0' && h <= '9'                     ? h - '0'
                    : (h | 0x20) >= 'a' && (h | 0x20) <= 'f' ? (h | 0x20) - 'a' + 10
                                                             : -1;
      if (v < 0) return Error("invalid escape in string literal");
      cp = cp * 16 + static_cast<uint32_t>(v);
    }
    if (c == 'x') {
      s.push_back(static_cast<char>(cp));
      continue;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp < 0xE000)) return Error("invalid Unicode escape");
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
  if (pos_ >= t_.size()) return Error("unterminated quoted string");
  ++pos_;  // closing quote
  return Status::Ok();
}

}  // namespace

Status ParseTree(std::string_view text, NodeList* out) { return Parser(text).Run(out); }

}  // namespace skidder::lang::go::tmpl
