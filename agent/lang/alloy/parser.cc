// A recursive-descent parser over the lexer's tokens. Statements end at a line break; operator
// precedence follows Alloy (Go's): || < && < comparisons < + - < * / % < ^ < unary < postfix.
#include "lang/alloy/parser.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "lang/alloy/lexer.h"

namespace skidder::lang::alloy {
namespace {

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::string_view text, const std::string& file)
      : toks_(std::move(tokens)), text_(text), file_(file) {}

  Result<File> Run() {
    File f;
    f.name = file_;
    if (Status s = Body(&f.attributes, &f.blocks, /*depth=*/0, /*top=*/true); !s.ok()) {
      return Err(std::move(s));
    }
    return f;
  }

 private:
  const Token& Cur() const { return toks_[i_]; }
  bool IsPunct(std::string_view p) const {
    return Cur().kind == Token::Kind::kPunct && Cur().text == p;
  }
  Status Error(std::string_view msg) const { return Error(Cur().pos, msg); }
  Status Error(Pos at, std::string_view msg) const { return SyntaxError(file_, text_, at, msg); }
  std::string Describe() const {
    switch (Cur().kind) {
      case Token::Kind::kEof:
        return "the end of the file";
      case Token::Kind::kString:
        return "a string";
      case Token::Kind::kNumber:
        return "a number";
      case Token::Kind::kIdent:
        return fmt::format("identifier {}", Short(Cur().text));
      case Token::Kind::kPunct:
        return fmt::format("\"{}\"", Cur().text);
    }
    return "?";
  }
  Status Expect(std::string_view p) {
    if (!IsPunct(p)) return Error(fmt::format("expected \"{}\", found {}", p, Describe()));
    ++i_;
    return Status::Ok();
  }

  // Statements until "}" (or the end of the file at the top level).
  Status Body(std::vector<Attribute>* attrs, std::vector<Block>* blocks, int depth, bool top) {
    while (true) {
      if (Cur().kind == Token::Kind::kEof) {
        return top ? Status::Ok() : Error("unexpected end of the file: a block is not closed");
      }
      if (!top && IsPunct("}")) return Status::Ok();
      if (Status s = Statement(attrs, blocks, depth); !s.ok()) return s;
      if (Cur().kind != Token::Kind::kEof && !IsPunct("}") && !Cur().newline_before) {
        return Error(
            fmt::format("expected a line break after the statement, found {}", Describe()));
      }
    }
  }

  Status Statement(std::vector<Attribute>* attrs, std::vector<Block>* blocks, int depth) {
    if (Cur().kind != Token::Kind::kIdent) {
      return Error(fmt::format("expected an attribute or a block, found {}", Describe()));
    }
    Pos pos = Cur().pos;
    std::string name = Cur().text;
    ++i_;
    if (IsPunct("=")) {
      ++i_;
      Result<ExprPtr> e = Expression(0);
      if (!e) return e.error();
      if (std::ranges::any_of(*attrs, [&](const Attribute& a) { return a.name == name; })) {
        return Error(pos, fmt::format("attribute {} is set twice", Short(name)));
      }
      attrs->push_back({name, pos, std::move(*e)});
      return Status::Ok();
    }
    while (IsPunct(".")) {
      ++i_;
      if (Cur().kind != Token::Kind::kIdent) {
        return Error(fmt::format("expected a name after \".\", found {}", Describe()));
      }
      name += "." + Cur().text;
      ++i_;
    }
    Block b{.name = name, .label = "", .pos = pos, .attributes = {}, .blocks = {}, .id_prefix = ""};
    if (Cur().kind == Token::Kind::kString) {
      b.label = Cur().text;
      ++i_;
    }
    if (!IsPunct("{")) {
      return Error(fmt::format("expected \"=\" or a block's \"{{\" after {}, found {}", Short(name),
                               Describe()));
    }
    if (depth + 1 >= kMaxDepth) return Error("blocks nested too deeply");
    ++i_;
    if (Status s = Body(&b.attributes, &b.blocks, depth + 1, false); !s.ok()) return s;
    if (Status s = Expect("}"); !s.ok()) return s;
    blocks->push_back(std::move(b));
    return Status::Ok();
  }

