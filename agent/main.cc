// skidder: flags -> Config -> Agent::Run(). Nothing else lives here.
#include <string>
#include <vector>

#include "app/agent.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return skidder::app::Main(args);
}
