// Keeping credentials out of what the agent prints: its own log lines, error messages and
// -print-config-stderr. Two kinds of place hide secrets: URLs (userinfo, and query strings such
// as ?token=... or ?api_key=...), and text a server sends back (a Loki or proxy that echoes the
// request in its error body shows the Authorization and API-key headers it received).
//
// Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace skidder {

// The URL with the value of every query parameter replaced by mask ("?token=<mask>&a=<mask>"; a
// parameter without '=' is masked whole). The fragment and everything else are kept.
std::string MaskUrlQuery(std::string_view url, std::string_view mask);

// The URL with its userinfo ("user:password@") replaced by mask and its query values masked as
// MaskUrlQuery does. The userinfo is what comes before the last '@' ahead of the path, so a
// password holding an unencoded '#' or '?' (an invalid URL, and a common mistake) is masked
// whole rather than taken for a fragment or a query.
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
