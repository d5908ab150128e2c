// CompileJsonPath: a Pratt parser for JMESPath with the reference implementation's (jmespath.py)
// binding powers and AST, so projections, filters and pipes bind as they do in go-jmespath.
#include "lang/go/json_path.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include "lang/go/json_path_internal.h"
#include "lang/go/json_path_lexer.h"
#include "util/json_parse.h"
#include "util/unescape.h"

namespace skidder::lang::go {
namespace {

using NodePtr = std::shared_ptr<const JsonPath::Node>;
using Kind = JsonPath::Node::Kind;
using Op = JsonPath::Node::Op;
using jmes::Bp;
using jmes::Tok;
using jmes::Token;

// Evaluating and destroying the tree recurse per level, and the parser recurses per bracket or
// projection: both are bounded so that no expression can exhaust the stack.
constexpr int kMaxHeight = 256;
constexpr int kMaxNesting = 128;

std::shared_ptr<JsonPath::Node> Make(Kind kind, std::vector<NodePtr> children = {}) {
  auto n = std::make_shared<JsonPath::Node>();
  n->kind = kind;
  for (const NodePtr& c : children) {
    if (c != nullptr) n->height = std::max(n->height, c->height + 1);
  }
  n->children = std::move(children);
  return n;
}

// left.right, with a.b.c as one flat node (jmespath.py's subexpression), whose height counts
// its steps: evaluation walks them in a loop, but a path of 100000 steps is still refused.
NodePtr Sub(NodePtr left, NodePtr right) {
  if (left->kind != Kind::kSub) return Make(Kind::kSub, {std::move(left), std::move(right)});
  auto flat = std::make_shared<JsonPath::Node>(*left);
  flat->height = std::max(flat->height, right->height + 1);
  flat->children.push_back(std::move(right));
  flat->height = std::max(flat->height, static_cast<int>(flat->children.size()));
  return flat;
}

class Parser {
 public:
  explicit Parser(std::string_view expr) : s_(expr) { Advance(); }

  Result<NodePtr> Parse() {
    NodePtr n = Expr(0);
    if (n != nullptr && tok_.type != Tok::kEof) Fail(tok_.pos, Unexpected(tok_));
    if (!error_.ok()) return Err(std::move(error_));
    return n;
  }

 private:
  NodePtr Fail(size_t pos, std::string_view what) {
    if (error_.ok()) {
      const std::string shown =
          s_.size() > 80 ? std::string(s_.substr(0, 77)) + "..." : std::string(s_);
      error_ = InvalidArgument(
          fmt::format("invalid JMESPath expression \"{}\" at offset {}: {}", shown, pos, what));
    }
    return nullptr;
  }
  static std::string Unexpected(const Token& t) {
    return t.type == Tok::kEof ? "unexpected end" : fmt::format("unexpected '{}'", t.text);
  }
  bool Expect(Tok type, std::string_view what) {
    if (tok_.type != type) return Fail(tok_.pos, fmt::format("expected {}", what)), false;
    Advance();
    return true;
  }

  void Advance();
  NodePtr Expr(int rbp);
  NodePtr Bounded(NodePtr n, size_t pos);
  NodePtr Nud(const Token& t);
  NodePtr Led(const Token& t, NodePtr left);
  NodePtr Literal(const Token& t);
  NodePtr BracketNud(const Token& t);
  NodePtr IndexOrSlice(NodePtr left);
  NodePtr Slice();
  NodePtr FilterOn(NodePtr left);
  NodePtr MultiList();
  NodePtr MultiHash();
  NodePtr Call(const Token& t, NodePtr left);
  NodePtr DotRhs(int bp);
  NodePtr ProjectionRhs(int bp);

