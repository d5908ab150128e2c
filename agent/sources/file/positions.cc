#include "sources/file/positions.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <rapidjson/document.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

#include "util/json_parse.h"
#include "util/log.h"

namespace skidder::sources {
namespace {

std::string Errno(int err) { return std::strerror(err); }

Status ReadWhole(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFound(path);
    return Unavailable("open " + path + ": " + Errno(errno));
  }
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Unavailable("read " + path + ": " + Errno(err));
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return Status::Ok();
}

// "cursors": {"journal-<job>": "<cursor>"}, optional (older files have none).
Status ParseCursors(const rapidjson::Document& doc, std::map<std::string, std::string>* out) {
  auto cursors = doc.FindMember("cursors");
  if (cursors == doc.MemberEnd()) return Status::Ok();
  if (!cursors->value.IsObject()) return DataLoss("cursors is not an object");
  for (const auto& c : cursors->value.GetObject()) {
    if (!c.value.IsString()) return DataLoss("a cursor is not a string");
    (*out)[std::string(c.name.GetString(), c.name.GetStringLength())] =
        std::string(c.value.GetString(), c.value.GetStringLength());
  }
  return Status::Ok();
}

// A set's element is const only because it is its own key: every field but the path may change
// in place (the order, by path, stays as it was).
PositionRecord& Mutable(const PositionRecord& r) { return const_cast<PositionRecord&>(r); }

// As map[path] = r: a later record of the same path replaces the earlier one.
void Upsert(PositionSet* set, PositionRecord r) {
  auto it = set->find(r.path);
  if (it == set->end()) {
    set->insert(std::move(r));
  } else {
    Mutable(*it) = std::move(r);
  }
}

// skidder's own format: {"version":1,"files":[{path,dev,ino,fp_len,fp,offset}],"cursors":{}},
// a record's optional fields (gz, size, done, origin, born) written only when set. A record
// without "born" (written before birth times were kept, or on a file system without them) has
// an unknown birth time and matches a file by its inode and first bytes alone, as it did.
Status ParseJson(const std::string& text, PositionSet* out,
                 std::map<std::string, std::string>* cursors) {
  rapidjson::Document doc;
  if (!ParseJsonBounded(doc, text).ok() || !doc.IsObject()) return DataLoss("not a JSON object");
  auto version = doc.FindMember("version");
  if (version == doc.MemberEnd() || !version->value.IsInt() || version->value.GetInt() != 1) {
    return DataLoss("unknown or missing version");
  }
  auto files = doc.FindMember("files");
  if (files == doc.MemberEnd() || !files->value.IsArray()) return DataLoss("missing files array");
  for (const auto& f : files->value.GetArray()) {
    if (!f.IsObject()) return DataLoss("file record is not an object");
    auto get_u64 = [&f](const char* key, uint64_t* v) {
      auto it = f.FindMember(key);
      if (it == f.MemberEnd() || !it->value.IsUint64()) return false;
      *v = it->value.GetUint64();
      return true;
    };
    auto path = f.FindMember("path");
    if (path == f.MemberEnd() || !path->value.IsString()) return DataLoss("record without path");
    PositionRecord r;
    r.path.assign(path->value.GetString(), path->value.GetStringLength());
    uint64_t fp_len = 0;
    if (!get_u64("dev", &r.identity.dev) || !get_u64("ino", &r.identity.ino) ||
        !get_u64("fp_len", &fp_len) || !get_u64("fp", &r.identity.fingerprint) ||
        !get_u64("offset", &r.offset)) {
      return DataLoss("record for " + r.path + " misses a field");
    }
    r.identity.fingerprint_len = static_cast<uint32_t>(fp_len);
    if (auto gz = f.FindMember("gz"); gz != f.MemberEnd()) {
      if (!gz->value.IsBool()) return DataLoss("record for " + r.path + ": gz is not a bool");
      r.compressed = gz->value.GetBool();
    }
    if (auto size = f.FindMember("size"); size != f.MemberEnd()) {
      if (!size->value.IsUint64()) return DataLoss("record for " + r.path + ": bad size");
      r.size = size->value.GetUint64();
    }
    if (auto born = f.FindMember("born"); born != f.MemberEnd()) {
      if (!born->value.IsInt64()) return DataLoss("record for " + r.path + ": bad born");
      r.identity.born_ns = born->value.GetInt64();
    }
    if (auto done = f.FindMember("done"); done != f.MemberEnd()) {
      if (!done->value.IsBool()) return DataLoss("record for " + r.path + ": done is not a bool");
      r.done = done->value.GetBool();
    }
    if (auto cut = f.FindMember("cut"); cut != f.MemberEnd()) {
      if (!cut->value.IsUint() || cut->value.GetUint() == 0) {
        return DataLoss("record for " + r.path + ": bad cut");
      }
      r.cut = true;
      r.tail = cut->value.GetUint();
    }
    if (auto origin = f.FindMember("origin"); origin != f.MemberEnd()) {
      if (!origin->value.IsString()) return DataLoss("record for " + r.path + ": bad origin");
      r.origin.assign(origin->value.GetString(), origin->value.GetStringLength());
    }
    Upsert(out, std::move(r));
  }
  return ParseCursors(doc, cursors);
}

// Promtail's positions.yaml: `positions: {"/path": "123"}`. Identity is unknown, so the records
// are trusted by path (and only while the offset fits the file).
Status ParsePromtailYaml(const std::string& text, PositionSet* out,
                         std::map<std::string, std::string>* cursors) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap() || !root["positions"]) return DataLoss("no positions map");
    YAML::Node positions = root["positions"];
    if (positions.IsNull()) return Status::Ok();
    if (!positions.IsMap()) return DataLoss("positions is not a map");
    for (const auto& kv : positions) {
      PositionRecord r;
      r.path = kv.first.as<std::string>();
      std::string value = kv.second.as<std::string>();
      // Cursors share the map: the journal's "cursor-<job>" (older Promtail: "journal-<job>")
      // and the Docker target's "cursor-<container id>", whose value is Unix seconds: digits
      // alone, so the key decides, not the value (a file's key is its absolute path).
      bool cursor = false;
      for (std::string_view prefix : {"cursor-", "journal-"}) {
        if (r.path.starts_with(prefix) && r.path.size() > prefix.size()) {
          (*cursors)["journal-" + r.path.substr(prefix.size())] = value;
          cursor = true;
        }
      }
      if (cursor || value.empty() || value.find_first_not_of("0123456789") != std::string::npos) {
        continue;
      }
      r.offset = std::stoull(value);
      r.imported = true;
      Upsert(out, std::move(r));
    }
  } catch (const std::exception& e) {
    return DataLoss(std::string("yaml: ") + e.what());
  }
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Unavailable(std::string("write: ") + Errno(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// A rapidjson output stream into a descriptor through a small fixed buffer. With 10,000 files
// the document is ~2 MB: built in memory (and copied into a string) it cost ~4 MB of transient
// heap on every save, which set the agent's peak RSS.
class FdStream {
 public:
  using Ch = char;
  // The buffer is not zero-filled: a save is up to four times a second.
  explicit FdStream(int fd) : fd_(fd), buf_(std::make_unique_for_overwrite<char[]>(kSize)) {}
  void Put(char c) {
    Reserve(1);
    buf_[n_++] = c;
  }
  // Room for the next count bytes, which PutUnchecked and Append may then write. The buffer
  // grows only for a value longer than it (a path near 11,000 bytes, escaped).
  void Reserve(size_t count) {
    if (size_ - n_ >= count) return;
    Flush();
    if (size_ < count) {
      buf_ = std::make_unique_for_overwrite<char[]>(count);
      size_ = count;
    }
  }
  void PutUnchecked(char c) { buf_[n_++] = c; }
  void Append(const char* bytes, size_t count) {
    std::memcpy(buf_.get() + n_, bytes, count);
    n_ += count;
  }
  void Flush() {
    if (n_ > 0 && st_.ok()) st_ = WriteAll(fd_, std::string_view(buf_.get(), n_));
    written_ += n_;
    n_ = 0;
  }
  const Status& status() const { return st_; }
  uint64_t written() const { return written_; }

 private:
  static constexpr size_t kSize = 64 << 10;
  int fd_;
  std::unique_ptr<char[]> buf_;
  size_t size_ = kSize;
  size_t n_ = 0;
  uint64_t written_ = 0;
  Status st_ = Status::Ok();
};

// rapidjson's writer reserves room before each value and then writes it a byte at a time
// through these (found by argument-dependent lookup, preferred to its generic templates, which
// would call Put and test for room once per byte).
void PutReserve(FdStream& out, size_t count) { out.Reserve(count); }
void PutUnsafe(FdStream& out, char c) { out.PutUnchecked(c); }

// True for the bytes a JSON string must escape (as rapidjson's writer does: control characters,
// '"' and '\\'; every other byte, UTF-8 or not, is written as it is).
bool NeedsEscape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

// Whether any of the eight bytes in w needs escaping, all eight at once (the byte tests of "Bit
// Twiddling Hacks", exact as a yes or no): a path is scanned eight bytes a step, not one.
bool AnyNeedsEscape(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHigh = 0x8080808080808080;
  auto has_zero_byte = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
  const uint64_t below_space = (w - kOnes * 0x20) & ~w & kHigh;
  return (below_space | has_zero_byte(w ^ (kOnes * '"')) | has_zero_byte(w ^ (kOnes * '\\'))) != 0;
}

// The first byte in [p, end) that needs escaping, or end.
const char* FindEscape(const char* p, const char* end) {
  for (uint64_t w; end - p >= 8; p += 8) {
    std::memcpy(&w, p, 8);
    if (AnyNeedsEscape(w)) break;
  }
  while (p != end && !NeedsEscape(static_cast<unsigned char>(*p))) ++p;
  return p;
}

}  // namespace
}  // namespace skidder::sources

