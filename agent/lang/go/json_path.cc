// CompileJsonPath: a Pratt parser for the JMESPath subset in json_path.h, with the reference
// implementation's binding powers so projections bind as they do in Promtail (go-jmespath).
#include "lang/go/json_path.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include "util/unescape.h"

namespace skidder::lang::go {
namespace {

using NodePtr = std::shared_ptr<const JsonPath::Node>;
using Kind = JsonPath::Node::Kind;

enum class Tok {
  kEof,
  kName,
  kDot,
  kStar,
  kLBracket,
  kRBracket,
  kFlatten,
  kComma,
  kNumber,
  kOther
};

struct Token {
  Tok type = Tok::kEof;
  size_t pos = 0;
  std::string text;  // a name's value, a number's digits, or the unexpected character
};

// Binding powers (jmespath.py): projections stop at tokens below 10.
int Bp(Tok t) {
  switch (t) {
    case Tok::kFlatten:
      return 9;
    case Tok::kStar:
      return 20;
    case Tok::kDot:
      return 40;
    case Tok::kLBracket:
      return 55;
    default:
      return 0;
  }
}

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdent(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9'); }

// Evaluating, serialising and destroying the tree all recurse, and the parser recurses per
// bracket or projection: both are bounded so that no expression can exhaust the stack.
constexpr int kMaxHeight = 256;
constexpr int kMaxNesting = 128;

NodePtr Make(Kind kind, std::vector<NodePtr> children = {}) {
  auto n = std::make_shared<JsonPath::Node>();
  n->kind = kind;
  for (const NodePtr& c : children) {
    if (c != nullptr) n->height = std::max(n->height, c->height + 1);
  }
  n->children = std::move(children);
  return n;
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
      error_ = InvalidArgument(fmt::format(
          "unsupported JMESPath expression \"{}\" at offset {}: {} (skidder supports names, "
          "\"quoted names\", dots, [n] indexes, [*], *, [] and [a, b])",
          s_, pos, what));
    }
    return nullptr;
  }
  static std::string Unexpected(const Token& t) {
    return t.type == Tok::kEof ? "unexpected end" : fmt::format("unexpected '{}'", t.text);
  }

  void Advance();
  bool ReadQuoted(size_t* i, std::string* out);
  NodePtr Expr(int rbp);
  NodePtr Bounded(NodePtr n, size_t pos);
  NodePtr Nud(const Token& t);
  NodePtr Led(const Token& t, NodePtr left);
  NodePtr Index();
  NodePtr MultiList();
  NodePtr Dot(int bp);
  NodePtr ProjectionRhs(int bp);

