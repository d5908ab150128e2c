// Keeping credentials out of what the agent prints: its own log lines, error messages and
// -print-config-stderr. Two kinds of place hide secrets: URLs (userinfo, and query strings such
// as ?token=... or ?api_key=...), and text a server sends back (a Loki or proxy that echoes the
// request in its error body shows the Authorization and API-key headers it received).
//
// Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace skidder {

// The URL with the value of every query parameter replaced by mask ("?token=<mask>&a=<mask>"; a
// parameter without '=' is masked whole). The fragment and everything else are kept.
std::string MaskUrlQuery(std::string_view url, std::string_view mask);

// Where a URL's userinfo ("user:password") lies, as [first, second) with second at its '@';
// {npos, npos} when it has none (or no "scheme://"). The userinfo is what comes before the last
// '@' ahead of the path, so a password holding an unencoded '#' or '?' (an invalid URL, and a
// common mistake) is found whole rather than taken for a fragment or a query. Every redactor of
// URLs uses this one rule.
std::pair<size_t, size_t> UrlUserInfoRange(std::string_view url);

// The URL with its userinfo ("user:password@") replaced by mask and its query values masked as
// MaskUrlQuery does (userinfo as UrlUserInfoRange finds it).
std::string MaskUrlCredentials(std::string_view url, std::string_view mask);

// text with the contents of every "double-quoted" string replaced by mask: for excerpts of
// config source shown in errors, on lines that name a credential.
std::string MaskQuoted(std::string_view text, std::string_view mask);

// True when a header or key name looks like it carries a credential (Authorization, X-Api-Key,
// X-Auth-Token, Cookie, password, secret, session, credentials, ...). Case-insensitive.
bool IsSensitiveName(std::string_view name);

// text with credential-looking values replaced by mask: the value after a name containing
// authorization, token, api-key/api_key/apikey, password, passwd, secret, cookie or session
// followed by ':' or '=' (header lines, JSON members, query strings, logfmt), and the credentials
// after "Bearer " or "Basic ". Names and structure stay readable.
std::string RedactSecrets(std::string_view text, std::string_view mask = "<redacted>");

}  // namespace skidder
