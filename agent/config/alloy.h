// An Alloy configuration (the log components of a `config.alloy`) read into the same Config the
// Promtail YAML loader produces, so everything downstream runs unchanged.
//
// The component graph is resolved here: each loki.source.* becomes one scrape config whose
// targets come from its discovery chain (discovery.kubernetes -> discovery.relabel ->
// local.file_match) and whose pipeline is the graph of loki.process / loki.relabel it forwards
// to (fan-out and per-path loki.write components through the fanout stage); every loki.write
// endpoint becomes a client. Cycles, unknown references and every component skidder does not
// run are refused with file:line:column. See docs/migrate-from-alloy.md.
#pragma once

#include <string>

#include "config/config.h"
#include "util/status.h"

namespace skidder::config {

Result<Config> ParseAlloyConfig(const std::string& text, const std::string& file);

// True when the config file should be read as Alloy: format "alloy", or no format and a
// `.alloy` file name.
bool IsAlloyConfig(const std::string& format, const std::string& file);

}  // namespace skidder::config
