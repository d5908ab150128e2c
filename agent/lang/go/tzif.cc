#include "lang/go/tzif.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace skidder::lang::go {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool Skip(size_t n) {
    if (d_.size() - pos_ < n) return false;
    pos_ += n;
    return true;
  }
  bool Be(size_t n, int64_t* out) {  // big-endian signed n-byte integer
    if (d_.size() - pos_ < n) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(d_[pos_ + i]);
    if (n < 8 && (v >> (n * 8 - 1)) != 0) v |= ~uint64_t{0} << (n * 8);  // sign-extend
    *out = static_cast<int64_t>(v);
    pos_ += n;
    return true;
  }
  bool Byte(uint8_t* out) {
    if (pos_ >= d_.size()) return false;
    *out = static_cast<uint8_t>(d_[pos_++]);
    return true;
  }
  std::string_view Rest() const { return d_.substr(pos_); }

 private:
  std::string_view d_;
  size_t pos_ = 0;
};

struct Counts {
  int64_t isut, isstd, leap, time, type, chars;
};

bool ReadHeader(Reader& r, char* version, Counts* c) {
  std::string_view rest = r.Rest();
  if (rest.size() < 44 || rest.substr(0, 4) != "TZif") return false;
  *version = rest[4];
  r.Skip(20);
  if (!(r.Be(4, &c->isut) && r.Be(4, &c->isstd) && r.Be(4, &c->leap) && r.Be(4, &c->time) &&
        r.Be(4, &c->type) && r.Be(4, &c->chars))) {
    return false;
  }
  // Each count sizes a block of at least one byte per item, so none can exceed what follows:
  // a negative or huge count (the fields are signed 32-bit) must not size a vector.
  const auto left = static_cast<int64_t>(r.Rest().size());
  for (int64_t n : {c->isut, c->isstd, c->leap, c->time, c->chars}) {
    if (n < 0 || n > left) return false;
  }
  return c->type > 0 && c->type < 256;
}

}  // namespace

std::shared_ptr<const Zone> Zone::Fixed(std::string name, int32_t offset_sec) {
  auto z = std::make_shared<Zone>();
  z->name_ = name;
  z->types_.push_back(Type{offset_sec, false, std::move(name)});
  return z;
}

Result<std::shared_ptr<const Zone>> Zone::FromTzif(std::string name, std::string_view data) {
  auto bad = [&] { return Err(InvalidArgument("not a valid TZif file: " + name)); };
  Reader r(data);
  char version = 0;
  Counts c{};
  if (!ReadHeader(r, &version, &c)) return bad();
  size_t time_size = 4;
  if (version >= '2') {  // skip the 32-bit block; the 64-bit one follows with its own header
    if (!r.Skip(c.time * 5 + c.type * 6 + c.chars + c.leap * 8 + c.isstd + c.isut)) return bad();
    if (!ReadHeader(r, &version, &c)) return bad();
    time_size = 8;
  }
  auto z = std::make_shared<Zone>();
  z->name_ = std::move(name);
  z->transitions_.resize(static_cast<size_t>(c.time));
  z->transition_type_.resize(static_cast<size_t>(c.time));
  for (auto& t : z->transitions_) {
    if (!r.Be(time_size, &t)) return bad();
  }
  for (auto& t : z->transition_type_) {
    if (!r.Byte(&t) || t >= c.type) return bad();
  }
  std::vector<std::pair<int64_t, uint8_t>> raw;  // (offset, abbr index)
  for (int64_t i = 0; i < c.type; ++i) {
    int64_t off = 0;
    uint8_t dst = 0, abbr = 0;
    if (!r.Be(4, &off) || !r.Byte(&dst) || !r.Byte(&abbr)) return bad();
    z->types_.push_back(Type{static_cast<int32_t>(off), dst != 0, {}});
    raw.emplace_back(off, abbr);
  }
  std::string_view chars = r.Rest().substr(0, static_cast<size_t>(c.chars));
  if (chars.size() != static_cast<size_t>(c.chars)) return bad();
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i].second >= chars.size()) continue;
    std::string_view a = chars.substr(raw[i].second);
    z->types_[i].abbr = std::string(a.substr(0, a.find('\0')));
  }
  // Go's lookupFirstZone, simplified: an unused first type, else the first standard-time type.
  if (std::find(z->transition_type_.begin(), z->transition_type_.end(), 0) ==
      z->transition_type_.end()) {
    z->first_type_ = 0;
  } else {
    for (size_t i = 0; i < z->types_.size(); ++i) {
      if (!z->types_[i].is_dst) {
        z->first_type_ = i;
        break;
      }
    }
  }
  return std::shared_ptr<const Zone>(std::move(z));
}

