// Which journal "the local journal" (a journal job without `path`) is.
//
// libsystemd reads this machine's persistent journal from /var/log/journal/<machine id>, the id
// taken from /etc/machine-id. In a container that id is not the host's unless /etc/machine-id is
// mounted from the host: missing, empty, or the image's own, it names no directory, and
// libsystemd reads nothing without an error (Promtail and Alloy then run "healthy" and ship no
// journal at all). skidder looks first: when the id names none of the persistent directories
// there are, it reads every machine's journal under the OS tree instead, and says so.
// (Volatile journals, /run/log/journal, are read whatever the id, as libsystemd does.)
#pragma once

#include <string>

namespace skidder::sources::journal {

struct LocalJournal {
  std::string root = "/";  // the OS tree holding var/log/journal and run/log/journal
  std::string machine_id_file = "/etc/machine-id";
};

struct LocalChoice {
  // Read every machine's journal under root (sd-journal's OS_ROOT), not this machine's alone.
  bool every_machine = false;
  // Why, or what looks wrong, for a warning at start; "" when all is as expected.
  std::string note;
};

LocalChoice ChooseLocal(const LocalJournal& where);

}  // namespace skidder::sources::journal
