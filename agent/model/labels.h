// Labels: a small, sorted set of name=value pairs with a precomputed hash, so that grouping
// entries by stream is a hash lookup and a compare of a few short strings.
//
// A value type with copy-on-write storage: every entry of a file carries that file's labels, so
// copying is a reference-count increment, and only a mutation copies (once per distinct set when
// stages cache their results, see SameAs). Copies may be read and destroyed on any thread; one
// object is not for concurrent mutation (like any std container). The count is our own rather
// than a shared_ptr's: deciding "nobody else holds this, change it in place" needs an acquire
// load of the count, so that other threads' reads before they dropped their copies happen before
// the change, and shared_ptr::use_count() is a relaxed load (ThreadSanitizer reports the race).
// Names starting with "__" are internal (e.g. __path__, __tenant_id__) and are removed before an
// entry is sent to Loki.
#pragma once

#include <atomic>
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
  Labels(const Labels& o) noexcept : rep_(o.rep_) {
    if (rep_ != nullptr) rep_->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Labels(Labels&& o) noexcept : rep_(o.rep_) { o.rep_ = nullptr; }
  Labels& operator=(const Labels& o) noexcept {
    Labels copy(o);
    std::swap(rep_, copy.rep_);
    return *this;
  }
  Labels& operator=(Labels&& o) noexcept {
    if (this != &o) {
      Clear();
      std::swap(rep_, o.rep_);
    }
    return *this;
  }
  ~Labels() { Clear(); }

  // Sets name to value, replacing an existing value. An empty value removes the label, as in
  // Prometheus and Promtail.
  void Set(std::string_view name, std::string_view value);
  void Remove(std::string_view name);
  // nullptr when absent.
  const std::string* Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name) != nullptr; }
  // Removes every label whose name starts with "__".
  void RemoveInternal();
  // Removes every label for which pred(const Label&) is true, in one pass and one rehash (Remove()
  // per label is linear each, so quadratic over a pod with 100k labels).
  template <typename Pred>
  void RemoveIf(Pred pred) {
    bool any = false;
    for (const Label& l : Vec()) any = any || pred(l);
    if (!any) return;
    EraseIf(Mutable(), pred);
    Rehash();
  }
  void Clear() {
    if (rep_ != nullptr && rep_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete rep_;
    rep_ = nullptr;
  }

  bool empty() const { return size() == 0; }
  size_t size() const { return rep_ ? rep_->labels.size() : 0; }
  std::vector<Label>::const_iterator begin() const { return Vec().begin(); }
  std::vector<Label>::const_iterator end() const { return Vec().end(); }

  // Hash of the whole set, computed when it changes.
  uint64_t Hash() const { return rep_ ? rep_->hash : kEmptyHash; }
  // True when both share storage: equal, and cheap to check. Lets a stage reuse the result it
  // computed for the previous entry of the same file.
  bool SameAs(const Labels& o) const { return rep_ == o.rep_; }
  // True when other Labels share this one's storage, so that a mutation copies it first. A stage
  // that remembers its results per shared set (pipeline's LabelsMemo) changes a set nobody else
  // holds in place instead: no other entry can carry it.
  bool Shared() const { return rep_ != nullptr && rep_->refs.load(std::memory_order_acquire) > 1; }
  // Prometheus text form as Loki expects it: {a="1", b="x\"y"} (values escaped like Go's %q).
  std::string ToString() const;

  bool operator==(const Labels& o) const {
    return rep_ == o.rep_ || (Hash() == o.Hash() && Vec() == o.Vec());
  }

  // Makes the n empty Labels slot(0) .. slot(n-1) share this set with one reference-count update
  // for them all: the entries of one read all start with their file's labels, and an atomic
  // increment per line, a full memory barrier each, was a measurable part of the reading thread.
  template <typename Slot>
  void ShareInto(size_t n, Slot&& slot) const {
    if (rep_ == nullptr || n == 0) return;
    rep_->refs.fetch_add(static_cast<uint32_t>(n), std::memory_order_relaxed);
    for (size_t i = 0; i < n; ++i) {
      Labels& l = slot(i);
      l.Clear();
      l.rep_ = rep_;
    }
  }

 private:
  struct Rep {
    Rep() = default;
    Rep(const Rep& o) : labels(o.labels), hash(o.hash) {}
    std::atomic<uint32_t> refs{1};
    std::vector<Label> labels;
    uint64_t hash = 0;
  };
  static constexpr uint64_t kEmptyHash = 0xcbf29ce484222325ULL;
  // std::erase_if, but the labels kept are swapped forward rather than move-assigned: a short
  // value moved into a string keeps that string's heap buffer, so erasing `__path__` left a dead
  // copy of the glob in the label after it, in every open file's labels (~48 bytes each).
  template <typename Pred>
  static void EraseIf(std::vector<Label>& v, Pred pred) {
    size_t kept = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (pred(v[i])) continue;
      if (i != kept) std::swap(v[kept], v[i]);
      ++kept;
    }
    v.resize(kept);
  }
  friend class LabelsBuilder;
  friend class LabelsReleaser;
  const std::vector<Label>& Vec() const;
  // Storage this object alone owns, copied first when shared.
  std::vector<Label>& Mutable();
  void Rehash();
  Rep* rep_ = nullptr;  // shared, counted; null when empty
};

// Releases many Labels at once: consecutive ones that share a set (the entries of one read) cost
// one atomic subtraction per run, not one per entry. The counterpart of Labels::ShareInto.
class LabelsReleaser {
 public:
  LabelsReleaser() = default;
  LabelsReleaser(const LabelsReleaser&) = delete;
  LabelsReleaser& operator=(const LabelsReleaser&) = delete;
  ~LabelsReleaser() { Flush(); }

  // Takes over the reference `labels` holds; `labels` is empty afterwards.
  void Take(Labels& labels) {
    if (labels.rep_ == nullptr) return;
    if (labels.rep_ != rep_) {
      Flush();
      rep_ = labels.rep_;
    }
    ++count_;
    labels.rep_ = nullptr;
  }
  // Releases the references taken so far.
  void Flush() {
    if (rep_ != nullptr && rep_->refs.fetch_sub(count_, std::memory_order_acq_rel) == count_) {
      delete rep_;
    }
    rep_ = nullptr;
    count_ = 0;
  }

 private:
  Labels::Rep* rep_ = nullptr;
  uint32_t count_ = 0;
};

// Builds a Labels from many pairs at once: Add() appends in any order, Build() sorts and hashes
// once, so n labels cost O(n log n) where n Set() calls cost O(n^2) (each inserts into a sorted
// vector and rehashes the whole set). For pod meta labels, labelmap and anything else that adds
// labels by the thousand. Add() follows Set(): of several values for one name (in the base or
// added) the last added wins, and an empty value removes the name.
class LabelsBuilder {
 public:
  LabelsBuilder() = default;
  explicit LabelsBuilder(Labels base) : base_(std::move(base)) {}
  void Reserve(size_t n) { added_.reserve(n); }
  void Add(std::string name, std::string value) {
    added_.push_back(Label{std::move(name), std::move(value)});
  }
  // The result; leaves the builder empty.
  Labels Build();

 private:
  Labels base_;
  std::vector<Label> added_;
};

struct LabelsHash {
  size_t operator()(const Labels& l) const { return l.Hash(); }
};

// A Prometheus/Loki label name: [a-zA-Z_][a-zA-Z0-9_]*.
bool IsValidLabelName(std::string_view name);

// Appends value quoted and escaped as Go's %q does for the characters Loki cares about.
void AppendQuoted(std::string& out, std::string_view value);

}  // namespace skidder
