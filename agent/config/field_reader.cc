// The FieldReader getters that are more than one MapReader call: header maps, byte sizes and
// scrape_configs.
#include "config/field_reader.h"

#include <fmt/format.h>

#include <set>

#include "util/escape.h"

namespace skidder::config::internal {

// Prometheus' Header type: a name maps to a list of values (a single string is taken as one).
void FieldReader::Headers(std::string_view k, std::map<std::string, std::vector<std::string>>& m) {
  YAML::Node node = r_.Node(k);
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    return r_.Fail(k,
                   "expected a mapping of header names to lists of values, got " + Describe(node));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::vector<std::string>& values = m[it->first.as<std::string>("")];
    const YAML::Node v = it->second;  // a copy: the iterator hands out temporaries
    if (v.IsScalar()) values.push_back(v.Scalar());
    for (size_t i = 0; v.IsSequence() && i < v.size(); ++i) {
      if (v[i].IsScalar()) values.push_back(v[i].Scalar());
    }
    if (v.IsMap() || (v.IsSequence() && values.size() != v.size())) {
      return r_.Fail(k, "a header's value must be a string or a list of strings");
    }
  }
  for (const auto& [name, values] : m) {
    for (const std::string& value : values) {
      if (ValidHeaderField(name, value)) continue;
      std::string quoted;  // the name only: the value may be a secret
      AppendQuotedEscaped(quoted, name, ControlEscape::kGo);
      return r_.Fail(k, "invalid header " + quoted + " (CR, LF and NUL are not allowed)");
    }
  }
}

void FieldReader::Count(std::string_view k, uint64_t& n) {
  int64_t value = static_cast<int64_t>(n);
  r_.Int(k, &value);
  if (value < 0) {
    r_.Fail(k, "must not be negative");
  } else {
    n = static_cast<uint64_t>(value);
  }
}

void FieldReader::Size(std::string_view k, int64_t& n, std::string_view example) {
  YAML::Node size = r_.Node(k);
  if (size.IsDefined() && !size.IsNull() &&
      (!size.IsScalar() || !ParseByteSize(size.Scalar(), &n))) {
    r_.Fail(k, fmt::format("expected a size like {}, got {}", example, Describe(size)));
  }
}

void FieldReader::PositiveSize(std::string_view k, int64_t& n) {
  std::string size;
  r_.Str(k, &size);
  if (!size.empty() && (!ParseByteSize(size, &n) || n <= 0)) {
    r_.Fail(k, fmt::format("{} is not a positive size like 100MB", Quote(size)));
  }
}

void FieldReader::Jobs(std::string_view k, std::vector<ScrapeConfig>& out,
                       std::vector<std::string>& warnings) {
  if (!status_.ok()) return;
  std::set<std::string, std::less<>> jobs;
  status_ = ForEachItem(
      r_.Node(k), r_.file(), r_.Sub(k), [&](const YAML::Node& item, const std::string& path) {
        ScrapeConfig sc;
        Status s = ReadScrapeConfig(item, r_.file(), path, &sc, &warnings);
        if (!s.ok()) return s;
        if (!jobs.insert(sc.job_name).second) {
          MapReader at(item, r_.file(), path);
          return ErrorAt(r_.file(), at.Node("job_name"), at.Sub("job_name"),
                         fmt::format("duplicate job_name {}", Quote(sc.job_name)));
        }
        out.push_back(std::move(sc));
        return Status::Ok();
      });
}

}  // namespace skidder::config::internal
