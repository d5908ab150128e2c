#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>
#include <span>

#include "lang/go/go_regexp.h"
#include "lang/go/go_time.h"
#include "lang/go/template_internal.h"

// The template functions: Go's builtins, Promtail's own, and the helpers the sprig ones share.
namespace skidder::lang::go::tmpl {
namespace {

char32_t DecodeRune(std::string_view s, size_t i, size_t* len) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  *len = 1;
  if (c < 0x80) return c;
  int n = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
  if (n < 0 || i + static_cast<size_t>(n) >= s.size()) return 0xFFFD;
  char32_t cp = c & (0x3F >> n);
  for (int k = 1; k <= n; ++k) {
    if ((b(i + static_cast<size_t>(k)) & 0xC0) != 0x80) return 0xFFFD;
    cp = (cp << 6) | (b(i + static_cast<size_t>(k)) & 0x3F);
  }
  *len = static_cast<size_t>(n) + 1;
  return cp;
}

size_t RuneStartBefore(std::string_view s, size_t end) {
  size_t i = end - 1;
  while (i > 0 && end - i < 4 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

bool InCutset(std::string_view cutset, char32_t r) {
  for (size_t i = 0, len = 0; i < cutset.size(); i += len) {
    if (DecodeRune(cutset, i, &len) == r) return true;
  }
  return false;
}

std::string HexDigest(const EVP_MD* md, std::string_view a, std::string_view b) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), md, nullptr);
  EVP_DigestUpdate(ctx.get(), a.data(), a.size());
  EVP_DigestUpdate(ctx.get(), b.data(), b.size());
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

}  // namespace

// ---- helpers shared with template_sprig.cc -------------------------------------------------

// Go's strings.TrimLeft/TrimRight by Unicode code points of cutset.

std::string_view TrimCut(std::string_view s, std::string_view cutset, bool left, bool right) {
  while (left && !s.empty()) {
    size_t len = 0;
    if (!InCutset(cutset, DecodeRune(s, 0, &len))) break;
    s.remove_prefix(len);
  }
  while (right && !s.empty()) {
    const size_t start = RuneStartBefore(s, s.size());
    size_t len = 0;
    char32_t r = DecodeRune(s, start, &len);
    if (start + len != s.size()) r = 0xFFFD, len = 1;  // a broken sequence at the end
    if (!InCutset(cutset, r)) break;
    s.remove_suffix(len);
  }
  return s;
}

std::string_view TrimSpaceAscii(std::string_view s) {
  return TrimCut(s, " \t\n\v\f\r", true, true);
}