// The writer's hook for copying the run of bytes that need no escaping in one go (rapidjson
// fills it with SSE only for its own string buffer). Without it every byte of every path went
// through the writer's escape table and a call per byte: with all files growing, saving the
// positions was a fifth of the agent's user-space instructions. Positions written are the same
// bytes as before.
template <>
inline bool rapidjson::Writer<skidder::sources::FdStream>::ScanWriteUnescapedString(
    StringStream& is, size_t length) {
  const char* const begin = is.src_;
  const char* const end = is.head_ + length;
  const char* p = skidder::sources::FindEscape(begin, end);
  os_->Append(begin, static_cast<size_t>(p - begin));  // WriteString reserved 2 + 6 * length
  is.src_ = p;
  return p != end;
}

namespace skidder::sources {
namespace {

template <typename Stream>
void Serialize(const PositionSet& records, const std::map<std::string, std::string>& cursors,
               Stream& out) {
  rapidjson::Writer<Stream> w(out);
  w.StartObject();
  w.Key("version");
  w.Int(1);
  w.Key("files");
  w.StartArray();
  for (const PositionRecord& r : records) {
    w.StartObject();
    w.Key("path");
    w.String(r.path.data(), static_cast<rapidjson::SizeType>(r.path.size()));
    w.Key("dev");
    w.Uint64(r.identity.dev);
    w.Key("ino");
    w.Uint64(r.identity.ino);
    w.Key("fp_len");
    w.Uint64(r.identity.fingerprint_len);
    w.Key("fp");
    w.Uint64(r.identity.fingerprint);
    w.Key("offset");
    w.Uint64(r.offset);
    if (r.identity.born_ns != 0) {
      w.Key("born");
      w.Int64(r.identity.born_ns);
    }
    if (r.compressed) {
      w.Key("gz");
      w.Bool(true);
    }
    if (r.size != 0) {
      w.Key("size");
      w.Uint64(r.size);
    }
    if (r.done) {
      w.Key("done");
      w.Bool(true);
    }
    if (r.cut) {  // the tail's hash, never 0
      w.Key("cut");
      w.Uint(r.tail);
    }
    if (!r.origin.empty()) {
      w.Key("origin");
      w.String(r.origin.data(), static_cast<rapidjson::SizeType>(r.origin.size()));
    }
    w.EndObject();
  }
  w.EndArray();
  if (!cursors.empty()) {
    w.Key("cursors");
    w.StartObject();
    for (const auto& [key, cursor] : cursors) {
      w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
      w.String(cursor.data(), static_cast<rapidjson::SizeType>(cursor.size()));
    }
    w.EndObject();
  }
  w.EndObject();
  out.Flush();
}

// The state directory holds what the agent keeps about every log file: private to root whatever
// the umask (0750), created level by level so an existing parent keeps its own mode.
Status MakeStateDir(const std::filesystem::path& dir) {
  if (dir.empty() || dir == "/" || dir == ".") return Status::Ok();
  struct stat st;
  if (::lstat(dir.c_str(), &st) == 0) return Status::Ok();
  if (Status s = MakeStateDir(dir.parent_path()); !s.ok()) return s;
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST) {
    return Unavailable("create directory " + dir.string() + ": " + Errno(errno));
  }
  ::chmod(dir.c_str(), 0750);  // mkdir's mode is masked by the umask
  return Status::Ok();
}

// Creates the temporary file without following links and without reusing an existing one, so a
// local user who can write the directory cannot make the agent (root) write through a planted
// symlink. A leftover of a crashed run (or a planted name) is removed first: unlink removes a
// link itself, never its target.
Result<int> CreateTemp(const std::string& tmp) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0) return fd;
    if (errno != EEXIST || ::unlink(tmp.c_str()) != 0) break;
  }
  return Err(Unavailable("create " + tmp + ": " + Errno(errno)));
}