  std::string_view s_;
  size_t pos_ = 0;
  Token tok_;
  Status error_;
  int nesting_ = 0;  // Expr calls in progress
};

void Parser::Advance() {
  while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
  tok_ = Token{Tok::kEof, pos_, {}};
  if (pos_ >= s_.size()) return;
  const char c = s_[pos_];
  if (IsIdentStart(c)) {
    tok_.type = Tok::kName;
    while (pos_ < s_.size() && IsIdent(s_[pos_])) tok_.text.push_back(s_[pos_++]);
  } else if (c == '"') {
    tok_.type = Tok::kName;
    if (!ReadQuoted(&pos_, &tok_.text)) Fail(tok_.pos, "bad quoted name");
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    tok_.type = Tok::kNumber;
    tok_.text.push_back(s_[pos_++]);
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') tok_.text.push_back(s_[pos_++]);
  } else if (s_.substr(pos_, 2) == "[]") {
    tok_.type = Tok::kFlatten;
    tok_.text = "[]";
    pos_ += 2;
  } else {
    static constexpr std::pair<char, Tok> kSingle[] = {{'.', Tok::kDot},
                                                       {'*', Tok::kStar},
                                                       {'[', Tok::kLBracket},
                                                       {']', Tok::kRBracket},
                                                       {',', Tok::kComma}};
    tok_.type = Tok::kOther;
    for (auto [ch, type] : kSingle) {
      if (ch == c) tok_.type = type;
    }
    tok_.text = std::string(1, c);
    ++pos_;
  }
}

// A "quoted identifier" starting at s_[*i] == '"', with JSON escapes. \uXXXX is rare in keys and
// refused, as it always was here.
bool Parser::ReadQuoted(size_t* i, std::string* out) {
  bool escaped = false;
  const size_t end = FindClosingQuote(s_, *i + 1, &escaped);
  if (end == std::string_view::npos) {
    *i = s_.size();
    return false;
  }
  const std::string_view body = s_.substr(*i + 1, end - *i - 1);
  *i = end + 1;
  if (!escaped) {
    out->assign(body);
    return true;
  }
  return UnescapeJsonString(body, out, /*unicode_escapes=*/false);
}

NodePtr Parser::Expr(int rbp) {
  Token t = tok_;
  if (nesting_ >= kMaxNesting) {
    return Fail(t.pos, fmt::format("nested more than {} levels deep", kMaxNesting));
  }
  ++nesting_;
  Advance();
  NodePtr left = Bounded(Nud(t), t.pos);
  while (left != nullptr && rbp < Bp(tok_.type)) {
    Token op = tok_;
    Advance();
    left = Bounded(Led(op, std::move(left)), op.pos);
  }
  --nesting_;
  return left;
}

// Every tree Expr returns is at most kMaxHeight high, so a node built from them is too deep
// only by a level or two.
NodePtr Parser::Bounded(NodePtr n, size_t pos) {
  if (n == nullptr || n->height <= kMaxHeight) return n;
  return Fail(pos, fmt::format("more than {} levels of operators", kMaxHeight));
}

NodePtr Parser::Nud(const Token& t) {
  switch (t.type) {
    case Tok::kName: {
      auto n = std::make_shared<JsonPath::Node>();
      n->kind = Kind::kField;
      n->name = t.text;
      return n;
    }
    case Tok::kStar:  // *.b: the values of the current object
      return Make(Kind::kValueProjection, {Make(Kind::kIdentity), ProjectionRhs(Bp(Tok::kStar))});
    case Tok::kFlatten:
      return Make(Kind::kProjection, {Make(Kind::kFlatten, {Make(Kind::kIdentity)}),
                                      ProjectionRhs(Bp(Tok::kFlatten))});
    case Tok::kLBracket:
      if (tok_.type == Tok::kNumber) return Index();
      if (tok_.type == Tok::kStar && s_.substr(tok_.pos, 2) == "*]") {
        Advance();
        Advance();
        return Make(Kind::kProjection, {Make(Kind::kIdentity), ProjectionRhs(Bp(Tok::kStar))});
      }
      return MultiList();
    default:
      return Fail(t.pos, Unexpected(t));
  }
}

NodePtr Parser::Led(const Token& t, NodePtr left) {
  switch (t.type) {
    case Tok::kDot:
      if (tok_.type == Tok::kStar) {
        Advance();
        return Make(Kind::kValueProjection, {std::move(left), ProjectionRhs(Bp(Tok::kDot))});
      }
      return Make(Kind::kSub, {std::move(left), Dot(Bp(Tok::kDot))});
    case Tok::kLBracket:
      if (tok_.type == Tok::kNumber) return Make(Kind::kSub, {std::move(left), Index()});
      if (tok_.type != Tok::kStar) {
        return Fail(tok_.pos, "only [n] indexes, [*] and [] may follow an expression");
      }
      Advance();
      if (tok_.type != Tok::kRBracket) return Fail(tok_.pos, "expected ]");
      Advance();
      return Make(Kind::kProjection, {std::move(left), ProjectionRhs(Bp(Tok::kStar))});
    case Tok::kFlatten:
      return Make(Kind::kProjection,
                  {Make(Kind::kFlatten, {std::move(left)}), ProjectionRhs(Bp(Tok::kFlatten))});
    default:
      return Fail(t.pos, Unexpected(t));
  }
}

// After '[' with a number current: "n]".
NodePtr Parser::Index() {
  auto n = std::make_shared<JsonPath::Node>();
  n->kind = Kind::kIndex;
  const std::string& digits = tok_.text;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n->index);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) {
    return Fail(tok_.pos, "bad index");
  }
  Advance();
  if (tok_.type != Tok::kRBracket) return Fail(tok_.pos, "only [n] indexes are supported");
  Advance();
  return n;
}

// After '[': "a, b]".
NodePtr Parser::MultiList() {
  std::vector<NodePtr> items;
  for (;;) {
    NodePtr item = Expr(0);
    if (item == nullptr) return nullptr;
    items.push_back(std::move(item));
    if (tok_.type == Tok::kRBracket) break;
    if (tok_.type != Tok::kComma) return Fail(tok_.pos, "expected , or ]");
    Advance();
  }
  Advance();
  return Make(Kind::kMultiList, std::move(items));
}

NodePtr Parser::Dot(int bp) {
  if (tok_.type == Tok::kName) return Expr(bp);
  if (tok_.type == Tok::kLBracket) {
    Advance();
    return MultiList();
  }
  return Fail(tok_.pos, tok_.type == Tok::kEof ? "expected a name" : Unexpected(tok_));
}

NodePtr Parser::ProjectionRhs(int bp) {
  if (Bp(tok_.type) < 10) return Make(Kind::kIdentity);
  if (tok_.type == Tok::kLBracket) return Expr(bp);
  if (tok_.type == Tok::kDot) {
    Advance();
    return Dot(bp);
  }
  return Fail(tok_.pos, Unexpected(tok_));
}

}  // namespace

Result<JsonPath> CompileJsonPath(std::string_view expr) {
  Parser p(expr);
  auto root = p.Parse();
  if (!root) return Err(std::move(root.error()));
  JsonPath path;
  path.root_ = std::move(*root);
  return path;
}

}  // namespace skidder::lang::go
