#include "model/line_buffers.h"

#include <vector>

namespace skidder::line_buffers {
namespace {

constexpr size_t kSsoCapacity = 15;  // libstdc++'s in-object buffer: nothing to keep

std::vector<std::string>& Spare() {
  thread_local std::vector<std::string> spare;
  return spare;
}

}  // namespace

std::string Take() {
  std::vector<std::string>& spare = Spare();
  if (spare.empty()) return {};
  std::string s = std::move(spare.back());
  spare.pop_back();
  s.clear();
  return s;
}

void GiveBack(std::span<Entry> entries) {
  std::vector<std::string>& spare = Spare();
  for (Entry& e : entries) {
    if (spare.size() >= kMaxKept) return;
    const size_t cap = e.line.capacity();
    if (cap > kSsoCapacity && cap <= kMaxKeptCapacity) spare.push_back(std::move(e.line));
  }
}

size_t Kept() { return Spare().size(); }

}  // namespace skidder::line_buffers
