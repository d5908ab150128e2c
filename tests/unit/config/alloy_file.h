// AlloyFile: Alloy text written to a temp file named c.alloy and loaded as the agent loads it.
// Error() gives the message from "c.alloy" on (the temp dir dropped), or "loaded".
#pragma once

#include <string>

#include "config/loader.h"
#include "support/test_util.h"

namespace skidder::config {

struct AlloyFile {
  testing::TempDir dir;
  LoadHooks hooks;          // remote.kubernetes.secret's reader, when a test gives one
  bool expand_env = false;  // -config.expand-env

  Result<Config> Load(const std::string& text) {
    testing::WriteFile(dir / "c.alloy", text);
    Flags flags;
    flags.config_file = dir / "c.alloy";
    flags.expand_env = expand_env;
    return LoadConfig(flags, hooks);
  }
  std::string Error(const std::string& text) {
    Result<Config> c = Load(text);
    if (c) return "loaded";
    const std::string& msg = c.error().message();
    const size_t at = msg.find("c.alloy");
    return at == std::string::npos ? msg : msg.substr(at);
  }
};

}  // namespace skidder::config
