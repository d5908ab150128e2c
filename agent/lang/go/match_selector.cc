#include "lang/go/match_selector.h"

#include <fmt/format.h>

#include "lang/go/go_regexp.h"
#include "util/unescape.h"

namespace skidder::lang::go {
namespace {

bool IsLabelStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsLabelChar(char c) { return IsLabelStart(c) || (c >= '0' && c <= '9'); }

// A cursor over the selector text; errors name the byte offset.
class SelectorParser {
 public:
  explicit SelectorParser(std::string_view text) : s_(text) {}

  Status Fail(std::string_view what) const {
    return InvalidArgument(
        fmt::format("invalid selector at offset {}: {} (in {})", pos_, what, s_));
  }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool AtEnd() const { return pos_ >= s_.size(); }
  bool Eat(std::string_view token) {
    if (s_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  bool Name(std::string* out) {
    if (AtEnd() || !IsLabelStart(s_[pos_])) return false;
    size_t start = pos_;
    while (pos_ < s_.size() && IsLabelChar(s_[pos_])) ++pos_;
    *out = std::string(s_.substr(start, pos_ - start));
    return true;
  }
  // A Go string literal: "escaped" or `raw`.
  Status String(std::string* out) {
    if (Eat("`")) {
      size_t end = s_.find('`', pos_);
      if (end == std::string_view::npos) return Fail("unterminated raw string");
      *out = std::string(s_.substr(pos_, end - pos_));
      pos_ = end + 1;
      return Status::Ok();
    }
    if (!Eat("\"")) return Fail("expected a string in double quotes or backticks");
    while (!AtEnd()) {
      char c = s_[pos_++];
      if (c == '"') return Status::Ok();
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (Status st = Escape(out); !st.ok()) return st;
    }
    return Fail("unterminated string");
  }

 private:
  Status Escape(std::string* out) {
    if (AtEnd()) return Fail("unterminated string");
    char e = s_[pos_++];
    switch (e) {
      case 'a':
        *out += '\a';
        return Status::Ok();
      case 'b':
        *out += '\b';
        return Status::Ok();
      case 'f':
        *out += '\f';
        return Status::Ok();
      case 'n':
        *out += '\n';
        return Status::Ok();
      case 'r':
        *out += '\r';
        return Status::Ok();
      case 't':
        *out += '\t';
        return Status::Ok();
      case 'v':
        *out += '\v';
        return Status::Ok();
      case '\\':
        *out += '\\';
        return Status::Ok();
      case '"':
        *out += '"';
        return Status::Ok();
      case 'x':
        return Hex(2, false, out);
      case 'u':
        return Hex(4, true, out);
      case 'U':
        return Hex(8, true, out);
      default:
        break;
    }
    if (e >= '0' && e <= '7' && pos_ + 2 <= s_.size()) {  // \ooo
      int v = e - '0';
      for (int i = 0; i < 2; ++i) {
        char d = s_[pos_++];
        if (d < '0' || d > '7') return Fail("bad octal escape");
        v = v * 8 + (d - '0');
      }
      if (v > 255) return Fail("octal escape out of range");
      *out += static_cast<char>(v);
      return Status::Ok();
    }
    // Go refuses unknown escapes such as "\d": a regex needs "\\d" or a `raw string`.
    return Fail(fmt::format("unknown escape \\{} (write \\\\{} or use a `raw string`)", e, e));
  }
  Status Hex(int digits, bool unicode, std::string* out) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      int h = AtEnd() ? -1 : HexValue(s_[pos_++]);
      if (h < 0) return Fail("bad hex escape");
      v = v * 16 + static_cast<uint32_t>(h);
    }
    if (!unicode) {
      *out += static_cast<char>(v);
    } else {
      if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return Fail("bad unicode escape");
      AppendUtf8(out, v);
    }
    return Status::Ok();
  }