Zone::Lookup Zone::At(int64_t unix_sec) const {
  constexpr int64_t kMin = INT64_MIN, kMax = INT64_MAX;
  if (transitions_.empty() || unix_sec < transitions_.front()) {
    return {&types_[first_type_], kMin, transitions_.empty() ? kMax : transitions_.front()};
  }
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), unix_sec);
  const size_t i = static_cast<size_t>(it - transitions_.begin()) - 1;
  return {&types_[transition_type_[i]], transitions_[i], it == transitions_.end() ? kMax : *it};
}

int64_t Zone::LocalToUnix(int64_t local_sec) const {
  // As Go's Date(): look the offset up as if local were UTC, and again if the result falls
  // outside the range that offset is valid for.
  Lookup l = At(local_sec);
  int32_t offset = l.type->offset_sec;
  if (offset != 0) {
    const int64_t utc = local_sec - offset;
    if (utc < l.start || utc >= l.end) offset = At(utc).type->offset_sec;
  }
  return local_sec - offset;
}

bool Zone::OffsetOfAbbr(std::string_view abbr, int64_t unix_sec, int32_t* offset_sec) const {
  for (const Type& t : types_) {
    if (t.abbr == abbr && At(unix_sec - t.offset_sec).type->abbr == abbr) {
      *offset_sec = At(unix_sec - t.offset_sec).type->offset_sec;
      return true;
    }
  }
  for (const Type& t : types_) {
    if (t.abbr == abbr) {
      *offset_sec = t.offset_sec;
      return true;
    }
  }
  return false;
}

Result<std::shared_ptr<const Zone>> LoadZone(std::string_view name,
                                             const std::string& zoneinfo_dir) {
  if (name.empty() || name == "UTC") return Zone::Fixed("UTC", 0);
  std::string file;
  if (name == "Local") {
    // Go's time.Local: $TZ when set ("" is UTC; ":" before the name is dropped; an absolute
    // path is that file), else /etc/localtime; UTC when that cannot be read.
    const char* tz = std::getenv("TZ");
    std::string_view t = tz != nullptr ? tz : "";
    if (!t.empty() && t.front() == ':') t.remove_prefix(1);
    if (tz == nullptr) {
      file = "/etc/localtime";
    } else if (t.empty() || t == "UTC") {
      return Zone::Fixed("UTC", 0);
    } else if (t.front() == '/') {
      file = std::string(t);
    } else if (t.find("..") == std::string_view::npos) {
      file = zoneinfo_dir + "/" + std::string(t);
    } else {
      return Zone::Fixed("UTC", 0);
    }
  } else {
    // Go's LoadLocation refuses names that could escape the zoneinfo directory.
    if (name.front() == '/' || name.find("..") != std::string_view::npos ||
        name.find('\\') != std::string_view::npos) {
      return Err(InvalidArgument("invalid location name \"" + std::string(name) + "\""));
    }
    file = zoneinfo_dir + "/" + std::string(name);
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (name == "Local") return Zone::Fixed("UTC", 0);
    return Err(NotFound("unknown time zone " + std::string(name)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return Zone::FromTzif(std::string(name), ss.str());
}

}  // namespace skidder::lang::go
