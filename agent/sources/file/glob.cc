#include "sources/file/glob.h"

#include <dirent.h>
#include <fnmatch.h>

#include <algorithm>
#include <set>

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

// The '}' closing the '{' at `open` (npos if none); the commas between them at its own depth go
// to *commas. Escaped characters are skipped.
size_t ClosingBrace(std::string_view p, size_t open, std::vector<size_t>* commas) {
  int depth = 0;
  for (size_t i = open; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      ++i;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}' && --depth == 0) {
      return i;
    } else if (c == ',' && depth == 1) {
      commas->push_back(i);
    }
  }
  return std::string_view::npos;
}

void Expand(const std::string& p, size_t limit, std::vector<std::string>* out) {
  std::vector<size_t> commas;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '\\') {
      ++i;
      continue;
    }
    if (p[i] != '{') continue;
    commas.clear();
    const size_t close = ClosingBrace(p, i, &commas);
    if (close == std::string::npos) continue;  // unbalanced: a literal '{'
    commas.push_back(close);
    size_t from = i + 1;
    for (size_t c : commas) {
      if (out->size() >= limit) return;
      // Later braces (and nested ones, now at the front of the suffix) expand recursively.
      Expand(p.substr(0, i) + p.substr(from, c - from) + p.substr(close + 1), limit, out);
      from = c + 1;
    }
    return;
  }
  if (out->size() < limit) out->push_back(p);
}

}  // namespace

std::vector<std::string> ExpandBraces(std::string_view pattern, size_t limit) {
  std::vector<std::string> out;
  Expand(std::string(pattern), std::max<size_t>(limit, 1), &out);
  return out;
}

bool HasGlobMeta(std::string_view segment) {
  return segment.find_first_of("*?[\\") != std::string_view::npos;
}

Glob::Glob(std::string_view pattern) : pattern_(pattern) {
  for (const std::string& p : ExpandBraces(pattern)) alts_.push_back(Compile(p));
  // The directory all alternatives share: `/var/log/{app,web}/*.log` -> /var/log.
  const Alt& first = alts_.front();
  size_t common = first.fixed;
  for (const Alt& a : alts_) {
    if (a.absolute != first.absolute) {
      common = 0;
      break;
    }
    size_t k = 0;
    while (k < common && k < a.fixed && a.segments[k] == first.segments[k]) ++k;
    common = k;
  }
  if (first.absolute) {
    root_.push_back('/');
  } else if (common == 0) {
    root_.push_back('.');
  }
  for (size_t i = 0; i < common; ++i) {
    if (i > 0) root_.push_back('/');
    root_ += first.segments[i];
  }
}

Glob::Alt Glob::Compile(std::string_view pattern) {
  Alt a;
  a.absolute = !pattern.empty() && pattern.front() == '/';
  for (std::string_view s : Split(pattern)) {
    if (s == kAnyDirs && !a.segments.empty() && a.segments.back() == kAnyDirs) continue;
    a.segments.emplace_back(s);
  }
  while (a.fixed + 1 < a.segments.size() && !HasGlobMeta(a.segments[a.fixed])) ++a.fixed;
  if (a.absolute) {
    a.root.push_back('/');
  } else if (a.fixed == 0) {
    a.root.push_back('.');
  }
  for (size_t i = 0; i < a.fixed; ++i) {
    if (i > 0) a.root.push_back('/');
    a.root += a.segments[i];
  }
  return a;
}

bool Glob::Match(std::string_view path) const {
  const bool absolute = !path.empty() && path.front() == '/';
  const std::vector<std::string_view> parts = Split(path);
  for (const Alt& a : alts_) {
    if (!a.segments.empty() && a.absolute == absolute && MatchFrom(a, 0, parts, 0)) return true;
  }
  return false;
}

bool Glob::MatchFrom(const Alt& a, size_t seg, const std::vector<std::string_view>& parts,
                     size_t part) {
  const std::vector<std::string>& segs = a.segments;
  std::string buf;
  for (; seg < segs.size(); ++seg, ++part) {
    const std::string& s = segs[seg];
    if (s == kAnyDirs) {
      if (seg + 1 == segs.size()) return part < parts.size();
      for (size_t k = part; k < parts.size(); ++k) {
        if (MatchFrom(a, seg + 1, parts, k)) return true;
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

void Glob::Walk(const DirFn& on_dir, const FileFn& on_file, const KnownFn& known) const {
  if (alts_.size() == 1) {
    if (!alts_[0].segments.empty()) {
      WalkDir(alts_[0], alts_[0].root, alts_[0].fixed, Visitor{on_dir, on_file, known});
    }
    return;
  }
  // Alternatives may overlap (`{*,a}.log`): each directory and file is reported once.
  std::set<std::string> dirs, files;
  const DirFn once_dir = [&](const std::string& d) {
    if (dirs.insert(d).second) on_dir(d);
  };
  const FileFn once_file = [&](const std::string& p, const struct stat& st) {
    if (files.insert(p).second) on_file(p, st);
  };
  const Visitor v{once_dir, once_file, known};
  for (const Alt& a : alts_) {
    if (!a.segments.empty()) WalkDir(a, a.root, a.fixed, v);
  }
}

void Glob::WalkDir(const Alt& a, const std::string& dir, size_t seg, const Visitor& v) {
  v.on_dir(dir);
  const std::string& s = a.segments[seg];
  const bool last = seg + 1 == a.segments.size();
  struct stat st;
  // A regular file the caller knows by this path and inode needs no stat.
  auto known = [&](const std::string& p, const dirent* e) {
    return e != nullptr && e->d_type == DT_REG && v.known && v.known(p, e->d_ino, &st);
  };
  if (s == kAnyDirs) {
    if (!last) WalkDir(a, dir, seg + 1, v);  // zero directories
    ListDir(dir, [&](std::string_view name, const dirent* e) {
      std::string p = Join(dir, name);
      if (IsRealDir(p, e)) {
        WalkDir(a, p, seg, v);
      } else if (last && (known(p, e) || (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode)))) {
        v.on_file(p, st);
      }
    });
    return;
  }
  auto visit = [&](const std::string& p, const dirent* e) {
    const unsigned char type = e != nullptr ? e->d_type : static_cast<unsigned char>(DT_UNKNOWN);
    // readdir's type spares a stat per directory on the way down (symlinks are followed: stat).
    if (!last && type == DT_DIR) return WalkDir(a, p, seg + 1, v);
    if (!last && type != DT_UNKNOWN && type != DT_LNK) return;
    if (last && known(p, e)) return v.on_file(p, st);
    if (::stat(p.c_str(), &st) != 0) return;
    if (last && S_ISREG(st.st_mode)) v.on_file(p, st);
    if (!last && S_ISDIR(st.st_mode)) WalkDir(a, p, seg + 1, v);
  };
  if (!HasGlobMeta(s)) {
    visit(Join(dir, s), nullptr);
    return;
  }
  std::string name_buf;
  ListDir(dir, [&](std::string_view name, const dirent* e) {
    name_buf.assign(name);
    if (::fnmatch(s.c_str(), name_buf.c_str(), 0) == 0) visit(Join(dir, name), e);
  });
}

}  // namespace skidder::sources
