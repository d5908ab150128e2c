// Helpers shared by the section readers: unsupported keys, labels, sizes, URLs, durations.
#include <fmt/format.h>

#include <cctype>
#include <charconv>
#include <limits>

#include "config/sections.h"

namespace skidder::config::internal {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "1.5" for (1500, 1000): the fraction with trailing zeros trimmed, as Go prints durations.
std::string Fraction(uint64_t v, uint64_t unit) {
  std::string out = std::to_string(v / unit);
  uint64_t rem = v % unit;
  if (rem == 0) return out;
  int digits = 0;
  for (uint64_t u = unit; u > 1; u /= 10) ++digits;
  std::string frac = fmt::format("{:0{}}", rem, digits);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return out + "." + frac;
}

}  // namespace

void RefuseUnsupported(MapReader& r, std::initializer_list<std::string_view> keys) {
  for (std::string_view key : keys) {
    if (!r.Has(key)) continue;
    r.Node(key);
    r.Fail(key, fmt::format("{} is not supported by skidder yet", Quote(key)));
  }
}

void AcceptIgnored(MapReader& r, std::initializer_list<std::string_view> keys,
                   std::vector<std::string>* ignored) {
  for (std::string_view key : keys) {
    if (!r.Has(key)) continue;
    r.Node(key);
    ignored->push_back(r.Sub(key));
  }
}

Status ReadLabels(MapReader& r, std::string_view key, Labels* out) {
  YAML::Node node = r.Node(key);
  std::map<std::string, std::string> values;
  r.StrMap(key, &values);
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (it->first.IsScalar() && !IsValidLabelName(it->first.Scalar())) {
        return ErrorAt(r.file(), it->first, r.Sub(key),
                       fmt::format("invalid label name {}: use letters, digits and _",
                                   Quote(it->first.Scalar())));
      }
    }
  }
  for (const auto& [name, value] : values) out->Set(name, value);
  return Status::Ok();
}

std::string FormatDuration(Duration d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? -static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  constexpr uint64_t kSecond = 1000000000, kMinute = 60 * kSecond, kHour = 60 * kMinute;
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + Fraction(u, 1000) + "us";
  if (u < kSecond) return sign + Fraction(u, 1000000) + "ms";
  std::string out = sign;
  uint64_t hours = u / kHour, minutes = (u % kHour) / kMinute;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  return out + Fraction(u % kMinute, kSecond) + "s";
}

std::string CheckHttpUrl(std::string_view url) {
  std::string lower = Lower(url.substr(0, 8));
  size_t scheme_len = lower.starts_with("http://") ? 7 : lower.starts_with("https://") ? 8 : 0;
  if (scheme_len == 0) return "must start with http:// or https://";
  std::string_view rest = url.substr(scheme_len);
  std::string_view authority = rest.substr(0, rest.find_first_of("/?#"));
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  std::string_view host = authority, port;
  if (authority.starts_with("[")) {  // [::1]:3100
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return "has an unterminated [IPv6] host";
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return "has garbage after the [IPv6] host";
    if (!after.empty()) port = after.substr(1);
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return "has no host";
  if (host.find_first_of(" \t") != std::string_view::npos) return "has a space in the host";
  if (authority.find(':') != std::string_view::npos && !authority.ends_with("]")) {
    int p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p < 1 ||
        p > 65535) {
      // Quoted only when it is digits: what follows a ':' may be a password whose unencoded
      // '#', '?' or '/' ended the host part early, and a password is never printed.
      if (port.find_first_not_of("0123456789") == std::string_view::npos) {
        return fmt::format("has an invalid port {}", Quote(port));
      }
      return "has an invalid port (not a number from 1 to 65535; a '#', '?' or '/' in a password "
             "must be percent-encoded)";
    }
  }
  return "";
}

std::string ListenAddressProblem(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos || address.ends_with(']')) {
    return "has no port (host:port, e.g. \"0.0.0.0:1514\")";
  }
  const std::string_view host = address.substr(0, colon);
  const std::string_view port = address.substr(colon + 1);
  const bool bracketed = host.starts_with('[') && host.ends_with(']');
  if (!bracketed && host.find_first_of(":[]") != std::string_view::npos) {
    return "has an IPv6 host without brackets (write \"[::1]:514\")";
  }
  if (port.empty()) return "";  // Go's "host:" is port 0: any free port
  int p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p < 0 || p > 65535) {
    // Go also looks up service names (":syslog"); the listeners take numbers only.
    return fmt::format("has an invalid port {} (a number from 0 to 65535)", Quote(port));
  }
  return "";
}

bool ValidHeaderField(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (unsigned char ch : name) {
    if (ch <= 32 || ch >= 127 ||
        std::string_view("\"(),/:;<=>?@[\\]{}").find(static_cast<char>(ch)) !=
            std::string_view::npos) {
      return false;
    }
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

}  // namespace skidder::config::internal
