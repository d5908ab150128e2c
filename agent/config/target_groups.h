// Target files of file_sd_configs: Prometheus' target groups, as JSON or YAML
//   [{"targets": ["host:1234", ...], "labels": {"name": "value", ...}}, ...]
// turned into one label set per target: the group's labels, __address__ (the target) and
// __meta_filepath (the file). Pure: no I/O; callable from any thread.
#pragma once

#include <string>
#include <vector>

#include "model/labels.h"
#include "util/status.h"

namespace skidder::config {

// Parses text (the content of the target file at path). Errors name path:line:column and say
// what is wrong; a group without targets contributes nothing, as in Prometheus.
Result<std::vector<Labels>> ParseTargetGroups(const std::string& text, const std::string& path);

}  // namespace skidder::config
