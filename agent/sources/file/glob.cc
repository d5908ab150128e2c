#include "sources/file/glob.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
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

bool IsRealDir(const std::string& path, unsigned char type) {
  if (type == DT_DIR) return true;
  if (type != DT_UNKNOWN) return false;
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Calls f(name, d_type, d_ino, dir_fd) for each entry except . and .. (name NUL-terminated,
// dir_fd open during the call) with open + getdents64, not opendir: glibc's opendir fstat()s
// every directory, a syscall more per directory (a pass over 10,000 pod logs lists 20,000).
// `at` is where dir itself was listed, if it was: opened there, the kernel looks up one name
// instead of every directory of the path (a first pass over 10,000 pod logs opens 20,000
// directories and 10,000 files). The buffer is per call: f may list a subdirectory.
template <typename F>
void ListDir(const std::string& dir, const Glob::Listed& at, F&& f) {
  constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  const int fd =
      at.dir_fd >= 0 ? OpenAtNoAtime(at.dir_fd, at.name, kFlags) : OpenNoAtime(dir.c_str(), kFlags);
  if (fd < 0) return;  // vanished or unreadable: the next rescan sees it again
  constexpr size_t kBuf = 32 * 1024;
  auto buf = std::make_unique_for_overwrite<char[]>(kBuf);  // not zeroed: 32 KiB per directory
  ssize_t n;
  while ((n = ::getdents64(fd, buf.get(), kBuf)) > 0) {
    for (ssize_t off = 0; off < n;) {
      const auto* e = reinterpret_cast<const dirent64*>(buf.get() + off);
      off += e->d_reclen;
      std::string_view name(e->d_name);
      if (name == "." || name == "..") continue;
      f(name, e->d_type, static_cast<uint64_t>(e->d_ino), fd);
    }
  }
  ::close(fd);
}

// stat()s path as a regular file to report: false when it is none (or gone).
bool StatFile(const std::string& path, bool maybe_link, WalkedFile* out) {
  struct stat st;
  out->via_link = false;
  if (maybe_link) {
    if (::lstat(path.c_str(), &st) != 0) return false;
    out->via_link = S_ISLNK(st.st_mode);
  }
  if ((!maybe_link || out->via_link) && ::stat(path.c_str(), &st) != 0) return false;
  if (!S_ISREG(st.st_mode)) return false;
  out->dev = static_cast<uint64_t>(st.st_dev);
  out->ino = static_cast<uint64_t>(st.st_ino);
  out->exact = true;
  return true;
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

int OpenAtNoAtime(int dir_fd, const char* name, int flags) {
  static std::atomic<bool> refused{false};
  const auto open = [&](int f) {
    const int fd = ::openat(dir_fd, name, f);
    // O_NONBLOCK (kOpenToReadFlags, see OpenToRead) refused by a write lease: wait for it.
    if (fd < 0 && errno == EWOULDBLOCK && (f & O_NONBLOCK) != 0) {
      return ::openat(dir_fd, name, f & ~O_NONBLOCK);
    }
    return fd;
  };
  if (!refused.load(std::memory_order_relaxed)) {
    const int fd = open(flags | O_NOATIME);
    if (fd >= 0 || errno != EPERM) return fd;
    refused.store(true, std::memory_order_relaxed);
  }
  return open(flags);
}

int OpenNoAtime(const char* path, int flags) { return OpenAtNoAtime(AT_FDCWD, path, flags); }

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

bool Glob::ListsDir(std::string_view dir) const {
  const bool absolute = !dir.empty() && dir.front() == '/';
  const std::vector<std::string_view> parts = Split(dir);
  for (const Alt& a : alts_) {
    if (a.segments.empty() || a.absolute != absolute) continue;
    Alt prefix = a;
    prefix.segments.pop_back();  // the directories above the file name
    if (MatchFrom(prefix, 0, parts, 0)) return true;
    // A `**` before the name also matches zero directories; a `**` as the name, files below.
    if (!prefix.segments.empty() && prefix.segments.back() == kAnyDirs) {
      prefix.segments.pop_back();
      if (MatchFrom(prefix, 0, parts, 0)) return true;
    }
    if (a.segments.back() == kAnyDirs && MatchFrom(a, 0, parts, 0)) return true;
  }
  return false;
}

void Glob::ListFiles(const std::string& dir, const std::function<bool(const std::string&)>& want,
                     const FileFn& on_file, const KnownFn& known) {
  const DirFn no_dir;
  const Visitor v{no_dir, on_file, known};
  ListDir(dir, Listed{}, [&](std::string_view name, unsigned char type, uint64_t ino, int fd) {
    std::string p = Join(dir, name);
    if (type != DT_DIR && want(p)) VisitFile(p, type, Listed{fd, name.data(), ino}, v);
  });
}

void Glob::Walk(const DirFn& on_dir, const FileFn& on_file, const KnownFn& known) const {
  std::vector<Start> starts;
  for (const Alt& a : alts_) {
    if (!a.segments.empty()) starts.push_back(Start{&a, a.root, a.fixed});
  }
  WalkFrom(starts, on_dir, on_file, known);
}

void Glob::WalkUnder(const std::string& dir, const DirFn& on_dir, const FileFn& on_file,
                     const KnownFn& known) const {
  const bool absolute = !dir.empty() && dir.front() == '/';
  const std::vector<std::string_view> parts = Split(dir);
  std::vector<Start> starts;
  for (const Alt& a : alts_) {
    if (a.segments.empty() || a.absolute != absolute) continue;
    if (a.root.size() > dir.size() && a.root.starts_with(dir) && a.root[dir.size()] == '/') {
      starts.push_back(Start{&a, a.root, a.fixed});  // all of this alternative is below dir
      continue;
    }
    // A walk lists dir for segment `seg` when dir's directories match the segments before it;
    // under a `**` at seg, also when they match those and the `**` (it stands for any
    // directories between, and the walk lists each for the same segment).
    // A walk for a `**` lists the same directory for the segment after it too: not twice.
    Alt prefix = a;
    bool under_any = false;
    for (size_t seg = a.fixed; seg < a.segments.size(); ++seg) {
      prefix.segments.assign(a.segments.begin(), a.segments.begin() + static_cast<long>(seg));
      bool listed = MatchFrom(prefix, 0, parts, 0);
      if (!listed && a.segments[seg] == kAnyDirs) {
        prefix.segments.emplace_back(kAnyDirs);
        listed = MatchFrom(prefix, 0, parts, 0);
      }
      if (listed && !under_any) starts.push_back(Start{&a, dir, seg});
      under_any = listed && a.segments[seg] == kAnyDirs;
    }
  }
  WalkFrom(starts, on_dir, on_file, known);
}

void Glob::WalkFrom(const std::vector<Start>& starts, const DirFn& on_dir, const FileFn& on_file,
                    const KnownFn& known) {
  if (starts.size() == 1) {
    const Start& s = starts.front();
    WalkDir(*s.alt, s.dir, s.seg, Visitor{on_dir, on_file, known}, Listed{});
    return;
  }
  // Alternatives may overlap (`{*,a}.log`), and a `**` lists a directory for more than one
  // segment: each directory and file is reported once.
  std::set<std::string> dirs, files;
  const DirFn once_dir = [&](const std::string& d) {
    if (dirs.insert(d).second) on_dir(d);
  };
  const FileFn once_file = [&](const std::string& p, const WalkedFile& f) {
    if (files.insert(p).second) on_file(p, f);
  };
  const Visitor v{once_dir, once_file, known};
  for (const Start& s : starts) WalkDir(*s.alt, s.dir, s.seg, v, Listed{});
}

// A matching name in the last segment: reported if it is (or links to) a regular file. The
// listing's type spares the stat of a regular file the caller vouches for (KnownFn); a symlink
// is followed, and its lstat tells via_link; an entry of unknown type gets both.
void Glob::VisitFile(const std::string& path, unsigned char type, const Listed& at,
                     const Visitor& v) {
  WalkedFile f;
  if (type == DT_REG && v.known && v.known(path, at, &f)) return v.on_file(path, f);
  if (type != DT_REG && type != DT_LNK && type != DT_UNKNOWN) return;
  if (StatFile(path, type != DT_REG, &f)) v.on_file(path, f);
}

void Glob::WalkDir(const Alt& a, const std::string& dir, size_t seg, const Visitor& v,
                   const Listed& at) {
  v.on_dir(dir);
  const std::string& s = a.segments[seg];
  const bool last = seg + 1 == a.segments.size();
  if (s == kAnyDirs) {
    if (!last) WalkDir(a, dir, seg + 1, v, at);  // zero directories
    ListDir(dir, at, [&](std::string_view name, unsigned char type, uint64_t ino, int fd) {
      std::string p = Join(dir, name);
      const Listed here{fd, name.data(), ino};
      if (IsRealDir(p, type)) {
        WalkDir(a, p, seg, v, here);
      } else if (last) {
        VisitFile(p, type, here, v);
      }
    });
    return;
  }
  auto visit = [&](const std::string& p, unsigned char type, const Listed& here) {
    if (last) return VisitFile(p, type, here, v);
    // readdir's type spares a stat per directory on the way down (symlinks are followed: stat).
    if (type == DT_DIR) return WalkDir(a, p, seg + 1, v, here);
    if (type != DT_UNKNOWN && type != DT_LNK) return;
    struct stat st;
    if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) WalkDir(a, p, seg + 1, v, here);
  };
  if (!HasGlobMeta(s)) {
    visit(Join(dir, s), DT_UNKNOWN, Listed{});
    return;
  }
  ListDir(dir, at, [&](std::string_view name, unsigned char type, uint64_t ino, int fd) {
    if (::fnmatch(s.c_str(), name.data(), 0) == 0) {
      visit(Join(dir, name), type, Listed{fd, name.data(), ino});
    }
  });
}

}  // namespace skidder::sources
