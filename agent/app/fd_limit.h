// The process's descriptor limit and the share of it log files may keep open.
//
// Promtail is a Go program, and Go raises the soft RLIMIT_NOFILE to the hard limit at start
// (Go 1.19+): under systemd (soft 1024, hard 524288) or a container runtime it can keep a file
// open per log file. skidder does the same. Log files beyond the budget are parked (closed while
// idle, reopened by identity when they grow: sources/file), which costs an open, a close and a
// fingerprint read per file per turn of a backlog: at 10,000 files under the old fixed 1024 it
// was the largest per-file cost after discovery.
#pragma once

#include <cstddef>
#include <cstdint>

namespace skidder::app {

struct FdLimit {
  uint64_t soft = 0;  // in force now
  uint64_t hard = 0;
  bool raised = false;  // the soft limit was below the hard one and was raised to it
};

// The limits in force now (0 and 0 when they cannot be read).
FdLimit OpenFileLimit();

// Raises the soft limit to the hard one (what the kernel allows: an unlimited hard limit is
// capped by fs.nr_open, so a refused raise keeps the old soft limit).
FdLimit RaiseOpenFileLimit();

// Log files kept open at once under a soft limit of `limit`: all of it but a reserve for the
// HTTP port (an eighth of the limit, at most 512), syslog and push connections, Loki, positions,
// inotify and the Kubernetes watch. Half the limit when it is small (1024 -> 512).
size_t OpenFilesBudget(uint64_t limit);

}  // namespace skidder::app
