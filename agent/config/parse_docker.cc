// scrape_configs[].docker_sd_configs: Prometheus' Docker discovery as Promtail's Docker target
// reads it (host, port, filters, refresh_interval and the HTTP client settings).
#include <fmt/format.h>

#include "config/field_reader.h"

namespace skidder::config::internal {
namespace {

Status ReadDocker(const YAML::Node& node, const std::string& file, const std::string& path,
                  DockerSdConfig* out) {
  MapReader r(node, file, path);
  FieldReader fields(r);
  Fields(fields, *out);
  if (!fields.status().ok()) return fields.status();
  ValidateHttpClient(r, *out);
  // Prometheus' rule: bearer_token(_file) is an Authorization of type Bearer.
  if (!out->bearer_token.empty() || !out->bearer_token_file.empty()) {
    out->authorization = Authorization{"Bearer", out->bearer_token, out->bearer_token_file};
    out->bearer_token.clear();
    out->bearer_token_file.clear();
  }
  const std::string& h = out->host;
  if (h.empty()) {
    r.Fail("host", "is required (e.g. unix:///var/run/docker.sock)");
  } else if (!h.starts_with("unix://") && !h.starts_with("tcp://") && !h.starts_with("http://") &&
             !h.starts_with("https://")) {
    r.Fail("host",
           fmt::format("{} is not a unix://, tcp://, http:// or https:// address", Quote(h)));
  } else if (h.starts_with("unix://") && h.size() <= 7) {
    r.Fail("host", "unix:// needs a socket path, e.g. unix:///var/run/docker.sock");
  }
  if (out->port < 0 || out->port > 65535) r.Fail("port", "must be between 0 and 65535");
  if (out->refresh_interval <= Duration(0)) r.Fail("refresh_interval", "must be positive");
  return r.Finish();
}

}  // namespace

void Validate(MapReader& r, std::pair<std::string, std::vector<std::string>>& docker_filter) {
  if (docker_filter.first.empty()) r.Fail("name", "is required (e.g. label, name, status)");
}

Status ReadDockerSdConfigs(MapReader& parent, ScrapeConfig* out) {
  const std::string& file = parent.file();
  return ForEachItem(parent.Node("docker_sd_configs"), file, parent.Sub("docker_sd_configs"),
                     [&](const YAML::Node& item, const std::string& p) {
                       DockerSdConfig d;
                       Status s = ReadDocker(item, file, p, &d);
                       if (s.ok()) out->docker_sd_configs.push_back(std::move(d));
                       return s;
                     });
}

}  // namespace skidder::config::internal
