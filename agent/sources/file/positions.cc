#include "sources/file/positions.h"

#include <fcntl.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string_view>

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

// skidder's own format: {"version":1,"files":[{path,dev,ino,fp_len,fp,offset}]}.
Status ParseJson(const std::string& text, std::map<std::string, PositionRecord>* out) {
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
    (*out)[r.path] = std::move(r);
  }
  return Status::Ok();
}

// Promtail's positions.yaml: `positions: {"/path": "123"}`. Identity is unknown, so the records
// are trusted by path (and only while the offset fits the file).
Status ParsePromtailYaml(const std::string& text, std::map<std::string, PositionRecord>* out) {
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
      // Journal cursors and other non-file positions share the map; they are not ours.
      if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos) continue;
      r.offset = std::stoull(value);
      r.imported = true;
      (*out)[r.path] = std::move(r);
    }
  } catch (const std::exception& e) {
    return DataLoss(std::string("yaml: ") + e.what());
  }
  return Status::Ok();
}

std::string Serialize(const std::map<std::string, PositionRecord>& records) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("version");
  w.Int(1);
  w.Key("files");
  w.StartArray();
  for (const auto& [path, r] : records) {
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
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
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

// temp file in the same directory, fsync, rename over the old file, fsync the directory: after
// a power loss the file holds the old or the new state, never a torn one.
Status WriteAtomically(const std::string& filename, const std::string& data) {
  std::filesystem::path target(filename);
  std::filesystem::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);  // a missing directory fails below, with errno
  std::string tmp = filename + ".tmp-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("create " + tmp + ": " + Errno(errno));
  Status st = WriteAll(fd, data);
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

}  // namespace

Positions::Positions(std::string filename, bool ignore_invalid, telemetry::AgentMetrics* metrics)
    : filename_(std::move(filename)), ignore_invalid_(ignore_invalid), metrics_(metrics) {
  Status st = Load();
  if (st.ok()) return;
  by_path_.clear();
  if (st.code() != StatusCode::kDataLoss) {  // unreadable, not corrupt: nothing to set aside
    LOG_ERROR("cannot read positions file; starting without positions",
              {{"file", filename_}, {"error", st.ToString()}});
    return;
  }
  if (ignore_invalid_) return;
  std::string aside = filename_ + ".corrupt-" + std::to_string(std::time(nullptr));
  bool moved = ::rename(filename_.c_str(), aside.c_str()) == 0;
  LOG_ERROR(
      "positions file is unreadable; starting without positions, files are read again",
      {{"file", filename_},
       {"error", st.ToString()},
       {"set_aside_as", moved ? std::string_view(aside) : std::string_view("(rename failed)")}});
}

Status Positions::Load() {
  std::string text;
  Status st = ReadWhole(filename_, &text);
  if (st.code() == StatusCode::kNotFound) return Status::Ok();
  if (!st.ok()) return st;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return DataLoss("file is empty");
  std::lock_guard lock(mu_);
  if (text[first] == '{') return ParseJson(text, &by_path_);
  return ParsePromtailYaml(text, &by_path_);
}

std::optional<PositionRecord> Positions::FindByPath(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return std::nullopt;
  return it->second;
}

// Matches device and inode; the fingerprint may cover fewer bytes than the caller's, so the
// caller verifies it against the file (see identity.h).
std::optional<PositionRecord> Positions::FindByIdentity(const FileIdentity& id) const {
  std::lock_guard lock(mu_);
  for (const auto& [path, r] : by_path_) {
    if (!r.imported && r.identity.dev == id.dev && r.identity.ino == id.ino) return r;
  }
  return std::nullopt;
}

void Positions::Put(const PositionRecord& record) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = by_path_.try_emplace(record.path, record);
  if (inserted) {
    dirty_ = true;
    return;
  }
  PositionRecord& r = it->second;
  if (r.identity == record.identity && r.offset == record.offset && r.imported == record.imported) {
    return;
  }
  r = record;
  dirty_ = true;
}

void Positions::Remove(const std::string& path) {
  std::lock_guard lock(mu_);
  if (by_path_.erase(path) > 0) dirty_ = true;
}

std::vector<PositionRecord> Positions::All() const {
  std::lock_guard lock(mu_);
  std::vector<PositionRecord> out;
  out.reserve(by_path_.size());
  for (const auto& [path, r] : by_path_) out.push_back(r);
  return out;
}

Status Positions::Save() {
  std::string data;
  {
    std::lock_guard lock(mu_);
    if (read_only_ || !dirty_) return Status::Ok();
    data = Serialize(by_path_);
    dirty_ = false;  // a Put during the write marks it dirty again
  }
  Status st = WriteAtomically(filename_, data);
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
