#include "sources/journal/local_journal.h"

#include <dirent.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
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

}  // namespace

LocalChoice ChooseLocal(const LocalJournal& where) {
  const std::string base = where.root == "/" ? "" : where.root;
  const std::string persistent_dir = base + "/var/log/journal";
  const std::string volatile_dir = base + "/run/log/journal";
  const std::vector<std::string> persistent = MachineDirs(persistent_dir);
  if (persistent.empty()) {
    if (!MachineDirs(volatile_dir).empty()) return {};
    return {false, fmt::format("no journal found in {} or {} (in a container, mount the host's "
                               "/var/log and /run/log/journal)",
                               persistent_dir, volatile_dir)};
  }
  std::ifstream in(where.machine_id_file);
  std::string id;
  const bool exists = static_cast<bool>(in);
  if (exists) std::getline(in, id);
  id.erase(std::find_if(id.rbegin(), id.rend(), [](char c) { return !std::isspace(c); }).base(),
           id.end());
  if (IsMachineId(id) && std::binary_search(persistent.begin(), persistent.end(), id)) return {};
  const std::string what = !exists            ? "is missing"
                           : id.empty()       ? "is empty"
                           : !IsMachineId(id) ? fmt::format("holds no machine id ({:.40})", id)
                                              : fmt::format("names no journal directory ({})", id);
  return {true, fmt::format("{} {}: reading the journal of every machine in {} and {} ({}); "
                            "mount the host's /etc/machine-id read-only to read only this "
                            "machine's",
                            where.machine_id_file, what, persistent_dir, volatile_dir,
                            fmt::join(persistent, ", "))};
}

}  // namespace skidder::sources::journal