std::string MapAscii(std::string_view s, bool upper) {
  std::string r(s);
  for (char& c : r) {
    if (upper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    if (!upper && c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return r;
}

// Go's strings.Replace: at most n replacements (n < 0: all); an empty `old` matches before each

// rune and at the end.

std::string GoReplace(std::string_view s, std::string_view old, std::string_view repl, int64_t n,
                      size_t max_bytes) {
  std::string out;
  size_t pos = 0;
  for (int64_t done = 0; (n < 0 || done < n) && out.size() <= max_bytes; ++done) {
    size_t at;
    if (old.empty()) {
      if (done > 0) {
        if (pos >= s.size()) break;
        size_t len = 0;
        DecodeRune(s, pos, &len);
        out.append(s.substr(pos, len));
        pos += len;
      }
      at = pos;
    } else {
      at = s.find(old, pos);
      if (at == std::string_view::npos) break;
      out.append(s.substr(pos, at - pos));
    }
    out.append(repl);
    pos = at + old.size();
  }
  out.append(s.substr(std::min(pos, s.size())));
  return out;
}

// cast.ToInt64 as sprig uses it: ints as they are, numeric strings parsed, anything else 0.

int64_t ToInt64(const Value& v) {
  if (v.kind == Value::kInt) return v.i;
  if (v.kind == Value::kBool) return v.b ? 1 : 0;
  if (v.kind != Value::kString) return 0;
  // cast.ToInt64: strconv.ParseInt(s, 0, 64) after dropping a zero decimal part ("3.0"): a sign,
  // then 0x, 0o, 0b or a leading 0 (octal) choose the base, '_' may separate digits; else 0.
  std::string_view s = v.str();
  if (const size_t dot = s.find('.'); dot != std::string_view::npos) {
    if (s.find_first_not_of('0', dot + 1) != std::string_view::npos) return 0;
    s = s.substr(0, dot);
  }
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  int base = 10;
  if (s.size() > 1 && s[0] == '0') {
    const char p = static_cast<char>(s[1] | 0x20);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 8;
    s.remove_prefix(p == 'x' || p == 'o' || p == 'b' ? 2 : 1);
  }
  std::string without;  // the digits without '_', only when there are any (rare)
  if (s.find('_') != std::string_view::npos) {
    for (char ch : s) {
      if (ch != '_') without += ch;
    }
    s = without;
  }
  if (s.empty()) return 0;
  uint64_t r = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), r, base);
  if (ec != std::errc() || p != s.data() + s.size()) return 0;
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (r > limit) return 0;
  return negative ? static_cast<int64_t>(0 - r) : static_cast<int64_t>(r);
}

std::string ToStr(const Value& v) {
  if (v.kind == Value::kNil) return "";
  std::string s;
  AppendPrint(v, &s);
  return s;
}

bool SetStr(Call& c, std::string s) {
  if (s.size() > c.max_bytes) {
    *c.exceeded = true;
    return c.Fail(fmt::format("result longer than {} bytes", c.max_bytes));
  }
  *c.result = Value::Own(std::move(s));
  return true;
}

bool SetBool(Call& c, bool b) {
  *c.result = Value::Bool(b);
  return true;
}

// The regex of a regex function: precompiled from a literal, else compiled for this call.
const RE2* RegexArg(Call& c, std::unique_ptr<RE2>* holder) {
  if (c.re != nullptr) return c.re;
  std::string_view expr;
  if (!c.Str(0, &expr)) return nullptr;
  *holder = CompileGoRegexp(expr);
  if (!(*holder)->ok()) {
    c.Fail("invalid regular expression: " + (*holder)->error());
    return nullptr;
  }
  return holder->get();
}

namespace {

// ---- Go's builtins -------------------------------------------------------------------------

bool FNot(Call& c) { return SetBool(c, !Truth(c.args[0])); }

// -1, 0, 1; false (error set) when the values cannot be ordered.
bool Order(Call& c, const Value& a, const Value& b, int* cmp) {
  if (a.kind != b.kind) return c.Fail("incompatible types for comparison");
  if (a.kind == Value::kString) {
    const int r = a.str().compare(b.str());
    *cmp = r < 0 ? -1 : r > 0;
    return true;
  }
  if (a.kind == Value::kInt) {
    *cmp = a.i < b.i ? -1 : a.i > b.i;
    return true;
  }
  if (a.kind == Value::kTime) {
    *cmp = a.i != b.i ? (a.i < b.i ? -1 : 1) : (a.nsec < b.nsec ? -1 : a.nsec > b.nsec);
    return true;
  }
  return c.Fail("invalid type for comparison");
}

// Go 1.18+ eq: a nil operand is unequal to anything but nil; other kinds must match.
bool Equal(Call& c, const Value& a, const Value& b, bool* eq) {
  if (a.kind == Value::kNil || b.kind == Value::kNil) {
    *eq = a.kind == b.kind;
    return true;
  }
  if (a.kind == Value::kBool && b.kind == Value::kBool) {
    *eq = a.b == b.b;
    return true;
  }
  int cmp = 0;
  if (!Order(c, a, b, &cmp)) return false;
  *eq = cmp == 0;
  return true;
}

bool FEq(Call& c) {
  for (size_t i = 1; i < c.args.size(); ++i) {
    bool eq = false;
    if (!Equal(c, c.args[0], c.args[i], &eq)) return false;
    if (eq) return SetBool(c, true);
  }
  return SetBool(c, false);
}

bool FNe(Call& c) {
  bool eq = false;
  return Equal(c, c.args[0], c.args[1], &eq) && SetBool(c, !eq);
}

template <int kWant1, int kWant2>
bool FOrder(Call& c) {
  int cmp = 0;
  if (c.args[0].kind == Value::kNil || c.args[1].kind == Value::kNil) {
    return c.Fail("invalid type for comparison");
  }
  return Order(c, c.args[0], c.args[1], &cmp) && SetBool(c, cmp == kWant1 || cmp == kWant2);
}

bool FLen(Call& c) {
  const Value& v = c.args[0];
  if (v.kind == Value::kList || v.kind == Value::kMap) {
    *c.result =
        Value::Int(static_cast<int64_t>(v.kind == Value::kList ? v.list->size() : v.map->size()));
    return true;
  }
  std::string_view s;
  if (!c.Str(0, &s)) return false;
  *c.result = Value::Int(static_cast<int64_t>(s.size()));
  return true;
}

// fmt.Sprint: a space between operands when neither is a string.
// The operands as Go's print joins them: a space between two that are not strings.
std::string PrintOperands(std::span<const Value> args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0 && args[i].kind != Value::kString && args[i - 1].kind != Value::kString) {
      out.push_back(' ');
    }
    AppendPrint(args[i], &out);
  }
  return out;
}

