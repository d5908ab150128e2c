#include "pipeline/stage.h"

#include <algorithm>

namespace skidder::pipeline {

void Extracted::Set(std::string_view key, std::string value) {
  for (auto& [k, v] : values_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  values_.emplace_back(std::string(key), std::move(value));
}

const std::string* Extracted::GetOwn(std::string_view key) const {
  for (const auto& [k, v] : values_) {
    if (k == key) return &v;
  }
  return nullptr;
}

const std::string* Extracted::Get(std::string_view key, const Labels& labels) const {
  if (const std::string* v = GetOwn(key)) return v;
  return labels.Get(key);
}

void Extracted::Remove(std::string_view key) {
  std::erase_if(values_, [key](const auto& kv) { return kv.first == key; });
}

}  // namespace skidder::pipeline
