// The URL, header and TLS-version helpers of http_client.h: pure functions, any thread.
#include <curl/curl.h>

#include <algorithm>
#include <vector>

#include "io/http_client.h"
#include "util/redact.h"

namespace skidder::io {
namespace {

// "user:password" of a URL, or "" when it has none.
std::string_view UserInfo(std::string_view url) {
  auto [start, at] = UrlUserInfoRange(url);
  if (at == std::string_view::npos) return {};
  return url.substr(start, at - start);
}

void ReplaceAll(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

// Values of a URL's query string ("?token=abc&x" -> "abc", "x").
std::vector<std::string_view> QueryValues(std::string_view url) {
  std::vector<std::string_view> out;
  size_t q = url.find('?');
  if (q == std::string_view::npos) return out;
  std::string_view query = url.substr(q + 1);
  query = query.substr(0, query.find('#'));
  while (!query.empty()) {
    std::string_view param = query.substr(0, query.find('&'));
    query.remove_prefix(std::min(query.size(), param.size() + 1));
    size_t eq = param.find('=');
    std::string_view value = eq == std::string_view::npos ? param : param.substr(eq + 1);
    if (value.size() >= 4) out.push_back(value);  // shorter ones would mangle the message
  }
  return out;
}

bool IsTokenChar(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

}  // namespace

std::string ScrubUrlSecrets(std::string msg, std::string_view url, std::string_view proxy_url) {
  for (std::string_view u : {url, proxy_url}) {
    if (u.empty()) continue;
    ReplaceAll(msg, u, RedactUrl(u));
    for (std::string_view value : QueryValues(u)) ReplaceAll(msg, value, "<redacted>");
    std::string_view info = UserInfo(u);
    if (info.empty()) continue;
    ReplaceAll(msg, info, "<redacted>");
    size_t colon = info.find(':');
    if (colon != std::string_view::npos && colon + 1 < info.size()) {
      ReplaceAll(msg, info.substr(colon + 1), "<redacted>");
    }
  }
  return msg;
}

std::string RedactUrl(std::string_view url) {
  auto [start, at] = UrlUserInfoRange(url);
  if (at == std::string_view::npos) return MaskUrlQuery(url, "<redacted>");
  std::string out(url.substr(0, start));
  out.append(url.substr(at + 1));
  return MaskUrlQuery(out, "<redacted>");
}

std::string UrlHost(std::string_view url) {
  // A strict reading (the authority ends at the first '/', '?' or '#'), unlike the redactors':
  // this names the host of a valid URL, where an '@' in a query is not userinfo.
  size_t start = url.find("://");
  start = start == std::string_view::npos ? 0 : start + 3;
  std::string_view authority = url.substr(start, url.find_first_of("/?#", start) - start);
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) authority.remove_prefix(at + 1);
  return std::string(authority);
}

bool ValidHeader(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!IsTokenChar(c)) return false;
  }
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

long CurlSslVersion(std::string_view min_version, std::string_view max_version) {
  long min = min_version == "TLS10"   ? CURL_SSLVERSION_TLSv1_0
             : min_version == "TLS11" ? CURL_SSLVERSION_TLSv1_1
             : min_version == "TLS12" ? CURL_SSLVERSION_TLSv1_2
             : min_version == "TLS13" ? CURL_SSLVERSION_TLSv1_3
                                      : CURL_SSLVERSION_TLSv1;  // "any TLS": max alone
  long max = max_version == "TLS10"   ? CURL_SSLVERSION_MAX_TLSv1_0
             : max_version == "TLS11" ? CURL_SSLVERSION_MAX_TLSv1_1
             : max_version == "TLS12" ? CURL_SSLVERSION_MAX_TLSv1_2
             : max_version == "TLS13" ? CURL_SSLVERSION_MAX_TLSv1_3
                                      : CURL_SSLVERSION_MAX_DEFAULT;
  if (min_version.empty() && max_version.empty()) return 0;
  return min | max;
}

bool ServerNameApplies(std::string_view url, std::string_view server_name) {
  if (server_name.empty()) return true;
  std::string host = UrlHost(url);
  std::string_view h = host;
  if (h.starts_with('[')) {  // [ipv6]:port
    size_t close = h.find(']');
    h = h.substr(1, close == std::string_view::npos ? h.npos : close - 1);
  } else if (size_t colon = h.rfind(':'); colon != std::string_view::npos) {
    h = h.substr(0, colon);
  }
  return h == server_name;
}

}  // namespace skidder::io
