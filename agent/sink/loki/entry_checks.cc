#include "sink/loki/entry_checks.h"

#include <fmt/format.h>

#include <cstdint>

#include "formats/utf8.h"

namespace skidder::sink {
namespace {

constexpr size_t kMaxTenantLength = 150;  // dskit tenant.tenantIDMaxLength
constexpr size_t kHashSuffix = 9;         // "~" + 8 hex digits

bool TenantChar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!-_.*'()").find(static_cast<char>(c)) != std::string_view::npos;
}

// FNV-1a, 64 bits folded to 32: stable across builds and versions, so a shortened value names the
// same stream after an upgrade.
uint32_t StableHash(std::string_view s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<uint32_t>(h ^ (h >> 32));
}

}  // namespace

bool ValidTenantId(std::string_view tenant) {
  if (tenant.empty() || tenant.size() > kMaxTenantLength) return false;
  if (tenant == "." || tenant == "..") return false;
  for (unsigned char c : tenant) {
    if (!TenantChar(c)) return false;
  }
  return true;
}

bool ShortenLabelValue(std::string* value, size_t max_bytes) {
  if (value->size() <= max_bytes) return false;
  if (max_bytes <= kHashSuffix) {
    formats::TruncateUtf8(*value, max_bytes);
    return true;
  }
  const uint32_t hash = StableHash(*value);
  formats::TruncateUtf8(*value, max_bytes - kHashSuffix);
  value->append(fmt::format("~{:08x}", hash));
  return true;
}

}  // namespace skidder::sink
