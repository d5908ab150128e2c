// MmdbWriter: builds small MaxMind DB (.mmdb) files for tests, so the geoip stage is tested
// against a database the test writes itself (no downloaded GeoLite files).
//
// Supports what the tests need: a 24-bit-record search tree, IPv4-only trees or IPv6 trees
// holding IPv4 networks under ::/96, and data values of type string, double, uint16, uint32,
// uint64, map and array. Follows the MaxMind DB File Format Specification 2.0: search tree,
// 16 zero bytes, data section, then "\xAB\xCD\xEFMaxMind.com" and the metadata map.
// Not thread-safe; a value type used by one test.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace skidder::testing {

struct MmdbValue {
  enum class Kind { kString, kDouble, kUint16, kUint32, kUint64, kMap, kArray };
  Kind kind = Kind::kString;
  std::string str;
  double dbl = 0;
  uint64_t uint = 0;
  std::vector<std::pair<std::string, MmdbValue>> map;
  std::vector<MmdbValue> array;

  static MmdbValue String(std::string s);
  static MmdbValue Double(double d);
  static MmdbValue Uint16(uint16_t v);
  static MmdbValue Uint32(uint32_t v);
  static MmdbValue Uint64(uint64_t v);
  static MmdbValue Map(std::vector<std::pair<std::string, MmdbValue>> entries);
  static MmdbValue Array(std::vector<MmdbValue> items);
};

class MmdbWriter {
 public:
  // ip_version 4 or 6; database_type as in GeoLite2 ("GeoLite2-City", "GeoLite2-ASN").
  MmdbWriter(std::string database_type, int ip_version);

  // "34.120.0.0/16" (or "2001:db8::/32" in an IPv6 tree). Networks must not overlap.
  // False when the network does not parse or does not fit the tree.
  bool Insert(std::string_view cidr, MmdbValue value);

  std::string Build() const;
  bool WriteFile(const std::string& path) const;

 private:
  struct Record {
    enum class Kind { kEmpty, kNode, kData } kind = Kind::kEmpty;
    size_t index = 0;
  };
  struct Node {
    Record child[2];
  };

  std::string database_type_;
  int ip_version_;
  std::vector<Node> nodes_{1};  // nodes_[0] is the root
  std::vector<MmdbValue> values_;
};

}  // namespace skidder::testing
