#include "support/mmdb_writer.h"

#include <arpa/inet.h>

#include <bit>
#include <charconv>
#include <cstring>
#include <fstream>

namespace skidder::testing {
namespace {

constexpr int kString = 2, kDouble = 3, kUint16 = 5, kUint32 = 6, kMap = 7, kUint64 = 9,
              kArray = 11;

// Control byte(s): type in the top 3 bits (extended types > 7 in a second byte), size in the
// low 5 bits with 1-3 extra bytes for sizes of 29 and more.
void Control(std::string& out, int type, size_t size) {
  uint8_t first = type <= 7 ? static_cast<uint8_t>(type << 5) : 0;
  std::string extra;
  if (size < 29) {
    first |= static_cast<uint8_t>(size);
  } else if (size < 29 + 256) {
    first |= 29;
    extra.push_back(static_cast<char>(size - 29));
  } else if (size < 285 + 65536) {
    first |= 30;
    size -= 285;
    extra.push_back(static_cast<char>(size >> 8));
    extra.push_back(static_cast<char>(size & 0xFF));
  } else {
    first |= 31;
    size -= 65821;
    extra.push_back(static_cast<char>(size >> 16));
    extra.push_back(static_cast<char>((size >> 8) & 0xFF));
    extra.push_back(static_cast<char>(size & 0xFF));
  }
  out.push_back(static_cast<char>(first));
  if (type > 7) out.push_back(static_cast<char>(type - 7));
  out += extra;
}

void Unsigned(std::string& out, int type, uint64_t v) {
  std::string bytes;
  for (; v != 0; v >>= 8) bytes.insert(bytes.begin(), static_cast<char>(v & 0xFF));
  Control(out, type, bytes.size());
  out += bytes;
}

void Encode(std::string& out, const MmdbValue& v) {
  using K = MmdbValue::Kind;
  switch (v.kind) {
    case K::kString:
      Control(out, kString, v.str.size());
      out += v.str;
      break;
    case K::kDouble: {
      Control(out, kDouble, 8);
      const uint64_t bits = std::bit_cast<uint64_t>(v.dbl);
      for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
      break;
    }
    case K::kUint16:
      Unsigned(out, kUint16, v.uint);
      break;
    case K::kUint32:
      Unsigned(out, kUint32, v.uint);
      break;
    case K::kUint64:
      Unsigned(out, kUint64, v.uint);
      break;
    case K::kMap:
      Control(out, kMap, v.map.size());
      for (const auto& [key, value] : v.map) {
        Encode(out, MmdbValue::String(key));
        Encode(out, value);
      }
      break;
    case K::kArray:
      Control(out, kArray, v.array.size());
      for (const MmdbValue& item : v.array) Encode(out, item);
      break;
  }
}

void Put24(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>((v >> 16) & 0xFF));
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
  out.push_back(static_cast<char>(v & 0xFF));
}

}  // namespace

MmdbValue MmdbValue::String(std::string s) {
  MmdbValue v;
  v.kind = Kind::kString;
  v.str = std::move(s);
  return v;
}
MmdbValue MmdbValue::Double(double d) {
  MmdbValue v;
  v.kind = Kind::kDouble;
  v.dbl = d;
  return v;
}
MmdbValue MmdbValue::Uint16(uint16_t n) {
  MmdbValue v;
  v.kind = Kind::kUint16;
  v.uint = n;
  return v;
}
MmdbValue MmdbValue::Uint32(uint32_t n) {
  MmdbValue v;
  v.kind = Kind::kUint32;
  v.uint = n;
  return v;
}
MmdbValue MmdbValue::Uint64(uint64_t n) {
  MmdbValue v;
  v.kind = Kind::kUint64;
  v.uint = n;
  return v;
}
MmdbValue MmdbValue::Map(std::vector<std::pair<std::string, MmdbValue>> entries) {
  MmdbValue v;
  v.kind = Kind::kMap;
  v.map = std::move(entries);
  return v;
}
MmdbValue MmdbValue::Array(std::vector<MmdbValue> items) {
  MmdbValue v;
  v.kind = Kind::kArray;
  v.array = std::move(items);
  return v;
}

MmdbWriter::MmdbWriter(std::string database_type, int ip_version)
    : database_type_(std::move(database_type)), ip_version_(ip_version) {}

bool MmdbWriter::Insert(std::string_view cidr, MmdbValue value) {
  const size_t slash = cidr.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string ip(cidr.substr(0, slash));
  int prefix = 0;
  auto [p, ec] = std::from_chars(cidr.data() + slash + 1, cidr.data() + cidr.size(), prefix);
  if (ec != std::errc()) return false;
  uint8_t addr[16] = {};
  int offset = 0;  // bits of zeros before an IPv4 network in an IPv6 tree
  int bits = 0;
  if (inet_pton(AF_INET, ip.c_str(), addr + (ip_version_ == 6 ? 12 : 0)) == 1) {
    offset = ip_version_ == 6 ? 96 : 0;
    bits = 32;
  } else if (ip_version_ == 6 && inet_pton(AF_INET6, ip.c_str(), addr) == 1) {
    bits = 128;
  } else {
    return false;
  }
  if (prefix <= 0 || prefix > bits) return false;
  const int depth = offset + prefix;
  values_.push_back(std::move(value));
  size_t node = 0;
  for (int i = 0; i < depth; ++i) {
    const int bit = (addr[i / 8] >> (7 - i % 8)) & 1;
    Record& r = nodes_[node].child[bit];
    if (i == depth - 1) {
      r = {Record::Kind::kData, values_.size() - 1};
      break;
    }
    if (r.kind != Record::Kind::kNode) {
      nodes_.push_back(Node{});
      // r may dangle after push_back: index again.
      nodes_[node].child[bit] = {Record::Kind::kNode, nodes_.size() - 1};
    }
    node = nodes_[node].child[bit].index;
  }
  return true;
}

std::string MmdbWriter::Build() const {
  std::string data;
  std::vector<uint32_t> offsets;
  for (const MmdbValue& v : values_) {
    offsets.push_back(static_cast<uint32_t>(data.size()));
    Encode(data, v);
  }
  const uint32_t node_count = static_cast<uint32_t>(nodes_.size());
  std::string out;
  for (const Node& n : nodes_) {
    for (const Record& r : n.child) {
      switch (r.kind) {
        case Record::Kind::kEmpty:
          Put24(out, node_count);
          break;
        case Record::Kind::kNode:
          Put24(out, static_cast<uint32_t>(r.index));
          break;
        case Record::Kind::kData:
          Put24(out, node_count + 16 + offsets[r.index]);
          break;
      }
    }
  }
  out.append(16, '\0');
  out += data;
  out += "\xAB\xCD\xEFMaxMind.com";
  Encode(out, MmdbValue::Map({
                  {"binary_format_major_version", MmdbValue::Uint16(2)},
                  {"binary_format_minor_version", MmdbValue::Uint16(0)},
                  {"build_epoch", MmdbValue::Uint64(1700000000)},
                  {"database_type", MmdbValue::String(database_type_)},
                  {"description", MmdbValue::Map({{"en", MmdbValue::String("skidder test")}})},
                  {"ip_version", MmdbValue::Uint16(static_cast<uint16_t>(ip_version_))},
                  {"languages", MmdbValue::Array({MmdbValue::String("en")})},
                  {"node_count", MmdbValue::Uint32(node_count)},
                  {"record_size", MmdbValue::Uint16(24)},
              }));
  return out;
}

bool MmdbWriter::WriteFile(const std::string& path) const {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  const std::string bytes = Build();
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

}  // namespace skidder::testing