bool FPrint(Call& c) { return SetStr(c, PrintOperands(c.args)); }

bool FPrintf(Call& c) {
  std::string_view f;
  if (!c.Str(0, &f)) return false;
  std::string out;
  GoSprintf(f, c.args.subspan(1), &out, c.max_bytes);
  return SetStr(c, std::move(out));
}

// ---- Promtail's functions ------------------------------------------------------------------

bool FToLower(Call& c) {
  std::string_view s;
  return c.Str(0, &s) && SetStr(c, MapAscii(s, false));
}
bool FToUpper(Call& c) {
  std::string_view s;
  return c.Str(0, &s) && SetStr(c, MapAscii(s, true));
}
bool FReplace(Call& c) {  // Replace(s, old, new, n)
  std::string_view s, o, n;
  int64_t count = 0;
  return c.Str(0, &s) && c.Str(1, &o) && c.Str(2, &n) && c.Int(3, &count) &&
         SetStr(c, GoReplace(s, o, n, count, c.max_bytes));
}
template <bool kLeft, bool kRight>
bool FTrimCut(Call& c) {  // Trim/TrimLeft/TrimRight(s, cutset)
  std::string_view s, cut;
  return c.Str(0, &s) && c.Str(1, &cut) && SetStr(c, std::string(TrimCut(s, cut, kLeft, kRight)));
}
bool FTrimPrefix(Call& c) {
  std::string_view s, p;
  if (!c.Str(0, &s) || !c.Str(1, &p)) return false;
  if (s.starts_with(p)) s.remove_prefix(p.size());
  return SetStr(c, std::string(s));
}
bool FTrimSuffix(Call& c) {
  std::string_view s, p;
  if (!c.Str(0, &s) || !c.Str(1, &p)) return false;
  if (s.ends_with(p)) s.remove_suffix(p.size());
  return SetStr(c, std::string(s));
}
bool FTrimSpace(Call& c) {
  std::string_view s;
  return c.Str(0, &s) && SetStr(c, std::string(TrimSpaceAscii(s)));
}
bool FHash(Call& c) {  // SHA3-256 of salt + input, hex
  std::string_view a, b;
  return c.Str(0, &a) && c.Str(1, &b) && SetStr(c, HexDigest(EVP_sha3_256(), a, b));
}
bool FSha2Hash(Call& c) {
  std::string_view a, b;
  return c.Str(0, &a) && c.Str(1, &b) && SetStr(c, HexDigest(EVP_sha256(), a, b));
}