  std::string_view s_;
  size_t pos_ = 0;
};

// Label regexes are used with FullMatch (anchored, as in Prometheus), line ones with PartialMatch.
Status Compile(SelectorParser& p, Selector::Matcher* m) {
  if (m->op != Selector::Op::kRe && m->op != Selector::Op::kNre) return Status::Ok();
  m->re = CompileGoRegexp(m->value);
  if (!m->re->ok()) return p.Fail("bad regular expression: " + m->re->error());
  return Status::Ok();
}

Status ParseMatcher(SelectorParser& p, Selector::Matcher* m) {
  if (!p.Name(&m->name)) return p.Fail("expected a label name");
  p.SkipSpace();
  if (p.Eat("=~"))
    m->op = Selector::Op::kRe;
  else if (p.Eat("!~"))
    m->op = Selector::Op::kNre;
  else if (p.Eat("!="))
    m->op = Selector::Op::kNeq;
  else if (p.Eat("="))
    m->op = Selector::Op::kEq;
  else
    return p.Fail("expected one of =, !=, =~, !~");
  p.SkipSpace();
  if (Status s = p.String(&m->value); !s.ok()) return s;
  return Compile(p, m);
}

Status ParseFilter(SelectorParser& p, Selector::Matcher* m) {
  if (p.Eat("|="))
    m->op = Selector::Op::kEq;
  else if (p.Eat("!="))
    m->op = Selector::Op::kNeq;
  else if (p.Eat("|~"))
    m->op = Selector::Op::kRe;
  else if (p.Eat("!~"))
    m->op = Selector::Op::kNre;
  else
    return p.Fail(
        "expected a line filter |=, !=, |~ or !~ (parsers and label filters are "
        "not allowed in a match selector)");
  p.SkipSpace();
  if (Status s = p.String(&m->value); !s.ok()) return s;
  return Compile(p, m);
}

}  // namespace

Result<Selector> Selector::Parse(std::string_view text) {
  Selector sel;
  SelectorParser p(text);
  p.SkipSpace();
  if (!p.Eat("{")) return Err(p.Fail("expected {"));
  for (;;) {
    p.SkipSpace();
    if (sel.labels_.empty() && p.Eat("}"))
      return Err(p.Fail("at least one label matcher is required"));
    Matcher m;
    if (Status s = ParseMatcher(p, &m); !s.ok()) return Err(std::move(s));
    sel.labels_.push_back(std::move(m));
    p.SkipSpace();
    if (p.Eat("}")) break;
    if (!p.Eat(",")) return Err(p.Fail("expected , or }"));
  }
  for (p.SkipSpace(); !p.AtEnd(); p.SkipSpace()) {
    Matcher m;
    if (Status s = ParseFilter(p, &m); !s.ok()) return Err(std::move(s));
    sel.lines_.push_back(std::move(m));
  }
  return sel;
}

bool Selector::MatchesLabels(const Labels& labels) const {
  static const std::string kEmpty;
  for (const Matcher& m : labels_) {
    const std::string* v = labels.Get(m.name);
    const std::string& value = v != nullptr ? *v : kEmpty;
    bool ok = false;
    switch (m.op) {
      case Op::kEq:
        ok = value == m.value;
        break;
      case Op::kNeq:
        ok = value != m.value;
        break;
      case Op::kRe:
        ok = RE2::FullMatch(value, *m.re);
        break;
      case Op::kNre:
        ok = !RE2::FullMatch(value, *m.re);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

bool Selector::MatchesLine(std::string_view line) const {
  std::string valid;  // the line as Go's regexp reads it, once a regex filter needs it
  bool checked = false;
  const auto regex_input = [&] {
    if (!checked) line = GoRegexpInput(line, &valid);
    checked = true;
    return line;
  };
  for (const Matcher& m : lines_) {
    bool ok = false;
    switch (m.op) {
      case Op::kEq:
        ok = line.find(m.value) != std::string_view::npos;
        break;
      case Op::kNeq:
        ok = line.find(m.value) == std::string_view::npos;
        break;
      case Op::kRe:
        ok = RE2::PartialMatch(regex_input(), *m.re);
        break;
      case Op::kNre:
        ok = !RE2::PartialMatch(regex_input(), *m.re);
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace skidder::lang::go
