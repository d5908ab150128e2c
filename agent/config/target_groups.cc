#include "config/target_groups.h"

#include <fmt/format.h>

#include "config/sections.h"
#include "config/yaml_reader.h"

namespace skidder::config {
namespace {

using internal::ForEachItem;

Status ReadGroup(const YAML::Node& node, const std::string& path, const std::string& where,
                 std::vector<Labels>* out) {
  MapReader r(node, path, where);
  std::vector<std::string> targets;
  Labels labels;
  YAML::Node list = r.Node("targets");
  if (list.IsDefined() && !list.IsNull() && !list.IsSequence()) {
    r.Fail("targets", "expected a list of strings");
  } else {
    r.StrList("targets", &targets);
  }
  if (Status s = internal::ReadLabels(r, "labels", &labels); !s.ok()) return s;
  if (Status s = r.Finish(); !s.ok()) return s;
  for (std::string& t : targets) {
    Labels ls = labels;
    ls.Set("__address__", std::move(t));
    ls.Set("__meta_filepath", path);
    out->push_back(std::move(ls));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<Labels>> ParseTargetGroups(const std::string& text, const std::string& path) {
  YAML::Node doc;
  try {
    doc = LoadYamlBounded(text);
  } catch (const YAML::Exception& e) {
    return Err(InvalidArgument(
        fmt::format("{}:{}:{}: {}", path, e.mark.line + 1, e.mark.column + 1, e.msg)));
  }
  std::vector<Labels> out;
  if (!doc.IsDefined() || doc.IsNull()) return out;  // an empty file: no targets
  if (!doc.IsSequence()) {
    return Err(
        ErrorAt(path, doc, "target file",
                "expected a list of target groups ([{targets: [...], labels: {...}}]), got " +
                    internal::Describe(doc)));
  }
  Status s = ForEachItem(doc, path, "", [&](const YAML::Node& item, const std::string& p) {
    return ReadGroup(item, path, "group" + p, &out);
  });
  if (!s.ok()) return Err(std::move(s));
  return out;
}

}  // namespace skidder::config
