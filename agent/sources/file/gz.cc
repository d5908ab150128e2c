#include "sources/file/gz.h"

#include <dirent.h>
#include <zlib.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "sources/file/identity.h"

namespace skidder::sources {
namespace {

// Decompressed size of path if its first fingerprint_len bytes match; nullopt otherwise.
std::optional<uint64_t> MatchingSize(const std::string& path, const FileIdentity& id) {
  gzFile gz = ::gzopen(path.c_str(), "rb");
  if (gz == nullptr) return std::nullopt;
  std::vector<char> buf(64 * 1024);
  uint64_t total = 0;
  std::string head;
  bool ok = true;
  while (true) {
    int n = ::gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      ok = false;  // corrupt or still being written (.tmp): not a usable copy
      break;
    }
    if (n == 0) break;
    if (head.size() < id.fingerprint_len) {
      head.append(buf.data(), std::min<size_t>(n, id.fingerprint_len - head.size()));
      if (head.size() == id.fingerprint_len && HashBytes(head) != id.fingerprint) {
        ok = false;
        break;
      }
    }
    total += static_cast<uint64_t>(n);
  }
  ::gzclose(gz);
  if (!ok || head.size() < id.fingerprint_len) return std::nullopt;
  return total;
}

}  // namespace

std::optional<GzCopy> FindCompressedCopy(const std::string& dir, const PositionRecord& record) {
  const size_t slash = record.path.rfind('/');
  const std::string base = record.path.substr(slash == std::string::npos ? 0 : slash + 1);
  std::vector<std::string> candidates;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string_view name(e->d_name);
      if (name.starts_with(base) && name.ends_with(".gz")) candidates.emplace_back(name);
    }
    ::closedir(d);
  }
  for (const auto& name : candidates) {
    std::string path = dir + "/" + name;
    if (auto size = MatchingSize(path, record.identity)) return GzCopy{path, *size};
  }
  return std::nullopt;
}

}  // namespace skidder::sources
