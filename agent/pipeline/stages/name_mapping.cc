#include "pipeline/stages/name_mapping.h"

#include <fmt/format.h>

#include <utility>

#include "config/yaml_reader.h"
#include "pipeline/stage_support.h"

namespace skidder::pipeline::stages {

Status ForEachName(const YAML::Node& body, const std::string& file, const std::string& path,
                   const NameMappingOptions& options,
                   const std::function<Status(const std::string&, const YAML::Node&)>& visit) {
  if (!body.IsMap() || body.size() == 0) {
    return config::ErrorAt(file, body, path, "expected a mapping of " + options.what);
  }
  for (auto it = body.begin(); it != body.end(); ++it) {
    const YAML::Node k = it->first;  // copies: it-> is a proxy temporary
    const YAML::Node v = it->second;
    const bool key_ok = k.IsScalar() && !k.Scalar().empty() &&
                        (!options.label_names || IsValidLabelName(k.Scalar()));
    if (!key_ok) {
      return config::ErrorAt(
          file, k, path,
          fmt::format("invalid {} \"{}\"", options.label_names ? "label name" : "name",
                      k.IsScalar() ? k.Scalar() : std::string("?")));
    }
    if (Status s = visit(k.Scalar(), v); !s.ok()) return s;
  }
  return Status::Ok();
}

Result<std::vector<std::pair<std::string, std::string>>> ReadNameMapping(
    const YAML::Node& body, const std::string& file, const std::string& path,
    const NameMappingOptions& options) {
  std::vector<std::pair<std::string, std::string>> out;
  Status s = ForEachName(
      body, file, path, options, [&](const std::string& name, const YAML::Node& v) -> Status {
        if (!v.IsNull() && !v.IsScalar()) {
          return config::ErrorAt(file, v, path + "." + name,
                                 "expected an extracted key (a string) or nothing");
        }
        out.emplace_back(name, v.IsNull() || v.Scalar().empty() ? name : v.Scalar());
        return Status::Ok();
      });
  if (!s.ok()) return Err(std::move(s));
  return out;
}

Result<std::vector<std::string>> ReadNameList(const YAML::Node& body, const std::string& file,
                                              const std::string& path,
                                              const NameMappingOptions& options) {
  if (!body.IsSequence() || body.size() == 0) {
    return Err(config::ErrorAt(file, body, path, "expected a non-empty list of " + options.what));
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < body.size(); ++i) {
    const YAML::Node n = body[i];
    const bool ok = n.IsScalar() && !n.Scalar().empty() &&
                    (!options.label_names || IsValidLabelName(n.Scalar()));
    if (!ok) {
      return Err(
          config::ErrorAt(file, n, path + "[" + std::to_string(i) + "]",
                          options.label_names ? "expected a label name" : "expected a name"));
    }
    names.push_back(n.Scalar());
  }
  return names;
}

}  // namespace skidder::pipeline::stages
