// Labels: a small, sorted set of name=value pairs with a cached hash, so that grouping entries by
// stream is a hash lookup and a compare of a few short strings.
//
// A value type: copy it, move it, compare it. Not thread-safe for concurrent mutation (like any
// std container). Names starting with "__" are internal (e.g. __path__, __tenant_id__) and are
// removed before an entry is sent to Loki.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace skidder {

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
};

class Labels {
 public:
  Labels() = default;
  Labels(std::initializer_list<Label> init);

  // Sets name to value, replacing an existing value. An empty value removes the label, as in
  // Prometheus and Promtail.
  void Set(std::string_view name, std::string_view value);
  void Remove(std::string_view name);
  // nullptr when absent.
  const std::string* Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name) != nullptr; }
  // Removes every label whose name starts with "__".
  void RemoveInternal();
  void Clear();

  bool empty() const { return labels_.empty(); }
  size_t size() const { return labels_.size(); }
  auto begin() const { return labels_.begin(); }
  auto end() const { return labels_.end(); }

  // Hash of the whole set; cached until the next mutation.
  uint64_t Hash() const;
  // Prometheus text form as Loki expects it: {a="1", b="x\"y"} (values escaped like Go's %q).
  std::string ToString() const;

  bool operator==(const Labels& o) const { return labels_ == o.labels_; }

 private:
  std::vector<Label>::iterator Find(std::string_view name);
  std::vector<Label> labels_;
  mutable uint64_t hash_ = 0;
  mutable bool hash_valid_ = false;
};

struct LabelsHash {
  size_t operator()(const Labels& l) const { return l.Hash(); }
};

// Appends value quoted and escaped as Go's %q does for the characters Loki cares about.
void AppendQuoted(std::string& out, std::string_view value);

}  // namespace skidder
