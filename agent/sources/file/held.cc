#include "sources/file/held.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "util/log.h"

namespace skidder::sources {

bool HeldFiles::IsHeld(const std::string& path) const {
  return !dir_.empty() && path.size() > dir_.size() && path.starts_with(dir_) &&
         path[dir_.size()] == '/';
}

bool HeldFiles::EnsureDir() {
  if (dir_ready_) return true;
  if (::mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) {
    LOG_ERROR("cannot create the held-files directory; rotated files are not held across crashes",
              {{"dir", dir_}, {"error", std::strerror(errno)}});
    disabled_ = true;
    return false;
  }
  ::chmod(dir_.c_str(), 0700);  // mkdir's mode is masked by the umask
  dir_ready_ = true;
  return true;
}

std::string HeldFiles::Hold(const std::string& path, const FileIdentity& id, bool elsewhere) {
  if (!enabled() || !EnsureDir()) return "";
  std::string held = dir_ + "/" + std::to_string(id.dev) + "-" + std::to_string(id.ino);
  if (::link(path.c_str(), held.c_str()) == 0) return held;
  const int err = errno;
  if (err == EEXIST) {  // a link of an earlier run, or of an earlier file under a reused inode
    struct stat a, b;
    if (::stat(path.c_str(), &a) == 0 && ::stat(held.c_str(), &b) == 0 && a.st_ino == b.st_ino &&
        a.st_dev == b.st_dev) {
      return held;
    }
    ::unlink(held.c_str());
    if (::link(path.c_str(), held.c_str()) == 0) return held;
    return "";
  }
  if (err == ENOENT) return "";  // gone since it was found: nothing to hold
  if (elsewhere) {
    if (!std::exchange(elsewhere_logged_, true)) {
      LOG_WARN(
          "cannot hard-link a file rotated behind a symlink into the held directory; such files "
          "are read to their end but not held across a crash (other files still are)",
          {{"dir", dir_}, {"file", path}, {"error", std::strerror(err)}});
    }
    return "";
  }
  // What stands in the way, and what would remove it.
  const char* fix =
      err == EXDEV ? "put positions.held_dir on the logs' file system (not across mounts, not "
                     "even two bind mounts of one file system)"
      : err == EPERM
          ? "the kernel lets only the file's owner, or a user who may write it, link it "
            "(fs.protected_hardlinks): run the agent as root or as the logs' owner, or set "
            "positions.held_dir: off to silence this"
          : "make positions.held_dir writable, or set it to off to silence this";
  LOG_WARN(
      "cannot hard-link rotated files into the held directory; holding is off: a rotated file "
      "deleted before it was read is lost if the agent crashes (a clean stop still reads it)",
      {{"dir", dir_}, {"file", path}, {"error", std::strerror(err)}, {"fix", fix}});
  disabled_ = true;  // EXDEV, EROFS, EPERM, EMLINK: the next file would fail the same way
  return "";
}

void HeldFiles::Release(const std::string& held_path) {
  if (IsHeld(held_path)) ::unlink(held_path.c_str());
}

void HeldFiles::RemoveOrphans(const std::set<std::string>& referenced) {
  if (dir_.empty()) return;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return;
  std::vector<std::string> orphans;
  while (dirent* e = ::readdir(d)) {
    std::string path = dir_ + "/" + e->d_name;
    if (e->d_name[0] != '.' && !referenced.contains(path)) orphans.push_back(std::move(path));
  }
  ::closedir(d);
  for (const auto& p : orphans) {
    LOG_INFO("removing a held link no position refers to", {{"path", p}});
    ::unlink(p.c_str());
  }
}

uint64_t HeldFiles::OnlyHeldBytes(const std::string& held_path) {
  struct stat st;
  if (::stat(held_path.c_str(), &st) != 0 || st.st_nlink > 1) return 0;
  return static_cast<uint64_t>(st.st_size);
}

}  // namespace skidder::sources
