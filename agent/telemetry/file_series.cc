#include "telemetry/file_series.h"

#include <fmt/format.h>

#include <iterator>

namespace skidder::telemetry {

class FileSeries::Series final : public Collector {
 public:
  Series(const FileSeries* table, const std::atomic<uint64_t> Row::*column, Type type,
         std::string help)
      : table_(table), column_(column), type_(type), help_(std::move(help)) {}
  Type type() const override { return type_; }
  const std::string& help() const override { return help_; }
  void RenderSamples(const std::string& name, std::string& out) const override {
    table_->Render(column_, name, out);
  }

 private:
  const FileSeries* table_;
  const std::atomic<uint64_t> Row::*column_;
  Type type_;
  std::string help_;
};

FileSeries::FileSeries(Registry& r) : registry_(r) {
  struct Spec {
    const char* name;
    const std::atomic<uint64_t> Row::*column;
    Type type;
    const char* help;
  };
  static constexpr Spec kSpecs[] = {
      {"promtail_read_bytes_total", &Row::read_bytes_, Type::kGauge,
       "Read position in each file (bytes)."},
      {"promtail_read_lines_total", &Row::read_lines_, Type::kCounter,
       "Lines read from each file."},
      {"promtail_file_bytes_total", &Row::file_bytes_, Type::kGauge,
       "Current size of each tailed file."},
  };
  for (size_t i = 0; i < std::size(kSpecs); ++i) {
    series_[i] = new Series(this, kSpecs[i].column, kSpecs[i].type, kSpecs[i].help);
    registry_.AddCollector(kSpecs[i].name, series_[i]);
  }
}

FileSeries::~FileSeries() {
  for (Series* s : series_) {
    registry_.RemoveCollector(s);
    delete s;
  }
}

FileSeries::Ref FileSeries::Acquire(std::string_view path) {
  std::lock_guard lock(mu_);
  auto it = rows_.find(path);
  if (it == rows_.end()) it = rows_.try_emplace(std::string(path)).first;
  ++it->second.users_;
  return Ref(this, it);
}

void FileSeries::Release(Ref::Iter it) {
  std::lock_guard lock(mu_);
  if (--it->second.users_ == 0) rows_.erase(it);
}

void FileSeries::Ref::Reset() {
  if (table_ != nullptr) table_->Release(it_);
  table_ = nullptr;
}

std::optional<FileSeries::Values> FileSeries::Get(std::string_view path) const {
  std::lock_guard lock(mu_);
  auto it = rows_.find(path);
  if (it == rows_.end()) return std::nullopt;
  const Row& r = it->second;
  return Values{r.read_bytes_.load(), r.read_lines_.load(), r.file_bytes_.load()};
}

size_t FileSeries::size() const {
  std::lock_guard lock(mu_);
  return rows_.size();
}

void FileSeries::Render(const std::atomic<uint64_t> Row::*column, const std::string& name,
                        std::string& out) const {
  std::lock_guard lock(mu_);
  for (const auto& [path, row] : rows_) {
    out.append(name).append("{path=\"");
    AppendLabelValue(out, path);
    fmt::format_to(std::back_inserter(out), "\"}} {}\n", (row.*column).load());
  }
}

}  // namespace skidder::telemetry
