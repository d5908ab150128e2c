// Glob: Promtail's `__path__` patterns (doublestar semantics) and the directory walk that finds
// the files they match.
//
// Per path segment, `*` matches any run of characters except '/', `?` one character, `[...]` a
// class (`[!...]` negated), `\` escapes; dot files are not special. A segment that is exactly
// `**` matches zero or more directories. Brace alternatives `{a,b}` are not supported. An
// immutable value; any thread.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace skidder::sources {

class Glob {
 public:
  // Empty segments (`//`, trailing `/`) are ignored. A relative pattern is relative to the cwd.
  explicit Glob(std::string_view pattern);

  bool Match(std::string_view path) const;
  // The longest directory prefix without wildcards: where a walk starts.
  const std::string& root() const { return root_; }
  const std::string& pattern() const { return pattern_; }

  // Walks from root(), descending only where the pattern can still match. on_dir is called for
  // each directory before it is listed (so a watch on it misses nothing created meanwhile);
  // on_file for each regular file that matches, with its stat (symlinks followed). `**`
  // does not follow symlinked directories, so link loops end.
  using DirFn = std::function<void(const std::string& dir)>;
  using FileFn = std::function<void(const std::string& path, const struct stat& st)>;
  void Walk(const DirFn& on_dir, const FileFn& on_file) const;

 private:
  bool MatchFrom(size_t seg, const std::vector<std::string_view>& parts, size_t part) const;
  void WalkDir(const std::string& dir, size_t seg, const DirFn& on_dir,
               const FileFn& on_file) const;

  std::string pattern_;
  bool absolute_ = true;
  std::vector<std::string> segments_;
  size_t fixed_ = 0;  // leading segments without wildcards that form root_
  std::string root_;
};

bool HasGlobMeta(std::string_view segment);

}  // namespace skidder::sources
