#include "sources/file/line_splitter.h"

#include <algorithm>

namespace skidder::sources {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Cuts at most n bytes without splitting a UTF-8 sequence.
size_t Utf8Cut(std::string_view s, size_t n) {
  if (s.size() <= n) return s.size();
  size_t cut = n;
  // Back off over continuation bytes (10xxxxxx) to the start of the split character.
  for (int i = 0; i < 3 && cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80; ++i) {
    --cut;
  }
  return cut;
}

}  // namespace

void LineSplitter::Hold(const char* p, size_t n) {
  if (n == 0) return;
  // One byte beyond max_line so that a '\r' ending a line of exactly max_line bytes fits.
  size_t room = max_line_ + 1 > partial_.size() ? max_line_ + 1 - partial_.size() : 0;
  partial_.append(p, std::min(room, n));
  pending_ += n;
  last_byte_ = p[n - 1];
}

bool LineSplitter::Overlong() const {
  if (pending_ <= max_line_) return false;
  return pending_ > max_line_ + 1 || last_byte_ != '\r';
}

bool LineSplitter::Prepare(std::string_view* line, bool overlong) {
  if (line_start_ == 0 && line->starts_with(kBom)) line->remove_prefix(kBom.size());
  if (!overlong) {
    if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
    return true;
  }
  if (!truncate_) {
    ++dropped_;
    return false;
  }
  ++truncated_;
  *line = line->substr(0, Utf8Cut(*line, max_line_));
  return true;
}

void LineSplitter::EndLine(size_t tail_bytes) {
  offset_ = line_start_ + pending_ + tail_bytes;
  line_start_ = offset_;
  pending_ = 0;
  partial_.clear();
  last_byte_ = 0;
}

void LineSplitter::Reset(uint64_t offset) {
  offset_ = line_start_ = offset;
  pending_ = 0;
  partial_.clear();
  last_byte_ = 0;
}

}  // namespace skidder::sources
