// The application: wires real implementations together, owns threads, signals and reload.
#pragma once

#include <string>
#include <vector>

namespace skidder::app {

// Entry point behind main(): parses flags, loads config, runs until SIGTERM/SIGINT.
// Returns the process exit code.
int Main(const std::vector<std::string>& args);

}  // namespace skidder::app