  std::string_view s_;
  jmes::Lexer lex_{s_};
  Token tok_;
  Status error_;
  int nesting_ = 0;  // Expr calls in progress
};

void Parser::Advance() {
  tok_ = lex_.Next();
  if (tok_.type == Tok::kError) Fail(tok_.pos, tok_.text);
}

NodePtr Parser::Expr(int rbp) {
  Token t = tok_;
  if (nesting_ >= kMaxNesting) {
    return Fail(t.pos, fmt::format("nested more than {} levels deep", kMaxNesting));
  }
  ++nesting_;
  Advance();
  NodePtr left = Bounded(Nud(t), t.pos);
  while (left != nullptr && error_.ok() && rbp < Bp(tok_.type)) {
    Token op = tok_;
    Advance();
    left = Bounded(Led(op, std::move(left)), op.pos);
  }
  --nesting_;
  return error_.ok() ? left : nullptr;
}

// Every tree Expr returns is at most kMaxHeight high, so a node built from them is too deep
// only by a level or two.
NodePtr Parser::Bounded(NodePtr n, size_t pos) {
  if (n == nullptr || n->height <= kMaxHeight) return n;
  return Fail(pos, fmt::format("more than {} levels of operators", kMaxHeight));
}

NodePtr Parser::Nud(const Token& t) {
  switch (t.type) {
    case Tok::kName:
    case Tok::kQuoted: {
      if (t.type == Tok::kQuoted && tok_.type == Tok::kLParen) {
        return Fail(t.pos, "quoted identifiers cannot name functions");
      }
      auto n = Make(Kind::kField);
      n->name = t.text;
      return n;
    }
    case Tok::kLiteral:
      return Literal(t);
    case Tok::kAt:
      return Make(Kind::kCurrent);
    case Tok::kStar:  // *.b: the values of the current object
      return Make(Kind::kValueProjection, {Make(Kind::kCurrent), ProjectionRhs(Bp(Tok::kStar))});
    case Tok::kFlatten:
      return Make(Kind::kProjection,
                  {Make(Kind::kFlatten, {Make(Kind::kCurrent)}), ProjectionRhs(Bp(Tok::kFlatten))});
    case Tok::kFilter:
      return FilterOn(Make(Kind::kCurrent));
    case Tok::kLBracket:
      return BracketNud(t);
    case Tok::kLBrace:
      return MultiHash();
    case Tok::kLParen: {
      NodePtr inner = Expr(0);
      if (inner == nullptr || !Expect(Tok::kRParen, ")")) return nullptr;
      return inner;
    }
    case Tok::kNot:
      return Make(Kind::kNot, {Expr(Bp(Tok::kNot))});
    case Tok::kExpref:
      return Make(Kind::kExpref, {Expr(Bp(Tok::kExpref))});
    default:
      return Fail(t.pos, Unexpected(t));
  }
}

// `json` (or a raw 'string'); a `literal` that is not JSON is taken as a string, as
// jmespath.py and go-jmespath still accept.
NodePtr Parser::Literal(const Token& t) {
  auto doc = std::make_shared<rapidjson::Document>();
  if (t.raw) {
    doc->SetString(t.text.data(), static_cast<rapidjson::SizeType>(t.text.size()),
                   doc->GetAllocator());
  } else if (!ParseJsonBounded(*doc, t.text, static_cast<rapidjson::CrtAllocator*>(nullptr), 64)
                  .ok()) {
    std::string s;
    std::string_view body = t.text;
    while (!body.empty() && body.front() == ' ') body.remove_prefix(1);
    while (!body.empty() && body.back() == ' ') body.remove_suffix(1);
    bool escaped = false;
    if (FindClosingQuote(body, 0, &escaped) != std::string_view::npos ||
        !UnescapeJsonString(body, &s)) {
      return Fail(t.pos, "bad JSON literal");
    }
    doc->SetString(s.data(), static_cast<rapidjson::SizeType>(s.size()), doc->GetAllocator());
  }
  auto n = Make(Kind::kLiteral);
  n->literal = std::move(doc);
  return n;
}

// [ after nothing: an index or slice of @, [*], or a multi-select list.
NodePtr Parser::BracketNud(const Token& t) {
  if (tok_.type == Tok::kNumber || tok_.type == Tok::kColon)
    return IndexOrSlice(Make(Kind::kCurrent));
  if (tok_.type == Tok::kStar) {
    const size_t saved = lex_.pos();
    Token star = tok_;
    Advance();
    if (tok_.type == Tok::kRBracket) {
      Advance();
      return Make(Kind::kProjection, {Make(Kind::kCurrent), ProjectionRhs(Bp(Tok::kStar))});
    }
    lex_.Seek(saved);  // [*.a, b]: a multi-select list whose first element starts with *
    tok_ = star;
  }
  return MultiList();
}

// After [: n] or a slice; a slice projects what follows, as jmespath.py's _project_if_slice.
NodePtr Parser::IndexOrSlice(NodePtr left) {
  const bool slice = tok_.type == Tok::kColon || [&] {
    size_t p = lex_.pos();
    while (p < s_.size() && s_[p] == ' ') ++p;
    return p < s_.size() && s_[p] == ':';
  }();
  if (!slice) {
    int64_t v = 0;
    auto [end, ec] = std::from_chars(tok_.text.data(), tok_.text.data() + tok_.text.size(), v);
    if (ec != std::errc() || end != tok_.text.data() + tok_.text.size()) {
      return Fail(tok_.pos, "bad index");
    }
    Advance();
    if (!Expect(Tok::kRBracket, "]")) return nullptr;
    auto idx = Make(Kind::kIndex);
    idx->index = v;
    return Sub(std::move(left), std::move(idx));
  }
  NodePtr s = Slice();
  if (s == nullptr) return nullptr;
  return Make(Kind::kProjection,
              {Sub(std::move(left), std::move(s)), ProjectionRhs(Bp(Tok::kStar))});
}

NodePtr Parser::Slice() {
  auto n = Make(Kind::kSlice);
  size_t part = 0;
  while (tok_.type != Tok::kRBracket) {
    if (tok_.type == Tok::kColon) {
      if (++part > 2) return Fail(tok_.pos, "too many colons in slice");
    } else if (tok_.type == Tok::kNumber) {
      int64_t v = 0;
      auto [end, ec] = std::from_chars(tok_.text.data(), tok_.text.data() + tok_.text.size(), v);
      if (ec != std::errc() || end != tok_.text.data() + tok_.text.size() || n->slice[part]) {
        return Fail(tok_.pos, "bad slice");
      }
      n->slice[part] = v;
    } else {
      return Fail(tok_.pos, tok_.type == Tok::kEof ? "expected ]" : Unexpected(tok_));
    }
    Advance();
  }
  Advance();
  if (n->slice[2] && *n->slice[2] == 0) return Fail(tok_.pos, "slice step cannot be 0");
  return n;
}

// left[?condition] rhs
NodePtr Parser::FilterOn(NodePtr left) {
  NodePtr cond = Expr(0);
  if (cond == nullptr || !Expect(Tok::kRBracket, "]")) return nullptr;
  NodePtr rhs = tok_.type == Tok::kFlatten ? Make(Kind::kCurrent) : ProjectionRhs(Bp(Tok::kFilter));
  if (rhs == nullptr) return nullptr;
  return Make(Kind::kFilter, {std::move(left), std::move(rhs), std::move(cond)});
}

NodePtr Parser::MultiList() {
  std::vector<NodePtr> items;
  for (;;) {
    NodePtr item = Expr(0);
    if (item == nullptr) return nullptr;
    items.push_back(std::move(item));
    if (tok_.type == Tok::kRBracket) break;
    if (!Expect(Tok::kComma, ", or ]")) return nullptr;
  }
  Advance();
  return Make(Kind::kMultiList, std::move(items));
}

NodePtr Parser::MultiHash() {
  std::vector<NodePtr> values;
  std::vector<std::string> keys;
  for (;;) {
    if (tok_.type != Tok::kName && tok_.type != Tok::kQuoted) {
      return Fail(tok_.pos, "expected a key name");
    }
    keys.push_back(tok_.text);
    Advance();
    if (!Expect(Tok::kColon, ":")) return nullptr;
    NodePtr v = Expr(0);
    if (v == nullptr) return nullptr;
    values.push_back(std::move(v));
    if (tok_.type == Tok::kRBrace) break;
    if (!Expect(Tok::kComma, ", or }")) return nullptr;
  }
  Advance();
  auto n = Make(Kind::kMultiHash, std::move(values));
  n->keys = std::move(keys);
  return n;
}

NodePtr Parser::Call(const Token& t, NodePtr left) {
  if (left->kind != Kind::kField) return Fail(t.pos, "only a name can be called");
  const int fn = jmes::FindFunction(left->name);
  if (fn < 0) return Fail(t.pos, fmt::format("unknown-function: {}()", left->name));
  std::vector<NodePtr> args;
  while (tok_.type != Tok::kRParen) {
    NodePtr a = Expr(0);
    if (a == nullptr) return nullptr;
    args.push_back(std::move(a));
    if (tok_.type == Tok::kComma) {
      Advance();
    } else if (tok_.type != Tok::kRParen) {
      return Fail(tok_.pos, "expected , or )");
    }
  }
  Advance();
  const jmes::Function& f = jmes::FunctionAt(fn);
  const int n = static_cast<int>(args.size());
  if (n < f.min_args || (f.max_args >= 0 && n > f.max_args)) {
    return Fail(t.pos, fmt::format("invalid-arity: {}() takes {}{} arguments, got {}", f.name,
                                   f.max_args < 0 ? "at least " : "", f.min_args, n));
  }
  auto call = Make(Kind::kFunction, std::move(args));
  call->name = left->name;
  call->function = fn;
  return call;
}

NodePtr Parser::Led(const Token& t, NodePtr left) {
  switch (t.type) {
    case Tok::kDot: {
      if (tok_.type == Tok::kStar) {
        Advance();
        return Make(Kind::kValueProjection, {std::move(left), ProjectionRhs(Bp(Tok::kDot))});
      }
      NodePtr right = DotRhs(Bp(Tok::kDot));
      if (right == nullptr) return nullptr;
      return Sub(std::move(left), std::move(right));
    }
    case Tok::kLBracket:
      if (tok_.type == Tok::kNumber || tok_.type == Tok::kColon)
        return IndexOrSlice(std::move(left));
      if (tok_.type != Tok::kStar) return Fail(tok_.pos, "expected a number, : or * after [");
      Advance();
      if (!Expect(Tok::kRBracket, "]")) return nullptr;
      return Make(Kind::kProjection, {std::move(left), ProjectionRhs(Bp(Tok::kStar))});
    case Tok::kFlatten:
      return Make(Kind::kProjection,
                  {Make(Kind::kFlatten, {std::move(left)}), ProjectionRhs(Bp(Tok::kFlatten))});
    case Tok::kFilter:
      return FilterOn(std::move(left));
    case Tok::kPipe:
      return Make(Kind::kPipe, {std::move(left), Expr(Bp(Tok::kPipe))});
    case Tok::kOr:
      return Make(Kind::kOr, {std::move(left), Expr(Bp(Tok::kOr))});
    case Tok::kAnd:
      return Make(Kind::kAnd, {std::move(left), Expr(Bp(Tok::kAnd))});
    case Tok::kCompare: {
      auto n = Make(Kind::kCompare, {std::move(left), Expr(Bp(Tok::kCompare))});
      n->op = t.op;
      return n;
    }
    case Tok::kLParen:
      return Call(t, std::move(left));
    default:
      return Fail(t.pos, Unexpected(t));
  }
}

// After a dot: a name, a function call, *, [multi, list] or {multi: hash}.
NodePtr Parser::DotRhs(int bp) {
  switch (tok_.type) {
    case Tok::kName:
    case Tok::kQuoted:
    case Tok::kStar:
      return Expr(bp);
    case Tok::kLBracket:
      Advance();
      return MultiList();
    case Tok::kLBrace:
      Advance();
      return MultiHash();
    default:
      return Fail(tok_.pos, tok_.type == Tok::kEof ? "expected a name after ." : Unexpected(tok_));
  }
}

// What a projection applies to each element: nothing (@) when the next token binds below 10.
NodePtr Parser::ProjectionRhs(int bp) {
  if (Bp(tok_.type) < 10) return Make(Kind::kCurrent);
  switch (tok_.type) {
    case Tok::kLBracket:
    case Tok::kFilter:
      return Expr(bp);
    case Tok::kDot:
      Advance();
      return DotRhs(bp);
    default:
      return Fail(tok_.pos, Unexpected(tok_));
  }
}

}  // namespace

// The steps of `a`, `a.b.c` (quoted names included), `a[0].b`, `a[-1]`: a tree of fields and
// indexes only, which Sub() keeps flat (the slices and projections of `a[1:]` and `a[*]` are not
// steps). Empty for anything else.
std::vector<JsonPath::PlainStep> JsonPath::PlainPath(const Node& n) {
  const auto step = [](const Node& c) -> std::optional<PlainStep> {
    if (c.kind == Kind::kField) return PlainStep{c.name, std::nullopt};
    if (c.kind == Kind::kIndex) return PlainStep{"", c.index};
    return std::nullopt;
  };
  if (n.kind != Kind::kSub) {
    if (n.kind != Kind::kField) return {};  // a lone [0] is a Sub of @ and the index
    return {*step(n)};
  }
  std::vector<PlainStep> steps;
  for (const auto& child : n.children) {
    if (child->kind == Kind::kCurrent && steps.empty()) continue;  // `[0]`: @ then the index
    std::optional<PlainStep> s = step(*child);
    if (!s) return {};
    steps.push_back(std::move(*s));
  }
  return steps;
}

Result<JsonPath> CompileJsonPath(std::string_view expr) {
  Parser p(expr);
  auto root = p.Parse();
  if (!root) return Err(std::move(root.error()));
  JsonPath path;
  path.root_ = std::move(*root);
  path.plain_path_ = JsonPath::PlainPath(*path.root_);
  return path;
}

}  // namespace skidder::lang::go
