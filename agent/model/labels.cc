#include "model/labels.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>

namespace skidder {

Labels::Labels(std::initializer_list<Label> init) {
  for (const auto& l : init) Set(l.name, l.value);
}

std::vector<Label>::iterator Labels::Find(std::string_view name) {
  return std::lower_bound(labels_.begin(), labels_.end(), name,
                          [](const Label& l, std::string_view n) { return l.name < n; });
}

void Labels::Set(std::string_view name, std::string_view value) {
  if (value.empty()) {
    Remove(name);
    return;
  }
  hash_valid_ = false;
  auto it = Find(name);
  if (it != labels_.end() && it->name == name) {
    it->value.assign(value);
  } else {
    labels_.insert(it, Label{std::string(name), std::string(value)});
  }
}

void Labels::Remove(std::string_view name) {
  auto it = Find(name);
  if (it != labels_.end() && it->name == name) {
    labels_.erase(it);
    hash_valid_ = false;
  }
}

const std::string* Labels::Get(std::string_view name) const {
  auto it = std::lower_bound(labels_.begin(), labels_.end(), name,
                             [](const Label& l, std::string_view n) { return l.name < n; });
  if (it != labels_.end() && it->name == name) return &it->value;
  return nullptr;
}

void Labels::RemoveInternal() {
  auto removed = std::erase_if(labels_, [](const Label& l) { return l.name.starts_with("__"); });
  if (removed > 0) hash_valid_ = false;
}

void Labels::Clear() {
  labels_.clear();
  hash_valid_ = false;
}

uint64_t Labels::Hash() const {
  if (!hash_valid_) {
    // Combine per-string hashes with a separator-aware mix so {a="bc"} != {ab="c"}.
    uint64_t h = 0xcbf29ce484222325ULL;
    auto mix = [&h](std::string_view s) {
      h ^= std::hash<std::string_view>{}(s) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    };
    for (const auto& l : labels_) {
      mix(l.name);
      mix(l.value);
    }
    hash_ = h;
    hash_valid_ = true;
  }
  return hash_;
}

void AppendQuoted(std::string& out, std::string_view value) {
  out.push_back('"');
  for (unsigned char c : value) {
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out.append(fmt::format("\\x{:02x}", c));
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

std::string Labels::ToString() const {
  std::string out;
  out.reserve(16 * labels_.size() + 2);
  out.push_back('{');
  bool first = true;
  for (const auto& l : labels_) {
    if (!first) out.append(", ");
    first = false;
    out.append(l.name);
    out.push_back('=');
    AppendQuoted(out, l.value);
  }
  out.push_back('}');
  return out;
}

}  // namespace skidder
