// skidder: flags -> Config -> Agent::Run(). Nothing else lives here.
#include <malloc.h>

#include <string>
#include <vector>

#include "app/agent.h"

int main(int argc, char** argv) {
  // Memory is part of the feature (a DaemonSet on every node): two malloc arenas keep the reader,
  // sender and HTTP threads from each growing a heap of their own (measured with
  // benchmarks/e2e.py: about 1 MB less peak RSS).
  mallopt(M_ARENA_MAX, 2);
  // A fixed threshold: blocks of 256 KiB and more (request bodies, batch vectors) are mapped
  // and unmapped on their own. glibc's default raises the threshold to the largest block ever
  // freed, after which MiB-sized buffers come from the arena and leave holes it never returns:
  // about 1 MB of peak RSS on benchmarks/e2e.py's backlogs (benchmarks/README.md, "Memory").
  mallopt(M_MMAP_THRESHOLD, 256 << 10);
  std::vector<std::string> args(argv + 1, argv + argc);
  return skidder::app::Main(args);
}
