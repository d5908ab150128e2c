#include "pipeline/stages/name_mapping.h"

#include <fmt/format.h>

#include "config/yaml_reader.h"
#include "pipeline/stages/common.h"

namespace skidder::pipeline::stages {

Result<std::vector<std::pair<std::string, std::string>>> ReadNameMapping(
    const YAML::Node& body, const std::string& file, const std::string& path,
    const NameMappingOptions& options) {
  if (!body.IsMap() || body.size() == 0) {
    return Err(config::ErrorAt(file, body, path, "expected a mapping of " + options.what));
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const YAML::Node k = it->first;  // copies: it-> is a proxy temporary
    const YAML::Node v = it->second;
    const bool key_ok = k.IsScalar() && !k.Scalar().empty() &&
                        (!options.label_names || IsValidLabelName(k.Scalar()));
    if (!key_ok) {
      return Err(config::ErrorAt(
          file, k, path,
          fmt::format("invalid {} \"{}\"", options.label_names ? "label name" : "name",
                      k.IsScalar() ? k.Scalar() : std::string("?"))));
    }
    if (!v.IsNull() && !v.IsScalar()) {
      return Err(config::ErrorAt(file, v, path + "." + k.Scalar(),
                                 "expected an extracted key (a string) or nothing"));
    }
    out.emplace_back(k.Scalar(), v.IsNull() || v.Scalar().empty() ? k.Scalar() : v.Scalar());
  }
  return out;
}

}  // namespace skidder::pipeline::stages