// sprig's hashes of one string, hex.
template <const EVP_MD* (*kMd)()>
bool FSum(Call& c) {
  std::string_view s;
  return c.Str(0, &s) && SetStr(c, HexDigest(kMd(), s, {}));
}
bool FB64Enc(Call& c) {  // sprig b64enc: standard base64, padded
  std::string_view s;
  if (!c.Str(0, &s)) return false;
  if (s.size() > c.max_bytes) return SetStr(c, std::string(s));  // refused as too long there
  std::string out(4 * ((s.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  return SetStr(c, std::move(out));
}
bool FB64Dec(Call& c) {  // sprig b64dec: the decoded bytes, or the decoder's error as the text
  std::string_view s;
  if (!c.Str(0, &s)) return false;
  std::string in;
  for (char ch : s) {
    if (ch != '\r' && ch != '\n') in.push_back(ch);  // Go's decoder skips line breaks
  }
  if (in.size() % 4 != 0) {
    return SetStr(c, fmt::format("illegal base64 data at input byte {}", in.size() / 4 * 4));
  }
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return SetStr(c, "illegal base64 data");
  size_t pad = 0;  // EVP_DecodeBlock counts the padding as zero bytes
  while (pad < 2 && pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return SetStr(c, std::move(out));
}
bool FPrintln(Call& c) {  // Go's println: operands always space-separated, then a newline
  std::string out;
  for (size_t i = 0; i < c.args.size(); ++i) {
    if (i > 0) out.push_back(' ');
    AppendPrint(c.args[i], &out);
  }
  out.push_back('\n');
  return SetStr(c, std::move(out));
}
bool FUrlQuery(Call& c) {  // Go's urlquery: url.QueryEscape of the operands as print joins them
  const std::string text = PrintOperands(c.args);
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char ch : text) {
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
      out.push_back(static_cast<char>(ch));
    } else if (ch == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHex[ch >> 4]);
      out.push_back(kHex[ch & 15]);
    }
  }
  return SetStr(c, std::move(out));
}

template <bool kExpand>
bool FRegexReplaceAll(Call& c) {  // (regex, s, repl)
  std::unique_ptr<RE2> holder;
  const RE2* re = RegexArg(c, &holder);
  std::string_view s, repl;
  if (re == nullptr || !c.Str(1, &s) || !c.Str(2, &repl)) return false;
  std::string out;
  GoReplaceAll(*re, s, repl, kExpand, &out, c.max_bytes);
  return SetStr(c, std::move(out));
}

// Go's builtins, Promtail's functions and sprig's aliases of them; the rest of sprig is in
// template_sprig.cc.
constexpr FuncDef kFuncs[] = {
    {"lower", 1, 1, FToLower},
    {"upper", 1, 1, FToUpper},
    {"trim", 1, 1, FTrimSpace},
    {"Hash", 2, 2, FHash},
    {"Replace", 4, 4, FReplace},
    {"Sha2Hash", 2, 2, FSha2Hash},
    {"ToLower", 1, 1, FToLower},
    {"ToUpper", 1, 1, FToUpper},
    {"Trim", 2, 2, FTrimCut<true, true>},
    {"TrimLeft", 2, 2, FTrimCut<true, false>},
    {"TrimPrefix", 2, 2, FTrimPrefix},
    {"TrimRight", 2, 2, FTrimCut<false, true>},
    {"TrimSpace", 1, 1, FTrimSpace},
    {"TrimSuffix", 2, 2, FTrimSuffix},
    {"and", 1, -1, nullptr},
    {"eq", 2, -1, FEq},
    {"ge", 2, 2, FOrder<1, 0>},
    {"gt", 2, 2, FOrder<1, 1>},
    {"le", 2, 2, FOrder<-1, 0>},
    {"len", 1, 1, FLen},
    {"lt", 2, 2, FOrder<-1, -1>},
    {"ne", 2, 2, FNe},
    {"not", 1, 1, FNot},
    {"or", 1, -1, nullptr},
    {"print", 0, -1, FPrint},
    {"printf", 1, -1, FPrintf},
    {"println", 0, -1, FPrintln},
    {"regexReplaceAll", 3, 3, FRegexReplaceAll<true>, true},
    {"regexReplaceAllLiteral", 3, 3, FRegexReplaceAll<false>, true},
    {"urlquery", 0, -1, FUrlQuery},
    // sprig's, which need OpenSSL as Hash does.
    {"b64dec", 1, 1, FB64Dec},
    {"b64enc", 1, 1, FB64Enc},
    {"sha1sum", 1, 1, FSum<EVP_sha1>},
    {"sha256sum", 1, 1, FSum<EVP_sha256>},
};

}  // namespace

