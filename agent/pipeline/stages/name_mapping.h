// Reading the "name: [extracted key]" mappings several stages share (labels, structured_metadata,
// logfmt's mapping): each key a name, each value the extracted key to read, empty meaning the
// same name. ForEachName is the shape and key check underneath, for mappings whose values mean
// something else (static_labels). ReadNameList reads the plain lists of names (labeldrop,
// labelallow, structured_metadata_drop). Config-time only.
#pragma once

#include <yaml-cpp/yaml.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

namespace skidder::pipeline::stages {

struct NameMappingOptions {
  bool label_names = true;                             // keys must be valid Prometheus label names
  std::string what = "label names to extracted keys";  // for "expected a mapping of ..."
};

// Checks that body is a non-empty mapping with valid names as keys, then calls visit(name, value)
// for each entry in file order; the first error (a key's or visit's) is returned.
Status ForEachName(const YAML::Node& body, const std::string& file, const std::string& path,
                   const NameMappingOptions& options,
                   const std::function<Status(const std::string&, const YAML::Node&)>& visit);

// (name, source) pairs in file order; errors carry file:line:column of the offending node.
Result<std::vector<std::pair<std::string, std::string>>> ReadNameMapping(
    const YAML::Node& body, const std::string& file, const std::string& path,
    const NameMappingOptions& options = {});

// The names of a non-empty list, in file order; an item that is not a name (a valid label name
// when options.label_names) is the error, with its file:line:column.
Result<std::vector<std::string>> ReadNameList(const YAML::Node& body, const std::string& file,
                                              const std::string& path,
                                              const NameMappingOptions& options);

}  // namespace skidder::pipeline::stages
