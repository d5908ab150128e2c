// Entry checks a Loki client applies before batching, to values a pod may control: the tenant an
// entry names (X-Scope-OrgID) and label values longer than Loki accepts.
//
// Pure functions, any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace skidder::sink {

// Loki's rule for a tenant ID (dskit tenant.ValidTenantID): 1 to 150 bytes of [A-Za-z0-9] and
// !-_.*'() , and not "." or "..". Anything else is refused, never edited into another tenant.
bool ValidTenantId(std::string_view tenant);

// Shortens *value to at most max_bytes without losing what tells values apart: the first bytes up
// to a UTF-8 boundary, then "~" and 8 hex digits of a hash of the whole value, so two long values
// with the same beginning stay two streams. With max_bytes below 10 there is no room for the
// hash and the value is only cut. False when the value already fits (nothing changed).
bool ShortenLabelValue(std::string* value, size_t max_bytes);

}  // namespace skidder::sink
