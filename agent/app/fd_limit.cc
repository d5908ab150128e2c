#include "app/fd_limit.h"

#include <sys/resource.h>

#include <algorithm>

namespace skidder::app {

FdLimit OpenFileLimit() {
  FdLimit out;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return out;
  out.soft = rl.rlim_cur;
  out.hard = rl.rlim_max;
  return out;
}

FdLimit RaiseOpenFileLimit() {
  FdLimit out = OpenFileLimit();
  if (out.soft >= out.hard) return out;
  rlimit raised{out.hard, out.hard};
  if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
    out.soft = out.hard;
    out.raised = true;
  }
  return out;
}

size_t OpenFilesBudget(uint64_t limit) {
  constexpr uint64_t kReserve = 2048;
  const uint64_t budget = limit - std::min(limit / 2, kReserve);
  return static_cast<size_t>(std::max<uint64_t>(budget, 1));
}

}  // namespace skidder::app
