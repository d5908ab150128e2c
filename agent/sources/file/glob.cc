#include "sources/file/glob.h"

#include <dirent.h>
#include <fnmatch.h>

namespace skidder::sources {
namespace {

constexpr std::string_view kAnyDirs = "**";

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return parts;
}

std::string Join(const std::string& dir, std::string_view name) {
  if (dir == ".") return std::string(name);  // relative patterns yield relative paths
  std::string p = dir;
  if (p.empty() || p.back() != '/') p.push_back('/');
  p.append(name);
  return p;
}

bool IsRealDir(const std::string& path, const dirent* e) {
  if (e->d_type == DT_DIR) return true;
  if (e->d_type != DT_UNKNOWN) return false;
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// readdir() wrapper: calls f(name, entry) for each entry except . and ..
template <typename F>
void ListDir(const std::string& dir, F&& f) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;  // vanished or unreadable: the next rescan sees it again
  while (dirent* e = ::readdir(d)) {
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    f(name, e);
  }
  ::closedir(d);
}

}  // namespace

bool HasGlobMeta(std::string_view segment) {
  return segment.find_first_of("*?[\\") != std::string_view::npos;
}

Glob::Glob(std::string_view pattern) : pattern_(pattern) {
  absolute_ = !pattern.empty() && pattern.front() == '/';
  for (std::string_view s : Split(pattern)) {
    if (s == kAnyDirs && !segments_.empty() && segments_.back() == kAnyDirs) continue;
    segments_.emplace_back(s);
  }
  while (fixed_ + 1 < segments_.size() && !HasGlobMeta(segments_[fixed_])) ++fixed_;
  if (absolute_) {
    root_.push_back('/');
  } else if (fixed_ == 0) {
    root_.push_back('.');
  }
  for (size_t i = 0; i < fixed_; ++i) {
    if (i > 0) root_.push_back('/');
    root_ += segments_[i];
  }
}

bool Glob::Match(std::string_view path) const {
  if (segments_.empty()) return false;
  if ((!path.empty() && path.front() == '/') != absolute_) return false;
  return MatchFrom(0, Split(path), 0);
}

bool Glob::MatchFrom(size_t seg, const std::vector<std::string_view>& parts, size_t part) const {
  std::string buf;
  for (; seg < segments_.size(); ++seg, ++part) {
    const std::string& s = segments_[seg];
    if (s == kAnyDirs) {
      if (seg + 1 == segments_.size()) return part < parts.size();
      for (size_t k = part; k < parts.size(); ++k) {
        if (MatchFrom(seg + 1, parts, k)) return true;
      }
      return false;
    }
    if (part >= parts.size()) return false;
    if (!HasGlobMeta(s)) {
      if (s != parts[part]) return false;
      continue;
    }
    buf.assign(parts[part]);
    if (::fnmatch(s.c_str(), buf.c_str(), 0) != 0) return false;
  }
  return part == parts.size();
}

void Glob::Walk(const DirFn& on_dir, const FileFn& on_file) const {
  if (segments_.empty()) return;
  WalkDir(root_, fixed_, on_dir, on_file);
}

void Glob::WalkDir(const std::string& dir, size_t seg, const DirFn& on_dir,
                   const FileFn& on_file) const {
  on_dir(dir);
  const std::string& s = segments_[seg];
  const bool last = seg + 1 == segments_.size();
  struct stat st;
  if (s == kAnyDirs) {
    if (!last) WalkDir(dir, seg + 1, on_dir, on_file);  // zero directories
    ListDir(dir, [&](std::string_view name, const dirent* e) {
      std::string p = Join(dir, name);
      if (IsRealDir(p, e)) {
        WalkDir(p, seg, on_dir, on_file);
      } else if (last && ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        on_file(p, st);
      }
    });
    return;
  }
  auto visit = [&](const std::string& p) {
    if (::stat(p.c_str(), &st) != 0) return;
    if (last && S_ISREG(st.st_mode)) on_file(p, st);
    if (!last && S_ISDIR(st.st_mode)) WalkDir(p, seg + 1, on_dir, on_file);
  };
  if (!HasGlobMeta(s)) {
    visit(Join(dir, s));
    return;
  }
  std::string name_buf;
  ListDir(dir, [&](std::string_view name, const dirent*) {
    name_buf.assign(name);
    if (::fnmatch(s.c_str(), name_buf.c_str(), 0) == 0) visit(Join(dir, name));
  });
}

}  // namespace skidder::sources
