#include "sources/journal/local_journal.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <vector>

namespace skidder::sources::journal {
namespace {

// A machine id as journald names directories: 32 lower-case hex digits.
bool IsMachineId(const std::string& s) {
  return s.size() == 32 && std::all_of(s.begin(), s.end(), [](char c) {
           return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
         });
}

// The machine-id directories of dir, sorted.
std::vector<std::string> MachineDirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    struct stat st;
    if (IsMachineId(name) && ::stat((dir + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      out.push_back(std::move(name));
    }
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

// The machine id as libsystemd reads /etc/machine-id (plain format): 32 hex digits, then at most
// one newline and nothing else. `id` is lower-cased, as journald names directories; "" when the
// file holds no id, and `why` says what is wrong.
struct MachineIdFile {
  std::string id;
  std::string why;
};

MachineIdFile ReadMachineId(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return {"", errno == ENOENT ? "is missing"
                                : fmt::format("cannot be read ({})", std::strerror(errno))};
  }
  char buf[64];
  const ssize_t n = ::read(fd, buf, sizeof buf);
  const int read_errno = errno;
  ::close(fd);
  if (n < 0) return {"", fmt::format("cannot be read ({})", std::strerror(read_errno))};
  std::string s(buf, static_cast<size_t>(n));
  if (s.empty()) return {"", "is empty"};
  if (s.back() == '\n') s.pop_back();
  std::string id = s;
  for (char& c : id) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (IsMachineId(id)) return {std::move(id), ""};
  for (char& c : s) {  // shown in the warning: printable bytes only
    if (c < 0x20 || c > 0x7e) c = '?';
  }
  return {"", fmt::format("holds no machine id ({:.40})", s)};
}

}  // namespace

LocalChoice ChooseLocal(const LocalJournal& where) {
  const std::string base = where.root == "/" ? "" : where.root;
  const std::string persistent_dir = base + "/var/log/journal";
  const std::string volatile_dir = base + "/run/log/journal";
  const std::vector<std::string> persistent = MachineDirs(persistent_dir);
  const std::vector<std::string> volatile_ids = MachineDirs(volatile_dir);
  if (persistent.empty()) {  // libsystemd reads /run/log/journal whatever the machine id
    if (!volatile_ids.empty()) return {};
    return {false, fmt::format("no journal found in {} or {} (in a container, mount the host's "
                               "/var/log and /run/log/journal)",
                               persistent_dir, volatile_dir)};
  }
  const MachineIdFile m = ReadMachineId(where.machine_id_file);
  auto names = [&](const std::vector<std::string>& ids) {
    return std::binary_search(ids.begin(), ids.end(), m.id);
  };
  // Journald may not have flushed to /var/log/journal yet (or keeps the journal in /run only):
  // an id of a volatile directory is this machine's as well.
  if (!m.id.empty() && (names(persistent) || names(volatile_ids))) return {};
  const std::string what =
      m.id.empty() ? m.why : fmt::format("names no journal directory ({})", m.id);
  return {true, fmt::format("{} {}: reading every machine's journal in {} ({}) and {}; mount the "
                            "host's /etc/machine-id read-only to read only this machine's",
                            where.machine_id_file, what, persistent_dir,
                            fmt::join(persistent, ", "), volatile_dir)};
}

}  // namespace skidder::sources::journal
