// FileSeries: Promtail's per-file series, promtail_read_bytes_total (the read position),
// promtail_read_lines_total and promtail_file_bytes_total (the size) {path}, kept as one row
// per path holding all three numbers.
//
// Three registry families would keep, per file, three children, three label vectors and three
// map nodes, each with its own copy of the path (~700 bytes, 5 MB of a 10,000-file agent's
// peak); a row is one copy of the path and three counters. A row is shared by the files of one
// filename (a rotated file and its successor) and removed with the last of them, so a node
// with pods coming and going does not grow its /metrics page forever. Its position and size are
// those of the file now at the path, as Promtail's. The owner updates its
// row's numbers lock-free; the table's lock is taken only to add or remove a row and by a
// scrape.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "telemetry/registry.h"

namespace skidder::telemetry {

class FileSeries {
 public:
  class Row {
   public:
    // promtail_read_bytes_total is, as in Promtail, a gauge of the read position (not bytes
    // read since start): `file_bytes_total - read_bytes_total` is what is left to read, also
    // after a restart resumed the file. The lines are counted.
    void SetRead(uint64_t offset, uint64_t lines) {
      read_bytes_.store(offset, std::memory_order_relaxed);
      AddLines(lines);
    }
    // A file that is not the one at the path (rotated, a compressed copy) counts its lines only.
    void AddLines(uint64_t lines) {
      if (lines > 0) read_lines_.fetch_add(lines, std::memory_order_relaxed);
    }
    void SetSize(uint64_t size) { file_bytes_.store(size, std::memory_order_relaxed); }

   private:
    friend class FileSeries;
    std::atomic<uint64_t> read_bytes_{0}, read_lines_{0}, file_bytes_{0};
    uint32_t users_ = 0;  // guarded by FileSeries::mu_
  };

  // A file's hold on its path's row: released (and the row removed with its last holder) when
  // destroyed. Move-only; empty after a move.
  class Ref {
   public:
    Ref() = default;
    Ref(Ref&& o) noexcept : table_(o.table_), it_(o.it_) { o.table_ = nullptr; }
    Ref& operator=(Ref&& o) noexcept {
      if (this != &o) {
        Reset();
        table_ = o.table_;
        it_ = o.it_;
        o.table_ = nullptr;
      }
      return *this;
    }
    ~Ref() { Reset(); }
    Row* operator->() const { return &it_->second; }
    // The row's path (valid while held).
    const std::string& key() const { return it_->first; }
    explicit operator bool() const { return table_ != nullptr; }
    void Reset();

   private:
    friend class FileSeries;
    using Iter = std::map<std::string, Row, std::less<>>::iterator;
    Ref(FileSeries* table, Iter it) : table_(table), it_(it) {}
    FileSeries* table_ = nullptr;
    Iter it_{};
  };

  // Registers the three series in r; the registry must outlive this table.
  explicit FileSeries(Registry& r);
  ~FileSeries();
  FileSeries(const FileSeries&) = delete;
  FileSeries& operator=(const FileSeries&) = delete;

  // The row of path, created at zero when no file holds it yet. Any thread.
  Ref Acquire(std::string_view path);

  struct Values {
    uint64_t read_bytes = 0, read_lines = 0, file_bytes = 0;
  };
  // Tests and tools: the numbers of path's row, or nothing when no file holds it.
  std::optional<Values> Get(std::string_view path) const;
  size_t size() const;

 private:
  class Series;  // one per metric name, rendering one column of the table
  void Release(Ref::Iter it);
  void Render(const std::atomic<uint64_t> Row::*column, const std::string& name,
              std::string& out) const;

  Registry& registry_;
  mutable std::mutex mu_;
  std::map<std::string, Row, std::less<>> rows_;
  Series* series_[3];
};

}  // namespace skidder::telemetry
