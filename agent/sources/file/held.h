// HeldFiles: keeps rotated files reachable across a crash without copying them.
//
// While the agent runs, an open descriptor keeps a rotated file's bytes alive even after the
// kubelet deletes it; a crash drops the descriptor and the unread rest with it. So a file that
// leaves its name before it is read to the end gets a hard link in the held directory: it costs
// no disk while the kubelet still keeps the file, and keeps it alive after the kubelet deletes
// it. The positions record then names the link, and the link goes once everything in the file
// is acknowledged. Disk kept alive only by links is bounded by a byte budget (oldest released
// first, counted as lost). link() fails across mounts (EXDEV), even between two bind mounts of
// one file system: the held directory must be on the logs' mount. Where linking is impossible,
// holding turns itself off with one log line, and a restart falls back to reading compressed
// copies. Reading thread only.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "sources/file/positions.h"

namespace skidder::sources {

class HeldFiles {
 public:
  // dir "" disables holding.
  HeldFiles(std::string dir, uint64_t max_bytes) : dir_(std::move(dir)), max_bytes_(max_bytes) {}

  bool enabled() const { return !dir_.empty() && !disabled_; }
  // True when path is a link of the held directory.
  bool IsHeld(const std::string& path) const;
  // Links the file now at path (with id's device and inode) into the held directory; returns the
  // link's path, or "" when it cannot (the first failure of a kind that will not go away is
  // logged and turns holding off). elsewhere: the file is outside the logs' directories (rotated
  // beside a link's target, which may be on another mount, e.g. Docker's containers directory):
  // its failure says nothing of the other files, so it is only logged, once.
  std::string Hold(const std::string& path, const FileIdentity& id, bool elsewhere = false);
  // Removes the link (everything in it is acknowledged, or it is let go).
  void Release(const std::string& held_path);
  // Removes links that no record names (left by a crash between linking and saving positions;
  // the file is still found under its rotated name, or was deleted and is lost either way).
  void RemoveOrphans(const std::set<std::string>& referenced);

  // Bytes a held link alone keeps alive: its size when no other name is left (st_nlink == 1).
  static uint64_t OnlyHeldBytes(const std::string& held_path);
  uint64_t max_bytes() const { return max_bytes_; }
  const std::string& dir() const { return dir_; }

 private:
  bool EnsureDir();
  std::string dir_;
  uint64_t max_bytes_;
  bool disabled_ = false;
  bool elsewhere_logged_ = false;
  bool dir_ready_ = false;
};

}  // namespace skidder::sources