// temp file in the same directory, fsync, rename over the old file, fsync the directory: after
// a power loss the file holds the old or the new state, never a torn one. write_body writes
// the contents into the temp file's descriptor.
Status WriteAtomically(const std::string& filename,
                       const std::function<Status(int fd)>& write_body) {
  std::filesystem::path target(filename);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  if (Status s = MakeStateDir(dir); !s.ok()) return s;
  std::string tmp = filename + ".tmp-" + std::to_string(::getpid());
  Result<int> created = CreateTemp(tmp);
  if (!created) return created.error();
  int fd = *created;
  Status st = write_body(fd);
  if (st.ok() && ::fsync(fd) != 0) st = Unavailable("fsync " + tmp + ": " + Errno(errno));
  if (::close(fd) != 0 && st.ok()) st = Unavailable("close " + tmp + ": " + Errno(errno));
  if (st.ok() && ::rename(tmp.c_str(), filename.c_str()) != 0) {
    st = Unavailable("rename " + tmp + ": " + Errno(errno));
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // best effort: some file systems refuse fsync on directories
    ::close(dfd);
  }
  return Status::Ok();
}

// Either format, told by the first character: skidder writes JSON, Promtail YAML.
Status ParseAny(const std::string& text, PositionSet* out,
                std::map<std::string, std::string>* cursors) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return DataLoss("file is empty");
  return text[first] == '{' ? ParseJson(text, out, cursors) : ParsePromtailYaml(text, out, cursors);
}

