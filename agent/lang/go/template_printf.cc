// printf for templates: Go's fmt.Sprintf over the values a template has (strings, integers,
// booleans, nil, times, lists and maps; no floats: the engine has no float values).
//
// Flags (# 0 + - space), width and precision (digits or *, at most about 1e6 as in Go), the verbs
// Go gives these types: v s q x X for strings; v d b o O x X c q U for integers; v t for
// booleans; v s for the rest. Anything else prints as Go prints it: %!d(string=abc),
// %!s(MISSING), %!(EXTRA int=1), %!(BADWIDTH), %!(NOVERB).
#include <fmt/format.h>

#include <algorithm>
#include <span>
#include <string>
#include <string_view>

#include "lang/go/go_quote.h"
#include "lang/go/template_internal.h"
#include "util/unescape.h"

namespace skidder::lang::go::tmpl {
namespace {

constexpr int kMaxNum = 1'000'000;  // Go's fmt: a larger width or precision is refused

struct Spec {
  bool sharp = false, zero = false, plus = false, minus = false, space = false;
  int width = -1;  // -1: none
  int prec = -1;   // -1: none
  char32_t verb = 0;
};

size_t RuneCount(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The first n runes of s.
std::string_view RunePrefix(std::string_view s, size_t n) {
  size_t i = 0;
  for (size_t runes = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && runes++ == n) break;
  }
  return s.substr(0, i);
}

// Go's utf8.AppendRune: an invalid code point (a surrogate, or past U+10FFFF) becomes U+FFFD.
void AppendRune(char32_t r, std::string* out) {
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = 0xFFFD;
  AppendUtf8(out, r);
}

// Pads s with spaces to the width in runes: on the left, or on the right with '-'. ('0' pads only
// numbers, which FormatInt does itself; Go ignores it for strings since 1.23.)
void AppendPadded(const Spec& sp, std::string_view s, std::string* out) {
  const size_t n = RuneCount(s);
  const size_t pad = sp.width > 0 && static_cast<size_t>(sp.width) > n ? sp.width - n : 0;
  if (sp.minus) {
    out->append(s).append(pad, ' ');
  } else {
    out->append(pad, ' ').append(s);
  }
}

// %!v(type=value), as Go prints a verb the operand's type does not take.
void AppendBadVerb(const Spec& sp, const Value& v, std::string* out) {
  out->append("%!");
  AppendRune(sp.verb, out);
  out->push_back('(');
  if (v.kind == Value::kNil) {
    out->append("<nil>");
  } else {
    out->append(KindName(v.kind)).push_back('=');
    AppendPrint(v, out);
  }
  out->push_back(')');
}

void FormatInt(const Spec& sp, int64_t v, std::string* out) {
  const bool negative = v < 0;
  const uint64_t mag = negative ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  std::string digits, prefix;
  switch (sp.verb) {
    case 'v':
    case 'd':
      digits = fmt::format("{}", mag);
      break;
    case 'b':
      digits = fmt::format("{:b}", mag);
      if (sp.sharp) prefix = "0b";
      break;
    case 'o':
    case 'O':
      digits = fmt::format("{:o}", mag);
      if (sp.verb == 'O') prefix = "0o";
      break;
    case 'x':
      digits = fmt::format("{:x}", mag);
      if (sp.sharp) prefix = "0x";
      break;
    case 'X':
      digits = fmt::format("{:X}", mag);
      if (sp.sharp) prefix = "0X";
      break;
    default:
      break;
  }
  if (sp.prec >= 0) {
    if (sp.prec == 0 && mag == 0) digits.clear();  // Go: precision 0 prints nothing for 0
    if (digits.size() < static_cast<size_t>(sp.prec))
      digits.insert(0, sp.prec - digits.size(), '0');
  }
  if ((sp.verb == 'o') && sp.sharp && (digits.empty() || digits[0] != '0')) digits.insert(0, "0");
  std::string sign = negative ? "-" : sp.plus ? "+" : sp.space ? " " : "";
  std::string body = sign + prefix;
  // Zero padding goes after the sign and prefix, and only without a precision (as in Go).
  if (sp.zero && !sp.minus && sp.prec < 0 && sp.width > 0) {
    const size_t have = body.size() + digits.size();
    if (have < static_cast<size_t>(sp.width)) digits.insert(0, sp.width - have, '0');
  }
  body += digits;
  AppendPadded(sp, body, out);
}

void FormatValue(const Spec& sp, const Value& v, std::string* out) {
  std::string s;
  switch (v.kind) {
    case Value::kString: {
      const std::string_view str =
          sp.prec >= 0 ? RunePrefix(v.str(), static_cast<size_t>(sp.prec)) : v.str();
      if (sp.verb == 'v' || sp.verb == 's') {
        s.assign(str);
      } else if (sp.verb == 'q') {
        if (sp.sharp && str.find_first_of("`\r\n") == std::string_view::npos) {
          s.append("`").append(str).append("`");
        } else {
          AppendGoQuoted(str, '"', &s);
        }
      } else if (sp.verb == 'x' || sp.verb == 'X') {
        const char* digits = sp.verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        const std::string_view bytes = sp.prec >= 0 ? v.str().substr(0, sp.prec) : v.str();
        for (size_t i = 0; i < bytes.size(); ++i) {
          if (sp.space && i > 0) s.push_back(' ');
          if (sp.sharp && (sp.space || i == 0)) s.append(sp.verb == 'x' ? "0x" : "0X");
          const auto b = static_cast<unsigned char>(bytes[i]);
          s.push_back(digits[b >> 4]);
          s.push_back(digits[b & 15]);
        }
      } else {
        return AppendBadVerb(sp, v, out);
      }
      return AppendPadded(sp, s, out);
    }
    case Value::kInt:
      if (sp.verb == 'c' || sp.verb == 'q' || sp.verb == 'U') {
        const auto r = static_cast<char32_t>(v.i);
        if (sp.verb == 'c') {
          AppendRune(r, &s);
        } else if (sp.verb == 'q') {
          std::string one;
          AppendRune(r, &one);
          AppendGoQuoted(one, '\'', &s);
        } else {
          s = fmt::format("U+{:04X}", static_cast<uint64_t>(v.i));
          if (sp.sharp) {
            s.append(" '");
            AppendRune(r, &s);
            s.push_back('\'');
          }
        }
        return AppendPadded(sp, s, out);
      }
      if (std::string_view("vdboOxX").find(static_cast<char>(sp.verb)) == std::string_view::npos) {
        return AppendBadVerb(sp, v, out);
      }
      return FormatInt(sp, v.i, out);
    case Value::kBool:
      if (sp.verb != 'v' && sp.verb != 't') return AppendBadVerb(sp, v, out);
      return AppendPadded(sp, v.b ? "true" : "false", out);
    case Value::kNil:
      if (sp.verb != 'v') return AppendBadVerb(sp, v, out);
      return AppendPadded(sp, "<nil>", out);
    default:  // times, lists, maps, the data: %v and %s print them as Go's %v
      if (sp.verb != 'v' && sp.verb != 's') return AppendBadVerb(sp, v, out);
      AppendPrint(v, &s);
      return AppendPadded(sp, s, out);
  }
}

// Digits at f[*i] (advancing past them) into *n, -1 when there are none; false when the number
// is larger than Go takes (Go then gives up on the rest of the format: %!(NOVERB)).
bool ParseNum(std::string_view f, size_t* i, int* n) {
  *n = -1;
  for (; *i < f.size() && f[*i] >= '0' && f[*i] <= '9'; ++*i) {
    if (*n > kMaxNum) return false;  // checked before each digit, as Go's parsenum does
    *n = std::max(*n, 0) * 10 + (f[*i] - '0');
  }
  return true;
}

// A width or precision given as '*': the next operand, which must be an int (Go's intFromArg).
bool NumFromArg(std::span<const Value> args, size_t* next, int* n) {
  if (*next >= args.size() || args[*next].kind != Value::kInt) {
    ++*next;
    return false;
  }
  const int64_t v = args[(*next)++].i;
  if (v > kMaxNum || v < -kMaxNum) return false;
  *n = static_cast<int>(v);
  return true;
}

// The rune at f[*i] (advancing past it).
char32_t NextRune(std::string_view f, size_t* i) {
  const auto c = static_cast<unsigned char>(f[(*i)++]);
  if (c < 0x80) return c;
  const int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
  char32_t r = c & (0x3F >> extra);
  for (int k = 0; k < extra && *i < f.size(); ++k) r = (r << 6) | (f[(*i)++] & 0x3F);
  return extra == 0 ? 0xFFFD : r;
}

}  // namespace

void GoSprintf(std::string_view f, std::span<const Value> args, std::string* out, size_t max) {
  size_t next = 0;
  for (size_t i = 0; i < f.size() && out->size() <= max;) {
    if (f[i] != '%') {
      const size_t pct = std::min(f.find('%', i), f.size());
      out->append(f.substr(i, pct - i));
      i = pct;
      continue;
    }
    ++i;
    Spec sp;
    for (; i < f.size(); ++i) {
      bool* flag = f[i] == '#'   ? &sp.sharp
                   : f[i] == '0' ? &sp.zero
                   : f[i] == '+' ? &sp.plus
                   : f[i] == '-' ? &sp.minus
                   : f[i] == ' ' ? &sp.space
                                 : nullptr;
      if (flag == nullptr) break;
      *flag = true;
    }
    bool bad_width = false, bad_prec = false;
    auto parse_num = [&](int* n) {
      if (!ParseNum(f, &i, n)) i = f.size();
    };
    if (i < f.size() && f[i] == '*') {
      ++i;
      bad_width = !NumFromArg(args, &next, &sp.width);
      if (!bad_width && sp.width < 0) {  // Go: a negative * width means '-'
        sp.minus = true;
        sp.width = -sp.width;
      }
    } else {
      parse_num(&sp.width);
    }
    if (i < f.size() && f[i] == '.') {
      ++i;
      if (i < f.size() && f[i] == '*') {
        ++i;
        bad_prec = !NumFromArg(args, &next, &sp.prec);
        if (!bad_prec && sp.prec < 0) sp.prec = -1;  // Go: a negative * precision means none
      } else {
        parse_num(&sp.prec);
        sp.prec = std::max(sp.prec, 0);  // "%.s": precision 0
      }
    }
    if (sp.minus) sp.zero = false;  // Go: '-' overrides '0'
    if (bad_width) out->append("%!(BADWIDTH)");
    if (bad_prec) out->append("%!(BADPREC)");
    if (i >= f.size()) {
      out->append("%!(NOVERB)");
      break;
    }
    sp.verb = NextRune(f, &i);
    if (sp.verb == '%') {
      out->push_back('%');
      continue;
    }
    if (next >= args.size()) {
      out->append("%!");
      AppendRune(sp.verb, out);
      out->append("(MISSING)");
      continue;
    }
    FormatValue(sp, args[next++], out);
  }
  if (next < args.size() && out->size() <= max) {
    out->append("%!(EXTRA ");
    for (size_t k = next; k < args.size(); ++k) {
      if (k > next) out->append(", ");
      if (args[k].kind == Value::kNil) {
        out->append("<nil>");
        continue;
      }
      out->append(KindName(args[k].kind)).push_back('=');
      AppendPrint(args[k], out);
    }
    out->push_back(')');
  }
}

}  // namespace skidder::lang::go::tmpl
