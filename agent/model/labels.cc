#include "model/labels.h"

#include <algorithm>
#include <functional>

#include "util/escape.h"

namespace skidder {

Labels::Labels(std::initializer_list<Label> init) {
  for (const auto& l : init) Set(l.name, l.value);
}

namespace {

const std::vector<Label>& EmptyVec() {
  static const std::vector<Label> empty;
  return empty;
}

auto LowerBound(const std::vector<Label>& v, std::string_view name) {
  return std::lower_bound(v.begin(), v.end(), name,
                          [](const Label& l, std::string_view n) { return l.name < n; });
}

}  // namespace

const std::vector<Label>& Labels::Vec() const { return rep_ ? rep_->labels : EmptyVec(); }

std::vector<Label>& Labels::Mutable() {
  if (rep_ == nullptr) {
    rep_ = new Rep();
  } else if (rep_->refs.load(std::memory_order_acquire) != 1) {
    // Shared: nobody else can be mutating it, and we must not; take a private copy. Acquire:
    // when the count is 1, the reads of the copies released on other threads are finished.
    Rep* copy = new Rep(*rep_);
    Clear();
    rep_ = copy;
  }
  return rep_->labels;
}

void Labels::Rehash() {
  if (rep_->labels.empty()) {
    Clear();
    return;
  }
  // Combine per-string hashes with a separator-aware mix so {a="bc"} != {ab="c"}.
  uint64_t h = kEmptyHash;
  auto mix = [&h](std::string_view s) {
    h ^= std::hash<std::string_view>{}(s) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  };
  for (const auto& l : rep_->labels) {
    mix(l.name);
    mix(l.value);
  }
  rep_->hash = h;
}

void Labels::Set(std::string_view name, std::string_view value) {
  if (value.empty()) {
    Remove(name);
    return;
  }
  if (const std::string* old = Get(name); old != nullptr && *old == value) return;
  std::vector<Label>& v = Mutable();
  auto it = LowerBound(v, name);
  if (it != v.end() && it->name == name) {
    v[it - v.begin()].value.assign(value);
  } else {
    v.insert(it, Label{std::string(name), std::string(value)});
  }
  Rehash();
}

void Labels::Remove(std::string_view name) {
  if (!Has(name)) return;
  EraseIf(Mutable(), [name](const Label& l) { return l.name == name; });
  Rehash();
}

const std::string* Labels::Get(std::string_view name) const {
  const std::vector<Label>& v = Vec();
  auto it = LowerBound(v, name);
  if (it != v.end() && it->name == name) return &it->value;
  return nullptr;
}

void Labels::RemoveInternal() {
  bool any = false;
  for (const auto& l : Vec()) any = any || l.name.starts_with("__");
  if (!any) return;
  EraseIf(Mutable(), [](const Label& l) { return l.name.starts_with("__"); });
  Rehash();
}

Labels LabelsBuilder::Build() {
  // Sort what was added (stably, so the last of equal names stays last) and keep the last of each.
  std::stable_sort(added_.begin(), added_.end(),
                   [](const Label& a, const Label& b) { return a.name < b.name; });
  std::vector<Label> adds;
  adds.reserve(added_.size());
  for (size_t i = 0; i < added_.size(); ++i) {
    if (i + 1 < added_.size() && added_[i + 1].name == added_[i].name) continue;
    adds.push_back(std::move(added_[i]));
  }
  added_.clear();
  // Merge with the (sorted, unique) base; an added label replaces a base one of the same name.
  const std::vector<Label>& base = base_.Vec();
  std::vector<Label> out;
  out.reserve(base.size() + adds.size());
  size_t b = 0;
  for (Label& a : adds) {
    while (b < base.size() && base[b].name < a.name) out.push_back(base[b++]);
    if (b < base.size() && base[b].name == a.name) ++b;
    if (!a.value.empty()) out.push_back(std::move(a));
  }
  out.insert(out.end(), base.begin() + static_cast<std::ptrdiff_t>(b), base.end());
  base_.Clear();
  Labels result;
  if (out.empty()) return result;
  result.rep_ = new Labels::Rep();
  result.rep_->labels = std::move(out);
  result.Rehash();
  return result;
}

bool IsValidLabelName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void AppendQuoted(std::string& out, std::string_view value) {
  AppendQuotedEscaped(out, value, ControlEscape::kGo);
}

std::string Labels::ToString() const {
  std::string out;
  out.reserve(16 * size() + 2);
  out.push_back('{');
  bool first = true;
  for (const auto& l : Vec()) {
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
