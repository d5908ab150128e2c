#include "util/redact.h"

#include <array>
#include <cctype>

namespace skidder {
namespace {

// Parts of a name that mark its value as a credential (lower case).
constexpr std::array<std::string_view, 9> kSecretNames = {
    "auth", "token", "key", "password", "passwd", "secret", "cookie", "session", "credential"};

bool NameChar(unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '_'; }

bool EqualsLower(std::string_view text, size_t at, std::string_view lower) {
  if (at + lower.size() > text.size()) return false;
  for (size_t i = 0; i < lower.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[at + i])) != lower[i]) return false;
  }
  return true;
}

// Where a secret value ends: quotes, separators of query strings, JSON and header lists, space.
bool ValueEnd(unsigned char c) {
  return c == '"' || c == '\'' || c == '&' || c == ',' || c == ';' || c == '}' || c == '\r' ||
         c == '\n' || c == ' ' || c == '\t' || c == '<' || c == '>';
}

// Index just past the name-value separator after a name ending at `end` ('"' and spaces around
// ':' or '='), or npos when no separator follows.
size_t AfterSeparator(std::string_view t, size_t end) {
  size_t i = end;
  while (i < t.size() && (t[i] == '"' || t[i] == '\'' || t[i] == ' ')) ++i;
  if (i >= t.size() || (t[i] != ':' && t[i] != '=')) return std::string_view::npos;
  ++i;
  while (i < t.size() && (t[i] == ' ' || t[i] == '"' || t[i] == '\'')) ++i;
  return i;
}

// Skips an authentication scheme word ("Bearer ", "Basic ") at i.
size_t SkipScheme(std::string_view t, size_t i) {
  for (std::string_view scheme : {"bearer ", "basic ", "token "}) {
    if (EqualsLower(t, i, scheme)) return i + scheme.size();
  }
  return i;
}

// Appends mask for the value starting at i; returns where the value ends.
size_t MaskValue(std::string_view t, size_t i, std::string_view mask, std::string* out) {
  size_t end = i;
  while (end < t.size() && !ValueEnd(static_cast<unsigned char>(t[end]))) ++end;
  if (end > i) out->append(mask);
  return end;
}

// If a secret name ends at name_end (its start at name_start), the index of the value; else npos.
size_t SecretValueAt(std::string_view t, size_t name_start, size_t name_end) {
  if (!IsSensitiveName(t.substr(name_start, name_end - name_start))) {
    return std::string_view::npos;
  }
  size_t v = AfterSeparator(t, name_end);
  return v == std::string_view::npos ? v : SkipScheme(t, v);
}

}  // namespace

bool IsSensitiveName(std::string_view name) {
  for (std::string_view word : kSecretNames) {
    for (size_t j = 0; j + word.size() <= name.size(); ++j) {
      if (EqualsLower(name, j, word)) return true;
    }
  }
  return false;
}

std::string MaskUrlQuery(std::string_view url, std::string_view mask) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return std::string(url);
  size_t frag = url.find('#', q);
  std::string_view query = url.substr(q + 1, frag == std::string_view::npos ? frag : frag - q - 1);
  std::string out(url.substr(0, q + 1));
  for (size_t start = 0; start <= query.size();) {
    size_t amp = query.find('&', start);
    std::string_view param = query.substr(start, amp == std::string_view::npos ? amp : amp - start);
    size_t eq = param.find('=');
    if (param.empty()) {
      // keep "a&&b" as it was
    } else if (eq == std::string_view::npos) {
      out.append(mask);
    } else {
      out.append(param.substr(0, eq + 1)).append(mask);
    }
    if (amp == std::string_view::npos) break;
    out.push_back('&');
    start = amp + 1;
  }
  if (frag != std::string_view::npos) out.append(url.substr(frag));
  return out;
}

std::pair<size_t, size_t> UrlUserInfoRange(std::string_view url) {
  constexpr auto kNone = std::pair{std::string_view::npos, std::string_view::npos};
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return kNone;
  const size_t start = scheme + 3;
  const size_t at = url.substr(0, url.find('/', start)).rfind('@');
  if (at == std::string_view::npos || at < start) return kNone;
  return {start, at};
}

std::string MaskUrlCredentials(std::string_view url, std::string_view mask) {
  const auto [start, at] = UrlUserInfoRange(url);
  if (at == std::string_view::npos) return MaskUrlQuery(url, mask);
  std::string out(url.substr(0, start));
  out.append(mask);
  out.append(MaskUrlQuery(url.substr(at), mask));
  return out;
}

std::string MaskQuoted(std::string_view text, std::string_view mask) {
  std::string out;
  bool inside = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (!inside) {
      out += c;
      if (c == '"') {
        out.append(mask);
        inside = true;
      }
    } else if (c == '\\') {
      ++i;  // an escaped character (a quote too) stays inside
    } else if (c == '"') {
      out += c;
      inside = false;
    }
  }
  return out;
}

std::string RedactSecrets(std::string_view t, std::string_view mask) {
  std::string out;
  out.reserve(t.size());
  size_t i = 0;
  while (i < t.size()) {
    const auto c = static_cast<unsigned char>(t[i]);
    if (!NameChar(c)) {
      out.push_back(t[i++]);
      continue;
    }
    size_t end = i;
    while (end < t.size() && NameChar(static_cast<unsigned char>(t[end]))) ++end;
    size_t value = SecretValueAt(t, i, end);
    // A credential without its header name; the scheme's usual spelling, so prose ("basic
    // auth failed") stays readable.
    std::string_view word = t.substr(i, end - i);
    if (value == std::string_view::npos && (word == "Bearer" || word == "Basic") &&
        end < t.size() && t[end] == ' ') {
      value = end + 1;
    }
    if (value == std::string_view::npos) {
      out.append(t.substr(i, end - i));
      i = end;
      continue;
    }
    out.append(t.substr(i, value - i));
    i = MaskValue(t, value, mask, &out);
  }
  return out;
}

}  // namespace skidder