const char* KindName(Value::Kind k) {
  switch (k) {
    case Value::kNil:
      return "nil";
    case Value::kString:
      return "string";
    case Value::kInt:
      return "int";
    case Value::kBool:
      return "bool";
    case Value::kTime:
      return "time.Time";
    case Value::kList:
      return "[]interface {}";
    case Value::kMap:
    case Value::kData:
      return "map[string]interface {}";
  }
  return "?";
}

bool Truth(const Value& v) {
  switch (v.kind) {
    case Value::kNil:
      return false;
    case Value::kString:
      return !v.str().empty();
    case Value::kInt:
      return v.i != 0;
    case Value::kBool:
      return v.b;
    case Value::kTime:
      return true;  // a struct
    case Value::kList:
      return !v.list->empty();
    case Value::kMap:
      return !v.map->empty();
    case Value::kData:
      return true;
  }
  return false;
}

void AppendPrint(const Value& v, std::string* out, size_t max) {
  switch (v.kind) {
    case Value::kNil:
      out->append("<no value>");
      return;
    case Value::kString:
      out->append(v.str());
      return;
    case Value::kInt:
      out->append(std::to_string(v.i));
      return;
    case Value::kBool:
      out->append(v.b ? "true" : "false");
      return;
    case Value::kTime: {  // Go's Time.String() in UTC
      int64_t y = 0;
      int m = 0, d = 0;
      const int64_t days = v.i / 86400 - (v.i % 86400 < 0);
      const int64_t secs = v.i - days * 86400;
      CivilFromDays(days, &y, &m, &d);
      *out += fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}", y, m, d, secs / 3600,
                          secs / 60 % 60, secs % 60);
      if (v.nsec != 0) {
        std::string frac = fmt::format("{:09}", v.nsec);
        while (frac.back() == '0') frac.pop_back();
        *out += "." + frac;
      }
      out->append(" +0000 UTC");
      return;
    }
    case Value::kList:  // fmt's %v: [a b c]
      out->push_back('[');
      for (size_t k = 0; k < v.list->size() && out->size() <= max; ++k) {
        if (k > 0) out->push_back(' ');
        AppendPrint((*v.list)[k], out, max);
      }
      out->push_back(']');
      return;
    case Value::kMap:  // map[k:v k2:v2], keys sorted as fmt sorts them
      out->append("map[");
      for (size_t k = 0; k < v.map->size() && out->size() <= max; ++k) {
        if (k > 0) out->push_back(' ');
        out->append((*v.map)[k].first);
        out->push_back(':');
        AppendPrint((*v.map)[k].second, out, max);
      }
      out->push_back(']');
      return;
    case Value::kData:
      out->append("map[...]");
      return;
  }
}

bool Call::Str(size_t i, std::string_view* out) {
  const Value& v = args[i];
  if (v.kind == Value::kString) {
    *out = v.str();
    return true;
  }
  if (v.kind == Value::kNil) return Fail("invalid value; expected string");
  return Fail(std::string("wrong type for value; expected string; got ") + KindName(v.kind));
}

bool Call::Int(size_t i, int64_t* out) {
  const Value& v = args[i];
  if (v.kind == Value::kInt) {
    *out = v.i;
    return true;
  }
  if (v.kind == Value::kNil) return Fail("invalid value; expected int");
  return Fail(std::string("wrong type for value; expected int; got ") + KindName(v.kind));
}

const FuncDef* FindFunc(std::string_view name) {
  for (const FuncDef& f : kFuncs) {
    if (f.name == name) return &f;
  }
  for (const FuncDef& f : SprigFuncs()) {
    if (f.name == name) return &f;
  }
  for (const FuncDef& f : CollectionFuncs()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace skidder::lang::go::tmpl