int64_t MtimeNs(const std::string& file) {
  struct stat meta;
  if (::stat(file.c_str(), &meta) != 0) return 0;
  return int64_t{meta.st_mtim.tv_sec} * 1'000'000'000 + meta.st_mtim.tv_nsec;
}

}  // namespace

Positions::Positions(std::string filename, bool ignore_invalid, telemetry::AgentMetrics* metrics,
                     const std::vector<std::string>& imports)
    : filename_(std::move(filename)), ignore_invalid_(ignore_invalid), metrics_(metrics) {
  bool own_format = false;
  Status st = Load(&own_format);
  if (!st.ok()) {
    lost_ = own_file_lost_ = true;
    by_path_.clear();
    by_inode_.clear();
    cursors_.clear();
    if (st.code() != StatusCode::kDataLoss) {  // unreadable, not corrupt: nothing to set aside
      keep_unreadable_ = true;
      LOG_ERROR(
          "cannot read positions file; starting without positions and never overwriting it "
          "(fix its permissions or remove it, then restart)",
          {{"file", filename_}, {"error", st.ToString()}});
      return;  // what it holds is unknown: no import may stand in for it
    }
    if (!ignore_invalid_) {
      std::string aside = filename_ + ".corrupt-" + std::to_string(std::time(nullptr));
      bool moved = ::rename(filename_.c_str(), aside.c_str()) == 0;
      LOG_ERROR("positions file is unreadable; starting without positions, files are read again",
                {{"file", filename_},
                 {"error", st.ToString()},
                 {"set_aside_as",
                  moved ? std::string_view(aside) : std::string_view("(rename failed)")}});
    }
  }
  // Until skidder has written its own file (JSON, even one found corrupt), the other agents'
  // files are imported. Once it has, it holds what was imported and what happened since:
  // importing again would bring back records of files long gone, or trust an old offset for a
  // path reused since.
  std::vector<std::string> skipped;
  for (const std::string& file : imports) {
    if (file == filename_) continue;
    if (!own_format) {
      Import(file);
    } else if (::access(file.c_str(), F_OK) == 0) {
      skipped.push_back(file);
    }
  }
  if (!skipped.empty()) {
    LOG_INFO(
        "not importing legacy positions files: they are imported only until skidder has "
        "written its own positions file once",
        {{"file", filename_}, {"skipped", fmt::format("{}", fmt::join(skipped, ","))}});
  }
}

