// Glob: Promtail's `__path__` patterns (doublestar semantics) and the directory walk that finds
// the files they match.
//
// Per path segment, `*` matches any run of characters except '/', `?` one character, `[...]` a
// class (`[!...]` negated), `\` escapes; dot files are not special. A segment that is exactly
// `**` matches zero or more directories. `{a,b}` alternatives (nested too, and spanning '/')
// are expanded when the glob is built into one brace-free pattern each; a path matches when any
// does. A `{` without its `}` is literal. An immutable value; any thread.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace skidder::sources {

// What a walk knows of a file it found.
struct WalkedFile {
  uint64_t dev = 0;
  uint64_t ino = 0;
  // false: ino is only the listing's d_ino (what a KnownFn accepted) and dev is unknown (0).
  // d_ino is not st_ino on a mount point (a file bind-mounted over the name), so such a file's
  // identity is only what an fstat of it says.
  bool exact = true;
  bool via_link = false;  // the name is a symbolic link, followed to a regular file
};

class Glob {
 public:
  // Empty segments (`//`, trailing `/`) are ignored. A relative pattern is relative to the cwd.
  explicit Glob(std::string_view pattern);

  bool Match(std::string_view path) const;
  // The longest directory prefix without wildcards or braces, common to all alternatives.
  const std::string& root() const { return root_; }
  const std::string& pattern() const { return pattern_; }

  // Walks from root(), descending only where the pattern can still match. on_dir is called for
  // each directory before it is listed (so a watch on it misses nothing created meanwhile);
  // on_file for each regular file that matches (symlinks followed), once even when several
  // alternatives match it. `**` does not follow symlinked directories, so link loops end. Each
  // alternative is walked from its own fixed directory.
  using DirFn = std::function<void(const std::string& dir)>;
  using FileFn = std::function<void(const std::string& path, const WalkedFile& file)>;
  // Where a listing found an entry: the listed directory's descriptor, open while the KnownFn
  // runs, and the entry's name and inode there. A caller that opens the file can openat() it on
  // dir_fd, one name for the kernel to look up instead of the whole path.
  struct Listed {
    int dir_fd = -1;
    const char* name = nullptr;  // NUL-terminated (the directory entry's own)
    uint64_t ino = 0;
  };
  // Optional: for a regular file the listing names (d_type DT_REG), fills *file and returns
  // true when its stat can be spared: a file the caller holds open there (a pass over open files
  // is then a directory listing, not a stat per file), or one it will open and fstat anyway.
  // False: the walk stats it.
  using KnownFn = std::function<bool(const std::string& path, const Listed& at, WalkedFile* file)>;
  void Walk(const DirFn& on_dir, const FileFn& on_file, const KnownFn& known = nullptr) const;
  // Walks what Walk would reach at and below dir alone: for a directory made since the last
  // walk, its files (and its subdirectories) without listing every other directory again.
  // Nothing when the pattern cannot reach dir. dir is named as the walk names it.
  void WalkUnder(const std::string& dir, const DirFn& on_dir, const FileFn& on_file,
                 const KnownFn& known = nullptr) const;
  // Whether a walk lists dir for files (its last segment's directory can be dir). A relative
  // dir is as the walk names it.
  bool ListsDir(std::string_view dir) const;
  // Lists dir alone (no descent) and reports its files as Walk does, those whose path `want`
  // accepts: a pass over the directories that had events, not every directory.
  static void ListFiles(const std::string& dir, const std::function<bool(const std::string&)>& want,
                        const FileFn& on_file, const KnownFn& known = nullptr);

 private:
  // One brace-free alternative.
  struct Alt {
    bool absolute = true;
    std::vector<std::string> segments;
    size_t fixed = 0;  // leading segments without wildcards that form root
    std::string root;
  };
  static Alt Compile(std::string_view pattern);
  static bool MatchFrom(const Alt& a, size_t seg, const std::vector<std::string_view>& parts,
                        size_t part);
  struct Visitor {
    const DirFn& on_dir;
    const FileFn& on_file;
    const KnownFn& known;
  };
  // Where a walk begins: an alternative's directory and the segment it is listed for.
  struct Start {
    const Alt* alt;
    std::string dir;
    size_t seg;
  };
  // Walks from each start; directories and files reported once even where starts overlap.
  static void WalkFrom(const std::vector<Start>& starts, const DirFn& on_dir, const FileFn& on_file,
                       const KnownFn& known);
  // at: where dir was listed (its parent's descriptor and its name there), if it was.
  static void WalkDir(const Alt& a, const std::string& dir, size_t seg, const Visitor& v,
                      const Listed& at);
  static void VisitFile(const std::string& path, unsigned char type, const Listed& at,
                        const Visitor& v);

  std::string pattern_;
  std::vector<Alt> alts_;
  std::string root_;
};

bool HasGlobMeta(std::string_view segment);

// open(2) with O_NOATIME: reading a directory or a log must not write its inode. The first
// listing of a new directory and the first read of a new file otherwise update its atime
// (relatime does so while atime <= mtime), a journalled inode write per directory and per file
// (~4 % of the agent's CPU at start with 10,000 pod logs). Only the owner or CAP_FOWNER may ask:
// after one EPERM, plain opens. OpenAtNoAtime is the same for a name relative to dir_fd.
int OpenNoAtime(const char* path, int flags);
int OpenAtNoAtime(int dir_fd, const char* name, int flags);

// `{a,b}` alternatives expanded, nested ones too, in order; a pattern without them is itself.
// Stops at `limit` alternatives (a pathological pattern cannot exhaust memory).
std::vector<std::string> ExpandBraces(std::string_view pattern, size_t limit = 1024);

}  // namespace skidder::sources