  static int Precedence(const Token& t) {
    if (t.kind != Token::Kind::kPunct) return -1;
    static constexpr std::pair<std::string_view, int> kOps[] = {
        {"||", 1}, {"&&", 2}, {"==", 3}, {"!=", 3}, {"<", 3}, {"<=", 3}, {">", 3},
        {">=", 3}, {"+", 4},  {"-", 4},  {"*", 5},  {"/", 5}, {"%", 5},  {"^", 6}};
    for (auto [op, prec] : kOps) {
      if (t.text == op) return prec;
    }
    return -1;
  }

  Result<ExprPtr> Node(Expr::Kind kind, Pos pos, std::vector<ExprPtr> kids) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->pos = pos;
    for (const ExprPtr& k : kids) e->depth = std::max(e->depth, k->depth + 1);
    e->kids = std::move(kids);
    if (e->depth > kMaxDepth) return Err(Error(pos, "expression nested too deeply"));
    return e;
  }

  // Precedence climbing; ^ is right-associative.
  Result<ExprPtr> Expression(int min_prec) {
    Result<ExprPtr> lhs = Unary();
    if (!lhs) return lhs;
    while (true) {
      int prec = Precedence(Cur());
      if (prec <= min_prec) return lhs;
      Token op = Cur();
      ++i_;
      Result<ExprPtr> rhs = Nested([&] { return Expression(op.text == "^" ? prec - 1 : prec); });
      if (!rhs) return rhs;
      std::vector<ExprPtr> kids;
      kids.push_back(std::move(*lhs));
      kids.push_back(std::move(*rhs));
      lhs = Node(Expr::Kind::kBinary, op.pos, std::move(kids));
      if (!lhs) return lhs;
      (*lhs)->name = op.text;
    }
  }

  Result<ExprPtr> Unary() {
    if (IsPunct("!") || IsPunct("-")) {
      Token op = Cur();
      ++i_;
      if (++nesting_ > kMaxDepth) return Err(Error(op.pos, "expression nested too deeply"));
      Result<ExprPtr> operand = Unary();
      --nesting_;
      if (!operand) return operand;
      std::vector<ExprPtr> kids;
      kids.push_back(std::move(*operand));
      Result<ExprPtr> e = Node(Expr::Kind::kUnary, op.pos, std::move(kids));
      if (e) (*e)->name = op.text;
      return e;
    }
    return Postfix();
  }

  Result<ExprPtr> Postfix() {
    Result<ExprPtr> e = Primary();
    while (e) {
      Pos pos = Cur().pos;
      std::vector<ExprPtr> kids;
      kids.push_back(std::move(*e));
      if (IsPunct(".")) {
        ++i_;
        if (Cur().kind != Token::Kind::kIdent) {
          return Err(Error(fmt::format("expected a field name after \".\", found {}", Describe())));
        }
        std::string field = Cur().text;
        ++i_;
        Pos start = kids[0]->pos;  // a reference is reported where it starts
        e = Node(Expr::Kind::kField, start, std::move(kids));
        if (e) (*e)->name = field;
      } else if (IsPunct("[")) {
        ++i_;
        Result<ExprPtr> index = Nested([&] { return Expression(0); });
        if (!index) return index;
        if (Status s = Expect("]"); !s.ok()) return Err(std::move(s));
        kids.push_back(std::move(*index));
        e = Node(Expr::Kind::kIndex, pos, std::move(kids));
      } else if (IsPunct("(")) {
        ++i_;
        if (Status s = List(")", &kids); !s.ok()) return Err(std::move(s));
        e = Node(Expr::Kind::kCall, pos, std::move(kids));
      } else {
        return std::move(kids[0]);
      }
    }
    return e;
  }

  // Runs parse one level deeper; refuses input nested past kMaxDepth before recursing.
  template <typename F>
  Result<ExprPtr> Nested(F&& parse) {
    if (++nesting_ > kMaxDepth) return Err(Error("expression nested too deeply"));
    Result<ExprPtr> e = parse();
    --nesting_;
    return e;
  }

  // Comma-separated expressions up to close (a trailing comma is allowed).
  Status List(std::string_view close, std::vector<ExprPtr>* out) {
    while (!IsPunct(close)) {
      Result<ExprPtr> e = Nested([&] { return Expression(0); });
      if (!e) return e.error();
      out->push_back(std::move(*e));
      if (!IsPunct(",")) break;
      ++i_;
    }
    return Expect(close);
  }

  Result<ExprPtr> Object(Pos pos) {
    std::vector<ExprPtr> kids;
    std::vector<std::string> keys;
    while (!IsPunct("}")) {
      if (Cur().kind != Token::Kind::kIdent && Cur().kind != Token::Kind::kString) {
        return Err(Error(fmt::format("expected an object key, found {}", Describe())));
      }
      std::string key = Cur().text;
      Pos key_pos = Cur().pos;
      ++i_;
      if (std::ranges::find(keys, key) != keys.end()) {
        return Err(Error(key_pos, fmt::format("object key {:?} is set twice", Short(key))));
      }
      if (!IsPunct("=") && !IsPunct(":")) {
        return Err(Error(fmt::format("expected \"=\" after the object key, found {}", Describe())));
      }
      ++i_;
      Result<ExprPtr> e = Nested([&] { return Expression(0); });
      if (!e) return e;
      keys.push_back(std::move(key));
      kids.push_back(std::move(*e));
      if (!IsPunct(",")) break;
      ++i_;
    }
    if (Status s = Expect("}"); !s.ok()) return Err(std::move(s));
    Result<ExprPtr> e = Node(Expr::Kind::kObject, pos, std::move(kids));
    if (e) (*e)->keys = std::move(keys);
    return e;
  }

  Result<ExprPtr> Primary() {
    const Token t = Cur();
    if (t.kind == Token::Kind::kEof)
      return Err(Error("expected a value, found the end of the file"));
    ++i_;
    auto literal = [&](Value v) {
      auto e = std::make_unique<Expr>();
      e->pos = t.pos;
      e->value = std::move(v);
      return e;
    };
    switch (t.kind) {
      case Token::Kind::kString:
        return literal(Value::String(t.text));
      case Token::Kind::kNumber:
        return literal(Value::Number(std::strtod(t.text.c_str(), nullptr)));
      case Token::Kind::kIdent: {
        if (t.text == "true" || t.text == "false") return literal(Value::Bool(t.text == "true"));
        if (t.text == "null") return literal(Value::Null());
        auto e = std::make_unique<Expr>();
        e->kind = Expr::Kind::kIdent;
        e->pos = t.pos;
        e->name = t.text;
        return e;
      }
      default:
        break;
    }
    if (t.text == "(") {
      Result<ExprPtr> e = Nested([&] { return Expression(0); });
      if (!e) return e;
      if (Status s = Expect(")"); !s.ok()) return Err(std::move(s));
      return e;
    }
    if (t.text == "[") {
      std::vector<ExprPtr> kids;
      if (Status s = List("]", &kids); !s.ok()) return Err(std::move(s));
      return Node(Expr::Kind::kArray, t.pos, std::move(kids));
    }
    if (t.text == "{") return Object(t.pos);
    --i_;
    return Err(Error(fmt::format("expected a value, found {}", Describe())));
  }

  std::vector<Token> toks_;
  size_t i_ = 0;
  int nesting_ = 0;
  std::string_view text_;
  const std::string& file_;
};

}  // namespace

Result<File> Parse(std::string_view text, const std::string& file) {
  // A leading byte order mark (Windows editors write one) is skipped, as Alloy's scanner does;
  // positions count from the first character after it.
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  Result<std::vector<Token>> tokens = Lex(text, file);
  if (!tokens) return Err(tokens.error());
  return Parser(std::move(*tokens), text, file).Run();
}

}  // namespace skidder::lang::alloy