Status Positions::Load(bool* own_format) {
  std::string text;
  Status st = ReadWhole(filename_, &text);
  if (st.code() == StatusCode::kNotFound) return Status::Ok();
  if (!st.ok()) return st;
  loaded_mtime_ns_ = MtimeNs(filename_);
  size_t first = text.find_first_not_of(" \t\r\n");
  *own_format = first != std::string::npos && text[first] == '{';
  std::lock_guard lock(mu_);
  Status parsed = ParseAny(text, &by_path_, &cursors_);
  Reindex();
  return parsed;
}

void Positions::Import(const std::string& file) {
  std::string text;
  Status st = ReadWhole(file, &text);
  if (st.code() == StatusCode::kNotFound) return;
  PositionSet records;
  std::map<std::string, std::string> cursors;
  if (st.ok()) st = ParseAny(text, &records, &cursors);
  if (!st.ok()) {
    // Its files are read from their start (duplicates, never a loss). Saves go on: a file that
    // stays unreadable (permissions) must not stop positions from being kept; so it is not
    // imported at a later start either, once skidder has written its own file.
    lost_ = true;
    LOG_ERROR("cannot import positions file; the files it names are read from their start",
              {{"file", file}, {"into", filename_}, {"error", st.ToString()}});
    return;
  }
  std::lock_guard lock(mu_);
  size_t added = 0;
  for (const PositionRecord& r : records) {
    if (by_path_.contains(r.path)) continue;
    Index(*by_path_.insert(r).first);
    ++added;
  }
  for (auto& [key, cursor] : cursors) cursors_.emplace(key, std::move(cursor));
  dirty_ = true;
  // The oldest last write of the agents whose records were taken: a file born since may have
  // been rotated away while they were stopped (see loaded_mtime_ns). A file that added nothing
  // says nothing about the files read.
  const int64_t mtime = MtimeNs(file);
  if (added > 0 && mtime != 0 && (loaded_mtime_ns_ == 0 || mtime < loaded_mtime_ns_)) {
    loaded_mtime_ns_ = mtime;
  }
  LOG_INFO("imported positions file",
           {{"file", file}, {"into", filename_}, {"records", std::to_string(added)}});
}

void Positions::Index(const PositionRecord& r) {
  if (!r.imported) by_inode_.insert(&r);
}

void Positions::Unindex(const PositionRecord& r) {
  if (r.imported) return;
  auto [first, last] = by_inode_.equal_range(&r);
  for (auto it = first; it != last; ++it) {
    if (*it == &r) {
      by_inode_.erase(it);
      return;
    }
  }
}

void Positions::Reindex() {
  by_inode_.clear();
  for (const PositionRecord& r : by_path_) Index(r);
}

std::optional<PositionRecord> Positions::FindByPath(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return std::nullopt;
  return *it;
}

// Matches device and inode, and the birth time when both name one; the fingerprint may cover
// fewer bytes than the caller's, so the caller verifies it against the file (see identity.h).
std::optional<PositionRecord> Positions::FindByIdentity(const FileIdentity& id) const {
  std::lock_guard lock(mu_);
  // Several records may share an inode (a file and its held link or compressed copy, or a file
  // deleted and the new one that took its inode): of those that may be id's, one naming id's
  // birth time is id's for certain and wins over one naming none (written by an older skidder,
  // imported from Promtail: perhaps the deleted file's); then the first by path, as a scan in
  // path order did.
  const PositionRecord* found = nullptr;
  bool found_certain = false;
  PositionRecord probe;  // no path: nothing allocated
  probe.identity = id;
  auto [first, last] = by_inode_.equal_range(&probe);
  for (auto it = first; it != last; ++it) {
    const PositionRecord& r = **it;
    if (!SameBirth(r.identity.born_ns, id.born_ns)) continue;
    const bool certain = r.identity.born_ns != 0 && id.born_ns != 0;
    if (found == nullptr || certain > found_certain ||
        (certain == found_certain && r.path < found->path)) {
      found = &r;
      found_certain = certain;
    }
  }
  if (found == nullptr) return std::nullopt;
  return *found;
}

