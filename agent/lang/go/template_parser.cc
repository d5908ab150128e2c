#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

#include "lang/go/go_regexp.h"
#include "lang/go/template_internal.h"
#include "lang/go/template_lexer.h"

// The template parser: Go text/template's lexer and grammar for the subset template_engine.h
// describes. Runs once per template, at config time.
namespace skidder::lang::go::tmpl {
namespace {

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
  explicit Parser(std::string_view t) : c_{t} {}

  Status Run(NodeList* root) {
    std::vector<Open> open;  // enclosing {{if}}s, {{with}}s, {{range}}s: where nodes go
    auto target = [&]() -> NodeList& {
      if (open.empty()) return *root;
      Node* n = open.back().node;
      return n->in_else ? n->else_body : n->branches.back().body;
    };
    bool trim_left = false;
    while (c_.pos < c_.t.size()) {
      const size_t start = c_.t.find("{{", c_.pos);
      std::string_view text =
          c_.t.substr(c_.pos, start == std::string_view::npos ? c_.t.npos : start - c_.pos);
      if (trim_left) text = TrimLeft(text);
      trim_left = false;
      if (start == std::string_view::npos) {
        AddText(target(), text);
        break;
      }
      c_.pos = start + 2;
      if (c_.pos + 1 < c_.t.size() && c_.t[c_.pos] == '-' && IsSpace(c_.t[c_.pos + 1])) {
        text = TrimRight(text);
        c_.pos += 2;
        while (c_.pos < c_.t.size() && IsSpace(c_.t[c_.pos])) ++c_.pos;
      }
      AddText(target(), text);
      if (c_.t.substr(c_.pos, 2) == "/*") {
        if (Status s = SkipComment(&trim_left); !s.ok()) return s;
        continue;
      }
      if (Status s = Action(target(), open); !s.ok()) return s;
      trim_left = c_.trim_next;
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

  Status Error(std::string_view msg) const { return ErrorAt(c_.pos, msg); }
  Status ErrorAt(size_t pos, std::string_view msg) const { return tmpl::ErrorAt(c_.t, pos, msg); }

  Status SkipComment(bool* trim_left) {
    const size_t end = c_.t.find("*/", c_.pos + 2);
    if (end == std::string_view::npos) return Error("unclosed comment");
    c_.pos = end + 2;
    if (c_.pos + 3 < c_.t.size() + 0 && IsSpace(c_.t[c_.pos]) &&
        c_.t.substr(c_.pos + 1, 3) == "-}}") {
      c_.pos += 4;
      *trim_left = true;
    } else if (c_.t.substr(c_.pos, 2) == "}}") {
      c_.pos += 2;
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
    const size_t saved = c_.pos;
    const bool saved_trim = c_.trim_next;
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
    c_.pos = saved;  // not a declaration: a plain pipeline
    c_.trim_next = saved_trim;
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
    if (first.fn->max_args >= 0 && given > first.fn->max_args) {
      return Error(fmt::format("wrong number of args for {}: want at most {} got {}",
                               first.fn->name, first.fn->max_args, given));
    }
    if (first.fn->regex_first && given >= 1 && cmd->args[1].kind == Arg::kString) {
      cmd->re = CompileGoRegexp(cmd->args[1].text);
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
    const size_t saved = c_.pos;
    const bool trim = c_.trim_next;
    Status s = Next(tok);
    c_.pos = saved;
    c_.trim_next = trim;
    return s;
  }

  Status Next(Tok* tok) { return LexToken(c_, tok); }

  Cursor c_;
  size_t parens_ = 0;                   // ( ... ) operands being parsed
  std::vector<std::string> vars_{"$"};  // variables in scope; the index is the slot
};

}  // namespace

Status ParseTree(std::string_view text, NodeList* out) { return Parser(text).Run(out); }

}  // namespace skidder::lang::go::tmpl
