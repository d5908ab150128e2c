// Kubernetes object names (DNS-1123), checked before a name goes into an API request path:
// "." or ".." would name another resource. Shared by discovery's namespaces and the Alloy
// loader's remote.kubernetes.secret, which cannot depend on one another.
#pragma once

#include <string_view>

namespace skidder {

// A DNS-1123 label: [a-z0-9-], alphanumeric at both ends, at most 63 bytes (namespaces).
bool IsDnsLabel(std::string_view s);
// A DNS-1123 subdomain: labels joined by dots, at most 253 bytes (Secrets and most objects).
bool IsDnsSubdomain(std::string_view s);

}  // namespace skidder