void Positions::Put(const PositionRecord& record) {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(record.path);
  if (it == by_path_.end()) {
    Index(*by_path_.insert(record).first);
    dirty_ = true;
    return;
  }
  PositionRecord& r = Mutable(*it);
  if (r.identity == record.identity && r.offset == record.offset && r.imported == record.imported &&
      r.compressed == record.compressed && r.origin == record.origin && r.done == record.done &&
      r.cut == record.cut && r.tail == record.tail) {
    if (r.size != record.size) {
      r.size = record.size;
      sizes_dirty_ = true;
    }
    return;
  }
  const bool rekey = r.imported != record.imported || r.identity.dev != record.identity.dev ||
                     r.identity.ino != record.identity.ino;
  if (rekey) Unindex(r);
  r = record;
  if (rekey) Index(r);
  dirty_ = true;
}

void Positions::Remove(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return;
  Unindex(*it);
  by_path_.erase(it);
  dirty_ = true;
}

std::optional<std::string> Positions::GetCursor(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = cursors_.find(key);
  if (it == cursors_.end()) return std::nullopt;
  return it->second;
}

void Positions::PutCursor(const std::string& key, const std::string& cursor) {
  std::lock_guard lock(mu_);
  std::string& slot = cursors_[key];
  if (slot == cursor) return;
  slot = cursor;
  dirty_ = true;
}

void Positions::RemoveCursor(const std::string& key) {
  std::lock_guard lock(mu_);
  if (cursors_.erase(key) > 0) dirty_ = true;
}

std::vector<std::string> Positions::CursorKeys(std::string_view prefix) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (auto it = cursors_.lower_bound(std::string(prefix));
       it != cursors_.end() && it->first.starts_with(prefix); ++it) {
    out.push_back(it->first);
  }
  return out;
}

std::vector<PositionRecord> Positions::All() const {
  std::lock_guard lock(mu_);
  std::vector<PositionRecord> out;
  out.reserve(by_path_.size());
  out.assign(by_path_.begin(), by_path_.end());
  return out;
}

std::vector<PositionRecord> Positions::Select(
    const std::function<bool(const PositionRecord&)>& keep) const {
  std::lock_guard lock(mu_);
  std::vector<PositionRecord> out;
  for (const PositionRecord& r : by_path_) {
    if (keep(r)) out.push_back(r);
  }
  return out;
}

std::vector<PositionRecord> Positions::SelectIn(
    const DirSet& dirs, const std::function<bool(const PositionRecord&)>& keep) const {
  std::lock_guard lock(mu_);
  std::vector<PositionRecord> out;
  std::string prefix;
  for (const std::string& dir : dirs) {
    if (dir == ".") {  // the records of a relative glob's paths with no directory in them
      for (const PositionRecord& r : by_path_) {
        if (r.path.find('/') == std::string::npos && keep(r)) out.push_back(r);
      }
      continue;
    }
    prefix.assign(dir);
    if (prefix != "/") prefix.push_back('/');
    for (auto it = by_path_.lower_bound(std::string_view(prefix));
         it != by_path_.end() && it->path.starts_with(prefix); ++it) {
      if (it->path.find('/', prefix.size()) == std::string::npos && keep(*it)) out.push_back(*it);
    }
  }
  return out;
}

size_t Positions::Size() const {
  std::lock_guard lock(mu_);
  return by_path_.size();
}

Status Positions::Save(SaveWhen when) {
  std::lock_guard saving(save_mu_);  // taken before mu_, never while holding it
  {
    std::lock_guard lock(mu_);
    const bool due = dirty_ || (sizes_dirty_ && when == SaveWhen::kAnyChange);
    if (read_only_ || !due) return Status::Ok();
    if (keep_unreadable_) {
      if (metrics_ != nullptr) metrics_->positions_write_errors.With({})->Add();
      return FailedPrecondition("positions file " + filename_ +
                                " could not be read at start; not overwriting it");
    }
  }
  // The records are written into the temp file under the lock (into the page cache, about a
  // millisecond for 10,000 records); fsync and rename run without it.
  Status st = WriteAtomically(filename_, [this](int fd) {
    std::lock_guard lock(mu_);
    FdStream out(fd);
    Serialize(by_path_, cursors_, out);
    if (out.status().ok()) {
      dirty_ = sizes_dirty_ = false;  // a Put during the write marks it dirty again
      saved_bytes_.store(out.written(), std::memory_order_relaxed);
    }
    return out.status();
  });
  if (st.ok()) return st;
  {
    std::lock_guard lock(mu_);
    dirty_ = true;
  }
  if (metrics_ != nullptr) metrics_->positions_write_errors.With({})->Add();
  LOG_ERROR("cannot write positions file; keeping positions in memory and retrying",
            {{"file", filename_}, {"error", st.ToString()}});
  return st;
}

}  // namespace skidder::sources
