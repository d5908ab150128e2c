#include "app/agent.h"

#include <cstdio>

namespace skidder::app {

int Main(const std::vector<std::string>& args) {
  std::fprintf(stderr, "skidder: not wired yet\n");
  return 1;
}

}  // namespace skidder::app
