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
  std::vector<std::string> args(argv + 1, argv + argc);
  return skidder::app::Main(args);
}
