#include <fmt/format.h>

#include <string>
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

// An {{if}}, {{with}} or {{range}} being parsed, and the variable scopes it opened.
struct Open {
  Node* node;
  size_t block_mark;  // variables declared before the node
  size_t body_mark;   // ... and by its clauses' pipelines, visible in the bodies that follow
};

// Parsing parentheses, running the tree and freeing it all recurse per level: nesting is
// bounded so that no template can exhaust the stack.
constexpr size_t kMaxNesting = 100;
// Variables in scope at once (each costs a slot at run time).
constexpr size_t kMaxVariables = 1000;

class Parser {
 public:
  explicit Parser(std::string_view t) : t_(t) {}

  Status Run(NodeList* root) {
    std::vector<Open> open;  // enclosing {{if}}s, {{with}}s, {{range}}s: where nodes go
    auto target = [&]() -> NodeList& {
      if (open.empty()) return *root;
      Node* n = open.back().node;
      return n->in_else ? n->else_body : n->branches.back().body;
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

  // One {{ ... }}: a keyword, or a pipeline to print or assign.
  Status Action(NodeList& target, std::vector<Open>& open) {
    Tok tok;
    if (Status s = Peek(&tok); !s.ok()) return s;
    if (tok.kind == Tok::kIdent) {
      const std::string& w = tok.text;
      if (w == "if" || w == "with" || w == "range") {
        static_cast<void>(Next(&tok));  // the token Peek() already checked
        return OpenControl(target, open, w);
      }
      if (w == "else") {
        static_cast<void>(Next(&tok));  // the token Peek() already checked
        return Else(open);
      }
      if (w == "end") {
        static_cast<void>(Next(&tok));  // the token Peek() already checked
        if (open.empty()) return Error("unexpected {{end}}");
        vars_.resize(open.back().block_mark);
        open.pop_back();
        return ExpectEnd();
      }
      if (w == "break" || w == "continue") {
        static_cast<void>(Next(&tok));  // the token Peek() already checked
        if (!InRange(open)) return Error(fmt::format("{{{{{}}}}} outside {{{{range}}}}", w));
        Node n;
        n.kind = w == "break" ? Node::kBreak : Node::kContinue;
        target.push_back(std::move(n));
        return ExpectEnd();
      }
      for (std::string_view kw : {"define", "template", "block"}) {
        if (w == kw) return Error(fmt::format("{{{{{}}}}} is not supported", kw));
      }
    }
    Node n;
    n.kind = Node::kAction;
    if (Status s = ParsePipe(&n.pipe, /*decl_vars=*/1); !s.ok()) return s;
    if (Status s = ExpectEnd(); !s.ok()) return s;
    target.push_back(std::move(n));
    return Status::Ok();
  }

  static bool InRange(const std::vector<Open>& open) {
    for (const Open& o : open) {
      if (o.node->branches.front().kind == Branch::kRange && !o.node->in_else &&
          o.node->branches.size() == 1) {
        return true;
      }
    }
    return false;
  }

  static Branch::Kind KindOf(std::string_view w) {
    return w == "if" ? Branch::kIf : w == "with" ? Branch::kWith : Branch::kRange;
  }

  // {{if p}}, {{with p}} or {{range p}}: a node whose first clause is this one.
  Status OpenControl(NodeList& target, std::vector<Open>& open, std::string_view w) {
    Node n;
    n.kind = Node::kControl;
    n.branches.emplace_back();
    n.branches.back().kind = KindOf(w);
    const size_t mark = vars_.size();
    const int decl_vars = w == "range" ? 2 : 1;
    if (Status s = ParsePipe(&n.branches.back().pipe, decl_vars); !s.ok()) return s;
    if (n.branches.back().pipe.assign && w == "range") {
      return Error("range can only initialize variables");  // Go's message
    }
    if (Status s = ExpectEnd(); !s.ok()) return s;
    if (open.size() >= kMaxNesting) {
      return Error(fmt::format("{{{{{}}}}} nested more than {} deep", w, kMaxNesting));
    }
    target.push_back(std::move(n));
    open.push_back(Open{&target.back(), mark, vars_.size()});
    return Status::Ok();
  }

  // {{else}}, {{else if p}}, {{else with p}}. A range's variables end at its {{else}}; an
  // if's or with's pipeline variables stay visible to the clauses after it, as in Go.
  Status Else(std::vector<Open>& open) {
    if (open.empty() || open.back().node->in_else) return Error("unexpected {{else}}");
    Open& o = open.back();
    Node* n = o.node;
    const bool after_range = n->branches.size() == 1 && n->branches[0].kind == Branch::kRange;
    vars_.resize(after_range ? o.block_mark : o.body_mark);
    Tok tok;
    if (Status s = Peek(&tok); !s.ok()) return s;
    if (tok.kind == Tok::kIdent && (tok.text == "if" || tok.text == "with")) {
      static_cast<void>(Next(&tok));  // the token Peek() already checked
      n->branches.emplace_back();
      n->branches.back().kind = KindOf(tok.text);
      if (Status s = ParsePipe(&n->branches.back().pipe, 1); !s.ok()) return s;
      o.body_mark = vars_.size();
    } else {
      n->in_else = true;
    }
    return ExpectEnd();
  }

  Status ExpectEnd() {
    Tok tok;
    if (Status s = Next(&tok); !s.ok()) return s;
    if (tok.kind != Tok::kEnd) return Error(fmt::format("unexpected \"{}\" in action", tok.text));
    return Status::Ok();
  }

  // A pipeline, with a leading declaration (`$x :=`, `$x =`, range's `$i, $v :=`) when
  // decl_vars allows one.
  Status ParsePipe(Pipe* p, int decl_vars = 0) {
    std::vector<Tok> declared;
    if (decl_vars > 0) {
      if (Status s = ParseDecl(p, decl_vars, &declared); !s.ok()) return s;
    }
    for (;;) {
      Command cmd;
      if (Status s = ParseCommand(&cmd); !s.ok()) return s;
      p->cmds.push_back(std::move(cmd));
      Tok tok;
      if (Status s = Peek(&tok); !s.ok()) return s;
      if (tok.kind != Tok::kPipe) break;
      static_cast<void>(Next(&tok));  // the token Peek() already checked
    }
    // Declared once the pipeline is parsed: `$x := $x` reads an outer $x (Go declares first;
    // they differ only in that corner).
    for (const Tok& name : declared) {
      if (vars_.size() >= kMaxVariables) {
        return ErrorAt(name.start, fmt::format("more than {} variables", kMaxVariables));
      }
      p->decl.push_back(static_cast<int>(vars_.size()));
      vars_.push_back(name.text);
    }
    return Status::Ok();
  }

  Status ParseDecl(Pipe* p, int decl_vars, std::vector<Tok>* declared) {
    const size_t saved = pos_;
    const bool saved_trim = trim_next_;
    std::vector<Tok> names;
    Tok tok;
    for (;;) {
      if (Status s = Next(&tok); !s.ok() || tok.kind != Tok::kVar || !tok.field.empty()) break;
      names.push_back(tok);
      if (Status s = Next(&tok); !s.ok()) break;
      if (tok.kind == Tok::kComma) {
        if (static_cast<int>(names.size()) < decl_vars) continue;
        return Error("too many declarations");
      }
      if (tok.kind != Tok::kDecl && tok.kind != Tok::kAssign) break;
      if (tok.kind == Tok::kAssign && names.size() > 1) break;
      p->assign = tok.kind == Tok::kAssign;
      for (const Tok& name : names) {
        if (name.text == "$") return ErrorAt(name.start, "cannot declare or assign $");
        if (p->assign) {
          const int slot = Lookup(name.text);
          if (slot < 0) {
            return ErrorAt(name.start, fmt::format("undefined variable \"{}\"", name.text));
          }
          p->decl.push_back(slot);
        }
      }
      if (!p->assign) *declared = std::move(names);
      return Status::Ok();
    }
    pos_ = saved;  // not a declaration: a plain pipeline
    trim_next_ = saved_trim;
    return Status::Ok();
  }

  // The slot of the innermost variable named name, or -1.
  int Lookup(std::string_view name) const {
    for (size_t k = vars_.size(); k-- > 0;) {
      if (vars_[k] == name) return static_cast<int>(k);
    }
    return -1;
  }

  Status ParseCommand(Command* cmd) {
    for (;;) {
      Tok tok;
      if (Status s = Peek(&tok); !s.ok()) return s;
      if (tok.kind == Tok::kPipe || tok.kind == Tok::kRParen || tok.kind == Tok::kEnd) break;
      if (tok.kind == Tok::kDecl || tok.kind == Tok::kAssign || tok.kind == Tok::kComma) {
        return ErrorAt(tok.start, fmt::format("unexpected \"{}\" in operand", tok.text));
      }
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
      case Tok::kVar: {
        const int slot = Lookup(tok.text);
        if (slot < 0) {
          return ErrorAt(tok.start, fmt::format("undefined variable \"{}\"", tok.text));
        }
        a->kind = Arg::kVar, a->i = slot, a->text = std::move(tok.field);
        return Status::Ok();
      }
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
  bool trim_next_ = false;              // the last action ended with " -}}"
  size_t parens_ = 0;                   // ( ... ) operands being parsed
  std::vector<std::string> vars_{"$"};  // variables in scope; the index is the slot
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
  if (c == '$') {
    const size_t end = ident_end(pos_ + 1);
    tok->kind = Tok::kVar;
    tok->text = std::string(t_.substr(pos_, end - pos_));
    pos_ = end;
    if (pos_ + 1 < t_.size() && t_[pos_] == '.' && IsIdentStart(t_[pos_ + 1])) {
      const size_t fend = ident_end(pos_ + 1);
      tok->field = std::string(t_.substr(pos_ + 1, fend - pos_ - 1));
      pos_ = fend;
      if (pos_ + 1 < t_.size() && t_[pos_] == '.' && IsIdentStart(t_[pos_ + 1])) {
        return Error("chained fields (.a.b) are not supported: values are strings");
      }
    }
    return Status::Ok();
  }
  if (c == ':' && pos_ + 1 < t_.size() && t_[pos_ + 1] == '=') {
    tok->kind = Tok::kDecl;
    tok->text = ":=";
    pos_ += 2;
    return Status::Ok();
  }
  if (c == '=' || c == ',') {
    tok->kind = c == '=' ? Tok::kAssign : Tok::kComma;
    tok->text = std::string(1, c);
    ++pos_;
    return Status::Ok();
  }
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
