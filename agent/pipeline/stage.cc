#include "pipeline/stage.h"

#include <algorithm>

namespace skidder::pipeline {

std::pair<std::string, std::string>* Extracted::Find(std::string_view key) {
  for (size_t i = 0; i < size_; ++i) {
    if (values_[i].first == key) return &values_[i];
  }
  return nullptr;
}

std::pair<std::string, std::string>& Extracted::Slot(std::string_view key) {
  if (auto* kv = Find(key)) return *kv;
  if (!nils_.empty()) ForgetNil(key);
  return NewSlot(key);
}

void Extracted::ForgetNil(std::string_view key) {
  std::erase_if(nils_, [&](const std::string& k) { return k == key; });
}

void Extracted::SetNil(std::string_view key) {
  Remove(key);
  nils_.emplace_back(key);
}

bool Extracted::IsNil(std::string_view key) const {
  return std::find(nils_.begin(), nils_.end(), key) != nils_.end();
}

std::pair<std::string, std::string>& Extracted::NewSlot(std::string_view key) {
  if (size_ == values_.size()) values_.emplace_back();
  auto& kv = values_[size_++];
  // The same stages set the same keys in the same order for every entry, so a spare slot most
  // often held this key already: comparing is cheaper than assigning.
  if (kv.first != key) kv.first.assign(key);
  return kv;
}

void Extracted::SetFields(
    std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  const bool fresh = size_ == 0 && nils_.empty();
  for (const auto& [key, value] : fields) (fresh ? NewSlot(key) : Slot(key)).second.assign(value);
}

void Extracted::Set(std::string_view key, std::string value) {
  Slot(key).second = std::move(value);
}

void Extracted::Set(std::string_view key, std::string_view value) {
  Slot(key).second.assign(value);
}

const std::string* Extracted::GetOwn(std::string_view key) const {
  for (size_t i = 0; i < size_; ++i) {
    if (values_[i].first == key) return &values_[i].second;
  }
  return nullptr;
}

const std::string* Extracted::Get(std::string_view key, const Labels& labels) const {
  if (const std::string* v = GetOwn(key)) return v;
  if (!nils_.empty() && IsNil(key)) return nullptr;
  return labels.Get(key);
}

void Extracted::Remove(std::string_view key) {
  if (!nils_.empty()) ForgetNil(key);
  for (size_t i = 0; i < size_; ++i) {
    if (values_[i].first != key) continue;
    // Order is kept (the inspector and pack show fields in the order they were set).
    std::rotate(values_.begin() + static_cast<ptrdiff_t>(i),
                values_.begin() + static_cast<ptrdiff_t>(i) + 1,
                values_.begin() + static_cast<ptrdiff_t>(size_));
    --size_;
    return;
  }
}

}  // namespace skidder::pipeline
